package lock

import (
	"fmt"
	"sort"
	"strings"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/schema"
)

// FormatVersion is the lock format this package reads and writes.
const FormatVersion = 1

// Lock pins what every runtime needs on one target.
type Lock struct {
	FormatVersion int       `json:"formatVersion"`
	Target        Target    `json:"target"`
	Index         Index     `json:"index"`
	Runtimes      []Runtime `json:"runtimes"`
	// Supervisor is the closure of the service supervisor (runit), which
	// every runtime with a service needs on a machine without one.
	Supervisor *Runtime `json:"supervisor,omitempty"`
}

// Target identifies the machine profile the lock was made for.
type Target struct {
	Name       string `json:"name"`       // profile name, e.g. webvm-i386
	Arch       string `json:"arch"`       // Go architecture, e.g. 386
	DebianArch string `json:"debianArch"` // dpkg architecture, e.g. i386
	Release    string `json:"release"`    // Debian codename, e.g. bookworm
}

// Index identifies the Packages index the closure was resolved against.
type Index struct {
	SHA256 string `json:"sha256"` // of the uncompressed Packages file
	// Path names the index below the mirror root, e.g.
	// dists/bookworm/main/binary-i386/Packages.xz; empty for a local file.
	Path string `json:"path,omitempty"`
}

// Runtime is one runtime's pinned needs.
type Runtime struct {
	Name     string   `json:"name"`
	Version  string   `json:"version"`
	Requests []string `json:"requests"` // the manifest's Debian requests, as relations
	// Packages is the closure beyond the target's base set, in an order
	// dpkg can unpack (Pre-Depends first).
	Packages  []Package  `json:"packages"`
	Edges     []Edge     `json:"edges"`
	Artifacts []Artifact `json:"artifacts"`
}

// Package is one pinned .deb.
type Package struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	Arch          string `json:"arch"`
	Filename      string `json:"filename"` // path below the mirror root
	SHA256        string `json:"sha256"`
	Size          int64  `json:"size"`
	InstalledSize int64  `json:"installedSize"` // KiB
	Essential     bool   `json:"essential,omitempty"`
	// Relation fields as written in the index, for the planner's checks
	// of the union of several runtimes' closures.
	Provides  string `json:"provides,omitempty"`
	Conflicts string `json:"conflicts,omitempty"`
	Breaks    string `json:"breaks,omitempty"`
	Replaces  string `json:"replaces,omitempty"`
}

// Edge records that From's relation field Kind was met by To. From is empty
// for the runtime's own request.
type Edge struct {
	From     string `json:"from,omitempty"`
	Kind     string `json:"kind"`
	Relation string `json:"relation"`
	To       string `json:"to"`
}

// Artifact kinds.
const (
	ArtifactNPM     = "npm"
	ArtifactArchive = "archive"
)

// Artifact is a pinned non-Debian file.
type Artifact struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`   // npm
	URL       string `json:"url,omitempty"`       // archive
	Integrity string `json:"integrity,omitempty"` // npm SRI string
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	Dest      string `json:"dest"`
	Format    string `json:"format"` // tar.gz, tar.xz, zip
	Strip     int    `json:"strip"`
	// Include limits extraction to matching paths; empty means all.
	Include []string `json:"include,omitempty"`
}

// Runtime returns the named runtime's entry.
func (l *Lock) Runtime(name string) (*Runtime, bool) {
	for i := range l.Runtimes {
		if l.Runtimes[i].Name == name {
			return &l.Runtimes[i], true
		}
	}
	return nil, false
}

// Fits reports whether l was made for target t: the same profile name,
// architectures and Debian release. Its error says what l is for, worded
// to follow "lock FILE: ".
func (l *Lock) Fits(t Target) error {
	if l.Target != t {
		lt := l.Target
		return fmt.Errorf("it is for target %s (%s/%s, %s), not %s (%s/%s, %s)",
			lt.Name, lt.Arch, lt.DebianArch, lt.Release, t.Name, t.Arch, t.DebianArch, t.Release)
	}
	return nil
}

// Marshal returns the lock's canonical bytes: runtimes sorted by name, edges
// sorted, indented JSON with a final newline. Package order is kept: it is
// the install order.
func (l *Lock) Marshal() ([]byte, error) {
	c := *l
	c.FormatVersion = FormatVersion
	c.Runtimes = append([]Runtime{}, l.Runtimes...)
	sort.Slice(c.Runtimes, func(i, j int) bool { return c.Runtimes[i].Name < c.Runtimes[j].Name })
	all := make([]*Runtime, 0, len(c.Runtimes)+1)
	for i := range c.Runtimes {
		all = append(all, &c.Runtimes[i])
	}
	if l.Supervisor != nil {
		sv := *l.Supervisor
		c.Supervisor = &sv
		all = append(all, c.Supervisor)
	}
	for _, r := range all {
		r.Edges = append([]Edge(nil), r.Edges...)
		sort.Slice(r.Edges, func(a, b int) bool {
			x, y := r.Edges[a], r.Edges[b]
			return strings.Join([]string{x.From, x.Kind, x.Relation, x.To}, "\x00") <
				strings.Join([]string{y.From, y.Kind, y.Relation, y.To}, "\x00")
		})
		if r.Requests == nil {
			r.Requests = []string{}
		}
		if r.Packages == nil {
			r.Packages = []Package{}
		}
		if r.Edges == nil {
			r.Edges = []Edge{}
		}
		if r.Artifacts == nil {
			r.Artifacts = []Artifact{}
		}
	}
	return schema.Encode(&c)
}

// Write stores the lock atomically at path, a regular file or none (see
// durable.ReplaceFile: anything else is refused, never replaced). Output
// to a device or a FIFO is WriteFile's, with the bytes of Marshal.
func (l *Lock) Write(path string) error {
	b, err := l.Marshal()
	if err != nil {
		return fmt.Errorf("encode lock: %w", err)
	}
	if err := durable.ReplaceFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write lock: %w", err)
	}
	return nil
}

// Read loads a lock from path, checking it against schema/lock.schema.json.
// Anything but a regular file of at most bounded.MaxLock bytes is refused.
func Read(path string) (*Lock, error) {
	b, err := bounded.ReadFile(path, "a lock", bounded.MaxLock)
	if err != nil {
		return nil, fmt.Errorf("read lock: %w", err)
	}
	l, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return l, nil
}

// ParseTrusted decodes lock bytes that were validated when they were made
// (the locks embedded in runtimectl, checked by its tests) without the JSON
// Schema pass, which costs several milliseconds on every plan.
func ParseTrusted(b []byte) (*Lock, error) {
	var l Lock
	if err := schema.DecodeStrict(b, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Parse decodes and validates lock bytes.
func Parse(b []byte) (*Lock, error) {
	var l Lock
	if err := schema.Decode("lock.schema.json", b, &l); err != nil {
		return nil, err
	}
	return &l, nil
}
