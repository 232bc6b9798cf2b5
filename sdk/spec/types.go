package spec

import (
	"github.com/runtimekit/runtimekit/sdk/diag"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// Manifest is a runtime's declaration, decoded from CUE or JSON after it has
// been unified with the schema and the user's parameters. Every field is
// concrete; defaults from the schema are filled in.
type Manifest struct {
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Description string     `json:"description,omitempty"`
	Platforms   []Platform `json:"platforms"`
	// Unsupported names platforms the runtime cannot run on, with the reason
	// shown when a plan targets one of them.
	Unsupported []UnsupportedPlatform `json:"unsupported,omitempty"`

	Requires  []Requirement `json:"requires,omitempty"`
	Conflicts []string      `json:"conflicts,omitempty"`
	Provides  []Capability  `json:"provides,omitempty"`

	Packages  Packages          `json:"packages"`
	Ports     []Port            `json:"ports,omitempty"`
	Files     []File            `json:"files,omitempty"`
	Services  []Service         `json:"services,omitempty"`
	Health    []HealthCheck     `json:"health,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Resources Resources         `json:"resources"`
	Params    []Param           `json:"params,omitempty"`

	// Source locates declarations in the manifest source for diagnostics
	// raised later (by the planner). Keys are JSON-pointer-like paths such as
	// "/ports/0/number"; it is not part of the manifest's JSON form.
	Source diag.Positions `json:"-"`
}

// Platform is an os/arch pair in Go/Debian naming: linux/386, linux/amd64.
type Platform struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
}

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// UnsupportedPlatform is a platform a runtime cannot support, and why.
type UnsupportedPlatform struct {
	Platform
	Reason string `json:"reason"`
}

// Requirement says this runtime needs another one at a semver constraint.
type Requirement struct {
	Runtime    string `json:"runtime"`
	Constraint string `json:"constraint,omitempty"` // Masterminds/semver constraint; empty = any
}

// Capability is something a runtime offers to others (e.g. "http-server").
// An exclusive capability may be provided by one installed runtime only.
type Capability struct {
	Name      string `json:"name"`
	Exclusive bool   `json:"exclusive,omitempty"`
}

// Packages lists what a runtime installs.
type Packages struct {
	Debian   []DebianPackage `json:"debian,omitempty"`
	Archives []Archive       `json:"archives,omitempty"`
	NPM      []NPMPackage    `json:"npm,omitempty"`
}

// DebianPackage is a request for a Debian package, optionally constrained by
// a Debian version relation such as ">= 1.22".
type DebianPackage struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Archive is a non-Debian artifact (a tarball or zip) fetched by URL, checked
// by SHA-256 and extracted under Dest.
type Archive struct {
	Name     string    `json:"name"`
	URL      string    `json:"url"`
	SHA256   string    `json:"sha256"`
	Size     int64     `json:"size,omitempty"`
	Format   string    `json:"format"` // tar.gz, tar.xz, zip
	Dest     string    `json:"dest"`
	Strip    int       `json:"strip,omitempty"`
	Include  []string  `json:"include,omitempty"` // path globs inside the archive; empty = all
	Platform *Platform `json:"platform,omitempty"`
}

// NPMPackage is an npm registry tarball pinned by its integrity string.
type NPMPackage struct {
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Integrity string    `json:"integrity"` // sha512-... (SRI)
	Dest      string    `json:"dest"`      // receives the tarball's package/ directory
	Platform  *Platform `json:"platform,omitempty"`
}

// Port is a port a runtime listens on.
type Port struct {
	Name     string `json:"name"`
	Number   int    `json:"number"`
	Protocol string `json:"protocol"` // tcp or udp
	Purpose  string `json:"purpose,omitempty"`
}

// File kinds (see unit.FileKind).
const (
	FileManaged    = unit.FileManaged    // owned by runtimekit: rewritten on upgrade
	FileUserConfig = unit.FileUserConfig // written once, then the user's
)

// File is a file a runtime writes. Exactly one of Content and Template is set;
// a Template is a Go text/template rendered with the resolved parameters.
type File struct {
	Path     string        `json:"path"`
	Mode     uint32        `json:"mode"`
	Owner    string        `json:"owner"`
	Group    string        `json:"group"`
	Content  string        `json:"content,omitempty"`
	Template string        `json:"template,omitempty"`
	Kind     unit.FileKind `json:"kind"`
}

// Restart policies (see unit.RestartPolicy).
const (
	RestartAlways    = unit.RestartAlways
	RestartOnFailure = unit.RestartOnFailure
	RestartNever     = unit.RestartNever
)

// Service is a long-running foreground process supervised by runit. A
// manifest declares it in its resolved form; ResolveService adds the
// runtime's environment.
type Service = unit.Service

// Duration is a duration written as a Go duration string ("5s").
type Duration = unit.Duration

// Health check kinds (see unit.HealthKind).
const (
	HealthHTTP = unit.HealthHTTP
	HealthTCP  = unit.HealthTCP
	HealthExec = unit.HealthExec
)

// HealthCheck proves that a runtime answers.
type HealthCheck struct {
	Name        string          `json:"name"`
	Kind        unit.HealthKind `json:"kind"`
	Service     string          `json:"service,omitempty"` // the service it watches; empty for a runtime with no service
	Port        string          `json:"port,omitempty"`    // a port name, for http and tcp
	HTTP        *HTTPProbe      `json:"http,omitempty"`
	Exec        *ExecProbe      `json:"exec,omitempty"`
	Interval    Duration        `json:"interval"`
	Timeout     Duration        `json:"timeout"`
	Retries     int             `json:"retries"`
	StartPeriod Duration        `json:"startPeriod"`
}

// HTTPProbe is a GET on the loopback.
type HTTPProbe struct {
	Path   string `json:"path"`
	Status int    `json:"status"`
	Body   string `json:"body,omitempty"` // a substring the body must contain
}

// ExecProbe runs a command; exit status 0 is healthy.
type ExecProbe struct {
	Argv []string `json:"argv"`
	// User is the account the command runs as ("nobody" unless the
	// manifest says otherwise).
	User string `json:"user"`
}

// Resources are estimates used for the target's budgets.
type Resources struct {
	MemoryMiB int `json:"memoryMiB"`
	DiskMiB   int `json:"diskMiB"`
}

// Param is a user-settable value, with its default and the constraint it
// must meet (shown as CUE source, e.g. "int & >=1024 & <=65535").
type Param struct {
	Name        string `json:"name"`
	Type        string `json:"type"` // string, int, number, bool, list, struct
	Default     any    `json:"default,omitempty"`
	Value       any    `json:"value"`
	Constraint  string `json:"constraint,omitempty"`
	Description string `json:"description,omitempty"`
}
