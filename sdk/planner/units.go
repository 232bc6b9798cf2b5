package planner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"text/template"

	"github.com/runtimekit/runtimekit/internal/graph"
	"github.com/runtimekit/runtimekit/sdk/diag"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/spec"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// unit is one runtime in the desired set: either kept as installed (m is
// nil) or to be installed from its manifest.
type unit struct {
	rt   state.Runtime
	m    *spec.Manifest // nil for a runtime kept as installed
	auto string         // for an automatic addition: who requires it
	// params are the user's parameters the manifest was evaluated with.
	params map[string]any
	// files holds the rendered content of each file to write, by path.
	files map[string]plan.File
	// archives are the artifacts to extract.
	archives []plan.Archive
	// debs are the locked packages, for install steps and checks.
	debs []lock.Package
}

// pos is where a value of the unit's manifest was written, or a stand-in
// for a runtime that is installed (its manifest is not at hand).
func (u *unit) pos(path string) diag.Pos {
	if u.m == nil {
		return diag.Pos{File: "installed runtime " + u.rt.Name}
	}
	for p := path; ; {
		if pos, ok := u.m.Source[p]; ok {
			return pos
		}
		i := lastSlash(p)
		if i <= 0 {
			break
		}
		p = p[:i]
	}
	if pos, ok := u.m.Source["/"]; ok {
		return diag.Pos{File: pos.File}
	}
	return diag.Pos{File: "runtime " + u.rt.Name}
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

// newUnit turns an evaluated manifest into the state entry it will have once
// installed, rendering its files and resolving port names in health checks.
func newUnit(m *spec.Manifest, lr *lock.Runtime, supervisor *lock.Runtime, supervised bool, pl spec.Platform) (*unit, error) {
	u := &unit{m: m, files: map[string]plan.File{}}
	rt := state.Runtime{Name: m.Name, Version: m.Version, MemoryMiB: m.Resources.MemoryMiB, DiskMiB: m.Resources.DiskMiB}
	params := map[string]any{}
	for _, p := range m.Params {
		params[p.Name] = p.Value
	}
	if len(params) > 0 {
		rt.Params = params
	}
	for _, r := range m.Requires {
		rt.Requires = append(rt.Requires, state.Requirement{Runtime: r.Runtime, Constraint: r.Constraint})
	}
	for _, c := range m.Provides {
		rt.Provides = append(rt.Provides, state.Capability{Name: c.Name, Exclusive: c.Exclusive})
	}
	for _, p := range m.Ports {
		rt.Ports = append(rt.Ports, p.Unit())
	}
	for _, f := range m.Files {
		content := f.Content
		if f.Template != "" {
			var err error
			if content, err = render(f, params); err != nil {
				return nil, err
			}
		}
		sum := sha256.Sum256([]byte(content))
		pf := plan.File{Path: f.Path, Content: content, SHA256: hex.EncodeToString(sum[:]), Mode: f.Mode, Owner: f.Owner, Group: f.Group, Kind: f.Kind}
		u.files[f.Path] = pf
		rt.Files = append(rt.Files, state.File{Path: f.Path, SHA256: pf.SHA256, Mode: f.Mode, Owner: f.Owner, Group: f.Group, Kind: f.Kind})
	}
	for _, s := range m.Services {
		rt.Services = append(rt.Services, m.ResolveService(s))
	}
	ports := m.PortNumbers()
	for _, h := range m.Health {
		rt.Health = append(rt.Health, h.Resolve(ports))
	}
	if lr != nil {
		u.debs = append(u.debs, lr.Packages...)
		for _, a := range lr.Artifacts {
			u.archives = append(u.archives, plan.Archive{Name: a.Name, SHA256: a.SHA256, Format: a.Format, Dest: a.Dest, Strip: a.Strip, Include: a.Include})
			rt.Artifacts = append(rt.Artifacts, state.Artifact{Name: a.Name, SHA256: a.SHA256, Dest: a.Dest, Format: a.Format})
		}
	}
	// A runtime with services needs the supervisor: its packages count as
	// the runtime's own, so they are removed with the last such runtime.
	if supervised && supervisor != nil {
		u.debs = appendMissing(u.debs, supervisor.Packages)
	}
	for _, p := range u.debs {
		rt.Packages = append(rt.Packages, state.Package{Name: p.Name, Version: p.Version, Arch: p.Arch, InstalledSize: p.InstalledSize, SHA256: p.SHA256})
	}
	u.rt = rt
	return u, nil
}

func appendMissing(have, more []lock.Package) []lock.Package {
	seen := map[string]bool{}
	for _, p := range have {
		seen[p.Name] = true
	}
	for _, p := range more {
		if !seen[p.Name] {
			have = append(have, p)
			seen[p.Name] = true
		}
	}
	return have
}

// keptUnit wraps an installed runtime that stays as it is.
func keptUnit(rt state.Runtime) *unit {
	return &unit{rt: rt}
}

// render expands a file's Go template with the resolved parameters.
func render(f spec.File, params map[string]any) (string, error) {
	t, err := template.New(f.Path).Option("missingkey=error").Parse(f.Template)
	if err != nil {
		return "", fmt.Errorf("file %s: template: %w", f.Path, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, map[string]any{"Params": params}); err != nil {
		return "", fmt.Errorf("file %s: template: %w", f.Path, err)
	}
	return b.String(), nil
}

// requiresOrder sorts units so that each comes after the runtimes it
// requires; ties (and cycles, already diagnosed) go by name.
func requiresOrder(units []*unit) []*unit {
	byName := map[string]*unit{}
	names := make([]string, 0, len(units))
	for _, u := range units {
		byName[u.rt.Name] = u
		names = append(names, u.rt.Name)
	}
	sort.Strings(names)
	order, _ := graph.TopoSort(names, func(n string) []string {
		reqs := make([]string, 0, len(byName[n].rt.Requires))
		for _, r := range byName[n].rt.Requires {
			reqs = append(reqs, r.Runtime)
		}
		sort.Strings(reqs)
		return reqs
	})
	out := make([]*unit, len(order))
	for i, n := range order {
		out[i] = byName[n]
	}
	return out
}
