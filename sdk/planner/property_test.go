package planner_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// machine simulates a target: the runtimes of its state and the Debian
// packages dpkg has, updated by the plan's package steps alone.
type machine struct {
	st       *state.State
	packages map[string]bool
}

func (m *machine) apply(t *testing.T, p *plan.Plan) {
	t.Helper()
	for _, s := range p.Steps {
		switch in := s.Inputs.(type) {
		case *plan.RemovePackages:
			for _, q := range in.Packages {
				if !m.packages[q.Name] {
					t.Fatalf("plan removes %s, which is not installed", q.Name)
				}
				delete(m.packages, q.Name)
			}
		case *plan.InstallPackages:
			for _, q := range in.Packages {
				m.packages[q.Name] = true
			}
		}
	}
	m.st = apply(t, m.st, p)
}

// TestPlanProperties runs random sequences of adds and removes on a
// simulated machine and checks after every plan that no package a remaining
// runtime or the base needs was removed, that no Essential package was
// removed, that every remaining runtime's packages are installed, and that
// adding a set and removing it again returns to the starting state.
func TestPlanProperties(t *testing.T) {
	prof, l := webvm(t)
	cat := builtins(t)
	ctx := context.Background()
	names := []string{"nginx", "node", "python", "nextjs"}

	base := map[string]bool{}
	essential := map[string]bool{}
	for _, q := range prof.Base.Installed() {
		base[q.Name] = true
		if q.Essential {
			essential[q.Name] = true
		}
	}
	for _, r := range l.Runtimes {
		for _, q := range r.Packages {
			if q.Essential {
				essential[q.Name] = true
			}
		}
	}
	newMachine := func() *machine {
		m := &machine{st: state.New(prof.Name), packages: map[string]bool{}}
		for n := range base {
			m.packages[n] = true
		}
		return m
	}
	installed := func(m *machine) []string {
		var out []string
		for _, r := range m.st.Runtimes {
			out = append(out, r.Name)
		}
		return out
	}

	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		m := newMachine()
		var history []string
		for step := 0; step < 8; step++ {
			have := map[string]bool{}
			for _, n := range installed(m) {
				have[n] = true
			}
			var req planner.Request
			var absent, present []string
			for _, n := range names {
				if have[n] {
					present = append(present, n)
				} else {
					absent = append(absent, n)
				}
			}
			roundTrip := false
			switch {
			case len(present) == 0 || (len(absent) > 0 && rng.IntN(2) == 0):
				k := 1 + rng.IntN(len(absent))
				rng.Shuffle(len(absent), func(i, j int) { absent[i], absent[j] = absent[j], absent[i] })
				req.Add = adds(absent[:k]...)
				roundTrip = true
			default:
				req.Remove = []string{present[rng.IntN(len(present))]}
				req.Cascade = true
			}
			history = append(history, fmt.Sprintf("add %v remove %v", names4(req.Add), req.Remove))
			before := snapshot(m)
			p := mustPlan(t, ctx, planner.Input{Target: prof.Target, Base: prof.Base, State: m.st, Lock: l, Catalog: cat}, req, history)
			m.apply(t, p)
			check(t, m, base, essential, p, history)

			if roundTrip && rng.IntN(2) == 0 {
				// Remove exactly what was just asked for: back to before.
				var rm []string
				for _, a := range req.Add {
					rm = append(rm, a.Name)
				}
				history = append(history, fmt.Sprintf("remove %v (round trip)", rm))
				p := mustPlan(t, ctx, planner.Input{Target: prof.Target, Base: prof.Base, State: m.st, Lock: l, Catalog: cat},
					planner.Request{Remove: rm, Cascade: true}, history)
				m.apply(t, p)
				check(t, m, base, essential, p, history)
				if diff := cmp.Diff(before, snapshot(m)); diff != "" {
					t.Fatalf("seed %d: adding then removing %v did not return to the start (-before +after):\n%s\nhistory: %s",
						seed, rm, diff, strings.Join(history, "; "))
				}
			}
		}
	}
}

func names4(as []planner.Add) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}

type snap struct {
	Runtimes []state.Runtime
	Packages []string
}

func snapshot(m *machine) snap {
	s := snap{Runtimes: append([]state.Runtime{}, m.st.Runtimes...)}
	for n := range m.packages {
		s.Packages = append(s.Packages, n)
	}
	sort.Strings(s.Packages)
	return s
}

func mustPlan(t *testing.T, ctx context.Context, in planner.Input, req planner.Request, history []string) *plan.Plan {
	t.Helper()
	p, err := planner.Plan(ctx, in, req)
	var ds manifest.Diagnostics
	if errors.As(err, &ds) {
		t.Fatalf("plan refused: %v\nhistory: %s", ds, strings.Join(history, "; "))
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Parse(b); err != nil {
		t.Fatalf("invalid plan: %v", err)
	}
	return p
}

func check(t *testing.T, m *machine, base, essential map[string]bool, p *plan.Plan, history []string) {
	t.Helper()
	needed := map[string]string{}
	for _, r := range m.st.Runtimes {
		for _, q := range r.Packages {
			needed[q.Name] = r.Name
			if !m.packages[q.Name] {
				t.Fatalf("%s needs %s, which is not installed\nhistory: %s", r.Name, q.Name, strings.Join(history, "; "))
			}
		}
	}
	for _, s := range p.Steps {
		in, ok := s.Inputs.(*plan.RemovePackages)
		if !ok {
			continue
		}
		for _, q := range in.Packages {
			if who, ok := needed[q.Name]; ok {
				t.Fatalf("removed %s, which %s still needs\nhistory: %s", q.Name, who, strings.Join(history, "; "))
			}
			if base[q.Name] {
				t.Fatalf("removed base package %s\nhistory: %s", q.Name, strings.Join(history, "; "))
			}
			if essential[q.Name] {
				t.Fatalf("removed Essential package %s\nhistory: %s", q.Name, strings.Join(history, "; "))
			}
		}
	}
	// Nothing is left behind: installed = base + what runtimes need.
	for n := range m.packages {
		if !base[n] {
			if _, ok := needed[n]; !ok {
				t.Fatalf("package %s stays installed with no runtime needing it\nhistory: %s", n, strings.Join(history, "; "))
			}
		}
	}
}
