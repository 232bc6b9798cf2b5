package deno_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/plugins/deno"
	"github.com/runtimekit/runtimekit/sdk"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		match  bool
		conf   int
		params map[string]string // "." and "./x" stand for the app directory and paths in it
	}{
		{"deno.json with main.ts", map[string]string{"deno.json": "{}", "main.ts": ""}, true, sdk.ConfidenceFramework, map[string]string{"app": ".", "main": "main.ts"}},
		{"deno.jsonc", map[string]string{"deno.jsonc": "{}"}, true, sdk.ConfidenceFramework, map[string]string{"app": "."}},
		{"package.json only", map[string]string{"package.json": "{}"}, false, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				path := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := deno.Runtime{}.Detect(context.Background(), &sdk.DetectRequest{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Match != tt.match || resp.Confidence != tt.conf {
				t.Fatalf("match=%v confidence=%d, want %v %d (reason %q)", resp.Match, resp.Confidence, tt.match, tt.conf, resp.Reason)
			}
			want := map[string]any{}
			for k, v := range tt.params {
				if v == "." || strings.HasPrefix(v, "./") {
					v = filepath.Join(dir, v)
				}
				want[k] = v
			}
			got := resp.Params
			if got == nil {
				got = map[string]any{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
		})
	}
}
