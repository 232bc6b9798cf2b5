//go:build !vm

package main

import (
	"context"
	"fmt"

	"github.com/runtimekit/runtimekit/sdk/bundle"
	"github.com/runtimekit/runtimekit/sdk/lock"
)

// artifactDigester returns how `lock` learns a non-Debian artifact's SHA-256
// and size: archives declare theirs; npm tarballs are fetched once from the
// registry and checked against their integrity.
func (a *app) artifactDigester() func(ctx context.Context, art lock.Artifact) (string, int64, error) {
	var registry string
	return func(ctx context.Context, art lock.Artifact) (string, int64, error) {
		if art.SHA256 != "" && art.Size > 0 {
			return art.SHA256, art.Size, nil
		}
		if art.Kind != lock.ArtifactNPM {
			return "", 0, fmt.Errorf("archive %s declares no size: add size to the manifest", art.Name)
		}
		if registry == "" {
			r, err := npmRegistry(ctx)
			if err != nil {
				return "", 0, err
			}
			registry = r
		}
		fmt.Fprintf(a.stderr, "pinning npm %s@%s\n", art.Name, art.Version)
		return bundle.Pin(ctx, nil, registry, art.Name, art.Version, art.Integrity)
	}
}
