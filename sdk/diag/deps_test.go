package diag_test

import (
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

// TestLeaf: this package imports the standard library only, so that every
// layer, the in-VM ones included, can use it.
func TestLeaf(t *testing.T) {
	for _, dep := range testenv.NotStdlib(testenv.ListImports(t, ".").Reach()) {
		t.Errorf("imports %s", dep)
	}
}
