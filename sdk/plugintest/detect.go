package plugintest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/sdk"
)

// DetectCase is an app directory and what Detect must answer for it.
type DetectCase struct {
	Name string
	// Files are written below a fresh directory: relative path → content.
	Files      map[string]string
	Match      bool
	Confidence int
	// Params are the expected suggested parameters; in string values,
	// "$DIR" stands for the app directory.
	Params map[string]any
}

// Detect runs rt.Detect on each case's directory, as subtests, and compares
// the answer with the case.
func Detect(t *testing.T, rt sdk.Runtime, cases []DetectCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.Files {
				path := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := rt.Detect(context.Background(), &sdk.DetectRequest{Dir: dir})
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if resp.Match != tc.Match || resp.Confidence != tc.Confidence {
				t.Fatalf("match=%v confidence=%d, want %v %d (reason %q)", resp.Match, resp.Confidence, tc.Match, tc.Confidence, resp.Reason)
			}
			want := map[string]any{}
			for k, v := range tc.Params {
				if s, ok := v.(string); ok {
					v = filepath.Clean(strings.ReplaceAll(s, "$DIR", dir))
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
