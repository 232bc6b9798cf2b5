package planner

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/runtimekit/runtimekit/internal/graph"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// build orders the steps of a valid plan: removals first (they free ports
// and names an upgrade reuses), then one batch of package installs, files,
// services started in depends-on order each followed by its health waits,
// and the state record last.
func (p *planning) build() *plan.Plan {
	t := p.in.Target
	out := &plan.Plan{
		FormatVersion: plan.FormatVersion,
		Target:        plan.Target{Name: t.Name, OS: t.OS, Arch: t.Arch, DebianArch: t.DebianArch(), Release: t.Debian.Release},
		State:         plan.StateRef{Lineage: p.cur.Lineage, Serial: p.cur.Serial},
		Artifacts:     []plan.Artifact{},
		Steps:         []plan.Step{},
	}
	b := &stepBuilder{plan: out}
	added := p.added()

	// Packages: what the desired set needs that is not installed at that
	// version, and what nothing needs any more.
	needed := map[string]bool{}
	for _, u := range p.desired {
		for _, q := range u.rt.Packages {
			needed[q.Name] = true
		}
	}
	// Deployed apps keep their own packages, and the supervisor that runs
	// them, whichever runtime brought it.
	for _, a := range p.cur.Apps {
		for _, q := range a.Packages {
			needed[q.Name] = true
		}
	}
	if len(p.cur.Apps) > 0 && p.in.Lock != nil && p.in.Lock.Supervisor != nil {
		for _, q := range p.in.Lock.Supervisor.Packages {
			needed[q.Name] = true
		}
	}
	have := map[string]string{}
	for _, rt := range p.cur.Runtimes {
		for _, q := range rt.Packages {
			have[q.Name] = q.Version
		}
	}
	base := p.baseSet()
	var install []lock.Package
	seen := map[string]bool{}
	for _, u := range added {
		for _, d := range u.debs {
			if seen[d.Name] || base[d.Name] || have[d.Name] == d.Version {
				continue
			}
			seen[d.Name] = true
			install = append(install, d)
		}
	}
	var remove []state.Package
	essential := p.essentialSet()
	kept := map[string][]string{} // base packages a state claims, by package: the runtimes claiming them
	for i := len(p.cur.Runtimes) - 1; i >= 0; i-- {
		pk := p.cur.Runtimes[i].Packages
		for j := len(pk) - 1; j >= 0; j-- {
			q := pk[j]
			if needed[q.Name] || seen["rm:"+q.Name] {
				continue
			}
			// Never removed, whatever the state says a runtime owns: the
			// target's base system, Essential packages, and Debian's
			// minimal system (plan.Parse refuses a plan removing those).
			if base[q.Name] || essential[q.Name] || plan.CorePackage(q.Name) {
				kept[q.Name] = append(kept[q.Name], p.cur.Runtimes[i].Name)
				continue
			}
			seen["rm:"+q.Name] = true
			remove = append(remove, q)
		}
	}
	for _, n := range sortedKeys(kept) {
		p.notes = append(p.notes, fmt.Sprintf("package %s stays: it is Essential or part of the base system (the state lists it for %s)", n, strings.Join(kept[n], ", ")))
	}

	// Artifacts the bundle must hold.
	for _, d := range install {
		out.Artifacts = append(out.Artifacts, plan.Artifact{Kind: plan.ArtifactDeb, Name: d.Name, Version: d.Version, Arch: d.Arch,
			Filename: d.Filename, SHA256: d.SHA256, Size: d.Size})
	}
	for _, u := range added {
		if lr, ok := p.lockRuntime(u.rt.Name); ok {
			for _, a := range lr.Artifacts {
				out.Artifacts = append(out.Artifacts, plan.Artifact{Kind: a.Kind, Name: a.Name, Version: a.Version, URL: a.URL,
					Integrity: a.Integrity, SHA256: a.SHA256, Size: a.Size})
			}
		}
	}
	sort.SliceStable(out.Artifacts, func(i, j int) bool {
		a, c := out.Artifacts[i], out.Artifacts[j]
		if a.Kind != c.Kind {
			return a.Kind < c.Kind
		}
		return a.Name < c.Name
	})
	if len(out.Artifacts) > 0 {
		digests := make([]string, len(out.Artifacts))
		for i, a := range out.Artifacts {
			digests[i] = a.SHA256
		}
		b.add(plan.Step{ID: "verify-bundle", Inputs: &plan.VerifyBundle{Artifacts: digests}})
	}

	// Removals, in reverse requires order.
	removed := p.removedUnits()
	var handover []handoverService
	var late []plan.Step
	for i := len(removed) - 1; i >= 0; i-- {
		rt := removed[i].rt
		svcs, later := p.splitHandover(rt)
		for _, s := range later {
			handover = append(handover, handoverService{rt.Name, s})
		}
		for j := len(svcs) - 1; j >= 0; j-- {
			b.add(plan.Step{ID: "stop-service:" + svcs[j].Name, Runtime: rt.Name,
				Inputs: &plan.StopService{ServiceName: svcs[j].Name}})
		}
		for j := len(svcs) - 1; j >= 0; j-- {
			s := svcs[j]
			b.add(plan.Step{ID: "remove-service:" + s.Name, Runtime: rt.Name,
				Needs: []string{"stop-service:" + s.Name}, Inputs: &plan.RemoveService{Service: s}})
		}
		// An old version still serving during a handover keeps its files
		// and packages until it has stopped.
		target := &b.plan.Steps
		if len(later) > 0 {
			target = &late
		}
		for _, f := range rt.Files {
			if p.rewrites(f.Path) {
				continue // the upgrade writes it again
			}
			*target = append(*target, plan.Step{ID: "remove-file:" + f.Path, Runtime: rt.Name,
				Inputs: &plan.RemoveFile{File: plan.File{Path: f.Path, SHA256: f.SHA256, Mode: f.Mode, Owner: f.Owner, Group: f.Group, Kind: f.Kind}},
				Needs:  []string{}})
		}
		for _, a := range rt.Artifacts {
			*target = append(*target, plan.Step{ID: "remove-archive:" + rt.Name + "/" + a.Name, Runtime: rt.Name,
				Inputs: &plan.RemoveArchive{Archive: plan.Archive{Name: a.Name, SHA256: a.SHA256, Format: a.Format, Dest: a.Dest}}, Needs: []string{}})
		}
	}
	removePackages := func() {
		if len(remove) == 0 {
			return
		}
		refs := make([]plan.PackageRef, len(remove))
		for i, q := range remove {
			refs[i] = plan.PackageRef{Name: q.Name, Version: q.Version, Arch: q.Arch}
		}
		b.add(plan.Step{ID: "remove-packages", Inputs: &plan.RemovePackages{Packages: refs, Purge: true},
			Needs: b.ofKinds(plan.KindRemoveService, plan.KindRemoveFile, plan.KindRemoveArchive)})
	}
	if len(handover) == 0 {
		removePackages()
	}

	// Additions.
	if len(install) > 0 {
		refs := make([]plan.PackageRef, len(install))
		for i, d := range install {
			refs[i] = plan.PackageRef{Name: d.Name, Version: d.Version, Arch: d.Arch, SHA256: d.SHA256}
		}
		b.add(plan.Step{ID: "install-packages", Inputs: &plan.InstallPackages{Packages: refs},
			Needs: b.ofKinds(plan.KindVerifyBundle, plan.KindRemovePackages)})
	}
	for _, u := range added {
		for _, a := range u.archives {
			a := a
			b.add(plan.Step{ID: "extract-archive:" + u.rt.Name + "/" + a.Name, Runtime: u.rt.Name,
				Needs: b.ofKinds(plan.KindVerifyBundle, plan.KindInstallPackages), Inputs: &plan.ExtractArchive{Archive: a}})
		}
		paths := sortedKeys(u.files)
		for _, path := range paths {
			f := u.files[path]
			b.add(plan.Step{ID: "write-file:" + path, Runtime: u.rt.Name,
				Needs: b.ofKinds(plan.KindInstallPackages, plan.KindExtractArchive), Inputs: &plan.WriteFile{File: f}})
		}
	}
	// Services: install all, then start in depends-on order, each followed
	// by the health checks that watch it.
	var svcs []state.Service
	owner := map[string]*unit{}
	for _, u := range added {
		for _, s := range u.rt.Services {
			svcs = append(svcs, s)
			owner[s.Name] = u
		}
	}
	svcs = dependsOrder(svcs)
	for _, s := range svcs {
		s := s
		u := owner[s.Name]
		b.add(plan.Step{ID: "install-service:" + s.Name, Runtime: u.rt.Name,
			Needs: b.runtimeSteps(u.rt.Name, plan.KindWriteFile, plan.KindExtractArchive, plan.KindInstallPackages), Inputs: &plan.InstallService{Service: s}})
	}
	// Per runtime in requires order: checks of a runtime without a service
	// (it must run before what builds on it starts), then its services,
	// each started after those it depends on and followed by its checks.
	byName := map[string]state.Service{}
	for _, s := range svcs {
		byName[s.Name] = s
	}
	known := func(name string) []string {
		var deps []string
		for _, d := range byName[name].DependsOn {
			if _, ok := byName[d]; ok {
				deps = append(deps, d)
			}
		}
		return deps
	}
	starts := graph.NewSorter(known)
	start := func(name string) {
		u := owner[name]
		needs := []string{"install-service:" + name}
		for _, d := range known(name) {
			needs = append(needs, "start-service:"+d)
		}
		b.add(plan.Step{ID: "start-service:" + name, Runtime: u.rt.Name,
			Needs: needs, Inputs: &plan.StartService{ServiceName: name}})
		for _, h := range u.rt.Health {
			if h.Service == name {
				h := h
				b.add(plan.Step{ID: "wait-health:" + u.rt.Name + "/" + h.Name, Runtime: u.rt.Name,
					Needs: []string{"start-service:" + name}, Inputs: &plan.WaitHealth{Health: h}})
			}
		}
	}
	for _, u := range added {
		for _, h := range u.rt.Health {
			if h.Service == "" {
				h := h
				b.add(plan.Step{ID: "wait-health:" + u.rt.Name + "/" + h.Name, Runtime: u.rt.Name,
					Needs: b.runtimeSteps(u.rt.Name, plan.KindWriteFile, plan.KindExtractArchive, plan.KindInstallPackages), Inputs: &plan.WaitHealth{Health: h}})
			}
		}
		for _, s := range dependsOrder(u.rt.Services) {
			for _, name := range starts.Add(s.Name) { // s after what it depends on
				start(name)
			}
		}
	}

	// Old services of upgraded runtimes that could keep serving until the
	// new version answered: stopped only now.
	for _, h := range handover {
		needs := b.runtimeSteps(h.runtime, plan.KindWaitHealth, plan.KindStartService)
		b.add(plan.Step{ID: "stop-service:" + h.svc.Name, Runtime: h.runtime,
			Needs: needs, Inputs: &plan.StopService{ServiceName: h.svc.Name}})
		s := h.svc
		b.add(plan.Step{ID: "remove-service:" + s.Name, Runtime: h.runtime,
			Needs: []string{"stop-service:" + s.Name}, Inputs: &plan.RemoveService{Service: s}})
	}
	for _, st := range late {
		st.Needs = b.runtimeSteps(st.Runtime, plan.KindRemoveService)
		b.add(st)
	}
	if len(handover) > 0 {
		removePackages()
	}

	// The state after the plan. A kept runtime's packages that this plan
	// upgrades (another runtime's lock pins a newer version) are recorded
	// at their new versions.
	newVersion := map[string]string{}
	for _, d := range install {
		newVersion[d.Name] = d.Version
	}
	after := make([]state.Runtime, 0, len(p.desired))
	for _, n := range sortedKeys(p.desired) {
		rt := p.desired[n].rt
		rt.Packages = append([]state.Package(nil), rt.Packages...)
		for i, q := range rt.Packages {
			if v, ok := newVersion[q.Name]; ok {
				rt.Packages[i].Version = v
			}
		}
		after = append(after, rt)
	}
	// The state is recorded whenever it changes, also by a plan with no
	// other step (an automatic runtime asked for explicitly).
	before := slices.SortedFunc(slices.Values(p.cur.Runtimes), func(a, b state.Runtime) int { return strings.Compare(a.Name, b.Name) })
	if len(b.plan.Steps) > 0 || !slices.EqualFunc(before, after, state.Runtime.Equal) {
		var all []string
		for _, s := range b.plan.Steps {
			all = append(all, s.ID)
		}
		b.add(plan.Step{ID: "record-state", Needs: all, Inputs: &plan.RecordState{Runtimes: after, Apps: p.cur.Apps}})
	}
	out.Summary = p.summary(added, removed, install, remove, after)
	return out
}

type stepBuilder struct{ plan *plan.Plan }

func (b *stepBuilder) add(s plan.Step) {
	needs := []string{}
	seen := map[string]bool{}
	for _, n := range s.Needs {
		if !seen[n] {
			seen[n] = true
			needs = append(needs, n)
		}
	}
	s.Needs = needs
	b.plan.Steps = append(b.plan.Steps, s)
}

// ofKinds returns the ids of the steps so far of the given kinds.
func (b *stepBuilder) ofKinds(kinds ...string) []string {
	return b.runtimeSteps("", kinds...)
}

// runtimeSteps returns the ids of the steps so far of the given kinds that
// serve runtime (any runtime when empty) or are shared (install-packages).
func (b *stepBuilder) runtimeSteps(runtime string, kinds ...string) []string {
	want := map[string]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	ids := []string{}
	for _, s := range b.plan.Steps {
		if want[s.Kind()] && (runtime == "" || s.Runtime == "" || s.Runtime == runtime) {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// added lists the units to install, in requires order.
func (p *planning) added() []*unit {
	var out []*unit
	for _, u := range requiresOrder(p.unitsList()) {
		if u.m == nil {
			continue
		}
		if old, ok := p.installed[u.rt.Name]; ok && sameRuntime(old, u.rt) {
			continue
		}
		out = append(out, u)
	}
	return out
}

func (p *planning) unitsList() []*unit {
	out := make([]*unit, 0, len(p.desired))
	for _, n := range sortedKeys(p.desired) {
		out = append(out, p.desired[n])
	}
	return out
}

// removedUnits lists the removed runtimes in requires order.
func (p *planning) removedUnits() []*unit {
	us := make([]*unit, len(p.removed))
	for i, rt := range p.removed {
		us[i] = keptUnit(rt)
	}
	return requiresOrder(us)
}

// rewrites reports whether an added runtime writes path (an upgrade).
func (p *planning) rewrites(path string) bool {
	for _, u := range p.desired {
		if _, ok := u.files[path]; ok && u.m != nil {
			return true
		}
	}
	return false
}

func (p *planning) lockRuntime(name string) (*lock.Runtime, bool) {
	if p.in.Lock == nil {
		return nil, false
	}
	return p.in.Lock.Runtime(name)
}

func (p *planning) baseSet() map[string]bool {
	set := map[string]bool{}
	if p.in.Base != nil {
		for _, q := range p.in.Base.Installed() {
			set[q.Name] = true
		}
	}
	for _, n := range p.in.Target.Base.Packages {
		set[n] = true
	}
	return set
}

// essentialSet names packages marked Essential in the lock or in the base
// system's status: never removed.
func (p *planning) essentialSet() map[string]bool {
	set := map[string]bool{}
	if p.in.Base != nil {
		for _, q := range p.in.Base.Installed() {
			if q.Essential {
				set[q.Name] = true
			}
		}
	}
	if p.in.Lock == nil {
		return set
	}
	rts := append([]lock.Runtime(nil), p.in.Lock.Runtimes...)
	if p.in.Lock.Supervisor != nil {
		rts = append(rts, *p.in.Lock.Supervisor)
	}
	for _, r := range rts {
		for _, q := range r.Packages {
			if q.Essential {
				set[q.Name] = true
			}
		}
	}
	return set
}

// dependsOrder sorts services so each comes after those it depends on
// (among the list); ties keep name order.
func dependsOrder(svcs []state.Service) []state.Service {
	byName := map[string]state.Service{}
	names := make([]string, 0, len(svcs))
	for _, s := range svcs {
		byName[s.Name] = s
		names = append(names, s.Name)
	}
	sort.Strings(names)
	order, _ := graph.TopoSort(names, func(n string) []string {
		deps := append([]string(nil), byName[n].DependsOn...)
		sort.Strings(deps)
		return deps
	})
	out := make([]state.Service, len(order))
	for i, n := range order {
		out[i] = byName[n]
	}
	return out
}

func (p *planning) summary(added, removed []*unit, install []lock.Package, remove []state.Package, after []state.Runtime) plan.Summary {
	s := plan.Summary{Add: []plan.RuntimeChange{}, Remove: []plan.RuntimeChange{}, Keep: []plan.RuntimeChange{},
		Packages: plan.PackageChanges{Install: []state.Package{}, Remove: []state.Package{}}, Ports: []plan.PortUse{}, Services: []string{}, Notes: []string{}}
	addedNames := map[string]bool{}
	for _, u := range added {
		c := plan.RuntimeChange{Name: u.rt.Name, Version: u.rt.Version, Auto: u.rt.Auto}
		if u.auto != "" {
			c.Reason = "required by " + u.auto
		}
		if old, ok := p.installed[u.rt.Name]; ok {
			c.Reason = fmt.Sprintf("upgrade from %s", old.Version)
		}
		addedNames[u.rt.Name] = true
		s.Add = append(s.Add, c)
	}
	for _, u := range removed {
		if addedNames[u.rt.Name] {
			continue
		}
		s.Remove = append(s.Remove, plan.RuntimeChange{Name: u.rt.Name, Version: u.rt.Version})
	}
	for _, rt := range after {
		if !addedNames[rt.Name] {
			s.Keep = append(s.Keep, plan.RuntimeChange{Name: rt.Name, Version: rt.Version, Auto: rt.Auto})
		}
		for _, port := range rt.Ports {
			s.Ports = append(s.Ports, plan.PortUse{Number: port.Number, Protocol: port.Protocol, Runtime: rt.Name, Name: port.Name})
		}
		for _, svc := range rt.Services {
			s.Services = append(s.Services, svc.Name)
		}
	}
	sort.Slice(s.Ports, func(i, j int) bool { return s.Ports[i].Number < s.Ports[j].Number })
	sort.Strings(s.Services)
	for _, d := range install {
		s.Packages.Install = append(s.Packages.Install, state.Package{Name: d.Name, Version: d.Version, Arch: d.Arch, InstalledSize: d.InstalledSize})
	}
	s.Packages.Remove = append(s.Packages.Remove, remove...)
	var before []*unit
	for _, rt := range p.cur.Runtimes {
		before = append(before, keptUnit(rt))
	}
	var afterUnits []*unit
	for _, rt := range after {
		afterUnits = append(afterUnits, keptUnit(rt))
	}
	mb, db := p.usage(before)
	ma, da := p.usage(afterUnits)
	s.MemoryMiB = plan.Budget{Before: mb, After: ma, Budget: p.in.Target.Budget.MemoryMiB}
	s.DiskMiB = plan.Budget{Before: db, After: da, Budget: p.in.Target.Budget.DiskMiB}
	s.Notes = append(s.Notes, p.notes...)
	return s
}

type handoverService struct {
	runtime string
	svc     state.Service
}

// splitHandover divides an outgoing runtime's services into those stopped
// before the new packages and files arrive and, for an upgrade, those that
// keep serving until the new version has started and passed its health
// checks: possible when the new version neither reuses the service's name
// (runit has one directory per name) nor any of the old version's ports.
// Services come back in depends-on order.
func (p *planning) splitHandover(old state.Runtime) (now, later []state.Service) {
	all := dependsOrder(old.Services)
	u, upgrade := p.desired[old.Name]
	if !upgrade || u.m == nil {
		return all, nil
	}
	names := map[string]bool{}
	for _, s := range u.rt.Services {
		names[s.Name] = true
	}
	for _, op := range old.Ports {
		for _, np := range u.rt.Ports {
			if op.Number == np.Number && op.Protocol == np.Protocol {
				return all, nil // the new version needs the old one's port
			}
		}
	}
	for _, s := range all {
		if names[s.Name] {
			now = append(now, s)
		} else {
			later = append(later, s)
		}
	}
	return now, later
}
