package spec

// AppFile is what an app file (schema #App) declares; every field is
// optional.
type AppFile struct {
	Name      string            `json:"name,omitempty"`
	Runtime   string            `json:"runtime,omitempty"`
	Params    map[string]any    `json:"params,omitempty"`
	Processes map[string]string `json:"processes,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Keep      int               `json:"keep,omitempty"`
	Ignore    []string          `json:"ignore,omitempty"`
	Health    *AppHealth        `json:"health,omitempty"`
}

// AppHealth is an app file's health check: an HTTP GET of Path (answered
// with Status, default 200) or a TCP connect.
type AppHealth struct {
	Kind   string `json:"kind"`
	Path   string `json:"path,omitempty"`
	Status int    `json:"status,omitempty"`
}
