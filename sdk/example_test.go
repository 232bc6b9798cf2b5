package sdk_test

import (
	"context"
	"os"
	"path/filepath"

	"github.com/runtimekit/runtimekit/sdk"
)

// staticSite is a complete plugin: a manifest plus app detection. The
// manifest's files are rendered by runtimectl's planner; embedding
// sdk.Unimplemented gives defaults to methods Runtime may gain later.
type staticSite struct{ sdk.Unimplemented }

const staticManifest = `
name:        "static"
version:     "1.0.0"
description: "Static files served by busybox httpd"
platforms: [{os: "linux", arch: "386"}, {os: "linux", arch: "amd64"}]
`

func (staticSite) Describe(context.Context, *sdk.DescribeRequest) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:     "static",
		Version:  "1.0.0",
		Manifest: map[string][]byte{"manifest.cue": []byte(staticManifest)},
	}, nil
}

func (staticSite) Detect(_ context.Context, req *sdk.DetectRequest) (*sdk.DetectResponse, error) {
	if _, err := os.Stat(filepath.Join(req.Dir, "index.html")); err != nil {
		return &sdk.DetectResponse{}, nil
	}
	return &sdk.DetectResponse{
		Match:      true,
		Confidence: sdk.ConfidenceFallback,
		Reason:     "index.html at the top level",
		Params:     map[string]any{"root": req.Dir},
	}, nil
}

// A plugin is a main package that hands its Runtime to Serve. Build it as
// runtimectl-plugin-NAME (here runtimectl-plugin-static) next to runtimectl
// or in a directory of $RUNTIMECTL_PLUGIN_PATH, then pin it with
// `runtimectl plugins lock`. The example has no Output: Serve is the
// whole plugin process and only a plugin host can talk to it, so go test
// compiles it without running it.
func ExampleServe() {
	// func main() {
	sdk.Serve(staticSite{})
	// }
}
