package bundle

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
)

// Item is one file to fetch into a bundle: a lock's package or artifact.
type Item struct {
	Kind    string // KindDeb, KindNPM or KindArchive
	Name    string
	Version string // required for deb and npm
	Arch    string // Debian architecture; deb only
	// Filename is a .deb's path below the mirror root, as in the
	// Packages index (deb only).
	Filename string
	// URL is where an archive is downloaded from (archive only).
	URL string
	// Integrity is the npm registry's SRI string, checked besides the
	// SHA-256 (npm only).
	Integrity string
	SHA256    string
	Size      int64
}

func (it Item) String() string {
	s := it.Kind + " " + it.Name
	if it.Version != "" {
		s += " " + it.Version
	}
	if it.Arch != "" {
		s += " " + it.Arch
	}
	return s
}

// PackageItem returns the item for a locked .deb.
func PackageItem(p lock.Package) Item {
	return Item{Kind: KindDeb, Name: p.Name, Version: p.Version, Arch: p.Arch,
		Filename: p.Filename, SHA256: p.SHA256, Size: p.Size}
}

// ArtifactItem returns the item for a locked npm tarball or archive.
func ArtifactItem(a lock.Artifact) Item {
	return Item{Kind: a.Kind, Name: a.Name, Version: a.Version, URL: a.URL,
		Integrity: a.Integrity, SHA256: a.SHA256, Size: a.Size}
}

// ItemsFromLock returns the items of the named runtimes of l (all of them
// when runtimes is empty): their packages, then their artifacts, each
// once even when several runtimes need it, plus the service supervisor's
// packages when the lock has them (a machine without runit needs them for
// any runtime with a service, and a spare .deb costs little). A name that
// l does not hold is an error.
func ItemsFromLock(l *lock.Lock, runtimes ...string) ([]Item, error) {
	var rts []*lock.Runtime
	if len(runtimes) == 0 {
		for i := range l.Runtimes {
			rts = append(rts, &l.Runtimes[i])
		}
	}
	for _, name := range runtimes {
		rt, ok := l.Runtime(name)
		if !ok {
			var have []string
			for _, r := range l.Runtimes {
				have = append(have, r.Name)
			}
			sort.Strings(have)
			return nil, fmt.Errorf("runtime %q is not in the lock (it has: %s)", name, strings.Join(have, ", "))
		}
		rts = append(rts, rt)
	}
	if l.Supervisor != nil {
		rts = append(rts, l.Supervisor)
	}
	var items []Item
	seen := map[Item]bool{}
	add := func(it Item) {
		if !seen[it] {
			seen[it] = true
			items = append(items, it)
		}
	}
	for _, rt := range rts {
		for _, p := range rt.Packages {
			add(PackageItem(p))
		}
	}
	for _, rt := range rts {
		for _, a := range rt.Artifacts {
			add(ArtifactItem(a))
		}
	}
	return items, nil
}

// ItemsFromPlan returns the items of exactly the artifacts plan p names,
// in its order: what `runtimectl apply` of p will look for in the bundle.
func ItemsFromPlan(p *plan.Plan) []Item {
	items := make([]Item, len(p.Artifacts))
	for i, a := range p.Artifacts {
		items[i] = Item{Kind: a.Kind, Name: a.Name, Version: a.Version, Arch: a.Arch, Filename: a.Filename,
			URL: a.URL, Integrity: a.Integrity, SHA256: a.SHA256, Size: a.Size}
	}
	return items
}

var (
	// safeName is what a file name inside a bundle may look like: Debian
	// pool names ("%3a" for an epoch's colon), npm and archive names.
	safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._~%@-]*$`)
	sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// BundlePath returns where the item goes inside a bundle: a .deb under
// debs/ by the base name of its Filename, which must be a plain relative
// path with no ".." element; an npm tarball under artifacts/ as
// "npm pack" names it ("@scope/name" 1.0.0 gives scope-name-1.0.0.tgz);
// an archive under artifacts/ by the last element of its URL path.
func (it Item) BundlePath() (string, error) {
	switch it.Kind {
	case KindDeb:
		fn := it.Filename
		switch {
		case fn == "":
			return "", fmt.Errorf("no Filename")
		case strings.HasPrefix(fn, "/"):
			return "", fmt.Errorf("Filename %q is absolute", fn)
		case strings.Contains(fn, `\`):
			return "", fmt.Errorf("Filename %q contains a backslash", fn)
		}
		for _, part := range strings.Split(fn, "/") {
			if part == ".." {
				return "", fmt.Errorf("Filename %q contains '..'", fn)
			}
			if part == "" || part == "." {
				return "", fmt.Errorf("Filename %q is not a clean relative path", fn)
			}
		}
		base := path.Base(fn)
		if !safeName.MatchString(base) || strings.Contains(base, "..") || !strings.HasSuffix(base, ".deb") {
			return "", fmt.Errorf("Filename %q does not end in a plain .deb file name", fn)
		}
		return DebDir + "/" + base, nil
	case KindNPM:
		if it.Name == "" || it.Version == "" {
			return "", fmt.Errorf("npm artifact needs a name and a version")
		}
		base := strings.ReplaceAll(strings.TrimPrefix(it.Name, "@"), "/", "-") + "-" + it.Version + ".tgz"
		if !safeName.MatchString(base) || strings.Contains(base, "..") {
			return "", fmt.Errorf("npm name %q version %q do not make a plain file name", it.Name, it.Version)
		}
		return ArtifactDir + "/" + base, nil
	case KindRelease, KindEnv:
		// Made by deploy, found in a local directory by this name.
		base := "release-" + it.Name + "-" + it.Version + ".tar"
		if it.Kind == KindEnv {
			base = "env-" + it.Name + "-" + it.Version
		}
		if !safeName.MatchString(base) || strings.Contains(base, "..") {
			return "", fmt.Errorf("app %q release %q do not make a plain file name", it.Name, it.Version)
		}
		return ArtifactDir + "/" + base, nil
	case KindArchive:
		u, err := url.Parse(it.URL)
		if err != nil || u.Path == "" {
			return "", fmt.Errorf("archive URL %q has no file name", it.URL)
		}
		base := path.Base(u.Path)
		if !safeName.MatchString(base) || strings.Contains(base, "..") {
			return "", fmt.Errorf("archive URL %q does not end in a plain file name", it.URL)
		}
		return ArtifactDir + "/" + base, nil
	default:
		return "", fmt.Errorf("unknown kind %q", it.Kind)
	}
}

// check validates an item before anything is fetched.
func (it Item) check() error {
	if _, err := it.BundlePath(); err != nil {
		return err
	}
	if !sha256Re.MatchString(it.SHA256) {
		return fmt.Errorf("sha256 %q is not 64 lower-case hex digits", it.SHA256)
	}
	if it.Size <= 0 {
		return fmt.Errorf("size %d is not positive", it.Size)
	}
	switch it.Kind {
	case KindDeb:
		if it.Version == "" || it.Arch == "" {
			return fmt.Errorf("package needs a version and an architecture")
		}
	case KindNPM:
		if _, err := parseIntegrity(it.Integrity); err != nil {
			return err
		}
	case KindArchive:
		if u, err := url.Parse(it.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "file") {
			return fmt.Errorf("archive URL %q is not an http(s) or file URL", it.URL)
		}
	}
	return nil
}

// file returns the bundle.json entry for a fetched item.
func (it Item) file() File {
	p, _ := it.BundlePath()
	f := File{Kind: it.Kind, Name: it.Name, Version: it.Version, Path: p, SHA256: it.SHA256, Size: it.Size}
	if it.Kind == KindDeb {
		f.Arch = it.Arch
	}
	if it.Kind == KindNPM {
		f.Integrity = it.Integrity
	}
	return f
}

// NPMTarballURL returns where registry serves the tarball of name at
// version: <registry>/<name>/-/<base>-<version>.tgz, where base is the
// name without its scope ("@types/node" → ".../@types/node/-/node-20.1.0.tgz").
func NPMTarballURL(registry, name, version string) string {
	base := name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		base = name[i+1:]
	}
	return strings.TrimRight(registry, "/") + "/" + name + "/-/" + base + "-" + version + ".tgz"
}

// integrity is a parsed SRI string: the strongest algorithm it names and
// the digests it accepts for it.
type integrity struct {
	algo    string
	newHash func() hash.Hash
	digests []string // base64
}

// parseIntegrity parses a Subresource Integrity value such as npm's
// "sha512-<base64>". Of several hashes, the strongest algorithm is used,
// as the SRI specification says.
func parseIntegrity(s string) (*integrity, error) {
	rank := map[string]int{"sha256": 1, "sha384": 2, "sha512": 3}
	ctor := map[string]func() hash.Hash{"sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New}
	var best *integrity
	for _, f := range strings.Fields(s) {
		algo, digest, ok := strings.Cut(f, "-")
		if i := strings.IndexByte(digest, '?'); i >= 0 {
			digest = digest[:i] // SRI options are ignored
		}
		if !ok || rank[algo] == 0 {
			continue
		}
		if _, err := base64.StdEncoding.DecodeString(digest); err != nil {
			return nil, fmt.Errorf("integrity %q: bad base64: %v", s, err)
		}
		switch {
		case best == nil || rank[algo] > rank[best.algo]:
			best = &integrity{algo: algo, newHash: ctor[algo], digests: []string{digest}}
		case algo == best.algo:
			best.digests = append(best.digests, digest)
		}
	}
	if best == nil {
		return nil, fmt.Errorf("integrity %q has no sha256, sha384 or sha512 hash", s)
	}
	return best, nil
}

func (in *integrity) match(sum []byte) bool {
	got := base64.StdEncoding.EncodeToString(sum)
	for _, d := range in.digests {
		if d == got {
			return true
		}
	}
	return false
}
