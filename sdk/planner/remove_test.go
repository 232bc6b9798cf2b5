package planner_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// TestRemovalNeedsNoCatalog: a plan that only removes is made from the
// state, the target and the lock alone (the vm runtimectl has no plugins),
// and is the very plan made with the catalog at hand. Adding without a
// catalog is refused with a diagnostic.
func TestRemovalNeedsNoCatalog(t *testing.T) {
	ctx := context.Background()
	prof, l := webvm(t)
	in := planner.Input{Target: prof.Target, Base: prof.Base, Lock: l, Catalog: builtins(t)}
	p, err := planner.Plan(ctx, in, planner.Request{Add: adds("nginx", "nextjs")})
	if err != nil {
		t.Fatal(err)
	}
	in.State = roundTrip(t, apply(t, state.New(prof.Name), p))
	for _, req := range []planner.Request{
		{Remove: []string{"nginx"}},
		{Remove: []string{"nextjs"}},
		{Remove: []string{"node"}, Cascade: true},
	} {
		withCatalog, err := planner.Plan(ctx, in, req)
		if err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
		bare := in
		bare.Catalog = nil
		without, err := planner.Plan(ctx, bare, req)
		if err != nil {
			t.Fatalf("%+v without a catalog: %v", req, err)
		}
		want, _ := withCatalog.Marshal()
		got, _ := without.Marshal()
		if d := cmp.Diff(string(want), string(got)); d != "" {
			t.Errorf("%+v: the plan without a catalog differs (-with +without):\n%s", req, d)
		}
		if len(without.Summary.Remove) == 0 || len(without.Summary.Add) != 0 {
			t.Errorf("%+v: summary adds %v, removes %v", req, without.Summary.Add, without.Summary.Remove)
		}
	}
	bare := in
	bare.Catalog = nil
	_, err = planner.Plan(ctx, bare, planner.Request{Add: adds("python")})
	wantDiag(t, err, "python cannot be added: no runtime catalog is at hand")
}
