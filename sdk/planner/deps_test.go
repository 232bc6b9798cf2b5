package planner_test

import (
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

// TestPlannerIsPure: the planner links no CUE, no resolver, no network
// code and no plugin machinery, so that anything may plan (the vm
// runtimectl plans removals) without carrying them. It reads manifests and
// targets as sdk/spec's plain types and reports with sdk/diag.
func TestPlannerIsPure(t *testing.T) {
	const m = "github.com/runtimekit/runtimekit/"
	forbidden := []string{
		"cuelang.org/",
		"google.golang.org/grpc",
		"github.com/hashicorp/go-plugin",
		"net/http",
		m + "manifest",
		m + "sdk/locker",
		m + "sdk/debian/resolve", // the resolver
		m + "sdk/debian/archive", // the signed-index fetcher
		m + "sdk/host",
		m + "sdk/internal",
		m + "sdk/bundle", // the fetcher (its format package would be fine)
		m + "targets",    // the CUE profile loader
	}
	g := testenv.ListImports(t, ".")
	all := g.Reach()
	for _, f := range forbidden {
		if found := testenv.Found(all, f); len(found) > 0 {
			t.Errorf("sdk/planner imports %s (through some dependency): the planner must stay pure", strings.Join(found, ", "))
		}
	}
	if len(all) == 0 {
		t.Fatal("go list reported no dependencies of the planner")
	}
}
