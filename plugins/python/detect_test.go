package python_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/plugins/python"
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
		{"requirements and app.py", map[string]string{"requirements.txt": "flask", "app.py": ""}, true, sdk.ConfidenceRuntime, map[string]string{"app": ".", "main": "app.py"}},
		{"pyproject only", map[string]string{"pyproject.toml": ""}, true, sdk.ConfidenceRuntime, map[string]string{"app": "."}},
		{"scripts without packaging", map[string]string{"main.py": ""}, false, 0, nil},
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
			resp, err := python.Runtime{}.Detect(context.Background(), &sdk.DetectRequest{Dir: dir})
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
