//go:build !vm

package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/runtimekit/runtimekit/manifest"
)

func readFiles(names []string) (map[string][]byte, error) {
	files := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
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
