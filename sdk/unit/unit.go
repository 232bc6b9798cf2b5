package unit

import (
	"maps"
	"slices"
)

// RestartPolicy says when runit starts a service again after it exits.
type RestartPolicy string

// Restart policies. The zero value, "", means RestartAlways.
const (
	RestartAlways    RestartPolicy = "always"
	RestartOnFailure RestartPolicy = "on-failure"
	RestartNever     RestartPolicy = "never"
)

// Valid reports whether r is one of the restart policies (or "").
func (r RestartPolicy) Valid() bool {
	switch r {
	case "", RestartAlways, RestartOnFailure, RestartNever:
		return true
	}
	return false
}

// HealthKind is how a health check probes.
type HealthKind string

// Health check kinds.
const (
	HealthHTTP HealthKind = "http" // GET on the loopback
	HealthTCP  HealthKind = "tcp"  // connect on the loopback
	HealthExec HealthKind = "exec" // run a command; exit status 0 is healthy
)

// Valid reports whether k is one of the health check kinds.
func (k HealthKind) Valid() bool {
	switch k {
	case HealthHTTP, HealthTCP, HealthExec:
		return true
	}
	return false
}

// FileKind says who owns a file after runtimekit wrote it.
type FileKind string

// File kinds.
const (
	FileManaged    FileKind = "managed"     // owned by runtimekit: rewritten on upgrade, removed with the runtime
	FileUserConfig FileKind = "user-config" // written once, then the user's: never replaced or removed once changed
)

// Valid reports whether k is one of the file kinds.
func (k FileKind) Valid() bool { return k == FileManaged || k == FileUserConfig }

// Service is a supervised process, as runit runs it.
type Service struct {
	Name    string            `json:"name"`
	Argv    []string          `json:"argv"`
	User    string            `json:"user"`
	Workdir string            `json:"workdir,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	// EnvFile, if set, is an absolute path of KEY='value' lines (sh
	// quoting) read when the service starts, after it became its user:
	// a deployed app's environment and secrets, which the run script, the
	// plan and the state must not carry. Its variables override Env.
	EnvFile string        `json:"envFile,omitempty"`
	Restart RestartPolicy `json:"restart"`
	// StopSignal is TERM, INT, QUIT, HUP, KILL, USR1 or USR2.
	StopSignal  string   `json:"stopSignal"`
	StopTimeout Duration `json:"stopTimeout"`
	DependsOn   []string `json:"dependsOn,omitempty"`
}

// Equal reports whether s and o are the same service. An empty list or
// map is the same as none, as in their JSON.
func (s Service) Equal(o Service) bool {
	return s.Name == o.Name && slices.Equal(s.Argv, o.Argv) && s.User == o.User && s.Workdir == o.Workdir &&
		maps.Equal(s.Env, o.Env) && s.EnvFile == o.EnvFile && s.Restart == o.Restart && s.StopSignal == o.StopSignal &&
		s.StopTimeout == o.StopTimeout && slices.Equal(s.DependsOn, o.DependsOn)
}

// HealthCheck proves a runtime answers: the resolved form of a manifest's
// check, with the port name resolved to its number and the probe's fields
// flattened.
type HealthCheck struct {
	Name    string     `json:"name"`
	Kind    HealthKind `json:"kind"`
	Service string     `json:"service,omitempty"`
	// Port is the port number probed on the loopback (http, tcp).
	Port   int      `json:"port,omitempty"`
	Path   string   `json:"path,omitempty"`   // http
	Status int      `json:"status,omitempty"` // http
	Body   string   `json:"body,omitempty"`   // http: substring to find
	Argv   []string `json:"argv,omitempty"`   // exec
	// User is the account an exec probe runs as; plans always name it
	// (root only when the manifest says so). Empty in states written
	// before probes had users, and for http and tcp checks.
	User        string   `json:"user,omitempty"`
	Interval    Duration `json:"interval"`
	Timeout     Duration `json:"timeout"`
	Retries     int      `json:"retries"`
	StartPeriod Duration `json:"startPeriod"`
}

// Equal reports whether h and o are the same check (an empty argv is the
// same as none).
func (h HealthCheck) Equal(o HealthCheck) bool {
	return h.Name == o.Name && h.Kind == o.Kind && h.Service == o.Service && h.Port == o.Port &&
		h.Path == o.Path && h.Status == o.Status && h.Body == o.Body && slices.Equal(h.Argv, o.Argv) &&
		h.User == o.User && h.Interval == o.Interval && h.Timeout == o.Timeout && h.Retries == o.Retries &&
		h.StartPeriod == o.StartPeriod
}

// File is a file runtimekit wrote, with the digest of the bytes it wrote.
type File struct {
	Path   string   `json:"path"`
	SHA256 string   `json:"sha256"`
	Mode   uint32   `json:"mode"`
	Owner  string   `json:"owner"`
	Group  string   `json:"group"`
	Kind   FileKind `json:"kind"`
}

// Equal reports whether f and o are the same record.
func (f File) Equal(o File) bool { return f == o }

// Port is a port a runtime listens on.
type Port struct {
	Name     string `json:"name"`
	Number   int    `json:"number"`
	Protocol string `json:"protocol"` // tcp or udp
}

// Equal reports whether p and o are the same port.
func (p Port) Equal(o Port) bool { return p == o }
