package spec_test

import (
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

// TestLeaf: this package imports the standard library, sdk/unit and sdk/diag only, so that every
// layer, the in-VM ones included, can use it.
func TestLeaf(t *testing.T) {
	allowed := map[string]bool{"github.com/runtimekit/runtimekit/sdk/unit": true, "github.com/runtimekit/runtimekit/sdk/diag": true}
	for dep := range testenv.ListImports(t, ".").Reach() {
		first, _, _ := strings.Cut(dep, "/")
		if strings.Contains(first, ".") && !allowed[dep] {
			t.Errorf("imports %s", dep)
		}
	}
}
