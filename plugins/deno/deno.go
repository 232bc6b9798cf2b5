// Package deno is the Deno runtime plugin. Deno has no i386 build, so the
// manifest limits it to amd64 and arm64 and says why for i386.
package deno

import (
	"context"
	"embed"
	"os"
	"path/filepath"

	"github.com/runtimekit/runtimekit/sdk"
)

// Name and Version must equal the manifest's; the plugintest kit checks it.
const (
	Name    = "deno"
	Version = "2.9.6"
)

//go:embed manifest.cue
var manifestFS embed.FS

// Runtime implements sdk.Runtime.
type Runtime struct{ sdk.Unimplemented }

// Describe returns the embedded manifest.
func (Runtime) Describe(context.Context, *sdk.DescribeRequest) (*sdk.DescribeResponse, error) {
	return sdk.DescribeFS(Name, Version, manifestFS)
}

var configs = []string{"deno.json", "deno.jsonc"}

// entries are common entry modules, in order of preference.
var entries = []string{"main.ts", "main.js", "server.ts", "mod.ts"}

// Detect recognises a Deno project by its configuration file. A deno.json is
// specific to Deno, so it ranks like a framework, above a generic package.json.
func (Runtime) Detect(_ context.Context, req *sdk.DetectRequest) (*sdk.DetectResponse, error) {
	for _, c := range configs {
		if _, err := os.Stat(filepath.Join(req.Dir, c)); err != nil {
			continue
		}
		params := map[string]any{"app": req.Dir}
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(req.Dir, e)); err == nil {
				params["main"] = e
				break
			}
		}
		return &sdk.DetectResponse{Match: true, Confidence: sdk.ConfidenceFramework, Reason: c + " found", Params: params}, nil
	}
	return &sdk.DetectResponse{}, nil
}
