package planner_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// roundTrip passes a state through its JSON form, as a real machine does
// between applies.
func roundTrip(t *testing.T, s *state.State) *state.State {
	t.Helper()
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := state.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func stepIDs(p *plan.Plan) string {
	var ids []string
	for _, s := range p.Steps {
		ids = append(ids, s.ID)
	}
	return strings.Join(ids, " ")
}

func TestSteadyStateAfterRoundTrip(t *testing.T) {
	cat := mapCatalog{"svc": rt("svc", `services: [{name: "svc", argv: ["/bin/true"], user: "nobody", dependsOn: []}]`)}
	sv := &lock.Lock{Target: lock.Target{Name: "t"}, Supervisor: &lock.Runtime{Name: "supervisor"}}
	ctx := context.Background()
	in := planner.Input{Target: smallTarget(), Lock: sv, Catalog: cat}
	p, err := planner.Plan(ctx, in, planner.Request{Add: adds("svc")})
	if err != nil {
		t.Fatal(err)
	}
	in.State = roundTrip(t, apply(t, state.New("t"), p))
	p, err = planner.Plan(ctx, in, planner.Request{Add: adds("svc")})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Steps) != 0 {
		t.Errorf("re-adding an unchanged runtime planned steps: %s", stepIDs(p))
	}
}

func TestRequestProblems(t *testing.T) {
	prof, l := webvm(t)
	ctx := context.Background()
	in := planner.Input{Target: prof.Target, Base: prof.Base, Lock: l, Catalog: builtins(t)}
	p, err := planner.Plan(ctx, in, planner.Request{Add: adds("node")})
	if err != nil {
		t.Fatal(err)
	}
	in.State = roundTrip(t, apply(t, state.New(prof.Name), p))

	_, err = planner.Plan(ctx, in, planner.Request{Add: adds("nextjs"), Remove: []string{"node"}})
	wantDiag(t, err, "cannot remove node: nextjs requires it")
	_, err = planner.Plan(ctx, in, planner.Request{Add: adds("node"), Remove: []string{"node"}})
	wantDiag(t, err, "node is both added and removed")

	// An installed runtime that does not meet a new runtime's constraint.
	old := *in.State
	old.Runtimes = append([]state.Runtime(nil), in.State.Runtimes...)
	old.Runtimes[0].Version = "16.0.0"
	in2 := in
	in2.State = &old
	_, err = planner.Plan(ctx, in2, planner.Request{Add: adds("nextjs")})
	wantDiag(t, err, "nextjs requires node >=18.18, but the installed node is 16.0.0")

	// Parameters reach a runtime added automatically.
	in.State = nil
	p, err = planner.Plan(ctx, in, planner.Request{Add: adds("nextjs"), Params: map[string]map[string]any{"nextjs": {"app": "/srv/nextjs", "port": 4000}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p.Summary.Ports)
	if !strings.Contains(string(b), `"number":4000`) {
		t.Errorf("params for nextjs not applied: ports %s", b)
	}
}

func TestExplicitAddOfAutomaticRuntimeIsRecorded(t *testing.T) {
	prof, l := webvm(t)
	ctx := context.Background()
	in := planner.Input{Target: prof.Target, Base: prof.Base, Lock: l, Catalog: builtins(t)}
	p, err := planner.Plan(ctx, in, planner.Request{Add: adds("nextjs")})
	if err != nil {
		t.Fatal(err)
	}
	in.State = roundTrip(t, apply(t, state.New(prof.Name), p))
	p, err = planner.Plan(ctx, in, planner.Request{Add: adds("node")})
	if err != nil {
		t.Fatal(err)
	}
	if stepIDs(p) != "record-state" {
		t.Fatalf("steps = %q, want only record-state", stepIDs(p))
	}
	in.State = roundTrip(t, apply(t, in.State, p))
	p, err = planner.Plan(ctx, in, planner.Request{Remove: []string{"nextjs"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Summary.Remove) != 1 || p.Summary.Remove[0].Name != "nextjs" {
		t.Errorf("removing nextjs after adding node explicitly removed %+v; node must stay", p.Summary.Remove)
	}
}

func TestInstalledPackagesTakePartInChecks(t *testing.T) {
	l := &lock.Lock{Target: lock.Target{Name: "t"}, Runtimes: []lock.Runtime{
		{Name: "mta-a", Version: "1.0.0", Requests: []string{"exim4"}, Packages: []lock.Package{{Name: "exim4", Version: "4.96", Arch: "i386", Filename: "pool/e.deb",
			SHA256: strings.Repeat("a", 64), Size: 1, Conflicts: "mail-transport-agent", Provides: "mail-transport-agent"}}},
		{Name: "mta-b", Version: "1.0.0", Requests: []string{"postfix"}, Packages: []lock.Package{{Name: "postfix", Version: "3.7", Arch: "i386", Filename: "pool/p.deb",
			SHA256: strings.Repeat("b", 64), Size: 1, Conflicts: "mail-transport-agent", Provides: "mail-transport-agent"}}},
	}}
	cat := mapCatalog{"mta-a": rt("mta-a", `packages: debian: [{name: "exim4"}]`), "mta-b": rt("mta-b", `packages: debian: [{name: "postfix"}]`)}
	ctx := context.Background()
	in := planner.Input{Target: smallTarget(), Lock: l, Catalog: cat}
	p, err := planner.Plan(ctx, in, planner.Request{Add: adds("mta-a")})
	if err != nil {
		t.Fatal(err)
	}
	in.State = roundTrip(t, apply(t, state.New("t"), p))
	_, err = planner.Plan(ctx, in, planner.Request{Add: adds("mta-b")})
	wantDiag(t, err, "package postfix (for mta-b) Conflicts mail-transport-agent, which exim4 (for mta-a)")

	// A lock made from another version of the manifest is refused.
	l.Runtimes[1].Version = "0.9.0"
	in.State = nil
	_, err = planner.Plan(ctx, in, planner.Request{Add: adds("mta-b")})
	wantDiag(t, err, "the lock pins mta-b 0.9.0", "run `runtimectl lock` again")
}

func TestHandoverKeepsOldFilesUntilStopped(t *testing.T) {
	installed := &state.State{FormatVersion: 1, Lineage: strings.Repeat("b", 32), Serial: 1, Target: "t", Runtimes: []state.Runtime{{
		Name: "web", Version: "1.0.0", MemoryMiB: 10,
		Ports:    []state.Port{{Name: "http", Number: 8080, Protocol: "tcp"}},
		Files:    []state.File{{Path: "/etc/web1.conf", SHA256: strings.Repeat("c", 64), Mode: 0o644, Owner: "root", Group: "root", Kind: "managed"}},
		Services: []state.Service{{Name: "web-v1", Argv: []string{"/bin/true"}, User: "root", Restart: "always", StopSignal: "TERM", StopTimeout: unit.Duration(10 * time.Second)}},
	}}}
	files := rt("web", `ports: [{name: "http", number: 8081}]
services: [{name: "web-v2", argv: ["/bin/true"], user: "nobody"}]`)
	files["web.cue"] = []byte(strings.Replace(string(files["web.cue"]), `version: "1.0.0"`, `version: "2.0.0"`, 1))
	sv := &lock.Lock{Target: lock.Target{Name: "t"}, Supervisor: &lock.Runtime{Name: "supervisor"}}
	in := planner.Input{Target: smallTarget(), State: installed, Lock: sv, Catalog: mapCatalog{"web": files}}
	p, err := planner.Plan(context.Background(), in, planner.Request{Add: adds("web")})
	if err != nil {
		t.Fatal(err)
	}
	ids := stepIDs(p)
	if strings.Index(ids, "remove-file:/etc/web1.conf") < strings.Index(ids, "stop-service:web-v1") {
		t.Errorf("old file removed while the old service still runs: %s", ids)
	}
}

func TestServiceAndDestChecks(t *testing.T) {
	cat := mapCatalog{
		"a": rt("a", `services: [{name: "a", argv: ["/bin/true"], user: "nobody", dependsOn: ["db"]}]`),
		"x": rt("x", `services: [{name: "x", argv: ["/bin/true"], user: "nobody", dependsOn: ["y"]}, {name: "y", argv: ["/bin/true"], user: "nobody", dependsOn: ["x"]}]`),
	}
	sv := &lock.Lock{Target: lock.Target{Name: "t"}, Supervisor: &lock.Runtime{Name: "supervisor"}}
	in := planner.Input{Target: smallTarget(), Lock: sv, Catalog: cat}
	_, err := planner.Plan(context.Background(), in, planner.Request{Add: adds("a")})
	wantDiag(t, err, "service a depends on db, which no runtime will provide")
	_, err = planner.Plan(context.Background(), in, planner.Request{Add: adds("x")})
	wantDiag(t, err, "service dependency cycle: x -> y -> x")
}
