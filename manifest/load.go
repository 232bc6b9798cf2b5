package manifest

import (
	"context"
	"errors"
)

// Options control how a manifest is loaded.
type Options struct {
	// Params are user values unified with the manifest's params.
	Params map[string]any
}

// LoadFiles loads a manifest from named source files (.cue or .json). The
// returned error is a Diagnostics when the manifest itself is at fault.
func LoadFiles(ctx context.Context, files map[string][]byte, opts Options) (*Manifest, error) {
	return nil, errors.New("not implemented")
}
