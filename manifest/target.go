package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"cuelang.org/go/cue"
)

// LoadTarget loads a target profile from CUE or JSON source files. Like
// LoadFiles it evaluates a plain profile in this process and any other in
// a child process, under the default budget.
func LoadTarget(ctx context.Context, files map[string][]byte) (*Target, error) {
	return loadTarget(ctx, files, Budget{})
}

func loadTarget(ctx context.Context, files map[string][]byte, b Budget) (*Target, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("load target profile: no source files")
	}
	if plainManifest(files, nil) {
		return finishTarget(evalTarget(files))
	}
	resp, err := evaluate(ctx, "target profile", &evalRequest{Kind: kindTarget, Files: files}, b.withDefaults(), nil)
	if err != nil {
		return nil, err
	}
	return finishTarget(resp)
}

func finishTarget(resp *evalResponse) (*Target, error) {
	if len(resp.Diagnostics) > 0 {
		return nil, resp.Diagnostics
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	var t Target
	if err := json.Unmarshal(resp.Value, &t); err != nil {
		return nil, fmt.Errorf("decode evaluated target profile: %w", err)
	}
	return &t, nil
}

// evalTarget evaluates a target profile.
func (l *Loader) evalTarget(files map[string][]byte) *evalResponse {
	src, ds := l.compile(files)
	if ds != nil {
		return &evalResponse{Diagnostics: ds}
	}
	def := l.schema.LookupPath(cue.MakePath(cue.Def("Target")))
	v := def.Unify(src)
	ds = unknownFields(src, def)
	if err := v.Validate(cue.Concrete(true), cue.All()); err != nil {
		ds = append(ds, l.fromCUE(err, v, def)...)
	}
	if ds = dedupe(ds); ds.HasErrors() {
		sortDiags(ds)
		return &evalResponse{Diagnostics: ds}
	}
	var t Target
	if err := v.Decode(&t); err != nil {
		return &evalResponse{Error: fmt.Sprintf("decode target: %v", err)}
	}
	raw, err := json.Marshal(&t)
	if err != nil {
		return &evalResponse{Error: fmt.Sprintf("encode target: %v", err)}
	}
	return &evalResponse{Value: raw}
}
