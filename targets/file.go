//go:build !vm

package targets

import (
	"context"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk/spec"
)

// loadFile evaluates a profile file with the manifest loader.
func loadFile(ctx context.Context, files map[string][]byte) (*spec.Target, error) {
	return manifest.LoadTarget(ctx, files)
}
