package planner_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk/planner"
)

func TestCheckRequires(t *testing.T) {
	at := manifest.Pos{File: "manifest.cue", Line: 4, Column: 11}
	withRequires := func(rs ...manifest.Requirement) *manifest.Manifest {
		return &manifest.Manifest{Name: "nextjs", Version: "15.5.0", Requires: rs,
			Source: manifest.Positions{"/": {File: "manifest.cue"}, "/requires/0": at}}
	}
	node := func(v string) *manifest.Manifest { return &manifest.Manifest{Name: "node", Version: v} }
	nginx := &manifest.Manifest{Name: "nginx", Version: "1.22.1"}
	tests := []struct {
		name      string
		m         *manifest.Manifest
		available []*manifest.Manifest
		want      manifest.Diagnostics
	}{
		{name: "met", m: withRequires(manifest.Requirement{Runtime: "node", Constraint: ">=18.18"}), available: []*manifest.Manifest{nginx, node("18.19.0")}},
		{name: "any version", m: withRequires(manifest.Requirement{Runtime: "node"}), available: []*manifest.Manifest{node("12.0.0")}},
		{name: "no requirements", m: withRequires(), available: nil},
		{
			name: "too old", m: withRequires(manifest.Requirement{Runtime: "node", Constraint: ">=18.18"}),
			available: []*manifest.Manifest{node("16.20.2")},
			want: manifest.Diagnostics{{Severity: manifest.SeverityError, Pos: at, Path: "/requires/0",
				Summary: "nextjs requires node >=18.18, but the available node is 16.20.2", Hint: "add a node that meets it, or remove nextjs"}},
		},
		{
			name: "not available", m: withRequires(manifest.Requirement{Runtime: "node", Constraint: ">=18.18"}),
			available: []*manifest.Manifest{nginx, withRequires()},
			want: manifest.Diagnostics{{Severity: manifest.SeverityError, Pos: at, Path: "/requires/0",
				Summary: `nextjs requires runtime "node", which no plugin provides`, Hint: "available runtimes: [nextjs nginx]"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planner.CheckRequires(tt.m, tt.available)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}
