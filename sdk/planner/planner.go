package planner

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/runtimekit/runtimekit/sdk/diag"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/spec"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// Plan computes the step plan for req. When the combination is invalid it
// returns every problem as diag.Diagnostics (the error); other errors
// are failures to read inputs.
func Plan(ctx context.Context, in Input, req Request) (*plan.Plan, error) {
	if in.Target == nil {
		return nil, errors.New("plan: Input.Target is required")
	}
	cur := in.State
	if cur == nil {
		cur = state.New(in.Target.Name)
	}
	p := &planning{in: in, req: req, cur: cur, installed: map[string]state.Runtime{}, desired: map[string]*unit{}, refused: map[string]bool{}}
	for _, rt := range cur.Runtimes {
		p.installed[rt.Name] = rt
	}
	if err := p.resolve(ctx); err != nil {
		return nil, err
	}
	p.validate(ctx)
	if p.diags.HasErrors() {
		return nil, p.diags
	}
	out := p.build()
	if err := p.check(out); err != nil {
		return nil, err
	}
	return out, nil
}

// planning holds the work of one Plan call.
type planning struct {
	in        Input
	req       Request
	cur       *state.State
	installed map[string]state.Runtime
	// desired is every runtime after the plan, by name.
	desired map[string]*unit
	// removed are installed runtimes that go (upgrades appear in both
	// removed and desired).
	removed []state.Runtime
	notes   []string
	diags   diag.Diagnostics
	// refused names runtimes whose manifest was refused (diagnosed once).
	refused map[string]bool
}

func (p *planning) errorf(pos diag.Pos, path, hint, format string, args ...any) {
	p.diags = append(p.diags, diag.Diagnostic{Severity: diag.SeverityError, Pos: pos, Path: path,
		Summary: fmt.Sprintf(format, args...), Hint: hint})
}

var cliPos = diag.Pos{File: "command line"}

// resolve decides the desired set: installed runtimes minus removals (with
// cascade and automatic removals), plus additions and the runtimes they
// require.
func (p *planning) resolve(ctx context.Context) error {
	remove := map[string]bool{}
	for _, a := range p.req.Add {
		for _, r := range p.req.Remove {
			if a.Name == r {
				p.errorf(cliPos, "", "to reinstall or upgrade, --add it alone", "%s is both added and removed", r)
			}
		}
	}
	for _, n := range p.req.Remove {
		if _, ok := p.installed[n]; !ok {
			p.errorf(cliPos, "", "installed runtimes: "+strings.Join(sortedKeys(p.installed), ", "), "cannot remove %s: it is not installed", n)
			continue
		}
		remove[n] = true
	}
	// Runtimes that require a removed one go too with --cascade; without
	// it the removal is refused.
	for changed := true; changed; {
		changed = false
		for _, name := range sortedKeys(p.installed) {
			rt := p.installed[name]
			if remove[name] {
				continue
			}
			for _, r := range rt.Requires {
				if !remove[r.Runtime] {
					continue
				}
				if p.req.Cascade {
					remove[name] = true
					p.notes = append(p.notes, fmt.Sprintf("%s is removed too: it requires %s (--cascade)", name, r.Runtime))
					changed = true
				} else {
					p.errorf(cliPos, "", "remove "+name+" as well, or use --cascade",
						"cannot remove %s: %s requires it", r.Runtime, name)
				}
				break
			}
		}
	}

	// A runtime an app is deployed on stays until the app goes.
	for _, a := range p.cur.Apps {
		if remove[a.Runtime] {
			p.errorf(cliPos, "", "remove the app first: runtimectl remove --app "+a.Name,
				"cannot remove %s: app %s is deployed on it", a.Runtime, a.Name)
		}
	}

	for _, a := range p.req.Add {
		if err := p.add(ctx, a, ""); err != nil {
			return err
		}
	}
	// Installed runtimes that stay.
	for _, name := range sortedKeys(p.installed) {
		if remove[name] {
			continue
		}
		if _, ok := p.desired[name]; !ok {
			p.desired[name] = p.kept(p.installed[name])
		}
	}
	// Requirements of every desired runtime, adding missing ones. A
	// requirement that cannot be added is diagnosed once, not retried.
	tried := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, name := range sortedKeys(p.desired) {
			u := p.desired[name]
			for i, r := range u.rt.Requires {
				if _, ok := p.desired[r.Runtime]; ok || tried[r.Runtime] {
					continue
				}
				tried[r.Runtime] = true
				path := fmt.Sprintf("/requires/%d", i)
				if remove[r.Runtime] {
					p.errorf(u.pos(path), path, "keep "+r.Runtime+", or do not add "+name,
						"cannot remove %s: %s requires it", r.Runtime, name)
					continue
				}
				if p.req.NoAuto {
					p.errorf(u.pos(path), path, "add "+r.Runtime+" too, or drop --no-auto", "%s requires %s %s, which is not installed and not being added", name, r.Runtime, r.Constraint)
					continue
				}
				if err := p.add(ctx, Add{Name: r.Runtime, Params: p.req.Params[r.Runtime]}, name); err != nil {
					return err
				}
				changed = true
			}
		}
	}
	for _, n := range sortedKeys(p.req.Params) {
		if u, ok := p.desired[n]; (!ok || u.m == nil) && !p.refused[n] {
			p.errorf(cliPos, "", "parameters apply to runtimes being added", "parameters are given for %s, which this plan does not add", n)
		}
	}
	// Automatically installed runtimes nobody requires any more go, as
	// after apt's autoremove.
	for changed := true; changed; {
		changed = false
		for _, name := range sortedKeys(p.desired) {
			u := p.desired[name]
			if !u.rt.Auto || u.m != nil || p.requiredBy(name) != "" {
				continue
			}
			delete(p.desired, name)
			remove[name] = true
			p.notes = append(p.notes, fmt.Sprintf("%s is removed: it was installed automatically and nothing requires it now", name))
			changed = true
		}
	}
	for _, name := range sortedKeys(p.installed) {
		u, stays := p.desired[name]
		if !stays || (u.m != nil && !sameRuntime(p.installed[name], u.rt)) {
			p.removed = append(p.removed, p.installed[name])
		}
	}
	return nil
}

// requiredBy names a desired runtime that requires name, or "".
func (p *planning) requiredBy(name string) string {
	for _, n := range sortedKeys(p.desired) {
		for _, r := range p.desired[n].rt.Requires {
			if r.Runtime == name {
				return n
			}
		}
	}
	return ""
}

// add evaluates a runtime for the desired set. by names the runtime that
// requires it for an automatic addition.
func (p *planning) add(ctx context.Context, a Add, by string) error {
	if old, ok := p.desired[a.Name]; ok && old.m != nil {
		if by == "" && old.auto != "" {
			old.auto, old.rt.Auto = "", false // asked for explicitly as well
		}
		return nil
	}
	if p.in.Catalog == nil {
		p.errorf(cliPos, "", "plan it where the runtime's plugin is installed (runtimectl plan)",
			"%s cannot be added: no runtime catalog is at hand", a.Name)
		p.refused[a.Name] = true
		return nil
	}
	params := a.Params
	if params == nil {
		params = p.req.Params[a.Name]
	}
	m, err := p.in.Catalog.Manifest(ctx, a.Name, params)
	var ds diag.Diagnostics
	if errors.As(err, &ds) {
		p.diags = append(p.diags, ds...)
		p.refused[a.Name] = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("runtime %s: %w", a.Name, err)
	}
	if a.Constraint != "" {
		c, err := semver.NewConstraint(a.Constraint)
		if err != nil {
			p.errorf(cliPos, "", `write e.g. "nextjs@^15" or ">=18.18"`, "invalid version constraint %q for %s: %v", a.Constraint, a.Name, err)
			return nil
		}
		v, err := semver.NewVersion(m.Version)
		if err != nil || !c.Check(v) {
			what := "asked for"
			if by != "" {
				what = by + " requires"
			}
			p.errorf(cliPos, "", "the available "+a.Name+" is "+m.Version,
				"%s %s %s, but the available version is %s", what, a.Name, a.Constraint, m.Version)
			return nil
		}
	}
	if reason, ok := m.Supports(p.in.Target.Platform()); !ok {
		p.errorf(posOr(m, "/platforms"), "/platforms", "choose a target with one of its platforms",
			"%s cannot run on target %s (%s): %s", a.Name, p.in.Target.Name, p.in.Target.Platform(), reason)
		return nil
	}
	var lr, sv *lock.Runtime
	if p.in.Lock != nil {
		lr, _ = p.in.Lock.Runtime(a.Name)
		sv = p.in.Lock.Supervisor
	}
	if lr != nil && !lockMatches(lr, m) {
		p.errorf(posOr(m, "/packages"), "/packages", "run `runtimectl lock` again: the plugin changed since the lock was made",
			"the lock pins %s %s with requests %v, but the manifest is %s %s with requests %v",
			a.Name, lr.Version, lr.Requests, m.Name, m.Version, requests(m))
		return nil
	}
	if lr == nil && (len(m.Packages.Debian) > 0 || len(m.Packages.NPM) > 0 || len(m.Packages.Archives) > 0) {
		p.errorf(posOr(m, "/packages"), "/packages", "run `runtimectl lock` for this target (with the runtime's plugin installed)",
			"%s has no entry in the lock for target %s", a.Name, p.in.Target.Name)
		return nil
	}
	supervised := len(m.Services) > 0 || a.Supervised
	if supervised && sv == nil && !p.supervisorInBase() {
		p.errorf(posOr(m, "/services"), "/services", "lock the target again: runtimectl lock adds the supervisor when a runtime has services",
			"%s has services but the lock has no supervisor (runit) packages", a.Name)
		return nil
	}
	u, err := newUnit(m, lr, sv, supervised, p.in.Target.Platform())
	if err != nil {
		p.errorf(posOr(m, "/files"), "/files", "", "%s: %v", a.Name, err)
		return nil
	}
	u.params = params
	if by != "" {
		if old, ok := p.installed[a.Name]; ok {
			// An installed runtime that does not meet the constraint: the
			// constraint check above failed already; keep it otherwise.
			u = p.kept(old)
		} else {
			u.auto, u.rt.Auto = by, true
		}
	} else if old, ok := p.installed[a.Name]; ok && old.Auto {
		u.rt.Auto = false
	}
	p.desired[a.Name] = u
	return nil
}

func (p *planning) supervisorInBase() bool {
	if p.in.Base == nil {
		return false
	}
	for _, q := range p.in.Base.Installed() {
		if q.Name == "runit" {
			return true
		}
	}
	return false
}

func posOr(m *spec.Manifest, path string) diag.Pos {
	if pos, ok := m.Source[path]; ok {
		return pos
	}
	if pos, ok := m.Source["/"]; ok {
		return diag.Pos{File: pos.File}
	}
	return diag.Pos{File: "runtime " + m.Name}
}

// sameRuntime reports whether an installed runtime is what the new entry
// would install: then nothing needs doing. Whether it was installed
// automatically does not count.
func sameRuntime(a, b state.Runtime) bool {
	a.Auto, b.Auto = false, false
	return a.Equal(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// kept is an installed runtime that stays. Its packages come from the lock
// when the lock pins that same version (the lock carries the relation
// fields the package checks need), else from the state.
func (p *planning) kept(rt state.Runtime) *unit {
	u := keptUnit(rt)
	if lr, ok := p.lockRuntime(rt.Name); ok && lr.Version == rt.Version {
		u.debs = append(u.debs, lr.Packages...)
		if len(rt.Services) > 0 && p.in.Lock.Supervisor != nil {
			u.debs = appendMissing(u.debs, p.in.Lock.Supervisor.Packages)
		}
		return u
	}
	for _, q := range rt.Packages {
		u.debs = append(u.debs, lock.Package{Name: q.Name, Version: q.Version, Arch: q.Arch, InstalledSize: q.InstalledSize})
	}
	return u
}

// lockMatches reports whether a lock entry was made from this manifest: same
// version and the same Debian requests.
func lockMatches(lr *lock.Runtime, m *spec.Manifest) bool {
	if lr.Version != m.Version {
		return false
	}
	want := requests(m)
	if len(want) != len(lr.Requests) {
		return false
	}
	for i := range want {
		if want[i] != lr.Requests[i] {
			return false
		}
	}
	return true
}

func requests(m *spec.Manifest) []string {
	out := []string{}
	for _, d := range m.Packages.Debian {
		out = append(out, d.Relation())
	}
	return out
}
