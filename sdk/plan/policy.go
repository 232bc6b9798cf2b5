package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"github.com/runtimekit/runtimekit/sdk/state"
)

// The rules of this file are what a plan may do, checked without the
// machine: by plan.Parse (so the executor refuses a plan before it changes
// anything), by the planner before it returns a plan, and by the manifest
// loader on a runtime's own values. One set of rules for all three means a
// plan `runtimectl plan` writes is never refused by `runtimectl apply` for
// a reason it could have found when planning.

// Problem is one reason a plan is refused.
type Problem struct {
	// Index is the step's 1-based number and Step its id; both are zero
	// for a problem of the plan as a whole.
	Index int    `json:"index,omitempty"`
	Step  string `json:"step,omitempty"`
	// Field is the value's JSON pointer within the step, e.g.
	// "inputs/file/path".
	Field string `json:"field,omitempty"`
	// Value is the offending value as written.
	Value string `json:"value,omitempty"`
	// Reason says what is wrong; it names the value.
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	if p.Step == "" {
		return p.Reason
	}
	return fmt.Sprintf("step %d (%s): %s", p.Index, p.Step, p.Reason)
}

// Problems are every reason a plan is refused; as an error it lists them
// one per line. Parse and Check return it, so a caller can take the list
// apart with errors.As.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// protectedPath is a place no plan may write, remove or extract into.
type protectedPath struct {
	path string
	dir  bool // everything below path too
	what string
}

// protectedPaths lists runtimekit's own files (the state, journal and lock
// under /var/lib/runtimekit, the runit service and scan directories of
// sdk/service, runsvdir's pid file, the services' logs, the policy-rc.d the
// executor installs while dpkg runs, runtimectl wherever it is installed),
// dpkg's database, the kernel's file systems, and the system's account and
// sudo files. A plan that could write them could take over the machine or
// the executor that applies it.
func protectedPaths() []protectedPath {
	const accounts = "one of the system's account files"
	ps := []protectedPath{
		{"/var/lib/runtimekit", true, "runtimekit's state, journal and lock"},
		{"/var/lib/dpkg", true, "dpkg's database"},
		{"/proc", true, "a kernel file system"},
		{"/sys", true, "a kernel file system"},
		{"/dev", true, "the device files"},
		{"/etc/runtimekit/sv", true, "runtimekit's service directories"},
		{"/etc/runtimekit/service", true, "runsvdir's scan directory"},
		{"/run/runtimekit", true, "runtimekit's run-time files"},
		{"/var/log/runtimekit", true, "the services' logs"},
		{"/usr/sbin/policy-rc.d", false, "the policy-rc.d runtimekit puts in place while dpkg runs"},
		{"/etc/sudoers", false, "sudo's policy"},
		{"/etc/sudoers.d", true, "sudo's policy"},
	}
	for _, f := range []string{"passwd", "group", "shadow", "gshadow", "subuid", "subgid"} {
		ps = append(ps, protectedPath{"/etc/" + f, false, accounts}, protectedPath{"/etc/" + f + "-", false, accounts})
	}
	for _, dir := range []string{"", "/usr/local/bin", "/usr/local/sbin", "/usr/bin", "/usr/sbin"} {
		ps = append(ps, protectedPath{dir + "/runtimectl", false, "runtimectl itself"})
	}
	return ps
}

// aliases are directories that name others on a Debian system: /bin and
// friends are symbolic links into /usr (merged /usr, Debian 12), /var/run
// and /var/lock into /run.
func aliases() [][2]string {
	return [][2]string{
		{"/bin", "/usr/bin"}, {"/sbin", "/usr/sbin"}, {"/lib", "/usr/lib"},
		{"/lib32", "/usr/lib32"}, {"/lib64", "/usr/lib64"}, {"/libx32", "/usr/libx32"},
		{"/var/run", "/run"}, {"/var/lock", "/run/lock"},
	}
}

// canonical returns p with a leading alias replaced by what it names.
func canonical(p string) string {
	for _, a := range aliases() {
		if p == a[0] || strings.HasPrefix(p, a[0]+"/") {
			return a[1] + p[len(a[0]):]
		}
	}
	return p
}

func within(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// ProtectedPath returns why no plan may write, remove or extract at the
// clean absolute path p, or "": p is or lies in one of runtimekit's own
// files or directories, dpkg's database, a kernel file system, or the
// system's account or sudo files — or p is a directory that holds one of
// them, which replacing or removing p would reach. Paths through the
// merged-/usr links (/bin, /sbin, /lib...) and /var/run count as the
// paths they lead to. The executor checks the path it resolves on the
// machine again.
func ProtectedPath(p string) string {
	c := canonical(p)
	if c == "/" {
		return "/ is the root directory, where plans may not write"
	}
	for _, r := range protectedPaths() {
		switch {
		case c == r.path && r.dir:
			return fmt.Sprintf("%s is %s, where plans may not write", p, r.what)
		case c == r.path:
			return fmt.Sprintf("%s is %s, which plans may not write or remove", p, r.what)
		case r.dir && within(c, r.path):
			return fmt.Sprintf("%s lies in %s (%s), where plans may not write", p, r.path, r.what)
		case within(r.path, c):
			return fmt.Sprintf("%s holds %s (%s), where plans may not write", p, r.path, r.what)
		}
	}
	return ""
}

// setID are the permission bits that make a program run as its owner or
// group.
const setID = 0o6000

// CheckFile returns the problems of a file to write (write true) or
// remove: its path (clean, not protected) and, for a write, its mode
// (permission bits only, no setuid or setgid), owner and group, and that
// the content has the digest given. A file to remove is on the machine
// already, whatever its mode. Fields are relative to the file.
func CheckFile(f File, write bool) state.Problems {
	var ps state.Problems
	add := func(field, value, format string, args ...any) {
		ps = append(ps, state.Problem{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)})
	}
	if why := state.CheckPath(f.Path); why != "" {
		add("path", f.Path, "file path %s", why)
	} else if why := ProtectedPath(f.Path); why != "" {
		add("path", f.Path, "%s", why)
	}
	if !write {
		return ps
	}
	switch {
	case f.Mode > 0o7777:
		add("mode", fmt.Sprintf("%#o", f.Mode), "file %s: mode %#o is not permission bits (0 to 0o7777)", f.Path, f.Mode)
	case f.Mode&setID != 0:
		add("mode", fmt.Sprintf("%#o", f.Mode), "file %s: mode %#o sets setuid or setgid, which plans may not: drop 0o4000 and 0o2000", f.Path, f.Mode)
	}
	if why := state.CheckUser(f.Owner); why != "" {
		add("owner", f.Owner, "file %s: owner %s", f.Path, why)
	}
	if why := state.CheckUser(f.Group); why != "" {
		add("group", f.Group, "file %s: group %s", f.Path, why)
	}
	if sum := sha256.Sum256([]byte(f.Content)); hex.EncodeToString(sum[:]) != f.SHA256 {
		add("sha256", f.SHA256, "file %s: the content does not have the sha256 the plan gives (%s)", f.Path, f.SHA256)
	}
	return ps
}

// CheckArchive returns the problems of an archive to extract or remove:
// its destination (clean, not the root, neither in nor holding a protected
// path) and its include patterns. Fields are relative to the archive.
func CheckArchive(a Archive) state.Problems {
	var ps state.Problems
	if why := state.CheckPath(a.Dest); why != "" {
		ps = append(ps, state.Problem{Field: "dest", Value: a.Dest, Reason: "archive destination " + why})
	} else if a.Dest == "/" {
		ps = append(ps, state.Problem{Field: "dest", Value: a.Dest, Reason: "the archive destination cannot be the root directory: extract into a directory of its own, e.g. /opt/NAME"})
	} else if why := ProtectedPath(a.Dest); why != "" {
		ps = append(ps, state.Problem{Field: "dest", Value: a.Dest, Reason: "archive destination " + why})
	}
	for i, g := range a.Include {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			ps = append(ps, state.Problem{Field: fmt.Sprintf("include/%d", i), Value: g,
				Reason: fmt.Sprintf("archive %s: include pattern %q is not a valid glob (path.Match syntax)", a.Name, g)})
		}
	}
	if a.Strip < 0 {
		ps = append(ps, state.Problem{Field: "strip", Value: fmt.Sprint(a.Strip), Reason: fmt.Sprintf("archive %s: strip %d is negative", a.Name, a.Strip)})
	}
	return ps
}

// CheckHealth is state.CheckHealth, and an exec check must name the user
// it runs as: a plan never leaves it to the executor's own account.
func CheckHealth(h state.HealthCheck) state.Problems {
	ps := state.CheckHealth(h)
	if h.Kind == state.HealthExec && h.User == "" {
		ps = append(ps, state.Problem{Field: "user", Reason: fmt.Sprintf("health check %s: an exec check must name the user it runs as", h.Name)})
	}
	return ps
}

// CorePackage reports whether name is a package of Debian's minimal
// system: the Essential set and what it needs, as the minbase of the
// built-in targets has them (a test keeps the list and the targets in
// step). A plan never removes one, whatever a state claims a runtime owns;
// the executor checks Essential against the machine's own dpkg database
// as well.
func CorePackage(name string) bool {
	switch name {
	case "adduser", "apt", "base-files", "base-passwd", "bash", "bsdutils", "coreutils", "dash", "debconf",
		"debian-archive-keyring", "debianutils", "diffutils", "dpkg", "e2fsprogs", "findutils", "gcc-12-base",
		"gpgv", "grep", "gzip", "hostname", "init-system-helpers", "libacl1", "libapt-pkg6.0", "libattr1",
		"libaudit-common", "libaudit1", "libblkid1", "libbz2-1.0", "libc-bin", "libc6", "libcap-ng0", "libcap2",
		"libcom-err2", "libcrypt1", "libdb5.3", "libdebconfclient0", "libext2fs2", "libffi8", "libgcc-s1",
		"libgcrypt20", "libgmp10", "libgnutls30", "libgpg-error0", "libhogweed6", "libidn2-0", "liblz4-1",
		"liblzma5", "libmd0", "libmount1", "libnettle8", "libp11-kit0", "libpam-modules", "libpam-modules-bin",
		"libpam-runtime", "libpam0g", "libpcre2-8-0", "libseccomp2", "libselinux1", "libsemanage-common",
		"libsemanage2", "libsepol2", "libsmartcols1", "libss2", "libstdc++6", "libsystemd0", "libtasn1-6",
		"libtinfo6", "libudev1", "libunistring2", "libuuid1", "libxxhash0", "libzstd1", "login", "logsave",
		"mawk", "mount", "ncurses-base", "ncurses-bin", "passwd", "perl-base", "sed", "sysvinit-utils", "tar",
		"tzdata", "usr-is-merged", "util-linux", "util-linux-extra", "zlib1g":
		return true
	}
	return false
}

// stepProblems checks one step's inputs with the rules above.
func stepProblems(s Step) state.Problems {
	if s.Inputs == nil {
		return nil
	}
	return s.Inputs.problems()
}

// RootProcess is a service or an exec health check a plan runs as root.
type RootProcess struct {
	Runtime string
	// Service is the service's name, or Check the health check's.
	Service, Check string
}

func (r RootProcess) String() string {
	if r.Check != "" {
		return fmt.Sprintf("health check %s/%s", r.Runtime, r.Check)
	}
	return fmt.Sprintf("service %s (%s)", r.Service, r.Runtime)
}

// RunsAsRoot lists what runs as root once the plan is applied: each service
// of the state it records (or, without one, that it installs) whose user
// is root, then each exec health check it runs as root. It reads the
// steps, not the summary, which a hand-made plan could word otherwise.
func (p *Plan) RunsAsRoot() []RootProcess {
	var svcs, checks []RootProcess
	seen := map[string]bool{}
	addSvc := func(rt string, s state.Service) {
		if s.User == "root" && !seen[s.Name] {
			seen[s.Name] = true
			svcs = append(svcs, RootProcess{Runtime: rt, Service: s.Name})
		}
	}
	for _, s := range p.Steps {
		switch in := s.Inputs.(type) {
		case *RecordState:
			for _, rt := range in.Runtimes {
				for _, svc := range rt.Services {
					addSvc(rt.Name, svc)
				}
			}
		case *InstallService:
			addSvc(s.Runtime, in.Service)
		case *WaitHealth:
			if h := in.Health; h.Kind == state.HealthExec && h.User == "root" {
				checks = append(checks, RootProcess{Runtime: s.Runtime, Check: h.Name})
			}
		}
	}
	return append(svcs, checks...)
}
