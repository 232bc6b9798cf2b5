package main

import (
	"context"
	"errors"

	"github.com/runtimekit/runtimekit/sdk/lock"
)

// artifactDigester returns how `lock` learns a non-Debian artifact's SHA-256
// and size: by fetching it once.
func (a *app) artifactDigester() func(ctx context.Context, art lock.Artifact) (string, int64, error) {
	return func(ctx context.Context, art lock.Artifact) (string, int64, error) {
		if art.SHA256 != "" && art.Size > 0 {
			return art.SHA256, art.Size, nil
		}
		return "", 0, errors.New("fetching artifacts to pin them is not available yet")
	}
}
