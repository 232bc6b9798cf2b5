//go:build vm

package targets

import (
	"context"
	"errors"

	"github.com/runtimekit/runtimekit/sdk/spec"
)

// loadFile refuses: the vm build has no manifest loader (no CUE).
func loadFile(context.Context, map[string][]byte) (*spec.Target, error) {
	return nil, errors.New("this runtimectl (the vm build) reads only the built-in target profiles; use a profile file on the connected machine")
}
