package planner

import (
	"fmt"
	"sort"

	"github.com/runtimekit/runtimekit/sdk/diag"
	"github.com/runtimekit/runtimekit/sdk/spec"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// CheckRequires holds one manifest's requirements to the runtimes that can
// be installed (their manifests, as a Catalog gives them), without a target
// or a plan: each required runtime must be available, at a version that
// meets the constraint. The version checks are Plan's own. Each problem is
// a diagnostic at the requirement in m. It is what `runtimectl validate`
// reports.
func CheckRequires(m *spec.Manifest, available []*spec.Manifest) diag.Diagnostics {
	p := &planning{desired: map[string]*unit{}}
	var names []string
	for _, a := range available {
		p.desired[a.Name] = &unit{rt: state.Runtime{Name: a.Name, Version: a.Version}, m: a}
		names = append(names, a.Name)
	}
	sort.Strings(names)
	u := &unit{rt: state.Runtime{Name: m.Name, Version: m.Version}, m: m}
	for _, r := range m.Requires {
		u.rt.Requires = append(u.rt.Requires, state.Requirement{Runtime: r.Runtime, Constraint: r.Constraint})
	}
	p.desired[m.Name] = u
	for i, r := range m.Requires {
		if _, ok := p.desired[r.Runtime]; !ok {
			path := fmt.Sprintf("/requires/%d", i)
			p.errorf(u.pos(path), path, fmt.Sprintf("available runtimes: %v", names),
				"%s requires runtime %q, which no plugin provides", m.Name, r.Runtime)
		}
	}
	p.checkRequires([]*unit{u})
	return p.diags
}
