// Package python is the Python 3 runtime plugin (Debian python3 and
// python3-venv); given an app directory it runs the app as a service.
package python

import (
	"context"
	"embed"
	"os"
	"path/filepath"

	"github.com/runtimekit/runtimekit/sdk"
)

// Name and Version must equal the manifest's; the plugintest kit checks it.
const (
	Name    = "python"
	Version = "3.11.2"
)

//go:embed manifest.cue
var manifestFS embed.FS

// Runtime implements sdk.Runtime.
type Runtime struct{ sdk.Unimplemented }

// Describe returns the embedded manifest.
func (Runtime) Describe(context.Context, *sdk.DescribeRequest) (*sdk.DescribeResponse, error) {
	return sdk.DescribeFS(Name, Version, manifestFS)
}

// markers are files that make a directory a Python project.
var markers = []string{"pyproject.toml", "requirements.txt", "setup.py", "Pipfile"}

// entries are common entry scripts, in order of preference.
var entries = []string{"app.py", "main.py", "server.py", "wsgi.py", "manage.py"}

// Detect recognises a Python project by its packaging files.
func (Runtime) Detect(_ context.Context, req *sdk.DetectRequest) (*sdk.DetectResponse, error) {
	for _, m := range markers {
		if _, err := os.Stat(filepath.Join(req.Dir, m)); err != nil {
			continue
		}
		params := map[string]any{"app": req.Dir}
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(req.Dir, e)); err == nil {
				params["main"] = e
				break
			}
		}
		return &sdk.DetectResponse{Match: true, Confidence: sdk.ConfidenceRuntime, Reason: m + " found", Params: params}, nil
	}
	return &sdk.DetectResponse{}, nil
}
