//go:build !vm

package targets_test

import (
	"context"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/schema"
	"github.com/runtimekit/runtimekit/sdk/spec"
	"github.com/runtimekit/runtimekit/targets"
)

// TestBuiltinTwins: each built-in profile's NAME.target.json, which Load
// reads, is its NAME.cue evaluated. RUNTIMEKIT_UPDATE=1 writes them.
func TestBuiltinTwins(t *testing.T) {
	ctx := context.Background()
	for _, n := range targets.Names() {
		src, err := os.ReadFile(n + ".cue")
		if err != nil {
			t.Fatal(err)
		}
		want, err := manifest.LoadTarget(ctx, map[string][]byte{n + ".cue": src})
		if err != nil {
			t.Fatalf("%s.cue: %v", n, err)
		}
		twin := n + ".target.json"
		if os.Getenv("RUNTIMEKIT_UPDATE") == "1" {
			b, err := schema.Encode(want)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(twin, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(twin)
		if err != nil {
			t.Fatalf("%v (RUNTIMEKIT_UPDATE=1 writes it)", err)
		}
		var got spec.Target
		if err := schema.DecodeStrict(b, &got); err != nil {
			t.Fatalf("%s: %v", twin, err)
		}
		if d := cmp.Diff(want, &got); d != "" {
			t.Errorf("%s is not %s.cue evaluated (RUNTIMEKIT_UPDATE=1 rewrites it) (-cue +json):\n%s", twin, n, d)
		}
		p, err := targets.Load(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, p.Target); d != "" {
			t.Errorf("Load(%s) is not %s.cue evaluated (-cue +loaded):\n%s", n, n, d)
		}
	}
}
