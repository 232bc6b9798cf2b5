// Package node is the Node.js runtime plugin (Debian nodejs). Other runtimes
// build on it (nextjs requires node); given an app directory it runs the app.
package node

import (
	"context"
	"embed"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/runtimekit/runtimekit/sdk"
)

// Name and Version must equal the manifest's; the plugintest kit checks it.
const (
	Name    = "node"
	Version = "18.19.0"
)

//go:embed manifest.cue
var manifestFS embed.FS

// Runtime implements sdk.Runtime.
type Runtime struct{ sdk.Unimplemented }

// Describe returns the embedded manifest.
func (Runtime) Describe(context.Context, *sdk.DescribeRequest) (*sdk.DescribeResponse, error) {
	return sdk.DescribeFS(Name, Version, manifestFS)
}

type packageJSON struct {
	Main string `json:"main"`
}

// Detect recognises any directory with a package.json. Frameworks built on
// Node.js (nextjs) detect with a higher confidence and win.
func (Runtime) Detect(_ context.Context, req *sdk.DetectRequest) (*sdk.DetectResponse, error) {
	b, err := os.ReadFile(filepath.Join(req.Dir, "package.json"))
	if err != nil {
		if os.IsNotExist(err) {
			return &sdk.DetectResponse{}, nil
		}
		return nil, err
	}
	var pkg packageJSON
	if err := json.Unmarshal(b, &pkg); err != nil {
		return &sdk.DetectResponse{Reason: "package.json is not valid JSON: " + err.Error()}, nil
	}
	params := map[string]any{"app": req.Dir}
	if pkg.Main != "" {
		params["main"] = filepath.Clean(pkg.Main)
	}
	return &sdk.DetectResponse{
		Match:      true,
		Confidence: sdk.ConfidenceRuntime,
		Reason:     "package.json found",
		Params:     params,
	}, nil
}
