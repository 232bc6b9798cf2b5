package spec_test

import (
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

// TestLeaf: this package imports the standard library, sdk/unit and sdk/diag only, so that every
// layer, the in-VM ones included, can use it.
func TestLeaf(t *testing.T) {
	allowed := map[string]bool{"github.com/runtimekit/runtimekit/sdk/unit": true, "github.com/runtimekit/runtimekit/sdk/diag": true}
	for _, dep := range testenv.NotStdlib(testenv.ListImports(t, ".").Reach()) {
		if !allowed[dep] {
			t.Errorf("imports %s", dep)
		}
	}
}
