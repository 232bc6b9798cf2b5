package sdk

import "context"

// Runtime is what a plugin implements. Every method takes a context (cancelled
// when runtimectl gives up waiting) and a request, and returns a response or an
// error; an error is shown to the user as "plugin NAME: <error>".
type Runtime interface {
	// Describe returns the runtime's identity and its manifest source. It must
	// be cheap and deterministic: runtimectl caches the evaluated manifest by
	// the plugin binary's SHA-256.
	Describe(ctx context.Context, req *DescribeRequest) (*DescribeResponse, error)
	// Detect tells whether an application directory is something this runtime
	// serves, and how sure it is.
	Detect(ctx context.Context, req *DetectRequest) (*DetectResponse, error)
}

// DescribeRequest asks a plugin for its declaration. It is empty today and
// exists so fields can be added without breaking plugins.
type DescribeRequest struct{}

// DescribeResponse is a plugin's declaration.
type DescribeResponse struct {
	// Name is the runtime's name (lower case, [a-z0-9-]); it must equal the
	// manifest's name and the suffix of the binary name runtimectl-plugin-NAME.
	Name string
	// Version is the runtime manifest's semantic version.
	Version string
	// Manifest holds the CUE (.cue) or JSON (.json) source files of the
	// manifest, by file name. File names appear in diagnostics.
	Manifest map[string][]byte
}

// DetectRequest names an application directory to inspect. The plugin runs
// on the same machine as runtimectl and reads the directory itself.
type DetectRequest struct {
	// Dir is an absolute path.
	Dir string
}

// DetectResponse says whether the directory is an app for this runtime.
type DetectResponse struct {
	// Match is true when the runtime can serve the app.
	Match bool
	// Confidence ranks matches from several plugins: 0..100, higher first.
	// Use the Confidence constants for consistency across plugins.
	Confidence int
	// Reason is a short human explanation ("package.json depends on next").
	Reason string
	// Params are suggested parameter values for this app (for example the
	// app's start script), applied when the user accepts the detection.
	Params map[string]any
}

// Confidence levels shared by the built-in plugins so that a specific
// framework (Next.js) outranks its general runtime (Node.js), which outranks
// a generic fallback (a static site served by nginx).
const (
	ConfidenceFramework = 90
	ConfidenceRuntime   = 60
	ConfidenceFallback  = 10
)

// Unimplemented can be embedded in a Runtime to get a "no match" Detect, so
// a plugin that detects nothing implements Describe only. Embedding it also
// gives a default to any method Runtime gains later.
type Unimplemented struct{}

// Detect reports no match.
func (Unimplemented) Detect(context.Context, *DetectRequest) (*DetectResponse, error) {
	return &DetectResponse{}, nil
}
