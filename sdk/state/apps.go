package state

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// AppsDir is where deployed apps live: AppsDir/NAME holds releases/N (the
// files of release N, owned by root and read-only, so that a release
// never changes once deployed) and env/N (its environment, mode 0600,
// owned by the app's user).
const AppsDir = "/srv/apps"

// DefaultKeep is how many releases of an app are kept, the live one
// included, when a deploy does not say: enough to roll back twice.
const DefaultKeep = 3

// App is a deployed application: the user's code on a runtime, run as its
// own unprivileged user, in numbered immutable releases of which one is
// live.
type App struct {
	Name    string `json:"name"`
	Runtime string `json:"runtime"`
	// User is the account the app's processes run as; the first deploy
	// creates it (and its group of the same name).
	User string `json:"user"`
	// Ports are the ports the app's releases take: Keep+1 of them, so
	// that every kept release, and the one being deployed, has its own
	// and a new or rolled-back release starts beside the live one.
	Ports []int `json:"ports"`
	// Live is the number of the release serving, Port the port it
	// listens on ($PORT).
	Live int `json:"live"`
	Port int `json:"port"`
	// Keep is how many releases stay on disk, the live one included.
	Keep int `json:"keep"`
	// Releases are the releases on disk, oldest first.
	Releases []Release `json:"releases"`
	// Services and Health are the live release's processes and checks,
	// as runit runs them; the ownership ledger lists them like a
	// runtime's.
	Services []Service     `json:"services,omitempty"`
	Health   []HealthCheck `json:"health,omitempty"`
	// MemoryMiB is the estimate of one running release, for budget
	// checks (a switch runs two for a while).
	MemoryMiB int `json:"memoryMiB"`
	// Packages are the Debian packages installed for the app's own
	// dependencies (a Python app's python3-* modules), beyond the base
	// system and its runtime's.
	Packages []Package `json:"packages,omitempty"`
}

// Release is one immutable version of an app: its files, how its
// processes run, and the names (never the values) of its environment.
type Release struct {
	Number int `json:"number"`
	// Digest is the SHA-256 of the release's canonical description
	// (files, processes, env names and the env file's digest): two
	// deploys of the same app give the same digest.
	Digest  string `json:"digest"`
	Created string `json:"created,omitempty"` // RFC 3339, when it was planned
	// RuntimeVersion is the version of the runtime it was deployed on.
	RuntimeVersion string `json:"runtimeVersion"`
	// Port is the port ($PORT) the release's web process listens on.
	Port      int           `json:"port"`
	Files     []ReleaseFile `json:"files"`
	Processes []Process     `json:"processes"`
	// Health is the check a start of this release must pass; its port
	// is the one the release starts on.
	Health HealthCheck `json:"health"`
	// Env and Secrets are the names of the variables of its env file.
	Env     []string `json:"env,omitempty"`
	Secrets []string `json:"secrets,omitempty"`
	// EnvSHA256 is the digest of its env file, when it has one.
	EnvSHA256 string `json:"envSHA256,omitempty"`
}

// ReleaseFile is one entry of a release: a regular file (by digest) or a
// symbolic link (by target). Directories are implied by the paths.
type ReleaseFile struct {
	Path   string `json:"path"` // relative, forward slashes
	Mode   uint32 `json:"mode"` // 0o644 or 0o755 for files (stored read-only); 0o777 for links
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Link   string `json:"link,omitempty"`
}

// Process is a process type of a release (Procfile style): "web" serves
// $PORT; others are workers.
type Process struct {
	Name string            `json:"name"`
	Argv []string          `json:"argv"`
	Env  map[string]string `json:"env,omitempty"` // the runtime's, for the app
}

// Services lists every service the state records: the runtimes', then
// the live releases' of the apps.
func (s *State) Services() []Service {
	var out []Service
	for _, rt := range s.Runtimes {
		out = append(out, rt.Services...)
	}
	for _, a := range s.Apps {
		out = append(out, a.Services...)
	}
	return out
}

// App returns the deployed app with that name.
func (s *State) App(name string) (*App, bool) {
	for i := range s.Apps {
		if s.Apps[i].Name == name {
			return &s.Apps[i], true
		}
	}
	return nil, false
}

// Release returns the kept release with that number.
func (a *App) Release(n int) (*Release, bool) {
	for i := range a.Releases {
		if a.Releases[i].Number == n {
			return &a.Releases[i], true
		}
	}
	return nil, false
}

// Dir is the app's directory.
func (a *App) Dir() string { return AppDir(a.Name) }

// AppDir is the directory of the app with that name.
func AppDir(name string) string { return AppsDir + "/" + name }

// ReleaseDir is the directory of release n of the app.
func ReleaseDir(app string, n int) string { return AppDir(app) + "/releases/" + strconv.Itoa(n) }

// EnvPath is the env file of release n of the app.
func EnvPath(app string, n int) string { return AppDir(app) + "/env/" + strconv.Itoa(n) }

// AppUser is the account an app runs as: "app-" and the app's name (at
// most 32 characters, see CheckAppName).
func AppUser(app string) string { return "app-" + app }

// ProcessService names the runit service of a process of release n:
// "shop-web-r3".
func ProcessService(app, process string, n int) string {
	return app + "-" + process + "-r" + strconv.Itoa(n)
}

// processName: one word, so that app, process and release in a service
// name (APP-PROCESS-rN) can be told apart and no two apps' services share
// a name.
var processName = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)

// appName: words joined by single dashes, short enough that "app-" and
// the name is a user name (32 characters), so that each app has its own.
var appName = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// CheckAppName returns why s cannot name an app, or "".
func CheckAppName(s string) string {
	if len(s) > 28 || !appName.MatchString(s) {
		return fmt.Sprintf("%q is not lower-case letters and digits in words joined by single dashes, starting with a letter, at most 28 characters", s)
	}
	return ""
}

// CheckApps returns the problems of a list of apps, as State.Validate sees
// them; fields are relative to the list.
func CheckApps(apps []App) Problems {
	var ps Problems
	seen, users := map[string]bool{}, map[string]bool{}
	for i, a := range apps {
		at := strconv.Itoa(i)
		add := func(field, value, format string, args ...any) {
			ps = append(ps, Problem{Field: joinField(at, field), Value: value, Reason: fmt.Sprintf("app %s: ", a.Name) + fmt.Sprintf(format, args...)})
		}
		if seen[a.Name] {
			add("name", a.Name, "listed twice: an app is deployed once")
		}
		seen[a.Name] = true
		if why := CheckAppName(a.Name); why != "" {
			add("name", a.Name, "the name %s", why)
		}
		if users[a.User] {
			add("user", a.User, "another app runs as %s: each app has its own user", a.User)
		}
		users[a.User] = true
		if why := CheckUser(a.User); why != "" {
			add("user", a.User, "the user %s", why)
		}
		if a.User == "root" {
			add("user", a.User, "an app never runs as root")
		}
		if len(a.Ports) < 2 || len(slices.Compact(slices.Sorted(slices.Values(a.Ports)))) != len(a.Ports) {
			add("ports", fmt.Sprint(a.Ports), "an app has at least two different ports")
		} else if a.Port != 0 && !slices.Contains(a.Ports, a.Port) {
			add("port", strconv.Itoa(a.Port), "the live port is not one of the app's ports %v", a.Ports)
		}
		rports := map[int]bool{}
		for j, r := range a.Releases {
			if !slices.Contains(a.Ports, r.Port) || rports[r.Port] {
				add(fmt.Sprintf("releases/%d/port", j), strconv.Itoa(r.Port), "each kept release has its own port, one of the app's")
			}
			rports[r.Port] = true
		}
		if a.Keep < 1 {
			add("keep", strconv.Itoa(a.Keep), "at least the live release is kept")
		}
		nums := map[int]bool{}
		for j, r := range a.Releases {
			rat := fmt.Sprintf("releases/%d", j)
			if r.Number < 1 || nums[r.Number] {
				add(rat+"/number", strconv.Itoa(r.Number), "release numbers are positive and unique")
			}
			if j > 0 && r.Number <= a.Releases[j-1].Number {
				add(rat+"/number", strconv.Itoa(r.Number), "releases are listed oldest first")
			}
			nums[r.Number] = true
			ps = append(ps, CheckRelease(r).Under(joinField(at, rat))...)
		}
		if a.Live != 0 && !nums[a.Live] {
			add("live", strconv.Itoa(a.Live), "the live release is not one of the kept releases")
		}
	}
	return ps
}

// CheckRelease checks one release's files and processes; fields are
// relative to the release.
func CheckRelease(r Release) Problems {
	var ps Problems
	add := func(field, value, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Value: value, Reason: fmt.Sprintf("release %d: ", r.Number) + fmt.Sprintf(format, args...)})
	}
	paths := map[string]bool{}
	for j, f := range r.Files {
		field := fmt.Sprintf("files/%d", j)
		if why := CheckReleasePath(f.Path); why != "" {
			add(field+"/path", f.Path, "file %s", why)
		}
		if paths[f.Path] {
			add(field+"/path", f.Path, "file %s is listed twice", f.Path)
		}
		paths[f.Path] = true
		switch {
		case f.Link != "" && f.SHA256 != "":
			add(field, f.Path, "an entry is a file (sha256) or a link (link), not both")
		case f.Link == "" && !sha256Hex.MatchString(f.SHA256):
			add(field+"/sha256", f.SHA256, "a file's digest is 64 lower-case hex digits")
		case f.Link == "" && f.Mode != 0o644 && f.Mode != 0o755:
			add(field+"/mode", fmt.Sprintf("%o", f.Mode), "a file's mode is 644 or 755")
		}
	}
	names := map[string]bool{}
	for j, p := range r.Processes {
		if !processName.MatchString(p.Name) || names[p.Name] {
			add(fmt.Sprintf("processes/%d/name", j), p.Name, "a process name is a unique lower-case word of letters and digits (web, worker)")
		}
		names[p.Name] = true
		if len(p.Argv) == 0 || p.Argv[0] == "" {
			add(fmt.Sprintf("processes/%d/argv", j), "", "process %s has no command", p.Name)
		}
	}
	if len(r.Processes) > 0 && !names["web"] {
		add("processes", "", "a release has a web process, which serves $PORT")
	}
	return ps
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CheckReleasePath returns why p cannot be a path inside a release, or "":
// relative, clean, with forward slashes, no "." or ".." element.
func CheckReleasePath(p string) string {
	switch {
	case p == "":
		return "path is empty"
	case strings.HasPrefix(p, "/"):
		return fmt.Sprintf("%q is absolute: release paths are relative to the app directory", p)
	case path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." || p == ".":
		return fmt.Sprintf("%q is not a clean relative path", p)
	case strings.ContainsAny(p, "\\\x00\n"):
		return fmt.Sprintf("%q contains a backslash, NUL or newline", p)
	}
	return ""
}
