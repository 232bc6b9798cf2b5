package planner_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/plugins/deno"
	"github.com/runtimekit/runtimekit/plugins/nextjs"
	"github.com/runtimekit/runtimekit/plugins/nginx"
	"github.com/runtimekit/runtimekit/plugins/node"
	"github.com/runtimekit/runtimekit/plugins/python"
	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/targets"
)

// mapCatalog serves manifests from source files by runtime name.
type mapCatalog map[string]map[string][]byte

func (c mapCatalog) Names(context.Context) ([]string, error) {
	var names []string
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func (c mapCatalog) Manifest(ctx context.Context, name string, params map[string]any) (*manifest.Manifest, error) {
	files, ok := c[name]
	if !ok {
		return nil, fmt.Errorf("no runtime %s", name)
	}
	return manifest.LoadFiles(ctx, files, manifest.Options{Params: params})
}

// builtins is the catalog of the built-in plugins, described in-process.
func builtins(t testing.TB) mapCatalog {
	t.Helper()
	c := mapCatalog{}
	for _, rt := range []sdk.Runtime{nginx.Runtime{}, node.Runtime{}, python.Runtime{}, nextjs.Runtime{}, deno.Runtime{}} {
		d, err := rt.Describe(context.Background(), &sdk.DescribeRequest{})
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for n, b := range d.Manifest {
			files[d.Name+"/"+n] = b
		}
		c[d.Name] = files
	}
	return c
}

func webvm(t testing.TB) (*targets.Profile, *lock.Lock) {
	t.Helper()
	p, err := targets.Load(context.Background(), "webvm-i386")
	if err != nil {
		t.Fatal(err)
	}
	b, ok := targets.Lock("webvm-i386")
	if !ok {
		t.Fatal("no built-in lock for webvm-i386")
	}
	l, err := lock.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return p, l
}

func adds(names ...string) []planner.Add {
	var out []planner.Add
	for _, n := range names {
		out = append(out, planner.Add{Name: n})
	}
	return out
}

// TestGoldenPlans checks the plans of each runtime alone and of useful
// combinations against golden files (RUNTIMEKIT_UPDATE=1 rewrites them),
// that every plan passes plan.Parse (schema + references), and that planning
// twice gives the same bytes.
func TestGoldenPlans(t *testing.T) {
	prof, l := webvm(t)
	cat := builtins(t)
	cases := [][]string{{"nginx"}, {"node"}, {"python"}, {"nextjs"}, {"nginx", "nextjs"}, {"nginx", "node", "python"}, {"nginx", "node", "python", "nextjs"}}
	for _, names := range cases {
		name := strings.Join(names, "+")
		t.Run(name, func(t *testing.T) {
			in := planner.Input{Target: prof.Target, Base: prof.Base, Lock: l, Catalog: cat}
			p, err := planner.Plan(context.Background(), in, planner.Request{Add: adds(names...)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := plan.Parse(got); err != nil {
				t.Fatalf("plan does not parse: %v", err)
			}
			p2, _ := planner.Plan(context.Background(), in, planner.Request{Add: adds(names...)})
			again, _ := p2.Marshal()
			if string(again) != string(got) {
				t.Fatal("planning twice gave different bytes")
			}
			golden := filepath.Join("testdata", "golden", "webvm-i386-"+name+".json")
			if os.Getenv("RUNTIMEKIT_UPDATE") == "1" {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with RUNTIMEKIT_UPDATE=1 to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("plan differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestAutoAndOrder(t *testing.T) {
	prof, l := webvm(t)
	in := planner.Input{Target: prof.Target, Base: prof.Base, Lock: l, Catalog: builtins(t)}
	// nextjs with an app copied in place runs it (without one it runs nothing).
	p, err := planner.Plan(context.Background(), in, planner.Request{Add: adds("nginx", "nextjs"),
		Params: map[string]map[string]any{"nextjs": {"app": "/srv/nextjs"}}})
	if err != nil {
		t.Fatal(err)
	}
	var added []string
	for _, c := range p.Summary.Add {
		added = append(added, fmt.Sprintf("%s auto=%v", c.Name, c.Auto))
	}
	if diff := cmp.Diff([]string{"node auto=true", "nextjs auto=false", "nginx auto=false"}, added); diff != "" {
		t.Errorf("added runtimes (-want +got):\n%s", diff)
	}
	index := map[string]int{}
	for i, s := range p.Steps {
		index[s.ID] = i
	}
	before := [][2]string{
		{"verify-bundle", "install-packages"},
		{"install-packages", "write-file:/etc/runtimekit/nginx/nginx.conf"},
		{"write-file:/etc/runtimekit/nginx/nginx.conf", "install-service:nginx"},
		{"wait-health:node/node-runs", "start-service:nextjs"},
		{"start-service:nextjs", "wait-health:nextjs/nextjs-http"},
		{"wait-health:nginx/nginx-http", "record-state"},
	}
	for _, b := range before {
		i, ok1 := index[b[0]]
		j, ok2 := index[b[1]]
		if !ok1 || !ok2 || i >= j {
			t.Errorf("want %s before %s (steps: %v)", b[0], b[1], index)
		}
	}
	// Packages are unpacked with Pre-Depends first: runit's helpers before runit.
	pk := map[string]int{}
	for i, q := range p.Steps[index["install-packages"]].Inputs.(*plan.InstallPackages).Packages {
		pk[q.Name] = i
	}
	if pk["runit-helper"] > pk["runit"] || pk["libnode108"] > pk["nodejs"] {
		t.Errorf("install order wrong: %v", pk)
	}

	_, err = planner.Plan(context.Background(), in, planner.Request{Add: adds("nextjs"), NoAuto: true})
	wantDiag(t, err, "nextjs requires node >=18.18, which is not installed")
}

func wantDiag(t *testing.T, err error, substrings ...string) manifest.Diagnostics {
	t.Helper()
	var ds manifest.Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("want diagnostics, got %v", err)
	}
	text := ds.Error()
	for _, s := range substrings {
		if !strings.Contains(text, s) {
			t.Errorf("diagnostics lack %q:\n%s", s, text)
		}
	}
	return ds
}

// apply simulates an executor: the state after a plan is what record-state
// says, with the serial bumped.
func apply(t testing.TB, s *state.State, p *plan.Plan) *state.State {
	t.Helper()
	next := *s
	next.Serial++
	next.Runtimes = []state.Runtime{}
	for _, step := range p.Steps {
		if in, ok := step.Inputs.(*plan.RecordState); ok {
			next.Runtimes = append(next.Runtimes, in.Runtimes...)
		}
	}
	if len(p.Steps) == 0 {
		next.Runtimes = s.Runtimes
	}
	return &next
}
