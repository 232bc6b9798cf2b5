package state

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

// File kinds.
const (
	FileManaged    = "managed"
	FileUserConfig = "user-config"
)

// File is a file runtimekit wrote, with the digest of the bytes it wrote.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Mode   uint32 `json:"mode"`
	Owner  string `json:"owner"`
	Group  string `json:"group"`
	Kind   string `json:"kind"`
}

// Service is a supervised process, as runit runs it.
type Service struct {
	Name    string            `json:"name"`
	Argv    []string          `json:"argv"`
	User    string            `json:"user"`
	Workdir string            `json:"workdir,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	// Restart is always, on-failure or never.
	Restart    string `json:"restart"`
	StopSignal string `json:"stopSignal"`
	// StopTimeout is a Go duration string.
	StopTimeout string   `json:"stopTimeout"`
	DependsOn   []string `json:"dependsOn,omitempty"`
}

// Health check kinds.
const (
	HealthHTTP = "http"
	HealthTCP  = "tcp"
	HealthExec = "exec"
)

// HealthCheck proves a runtime answers. Durations are Go duration strings.
type HealthCheck struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Service string `json:"service,omitempty"`
	// Port is the port number probed on the loopback (http, tcp).
	Port   int      `json:"port,omitempty"`
	Path   string   `json:"path,omitempty"`   // http
	Status int      `json:"status,omitempty"` // http
	Body   string   `json:"body,omitempty"`   // http: substring to find
	Argv   []string `json:"argv,omitempty"`   // exec
	// User is the account an exec probe runs as; plans always name it
	// (root only when the manifest says so). Empty in states written
	// before probes had users, and for http and tcp checks.
	User        string `json:"user,omitempty"`
	Interval    string `json:"interval"`
	Timeout     string `json:"timeout"`
	Retries     int    `json:"retries"`
	StartPeriod string `json:"startPeriod"`
}

// Port is a port a runtime listens on.
type Port struct {
	Name     string `json:"name"`
	Number   int    `json:"number"`
	Protocol string `json:"protocol"`
}

// Runtime returns the installed runtime with that name.
func (s *State) Runtime(name string) (*Runtime, bool) {
	for i := range s.Runtimes {
		if s.Runtimes[i].Name == name {
			return &s.Runtimes[i], true
		}
	}
	return nil, false
}
