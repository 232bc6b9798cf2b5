package planner_test

import (
	"context"
	"testing"

	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// TestSteadyStateOfSeveralRuntimes: planning nothing against a machine with
// several runtimes, its state read back from its file, plans no step, not
// even a record-state (the runtimes compare equal one by one, in name
// order).
func TestSteadyStateOfSeveralRuntimes(t *testing.T) {
	ctx := context.Background()
	prof, l := webvm(t)
	in := planner.Input{Target: prof.Target, Base: prof.Base, Lock: l, Catalog: builtins(t)}
	p, err := planner.Plan(ctx, in, planner.Request{Add: adds("nginx", "python", "nextjs")})
	if err != nil {
		t.Fatal(err)
	}
	in.State = roundTrip(t, apply(t, state.New(prof.Name), p))
	for _, req := range []planner.Request{{}, {Add: adds("nginx", "python")}} {
		p, err := planner.Plan(ctx, in, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Steps) != 0 {
			t.Errorf("%+v against an unchanged machine planned steps: %s", req, stepIDs(p))
		}
	}
}
