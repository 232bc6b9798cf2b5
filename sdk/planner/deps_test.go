package planner_test

import (
	"sort"
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
		m + "sdk/debian/resolve", // the resolver, once it is a package of its own
		m + "sdk/host",
		m + "sdk/internal",
		m + "sdk/bundle", // the fetcher (its format package would be fine)
		m + "targets",    // the CUE profile loader
	}
	// sdk/debian holds Debian relations, versions and the dpkg status
	// reader, which the planner needs, and, until they move out of it, its
	// resolver and its signed-index fetcher, which it does not. What only
	// the fetcher brings may be reached through sdk/debian, nowhere else.
	debian := m + "sdk/debian"
	viaDebian := map[string]bool{"net/http": true}

	g := testenv.ListImports(t, ".")
	all, notViaDebian := g.Reach(), g.Reach(debian)
	if !all[debian] {
		t.Logf("the planner no longer imports %s", debian)
	}
	for _, f := range forbidden {
		var found []string
		for dep := range all {
			if testenv.Matches(dep, f) && (!viaDebian[f] || notViaDebian[dep]) {
				found = append(found, dep)
			}
		}
		if len(found) > 0 {
			sort.Strings(found)
			t.Errorf("sdk/planner imports %s (through some dependency): the planner must stay pure", strings.Join(found, ", "))
		}
	}
	if len(all) == 0 {
		t.Fatal("go list reported no dependencies of the planner")
	}
}
