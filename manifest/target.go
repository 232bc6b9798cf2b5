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
	return l.evalDef(files, "Target", "target", &Target{})
}

// evalApp evaluates an app file.
func (l *Loader) evalApp(files map[string][]byte) *evalResponse {
	return l.evalDef(files, "App", "app file", &AppFile{})
}

// evalDef evaluates files as the schema's definition #def, decoded into
// out (a pointer) and encoded as the response's value.
func (l *Loader) evalDef(files map[string][]byte, def, what string, out any) *evalResponse {
	src, ds := l.compile(files)
	if ds != nil {
		return &evalResponse{Diagnostics: ds}
	}
	d := l.schema.LookupPath(cue.MakePath(cue.Def(def)))
	v := d.Unify(src)
	ds = unknownFields(src, d)
	if err := v.Validate(cue.Concrete(true), cue.All()); err != nil {
		ds = append(ds, l.fromCUE(err, v, d)...)
	}
	if ds = dedupe(ds); ds.HasErrors() {
		sortDiags(ds)
		return &evalResponse{Diagnostics: ds}
	}
	if err := v.Decode(out); err != nil {
		return &evalResponse{Error: fmt.Sprintf("decode %s: %v", what, err)}
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return &evalResponse{Error: fmt.Sprintf("encode %s: %v", what, err)}
	}
	return &evalResponse{Value: raw}
}

// LoadApp loads an app file (schema #App) from CUE or JSON source files,
// with the diagnostics and the evaluation budget of a manifest.
func LoadApp(ctx context.Context, files map[string][]byte) (*AppFile, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var resp *evalResponse
	if plainManifest(files, nil) {
		l, err := NewLoader()
		if err != nil {
			return nil, err
		}
		resp = l.evalApp(files)
	} else {
		var err error
		if resp, err = evaluate(ctx, "app file", &evalRequest{Kind: kindApp, Files: files}, Budget{}.withDefaults(), nil); err != nil {
			return nil, err
		}
	}
	if len(resp.Diagnostics) > 0 {
		return nil, resp.Diagnostics
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	var a AppFile
	if err := json.Unmarshal(resp.Value, &a); err != nil {
		return nil, fmt.Errorf("decode evaluated app file: %w", err)
	}
	return &a, nil
}
