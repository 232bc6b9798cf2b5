// Package nginx is the nginx runtime plugin: a static site server and
// reverse proxy from Debian's nginx-light package. It is a complete example of
// a runtime plugin: a CUE manifest (manifest.cue) embedded in the binary, a
// Detect that recognises a static site, and a main (cmd/runtimectl-plugin-nginx)
// that serves it with sdk.Serve.
package nginx

import (
	"context"
	"embed"
	"os"
	"path/filepath"

	"github.com/runtimekit/runtimekit/sdk"
)

// Name and Version must equal the manifest's; the plugintest kit checks it.
const (
	Name    = "nginx"
	Version = "1.22.1"
)

//go:embed manifest.cue
var manifestFS embed.FS

// Runtime implements sdk.Runtime. Its files are fully declared in the
// manifest (CUE interpolation of params).
type Runtime struct{ sdk.Unimplemented }

// Describe returns the embedded manifest.
func (Runtime) Describe(context.Context, *sdk.DescribeRequest) (*sdk.DescribeResponse, error) {
	return sdk.DescribeFS(Name, Version, manifestFS)
}

// siteDirs are where static-site generators put their output, most specific
// first; the app directory itself comes last.
var siteDirs = []string{"dist", "build", "public", "_site", "out", "."}

// Detect recognises a static site: an index.html in the directory or in a
// generator's output directory, which it suggests as the site served (the
// parameter site, relative to the app). It is a fallback: any app runtime
// outranks it.
func (Runtime) Detect(_ context.Context, req *sdk.DetectRequest) (*sdk.DetectResponse, error) {
	for _, d := range siteDirs {
		root := filepath.Join(req.Dir, d)
		if fi, err := os.Stat(filepath.Join(root, "index.html")); err == nil && fi.Mode().IsRegular() {
			return &sdk.DetectResponse{
				Match:      true,
				Confidence: sdk.ConfidenceFallback,
				Reason:     "static site: " + filepath.Join(d, "index.html"),
				Params:     map[string]any{"site": d},
			}, nil
		}
	}
	return &sdk.DetectResponse{}, nil
}
