package graph_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runtimekit/runtimekit/internal/graph"
)

// edges is a graph given as each node's dependencies, in order.
type edges map[string][]string

func (e edges) deps(n string) []string { return e[n] }

func TestTopoSort(t *testing.T) {
	tests := []struct {
		name  string
		nodes []string
		deps  edges
		want  []string
		cycle []string // the path CycleError reports, nil for none
		start int
	}{
		{name: "empty"},
		{name: "no edges keep the given order", nodes: []string{"b", "a", "c"}, want: []string{"b", "a", "c"}},
		{
			name:  "dependencies first, depth first, in the order deps lists them",
			nodes: []string{"app", "db", "web"},
			deps:  edges{"app": {"web", "db"}, "web": {"tls"}, "db": {"tls"}},
			want:  []string{"web", "db", "app"},
		},
		{
			name:  "a dependency placed just before what needs it",
			nodes: []string{"a", "b", "c", "d"},
			deps:  edges{"a": {"c"}},
			want:  []string{"c", "a", "b", "d"},
		},
		{
			name:  "dependencies outside nodes are ignored, duplicates placed once",
			nodes: []string{"a", "b", "a"},
			deps:  edges{"a": {"x", "b"}},
			want:  []string{"b", "a"},
		},
		{
			name:  "a cycle is reported from where the walk started, and the order still holds every node",
			nodes: []string{"r", "x", "y"},
			deps:  edges{"r": {"x"}, "x": {"y"}, "y": {"x"}},
			want:  []string{"y", "x", "r"},
			cycle: []string{"r", "x", "y", "x"},
			start: 1,
		},
		{
			name:  "a node that requires itself",
			nodes: []string{"a"},
			deps:  edges{"a": {"a"}},
			want:  []string{"a"},
			cycle: []string{"a", "a"},
		},
		{
			name:  "the first cycle met is the one reported",
			nodes: []string{"a", "b", "c", "d"},
			deps:  edges{"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}},
			want:  []string{"b", "a", "d", "c"},
			cycle: []string{"a", "b", "a"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := graph.TopoSort(tc.nodes, tc.deps.deps)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			var ce *graph.CycleError[string]
			switch {
			case tc.cycle == nil && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.cycle != nil && !errors.As(err, &ce):
				t.Errorf("err = %v, want a *CycleError", err)
			case tc.cycle != nil:
				if diff := cmp.Diff(tc.cycle, ce.Path); diff != "" || ce.Start != tc.start {
					t.Errorf("cycle path (-want +got):\n%s\nstart %d, want %d", diff, ce.Start, tc.start)
				}
				if c := ce.Cycle(); c[0] != c[len(c)-1] {
					t.Errorf("Cycle() = %v does not end where it starts", c)
				}
			}
		})
	}
}

func TestComponents(t *testing.T) {
	// libc6 and libgcc-s1 depend on each other; bash needs libc6, and
	// base-files nothing.
	deps := edges{
		"bash":      {"libc6", "base-files"},
		"libc6":     {"libgcc-s1"},
		"libgcc-s1": {"gcc-base", "libc6"},
	}
	got := graph.Components([]string{"base-files", "bash", "gcc-base", "libc6", "libgcc-s1"}, deps.deps)
	want := [][]string{{"base-files"}, {"gcc-base"}, {"libgcc-s1", "libc6"}, {"bash"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	if got := graph.Components(nil, deps.deps); len(got) != 0 {
		t.Errorf("Components(nil) = %v", got)
	}
}

func ExampleTopoSort() {
	requires := map[string][]string{
		"nextjs": {"node"},
		"node":   {"python"}, // node-gyp
		"nginx":  {},
	}
	order, err := graph.TopoSort([]string{"nextjs", "nginx", "node", "python"}, func(n string) []string { return requires[n] })
	fmt.Println(order, err)

	requires["python"] = []string{"nextjs"}
	_, err = graph.TopoSort([]string{"nextjs", "nginx", "node", "python"}, func(n string) []string { return requires[n] })
	fmt.Println(err)
	// Output:
	// [python node nextjs nginx] <nil>
	// dependency cycle: nextjs -> node -> python -> nextjs
}
