package plan

import (
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// FormatVersion is the plan format this package reads and writes.
const FormatVersion = 2

// Plan is a step plan.
type Plan struct {
	FormatVersion int        `json:"formatVersion"`
	Target        Target     `json:"target"`
	State         StateRef   `json:"state"`
	Artifacts     []Artifact `json:"artifacts"`
	Summary       Summary    `json:"summary"`
	Steps         []Step     `json:"steps"`
}

// Target identifies the machine profile the plan is for.
type Target struct {
	Name       string `json:"name"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	DebianArch string `json:"debianArch"`
	Release    string `json:"release"`
}

// StateRef is the state a plan was made against. An empty lineage with
// serial 0 means a machine runtimekit has not touched.
type StateRef struct {
	Lineage string `json:"lineage"`
	Serial  int64  `json:"serial"`
}

// Artifact kinds.
const (
	ArtifactDeb     = "deb"
	ArtifactNPM     = "npm"
	ArtifactArchive = "archive"
	// A release's files (a tar, named by the app and release number),
	// and its env file (KEY='value' lines, the secrets among them).
	ArtifactRelease = "release"
	ArtifactEnv     = "env"
)

// Artifact is a file the plan needs from the bundle, named by SHA-256.
type Artifact struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	Arch      string `json:"arch,omitempty"`      // deb
	Filename  string `json:"filename,omitempty"`  // deb: path below the mirror root
	URL       string `json:"url,omitempty"`       // archive
	Integrity string `json:"integrity,omitempty"` // npm
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
}

// Summary is what the plan changes, for people.
type Summary struct {
	Add       []RuntimeChange `json:"add"`
	Remove    []RuntimeChange `json:"remove"`
	Keep      []RuntimeChange `json:"keep"`
	Packages  PackageChanges  `json:"packages"`
	Ports     []PortUse       `json:"ports"`
	Services  []string        `json:"services"`
	MemoryMiB Budget          `json:"memoryMiB"`
	DiskMiB   Budget          `json:"diskMiB"`
	Notes     []string        `json:"notes"`
}

// RuntimeChange is a runtime added, removed or kept.
type RuntimeChange struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Auto marks a runtime added only because another requires it.
	Auto   bool   `json:"auto,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// PackageChanges lists Debian packages installed and removed.
type PackageChanges struct {
	Install []state.Package `json:"install"`
	Remove  []state.Package `json:"remove"`
}

// PortUse is a port in use after the plan, and by whom.
type PortUse struct {
	Number   int    `json:"number"`
	Protocol string `json:"protocol"`
	Runtime  string `json:"runtime"`
	Name     string `json:"name"`
}

// Budget compares use before and after with the target's budget.
type Budget struct {
	Before int `json:"before"`
	After  int `json:"after"`
	Budget int `json:"budget"`
}

// PackageRef is a Debian package in a step; SHA256 names its .deb in the
// bundle (empty for removals).
type PackageRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
	SHA256  string `json:"sha256,omitempty"`
}

// Archive is an artifact extracted under Dest.
type Archive struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Format string `json:"format"`
	Dest   string `json:"dest"`
	Strip  int    `json:"strip"`
	// Include limits extraction to archive paths matching these globs
	// (path.Match syntax, after Strip); empty extracts everything.
	Include []string `json:"include,omitempty"`
}

// File is a file to write or remove. For write-file, Content holds the
// bytes and SHA256 their digest. For remove-file, SHA256 is the digest
// runtimekit wrote: the executor removes the file only if it still has it.
type File struct {
	Path    string `json:"path"`
	Content string `json:"content,omitempty"`
	SHA256  string `json:"sha256"`
	Mode    uint32 `json:"mode"`
	Owner   string `json:"owner"`
	Group   string `json:"group"`
	// Kind is managed (replaced on upgrade) or user-config (written only
	// when absent; never removed if changed).
	Kind unit.FileKind `json:"kind"`
}
