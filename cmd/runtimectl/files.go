//go:build !vm

package main

import (
	"errors"
	"fmt"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/manifest"
)

func readFiles(names []string) (map[string][]byte, error) {
	files := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := bounded.ReadFile(n, "a manifest", bounded.MaxManifest)
		if err != nil {
			return nil, fmt.Errorf("read manifest: %w", err)
		}
		files[n] = b
	}
	return files, nil
}

func asDiagnostics(err error, ds *manifest.Diagnostics) bool {
	return err != nil && errors.As(err, ds)
}
