package planner

import (
	"context"
	"fmt"
	"github.com/Masterminds/semver/v3"
	"sort"
	"strings"

	"github.com/runtimekit/runtimekit/internal/graph"
	"github.com/runtimekit/runtimekit/sdk/debian"
	"github.com/runtimekit/runtimekit/sdk/lock"
)

// validate checks the desired set as a whole and records every problem.
func (p *planning) validate(ctx context.Context) {
	units := p.units()
	p.checkRequires(units)
	p.checkServices(units)
	p.checkDests(units)
	p.checkPairs(units)
	p.checkConflictsAndCapabilities(units)
	p.checkPackages(ctx, units)
	p.checkBudgets(units)
}

// units lists the desired set in a stable order: added runtimes first in
// name order (their positions are most useful), then kept ones.
func (p *planning) units() []*unit {
	var out []*unit
	for _, n := range sortedKeys(p.desired) {
		out = append(out, p.desired[n])
	}
	sort.SliceStable(out, func(i, j int) bool { return (out[i].m != nil) && (out[j].m == nil) })
	return out
}

type claim struct {
	u    *unit
	path string
}

// checkPairs finds resources claimed by two runtimes: ports, files and
// service names.
func (p *planning) checkPairs(units []*unit) {
	ports := map[string]claim{}
	files := map[string]claim{}
	services := map[string]claim{}
	for _, u := range units {
		for i, port := range u.rt.Ports {
			key := fmt.Sprintf("%d/%s", port.Number, port.Protocol)
			p.claim(ports, key, claim{u, fmt.Sprintf("/ports/%d/number", i)}, "port "+key,
				"give one of them another port with --param, or remove one")
		}
		for i, f := range u.rt.Files {
			p.claim(files, f.Path, claim{u, fmt.Sprintf("/files/%d/path", i)}, "file "+f.Path, "two runtimes cannot own one file")
		}
		for i, s := range u.rt.Services {
			p.claim(services, s.Name, claim{u, fmt.Sprintf("/services/%d/name", i)}, "service name "+s.Name,
				"service names are global on the machine (one runit directory each)")
		}
	}
}

func (p *planning) claim(seen map[string]claim, key string, c claim, what, hint string) {
	first, dup := seen[key]
	if !dup {
		seen[key] = c
		return
	}
	if first.u == c.u {
		return // the manifest loader reports duplicates within one runtime
	}
	p.errorf(c.u.pos(c.path), c.path, hint, "%s is claimed by both %s (%s) and %s (%s)",
		what, first.u.rt.Name, first.u.pos(first.path), c.u.rt.Name, c.u.pos(c.path))
}

func (p *planning) checkConflictsAndCapabilities(units []*unit) {
	for _, u := range units {
		if u.m == nil {
			continue
		}
		for i, c := range u.m.Conflicts {
			if o, ok := p.desired[c]; ok && o != u {
				path := fmt.Sprintf("/conflicts/%d", i)
				p.errorf(u.pos(path), path, "remove one of them", "%s conflicts with %s, which would be installed too", u.rt.Name, c)
			}
		}
	}
	exclusive := map[string]claim{}
	for _, u := range units {
		for i, c := range u.rt.Provides {
			if !c.Exclusive {
				continue
			}
			p.claim(exclusive, c.Name, claim{u, fmt.Sprintf("/provides/%d/name", i)}, "exclusive capability "+c.Name,
				"only one installed runtime may provide it")
		}
	}
}

// checkPackages looks at the union of the runtimes' package closures:
// Conflicts and Breaks between them or with the base system, and (when the
// .deb file lists are available) two packages shipping one path without
// Replaces.
func (p *planning) checkPackages(ctx context.Context, units []*unit) {
	type owned struct {
		pkg lock.Package
		u   *unit
	}
	union := map[string]owned{}
	var names []string
	for _, u := range units {
		for _, d := range u.debs {
			if o, ok := union[d.Name]; ok {
				if o.pkg.Version != d.Version && u.m != nil && o.u.m != nil {
					p.errorf(u.pos("/packages"), "/packages", "lock both runtimes against the same index",
						"%s needs %s %s but %s needs %s %s", u.rt.Name, d.Name, d.Version, o.u.rt.Name, d.Name, o.pkg.Version)
				}
				continue
			}
			union[d.Name] = owned{d, u}
			names = append(names, d.Name)
		}
	}
	sort.Strings(names)
	// Everything that will be on the machine: base + union, with versions
	// and provides.
	type present struct {
		version string
		who     string
	}
	all := map[string][]present{}
	add := func(name, ver, provides, who string) {
		pr, _ := debian.ParseRelations(provides, p.in.Target.DebianArch())
		all[name] = append(all[name], present{ver, who})
		for _, g := range pr {
			for _, a := range g {
				all[a.Name] = append(all[a.Name], present{a.Version, who + " (provides " + a.Name + ")"})
			}
		}
	}
	if p.in.Base != nil {
		for _, q := range p.in.Base.Installed() {
			add(q.Name, q.Version, q.Provides, "base package "+q.Name)
		}
	}
	for _, n := range names {
		o := union[n]
		add(n, o.pkg.Version, o.pkg.Provides, fmt.Sprintf("%s (for %s)", n, o.u.rt.Name))
	}
	for _, n := range names {
		o := union[n]
		for _, field := range []struct{ kind, text string }{{"Conflicts", o.pkg.Conflicts}, {"Breaks", o.pkg.Breaks}} {
			groups, err := debian.ParseRelations(field.text, p.in.Target.DebianArch())
			if err != nil {
				continue
			}
			for _, g := range groups {
				for _, a := range g {
					for _, pr := range all[a.Name] {
						if strings.HasPrefix(pr.who, n+" ") || pr.who == n {
							continue // a package never conflicts with itself
						}
						if a.Op != "" && (pr.version == "" || !a.Satisfies(pr.version)) {
							continue
						}
						p.errorf(o.u.pos("/packages"), "/packages", "these runtimes cannot be installed together",
							"package %s (for %s) %s %s, which %s brings", n, o.u.rt.Name, field.kind, a.String(), pr.who)
					}
				}
			}
		}
	}
	if p.in.DebFiles == nil {
		return
	}
	owner := map[string]string{}
	for _, n := range names {
		o := union[n]
		files, err := p.in.DebFiles(ctx, o.pkg)
		if err != nil {
			p.errorf(o.u.pos("/packages"), "/packages", "", "cannot list the files of %s: %v", n, err)
			continue
		}
		for _, f := range files {
			prev, ok := owner[f]
			if !ok {
				owner[f] = n
				continue
			}
			if replaces(union[n].pkg, prev) || replaces(union[prev].pkg, n) {
				continue
			}
			p.errorf(o.u.pos("/packages"), "/packages", "dpkg would refuse to overwrite it",
				"packages %s (for %s) and %s (for %s) both ship %s, and neither Replaces the other",
				prev, union[prev].u.rt.Name, n, o.u.rt.Name, f)
		}
	}
}

func replaces(p lock.Package, other string) bool {
	groups, err := debian.ParseRelations(p.Replaces, "")
	if err != nil {
		return false
	}
	for _, g := range groups {
		for _, a := range g {
			if a.Name == other {
				return true
			}
		}
	}
	return false
}

// checkBudgets compares memory and disk after the plan with the target's
// budgets: memory is the sum of the runtimes' estimates; disk is the base
// system's and the packages' Installed-Size plus the runtimes' estimates.
func (p *planning) checkBudgets(units []*unit) {
	mem, disk := p.usage(units)
	var before []*unit
	for _, rt := range p.cur.Runtimes {
		before = append(before, keptUnit(rt))
	}
	// A machine already over budget may still shrink: refuse only growth.
	memBefore, diskBefore := p.usage(before)
	b := p.in.Target.Budget
	if mem > b.MemoryMiB && mem > memBefore {
		p.errorf(cliPos, "", "remove a runtime, or plan for a target with more memory (--target)",
			"the runtimes need %d MiB of memory, over target %s's budget of %d MiB (%s)", mem, p.in.Target.Name, b.MemoryMiB, breakdown(units, func(u *unit) int { return u.rt.MemoryMiB }))
	}
	if disk > b.DiskMiB && disk > diskBefore {
		p.errorf(cliPos, "", "remove a runtime, or plan for a target with more disk (--target)",
			"the system would use %d MiB of disk, over target %s's budget of %d MiB", disk, p.in.Target.Name, b.DiskMiB)
	}
}

// usage is memory and disk (MiB) for a set of units.
func (p *planning) usage(units []*unit) (mem, disk int) {
	var kib int64
	if p.in.Base != nil {
		for _, q := range p.in.Base.Installed() {
			kib += q.InstalledSize
		}
	}
	seen := map[string]bool{}
	for _, u := range units {
		mem += u.rt.MemoryMiB
		disk += u.rt.DiskMiB
		for _, q := range u.rt.Packages {
			if !seen[q.Name] {
				seen[q.Name] = true
				kib += q.InstalledSize
			}
		}
	}
	return mem, disk + int((kib+1023)/1024)
}

func breakdown(units []*unit, f func(*unit) int) string {
	var parts []string
	for _, u := range units {
		parts = append(parts, fmt.Sprintf("%s %d", u.rt.Name, f(u)))
	}
	return strings.Join(parts, ", ")
}

// checkRequires checks every requirement of the desired set against the
// version that will be present, and refuses cycles.
func (p *planning) checkRequires(units []*unit) {
	for _, u := range units {
		for i, r := range u.rt.Requires {
			t, ok := p.desired[r.Runtime]
			if !ok || r.Constraint == "" {
				continue // a missing runtime is reported when it is resolved
			}
			path := fmt.Sprintf("/requires/%d", i)
			c, err := semver.NewConstraint(r.Constraint)
			if err != nil {
				continue // reported by the manifest loader
			}
			v, err := semver.NewVersion(t.rt.Version)
			if err != nil || !c.Check(v) {
				state := "the available"
				if t.m == nil {
					state = "the installed"
				}
				p.errorf(u.pos(path), path, "add a "+r.Runtime+" that meets it, or remove "+u.rt.Name,
					"%s requires %s %s, but %s %s is %s", u.rt.Name, r.Runtime, r.Constraint, state, r.Runtime, t.rt.Version)
			}
		}
	}
	if cycle := requiresCycle(units); cycle != "" {
		p.errorf(cliPos, "", "runtimes cannot require each other in a circle", "requirement cycle: %s", cycle)
	}
}

// requiresCycle returns a requires cycle among units as "a -> b -> a", or "".
func requiresCycle(units []*unit) string {
	byName := map[string]*unit{}
	names := make([]string, 0, len(units))
	for _, u := range units {
		byName[u.rt.Name] = u
		names = append(names, u.rt.Name)
	}
	_, err := graph.TopoSort(names, func(n string) []string {
		reqs := make([]string, 0, len(byName[n].rt.Requires))
		for _, r := range byName[n].rt.Requires {
			reqs = append(reqs, r.Runtime)
		}
		return reqs
	})
	if c, ok := err.(*graph.CycleError[string]); ok {
		return strings.Join(c.Cycle(), " -> ")
	}
	return ""
}

// checkServices checks that every dependsOn names a service that will be
// there, and that dependencies do not go in a circle.
func (p *planning) checkServices(units []*unit) {
	deps := map[string][]string{}
	for _, u := range units {
		for _, s := range u.rt.Services {
			deps[s.Name] = s.DependsOn
		}
	}
	for _, u := range units {
		for i, s := range u.rt.Services {
			for j, d := range s.DependsOn {
				if _, ok := deps[d]; !ok {
					path := fmt.Sprintf("/services/%d/dependsOn/%d", i, j)
					p.errorf(u.pos(path), path, "known services: "+strings.Join(sortedKeys(deps), ", "),
						"service %s depends on %s, which no runtime will provide", s.Name, d)
				}
			}
		}
	}
	// The message shows the walk from the first service (by name) that
	// leads into the cycle.
	if _, err := graph.TopoSort(sortedKeys(deps), func(n string) []string { return deps[n] }); err != nil {
		c := err.(*graph.CycleError[string])
		p.errorf(cliPos, "", "break the circle in one service's dependsOn", "service dependency cycle: %s", strings.Join(c.Path, " -> "))
	}
}

// checkDests refuses two runtimes extracting artifacts into the same or
// nested directories: removing one would delete the other's files.
func (p *planning) checkDests(units []*unit) {
	type dest struct {
		u    *unit
		path string
		dir  string
	}
	var all []dest
	for _, u := range units {
		for i, a := range u.rt.Artifacts {
			all = append(all, dest{u, fmt.Sprintf("/packages/artifacts/%d", i), a.Dest})
		}
	}
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			a, b := all[i], all[j]
			if a.u == b.u {
				continue
			}
			if a.dir == b.dir || strings.HasPrefix(b.dir, a.dir+"/") || strings.HasPrefix(a.dir, b.dir+"/") {
				p.errorf(b.u.pos(b.path), b.path, "give each runtime its own directory",
					"%s extracts into %s, which overlaps %s's %s", b.u.rt.Name, b.dir, a.u.rt.Name, a.dir)
			}
		}
	}
}
