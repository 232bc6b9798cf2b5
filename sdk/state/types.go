package state

import (
	"encoding/json"
	"slices"

	"github.com/runtimekit/runtimekit/sdk/unit"
)

// FormatVersion is the state format this package reads and writes.
const FormatVersion = 1

// State is everything runtimekit installed on one machine.
type State struct {
	FormatVersion int `json:"formatVersion"`
	// Lineage identifies this machine's history of states; empty until the
	// first apply writes one.
	Lineage string `json:"lineage"`
	// Serial counts applies; a plan records the serial it was made against.
	Serial int64 `json:"serial"`
	// Target is the profile name the machine was planned as.
	Target   string    `json:"target"`
	Runtimes []Runtime `json:"runtimes"`
	// Apps are the deployed apps (see App).
	Apps []App `json:"apps,omitempty"`
}

// Runtime is one installed runtime and everything it owns.
type Runtime struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Auto is true when the runtime was installed only because another
	// one requires it (like apt's automatically installed packages).
	Auto     bool           `json:"auto,omitempty"`
	Params   map[string]any `json:"params,omitempty"`
	Requires []Requirement  `json:"requires,omitempty"`
	Provides []Capability   `json:"provides,omitempty"`
	// Packages are the Debian packages this runtime pulled in beyond the
	// base system. Another runtime may need some of them too: a package is
	// removed only when no remaining runtime lists it.
	Packages  []Package     `json:"packages,omitempty"`
	Artifacts []Artifact    `json:"artifacts,omitempty"`
	Files     []File        `json:"files,omitempty"`
	Services  []Service     `json:"services,omitempty"`
	Health    []HealthCheck `json:"health,omitempty"`
	Ports     []Port        `json:"ports,omitempty"`
	// ResourcesMiB are the manifest's estimates, for budget checks.
	MemoryMiB int `json:"memoryMiB"`
	DiskMiB   int `json:"diskMiB"`
}

// Requirement is a runtime this one needs, with a semver constraint.
type Requirement struct {
	Runtime    string `json:"runtime"`
	Constraint string `json:"constraint,omitempty"`
}

// Capability is something a runtime provides to others.
type Capability struct {
	Name      string `json:"name"`
	Exclusive bool   `json:"exclusive,omitempty"`
}

// Package is an installed Debian package.
type Package struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	Arch          string `json:"arch"`
	InstalledSize int64  `json:"installedSize,omitempty"` // KiB
	// SHA256 is the digest of the .deb it was installed from: a rollback
	// that must put the package back reinstalls exactly that file, never
	// another one that merely has the same name and version.
	SHA256 string `json:"sha256,omitempty"`
}

// Artifact is an extracted non-Debian artifact.
type Artifact struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Dest   string `json:"dest"`
	Format string `json:"format"`
}

// The units a runtime owns are sdk/unit's: the state records them as plans
// carry them. The aliases keep the state's vocabulary (state.Service,
// state.HealthCheck) for its many readers.
type (
	// File is a file runtimekit wrote, with the digest of the bytes it
	// wrote.
	File = unit.File
	// Service is a supervised process, as runit runs it.
	Service = unit.Service
	// HealthCheck proves a runtime answers.
	HealthCheck = unit.HealthCheck
	// Port is a port a runtime listens on.
	Port = unit.Port
)

// File kinds.
const (
	FileManaged    = unit.FileManaged
	FileUserConfig = unit.FileUserConfig
)

// Health check kinds.
const (
	HealthHTTP = unit.HealthHTTP
	HealthTCP  = unit.HealthTCP
	HealthExec = unit.HealthExec
)

// Runtime returns the installed runtime with that name.
func (s *State) Runtime(name string) (*Runtime, bool) {
	for i := range s.Runtimes {
		if s.Runtimes[i].Name == name {
			return &s.Runtimes[i], true
		}
	}
	return nil, false
}

// Equal reports whether r and o record the same runtime, as the state file
// holds them: an empty list is no list, and parameters compare as their
// JSON (a number read back from the file is a float64, whatever Go type
// it was written from).
func (r Runtime) Equal(o Runtime) bool {
	return r.Name == o.Name && r.Version == o.Version && r.Auto == o.Auto &&
		sameParams(r.Params, o.Params) &&
		slices.Equal(r.Requires, o.Requires) && slices.Equal(r.Provides, o.Provides) &&
		slices.Equal(r.Packages, o.Packages) && slices.Equal(r.Artifacts, o.Artifacts) &&
		slices.Equal(r.Files, o.Files) &&
		slices.EqualFunc(r.Services, o.Services, unit.Service.Equal) &&
		slices.EqualFunc(r.Health, o.Health, unit.HealthCheck.Equal) &&
		slices.Equal(r.Ports, o.Ports) &&
		r.MemoryMiB == o.MemoryMiB && r.DiskMiB == o.DiskMiB
}

// sameParams compares parameters as the state file would hold them.
func sameParams(a, b map[string]any) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	ca, errA := canonicalJSON(a)
	cb, errB := canonicalJSON(b)
	return errA == nil && errB == nil && ca == cb
}

// canonicalJSON is v as written and read back: map keys sorted, numbers
// as float64.
func canonicalJSON(v any) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var back any
	if err := json.Unmarshal(raw, &back); err != nil {
		return "", err
	}
	out, err := json.Marshal(back)
	return string(out), err
}
