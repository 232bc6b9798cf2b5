package npmdeps

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/runtimekit/runtimekit/internal/graph"
)

// Platform is what the tree is built for: the VM's Node.js.
const Platform = "linux/ia32"

// The platform as npm names it in a package's os, cpu and libc fields.
const (
	targetOS   = "linux"
	targetCPU  = "ia32"
	targetLibc = "glibc"
)

// Lock summarises a package-lock.json that [Check] accepted.
type Lock struct {
	Name    string // the app's name, from the lock's root package
	Version string // the app's version
	// Packages are those npm installs for linux/ia32 in production, in
	// the order of their paths in node_modules.
	Packages []Package
}

// Package is one entry of node_modules.
type Package struct {
	Name    string // the package's own name (an alias's target)
	Version string
	Path    string // e.g. node_modules/send/node_modules/ms
}

func (p Package) String() string { return p.Name + "@" + p.Version }

// Refusal is one package that would need its install script or a compiled
// part built for the VM.
type Refusal struct {
	Name, Version, Path string
	Reason              string
}

// RefusedError lists every package [Check] refused, so that one run
// shows them all.
type RefusedError struct {
	Packages []Refusal
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	for _, r := range e.Packages {
		fmt.Fprintf(&b, "%s@%s (%s): %s\n", r.Name, r.Version, r.Path, r.Reason)
	}
	b.WriteString("install scripts are not run for the VM: allow a package explicitly if it works without its script")
	return b.String()
}

// nativeHelpers are the packages an addon depends on to build or load its
// compiled part.
var nativeHelpers = []string{
	"node-gyp-build", "node-gyp-build-optional-packages", "prebuild-install",
	"bindings", "node-addon-api", "nan", "node-gyp",
	"@mapbox/node-pre-gyp", "node-pre-gyp", "cmake-js",
}

type lockFile struct {
	Name            string               `json:"name"`
	Version         string               `json:"version"`
	LockfileVersion json.RawMessage      `json:"lockfileVersion"`
	Packages        map[string]lockEntry `json:"packages"`
}

type lockEntry struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Resolved             string            `json:"resolved"`
	Integrity            string            `json:"integrity"`
	Link                 bool              `json:"link"`
	Dev                  bool              `json:"dev"`
	Optional             bool              `json:"optional"`
	DevOptional          bool              `json:"devOptional"`
	InBundle             bool              `json:"inBundle"`
	HasInstallScript     bool              `json:"hasInstallScript"`
	Gypfile              bool              `json:"gypfile"`
	Dependencies         map[string]string `json:"dependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	OS                   stringList        `json:"os"`
	CPU                  stringList        `json:"cpu"`
	Libc                 stringList        `json:"libc"`
}

// stringList is a package.json os/cpu/libc field: a list, or one string.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings, got %s", b)
	}
	*l = many
	return nil
}

// Check reads a package-lock.json (name is how messages call the file) and
// decides, without running anything, whether its production tree can be
// built for linux/ia32 without install scripts. It refuses a lock older
// than lockfileVersion 2, a package without an integrity or from a source
// other than a registry, a package only for another platform, and, with a
// *[RefusedError] (found with errors.As), every package that has an
// install script or is a native addon whose name is not in allow: its
// published name, or the name an alias installs it under. Every problem
// is reported at once. Dev dependencies are not looked at: they are not
// installed.
func Check(lockJSON []byte, name string, allow []string) (*Lock, error) {
	lock, _, err := check(lockJSON, name, allow)
	return lock, err
}

// check is [Check] that also returns the paths of the optional packages
// for other platforms, which the built tree must not contain.
func check(lockJSON []byte, name string, allow []string) (*Lock, []string, error) {
	lf, err := parseLock(lockJSON, name)
	if err != nil {
		return nil, nil, err
	}
	installed, skipped := installSet(lf)
	lock := &Lock{Name: lf.Name, Version: lf.Version}
	if root, ok := lf.Packages[""]; ok {
		lock.Name, lock.Version = cmp.Or(root.Name, lf.Name), cmp.Or(root.Version, lf.Version)
	}
	var sources, platforms []string
	var refused []Refusal
	for _, path := range installed {
		e := lf.Packages[path]
		pkg := Package{Name: packageName(path, e), Version: e.Version, Path: path}
		lock.Packages = append(lock.Packages, pkg)
		if p := sourceProblem(path, e); p != "" {
			sources = append(sources, p)
		}
		if !platformOK(e) {
			platforms = append(platforms, fmt.Sprintf("%s (%s): is only for %s, and the VM is %s with %s",
				path, pkg, platformOf(e), Platform, targetLibc))
		}
		if reason := scriptReason(e); reason != "" && !allowed(allow, pkg.Name, path) {
			refused = append(refused, Refusal{Name: pkg.Name, Version: e.Version, Path: path, Reason: reason})
		}
	}
	var errs []error
	if len(sources)+len(platforms) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %d package(s) cannot be installed for %s from the lock alone:", name, len(sources)+len(platforms), Platform)
		for _, p := range append(sources, platforms...) {
			b.WriteString("\n  " + p)
		}
		if len(sources) > 0 {
			b.WriteString("\ndepend on versions published to the npm registry and regenerate the lock with npm 7 or later (npm install --package-lock-only) so that each records its integrity")
		}
		if len(platforms) > 0 {
			b.WriteString("\nreplace a package that is only for another platform, or make it an optional dependency")
		}
		errs = append(errs, errors.New(b.String()))
	}
	if len(refused) > 0 {
		errs = append(errs, &RefusedError{Packages: refused})
	}
	switch len(errs) {
	case 0:
	case 1:
		return nil, nil, errs[0] // a *RefusedError alone is returned as it is
	default:
		return nil, nil, errors.Join(errs...) // errors.As finds the *RefusedError
	}
	return lock, skipped, nil
}

func parseLock(lockJSON []byte, name string) (*lockFile, error) {
	var lf lockFile
	if err := json.Unmarshal(lockJSON, &lf); err != nil {
		return nil, jsonError(name, lockJSON, err)
	}
	regenerate := "regenerate it with npm 7 or later: npm install --package-lock-only"
	if len(lf.LockfileVersion) == 0 {
		return nil, fmt.Errorf("%s: has no lockfileVersion, so it is not a package-lock.json npm 7 or later wrote; %s", name, regenerate)
	}
	var version int
	if err := json.Unmarshal(lf.LockfileVersion, &version); err != nil {
		return nil, fmt.Errorf("%s: lockfileVersion is %s, not a number; %s", name, lf.LockfileVersion, regenerate)
	}
	switch {
	case version < 2:
		return nil, fmt.Errorf("%s: lockfileVersion %d was written by npm 6 or older and does not record each package's install scripts and platform; %s", name, version, regenerate)
	case version > 3:
		return nil, fmt.Errorf("%s: lockfileVersion %d is newer than the 2 and 3 this version understands; write a lockfileVersion 3 lock with npm 7 or later: npm install --package-lock-only --lockfile-version=3", name, version)
	}
	if lf.Packages == nil {
		return nil, fmt.Errorf("%s: lockfileVersion %d but no \"packages\" map; %s", name, version, regenerate)
	}
	return &lf, nil
}

// installSet returns the paths npm installs for production on linux/ia32,
// sorted, and those it skips as optional packages for another platform.
// It follows dependency edges from the root the way Node.js resolves them
// (the nearest node_modules upwards), not npm's dev/optional flags alone,
// so that what only a skipped package needs is skipped with it, as npm
// does.
func installSet(lf *lockFile) (installed, skipped []string) {
	skip := map[string]bool{}
	edges := func(path string) []string {
		e := lf.Packages[path]
		var names []string
		for _, m := range []map[string]string{e.Dependencies, e.OptionalDependencies, e.PeerDependencies} {
			for d := range m {
				names = append(names, d)
			}
		}
		slices.Sort(names)
		var out []string
		for _, d := range slices.Compact(names) {
			target, ok := resolveDep(lf, path, d)
			if !ok {
				continue // an optional or peer dependency npm left out
			}
			t := lf.Packages[target]
			switch {
			case t.Dev: // npm's own judgement: only dev edges lead here
			case (t.Optional || t.DevOptional) && !platformOK(t):
				skip[target] = true
			default:
				out = append(out, target)
			}
		}
		return out
	}
	for _, path := range graph.NewSorter(edges).Add("") {
		if path != "" {
			installed = append(installed, path)
		}
	}
	slices.Sort(installed)
	for path := range skip {
		skipped = append(skipped, path)
	}
	slices.Sort(skipped)
	return installed, skipped
}

// resolveDep finds the entry that dependency name of the package at path
// resolves to: path/node_modules/name, then the same from each enclosing
// package, up to the top node_modules.
func resolveDep(lf *lockFile, path, name string) (string, bool) {
	for {
		candidate := "node_modules/" + name
		if path != "" {
			candidate = path + "/node_modules/" + name
		}
		if _, ok := lf.Packages[candidate]; ok {
			return candidate, true
		}
		if path == "" {
			return "", false
		}
		i := strings.LastIndex(path, "/node_modules/")
		if i < 0 {
			path = ""
		} else {
			path = path[:i]
		}
	}
}

// packageName is the package's own name: an alias's entry names it,
// otherwise the path ends with it.
func packageName(path string, e lockEntry) string {
	if e.Name != "" {
		return e.Name
	}
	if i := strings.LastIndex(path, "node_modules/"); i >= 0 {
		return path[i+len("node_modules/"):]
	}
	return path
}

// sourceProblem says why an entry cannot be fetched and verified from the
// lock alone, or "".
func sourceProblem(path string, e lockEntry) string {
	switch {
	case e.Link:
		return fmt.Sprintf("%s: links to the local directory %q (a workspace or file: dependency), which is not part of what is deployed", path, e.Resolved)
	case e.InBundle:
		return "" // inside its parent's tarball, verified with it
	case strings.HasPrefix(e.Resolved, "git"):
		return fmt.Sprintf("%s: comes from git (%s), which npm would clone and prepare by running its scripts", path, e.Resolved)
	case strings.HasPrefix(e.Resolved, "file:"):
		return fmt.Sprintf("%s: comes from the local file %q, which is not part of what is deployed", path, strings.TrimPrefix(e.Resolved, "file:"))
	case e.Resolved != "" && !strings.HasPrefix(e.Resolved, "https://") && !strings.HasPrefix(e.Resolved, "http://"):
		return fmt.Sprintf("%s: comes from %q, which is not a registry tarball", path, e.Resolved)
	case e.Integrity == "":
		return fmt.Sprintf("%s: has no integrity, so its tarball could not be verified", path)
	case !knownIntegrity(e.Integrity):
		return fmt.Sprintf("%s: integrity %q is not a sha512, sha384, sha256 or sha1 digest", path, e.Integrity)
	}
	return ""
}

// knownIntegrity reports whether an SRI string has a digest npm verifies.
func knownIntegrity(sri string) bool {
	for _, h := range strings.Fields(sri) {
		algo, digest, ok := strings.Cut(h, "-")
		if ok && digest != "" && slices.Contains([]string{"sha512", "sha384", "sha256", "sha1"}, algo) {
			return true
		}
	}
	return false
}

// scriptReason says why a package needs what is not done for the VM, or "".
func scriptReason(e lockEntry) string {
	var helpers []string
	for _, h := range nativeHelpers {
		_, dep := e.Dependencies[h]
		_, opt := e.OptionalDependencies[h]
		if dep || opt {
			helpers = append(helpers, h)
		}
	}
	slices.Sort(helpers)
	helper := strings.Join(helpers, ", ")
	switch {
	case e.Gypfile:
		return "native addon: compiled from its binding.gyp when installed"
	case e.HasInstallScript && helper != "":
		return "native addon: its install script builds or downloads its compiled part (it depends on " + helper + ")"
	case e.HasInstallScript:
		return "has an install script (preinstall, install or postinstall)"
	case helper != "":
		return "native addon: it loads a compiled part through " + helper + ", which must exist for " + Platform
	}
	return ""
}

func allowed(allow []string, name, path string) bool {
	alias := packageName(path, lockEntry{})
	return slices.Contains(allow, name) || slices.Contains(allow, alias)
}

// platformOK is npm's check of a package's os, cpu and libc fields
// (npm-install-checks) for the VM's platform.
func platformOK(e lockEntry) bool {
	return listOK(targetOS, e.OS) && listOK(targetCPU, e.CPU) && listOK(targetLibc, e.Libc)
}

// listOK: an empty list or "any" allows all; otherwise value must not be
// negated ("!x") and must be listed, unless every entry is a negation.
func listOK(value string, list []string) bool {
	if len(list) == 0 || (len(list) == 1 && list[0] == "any") {
		return true
	}
	negated, match := 0, false
	for _, entry := range list {
		if test, ok := strings.CutPrefix(entry, "!"); ok {
			negated++
			if test == value {
				return false
			}
		} else if entry == value {
			match = true
		}
	}
	return match || negated == len(list)
}

func platformOf(e lockEntry) string {
	var parts []string
	for _, f := range []struct {
		name string
		list []string
	}{{"os", e.OS}, {"cpu", e.CPU}, {"libc", e.Libc}} {
		if len(f.list) > 0 {
			parts = append(parts, f.name+" "+strings.Join(f.list, ","))
		}
	}
	return strings.Join(parts, ", ")
}
