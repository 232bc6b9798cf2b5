// Package graph orders the nodes of a directed graph so that each comes
// after the nodes it depends on: runtimes after the runtimes they
// require, services after the services they depend on, Debian packages
// after what they depend on. It is the one topological sort of the
// module, so that every such order is made, and every cycle reported, the
// same way.
//
// Orders are deterministic: they depend only on the order in which the
// caller lists the nodes and each node's dependencies, never on map
// iteration. Callers that want an order by name pass sorted lists.
package graph

import (
	"fmt"
	"strings"
)

// CycleError reports a cycle among the dependencies. Path is the walk
// from the node the sort started at to the node it met again; the cycle
// is Path[Start:], which begins and ends with that node.
type CycleError[N comparable] struct {
	Path  []N
	Start int
}

// Cycle returns the nodes of the cycle, its first node repeated at the
// end: a, b, a.
func (e *CycleError[N]) Cycle() []N { return e.Path[e.Start:] }

// Error names the cycle: "dependency cycle: a -> b -> a".
func (e *CycleError[N]) Error() string {
	return "dependency cycle: " + join(e.Cycle(), " -> ")
}

// join formats nodes with fmt's %v and joins them with sep.
func join[N any](nodes []N, sep string) string {
	s := make([]string, len(nodes))
	for i, n := range nodes {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, sep)
}

// TopoSort returns nodes ordered so that each comes after the nodes it
// depends on (deps). It takes the nodes in the order given and places
// before each, depth first, those of its dependencies not yet placed, in
// the order deps returns them. Dependencies that are not among nodes are
// ignored, and a node listed twice is placed once.
//
// A cycle does not stop the sort: the dependency that closes it is
// skipped, so the order still holds every node, and the first cycle met
// is returned as a *CycleError. Callers that diagnose cycles elsewhere
// may use the order and drop the error.
func TopoSort[N comparable](nodes []N, deps func(N) []N) ([]N, error) {
	in := make(map[N]bool, len(nodes))
	for _, n := range nodes {
		in[n] = true
	}
	s := NewSorter(func(n N) []N {
		var ds []N
		for _, d := range deps(n) {
			if in[d] {
				ds = append(ds, d)
			}
		}
		return ds
	})
	out := make([]N, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, s.Add(n)...)
	}
	return out, s.Err()
}

// Sorter is TopoSort one node at a time, for callers that act on each
// node as it is placed and in between (the planner's start steps, each
// runtime's own checks before its services). Every node deps returns is
// followed; filter them in deps.
type Sorter[N comparable] struct {
	deps  func(N) []N
	mark  map[N]int8 // visiting, done
	path  []N
	cycle *CycleError[N]
}

const (
	visiting = 1
	done     = 2
)

// NewSorter returns a Sorter of the graph deps describes.
func NewSorter[N comparable](deps func(N) []N) *Sorter[N] {
	return &Sorter[N]{deps: deps, mark: map[N]int8{}}
}

// Add places n: it returns those of n's dependencies, depth first, that
// no earlier Add placed, then n, or nothing if n is placed already. A
// dependency that closes a cycle is skipped (see Err).
func (s *Sorter[N]) Add(n N) []N {
	var out []N
	var visit func(n N)
	visit = func(n N) {
		switch s.mark[n] {
		case visiting:
			if s.cycle == nil {
				start := 0
				for s.path[start] != n {
					start++
				}
				s.cycle = &CycleError[N]{Path: append(append([]N(nil), s.path...), n), Start: start}
			}
			return
		case done:
			return
		}
		s.mark[n] = visiting
		s.path = append(s.path, n)
		for _, d := range s.deps(n) {
			visit(d)
		}
		s.path = s.path[:len(s.path)-1]
		s.mark[n] = done
		out = append(out, n)
	}
	visit(n)
	return out
}

// Err returns the first cycle Add met, as a *CycleError, or nil.
func (s *Sorter[N]) Err() error {
	if s.cycle == nil {
		return nil
	}
	return s.cycle
}

// Components returns the strongly connected components of the graph
// (sets of nodes that all reach each other through deps; a node on no
// cycle is a component of its own), each after every component it
// depends on. It is the sort for graphs where cycles are expected and
// broken by the caller, such as Debian's Depends. Nodes are taken in the
// order given, dependencies in the order deps returns them, and those not
// among nodes are ignored; a component's nodes are listed in no
// particular order the caller should rely on beyond determinism.
//
// It is Tarjan's algorithm: one depth-first walk, each component emitted
// when the walk leaves its first node.
func Components[N comparable](nodes []N, deps func(N) []N) [][]N {
	in := make(map[N]bool, len(nodes))
	for _, n := range nodes {
		in[n] = true
	}
	index := map[N]int{}
	low := map[N]int{}
	onStack := map[N]bool{}
	var stack []N
	var comps [][]N
	var strong func(v N)
	strong = func(v N) {
		index[v] = len(index)
		low[v] = index[v]
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range deps(v) {
			if !in[w] {
				continue
			}
			if _, seen := index[w]; !seen {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []N
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			comps = append(comps, comp)
		}
	}
	for _, v := range nodes {
		if _, seen := index[v]; !seen {
			strong(v)
		}
	}
	return comps
}
