// Package nextjs is the Next.js runtime plugin: it serves a prebuilt
// standalone Next.js app with the node runtime, which it requires.
package nextjs

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
	Name    = "nextjs"
	Version = "15.5.0"
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
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
}

// Detect recognises a package.json that depends on next. When the app has
// been built with output: "standalone", the app parameter points at the
// build; otherwise the reason tells the user to build it.
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
	v, ok := pkg.Dependencies["next"]
	if !ok {
		v, ok = pkg.DevDependencies["next"]
	}
	if !ok {
		return &sdk.DetectResponse{}, nil
	}
	resp := &sdk.DetectResponse{Match: true, Confidence: sdk.ConfidenceFramework, Reason: "package.json depends on next " + v}
	standalone := filepath.Join(req.Dir, ".next", "standalone")
	if _, err := os.Stat(filepath.Join(standalone, "server.js")); err == nil {
		resp.Params = map[string]any{"app": standalone}
	} else {
		resp.Reason += `; build it with output: "standalone" (next build) before deploying`
	}
	return resp, nil
}
