package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
	u "github.com/runtimekit/runtimekit/sdk/unit"
)

// Deploy asks for a new release of an app: made on the connected host
// from the app's directory (files, env) and the runtime's manifest in app
// mode (processes, health check).
type Deploy struct {
	App     string
	Runtime string
	// RuntimeVersion is the version of the runtime the release runs on.
	RuntimeVersion string
	Processes      []state.Process
	// Health is the check a start of the release must pass; its port and
	// service are set per start.
	Health state.HealthCheck
	// Files are the release's files; Linked (release path to the path in
	// release Base) those not in the bundle's tar, whose digest is Tar.
	Files   []state.ReleaseFile
	Base    int
	Linked  map[string]string
	Tar     string
	TarSize int64
	// Env and Secrets name the variables of the env file (EnvSHA256,
	// EnvSize) the bundle carries.
	Env       []string
	Secrets   []string
	EnvSHA256 string
	EnvSize   int64
	// Packages are Debian packages the app itself needs (a Python app's
	// modules), resolved on the host in install order, beyond the base
	// system and the runtime's.
	Packages []lock.Package
	// Keep is how many releases stay (0: state.DefaultKeep).
	Keep      int
	MemoryMiB int
	// BudgetMiB is the machine's memory budget; a deploy that cannot run
	// the old and the new release side by side within it stops the old
	// one first.
	BudgetMiB int
	Created   time.Time
}

// DefaultDrain is how long a release that was live keeps running after
// the switch, for requests sent to it before.
const DefaultDrain = 500 * time.Millisecond

// SwitchPoll is how often the health check of a starting release is
// probed: the switch follows readiness within this. A check that probes
// more slowly keeps its failure window (interval x retries).
const SwitchPoll = 200 * time.Millisecond

// MaxKeep bounds the releases kept of an app (each holds a port).
const MaxKeep = 20

// FirstAppPort is where the ports given to apps start: above the ports
// runtimes declare by default (80, 3000, 5000, 8080).
const FirstAppPort = 8100

// Link splits the files of a new release into those that are the same
// bytes as a file of prev (by digest: linked from there, any path) and
// those the bundle must carry.
func Link(prev *state.Release, files []state.ReleaseFile) (linked map[string]string, fresh []state.ReleaseFile) {
	have := map[string]string{}
	if prev != nil {
		for _, f := range prev.Files {
			if f.Link == "" && f.SHA256 != "" {
				if _, ok := have[f.SHA256+strconv.Itoa(int(f.Mode))]; !ok {
					have[f.SHA256+strconv.Itoa(int(f.Mode))] = f.Path
				}
			}
		}
	}
	linked = map[string]string{}
	for _, f := range files {
		// Same digest and mode: one inode serves both releases.
		if p, ok := have[f.SHA256+strconv.Itoa(int(f.Mode))]; ok && f.Link == "" {
			linked[f.Path] = p
			continue
		}
		fresh = append(fresh, f)
	}
	return linked, fresh
}

// Newest is the app's newest kept release, the base a redeploy links
// from; nil for an app not deployed yet.
func Newest(cur *state.State, app string) *state.Release {
	if a, ok := cur.App(app); ok && len(a.Releases) > 0 {
		return &a.Releases[len(a.Releases)-1]
	}
	return nil
}

// PlanDeploy returns the plan that deploys d onto the machine in cur.
// base, if not nil, is a plan (made against cur) that adds the runtime
// first; its steps run before the release's and its runtimes are the ones
// recorded.
func PlanDeploy(cur *state.State, base *plan.Plan, target plan.Target, d Deploy) (*plan.Plan, error) {
	if cur == nil {
		cur = state.New(target.Name)
	}
	runtimes := cur.Runtimes
	out := &plan.Plan{FormatVersion: plan.FormatVersion, Target: target,
		State: plan.StateRef{Lineage: cur.Lineage, Serial: cur.Serial}, Artifacts: []plan.Artifact{}, Steps: []plan.Step{}}
	if base != nil {
		out.Artifacts = append(out.Artifacts, base.Artifacts...)
		out.Summary = base.Summary
		for _, s := range base.Steps {
			switch in := s.Inputs.(type) {
			case *plan.VerifyBundle:
				continue // one verify-bundle for all, below
			case *plan.RecordState:
				runtimes = in.Runtimes
				continue
			}
			out.Steps = append(out.Steps, s)
		}
	}
	rt := findRuntime(runtimes, d.Runtime)
	if rt == nil {
		return nil, fmt.Errorf("runtime %s is not installed and the plan does not add it", d.Runtime)
	}
	if len(d.Processes) == 0 || d.Processes[0].Name != "web" {
		return nil, fmt.Errorf("app %s: a release has a web process first", d.App)
	}
	apps := slices.Clone(cur.Apps)
	i := slices.IndexFunc(apps, func(a state.App) bool { return a.Name == d.App })
	keep := d.Keep
	if keep == 0 {
		keep = state.DefaultKeep
	}
	if keep < 1 || keep > MaxKeep {
		return nil, fmt.Errorf("app %s: keep %d releases? Keep 1 to %d (the live one included)", d.App, keep, MaxKeep)
	}
	if why := state.CheckAppName(d.App); why != "" {
		return nil, fmt.Errorf("app name: %s", why)
	}
	var a state.App
	if i >= 0 {
		a = cloneApp(apps[i])
		if a.Runtime != d.Runtime {
			return nil, fmt.Errorf("app %s runs on %s: deploying it on %s would be another app (give it another --app name)", d.App, a.Runtime, d.Runtime)
		}
	} else {
		a = state.App{Name: d.App, Runtime: d.Runtime, User: state.AppUser(d.App)}
		apps = append(apps, a)
		i = len(apps) - 1
	}
	a.Keep = keep
	a.MemoryMiB = d.MemoryMiB
	a.Ports = appPorts(runtimes, cur.Apps, a, keep+1)
	n := 1
	if len(a.Releases) > 0 {
		n = a.Releases[len(a.Releases)-1].Number + 1
	}
	// The release's check is a template: its name, service and port are
	// set for each start (see startRelease).
	hc := d.Health
	hc.Name, hc.Service, hc.Port = "web", "", 0
	rel := state.Release{Number: n, RuntimeVersion: d.RuntimeVersion, Files: d.Files, Processes: d.Processes,
		Health: hc, Env: d.Env, Secrets: d.Secrets, EnvSHA256: d.EnvSHA256}
	if !d.Created.IsZero() {
		rel.Created = d.Created.UTC().Format(time.RFC3339)
	}
	if rel.Port = freePort(a); rel.Port == 0 {
		return nil, fmt.Errorf("app %s: no free port left for release %d", d.App, n)
	}
	rel.Digest = releaseDigest(rel)
	// Service names are global on the machine: none of the release's may
	// be a runtime's or another app's.
	taken := map[string]string{}
	for _, rt := range runtimes {
		for _, s := range rt.Services {
			taken[s.Name] = "runtime " + rt.Name
		}
	}
	for _, o := range cur.Apps {
		if o.Name != d.App {
			for _, s := range o.Services {
				taken[s.Name] = "app " + o.Name
			}
		}
	}
	for _, s := range releaseServices(a, rel) {
		if by, ok := taken[s.Name]; ok {
			return nil, fmt.Errorf("app %s: service %s of release %d is %s's already: give the app another name (--app)", d.App, s.Name, n, by)
		}
	}
	b := &stepBuilder{plan: out}
	for _, q := range d.Packages {
		out.Artifacts = append(out.Artifacts, plan.Artifact{Kind: plan.ArtifactDeb, Name: q.Name, Version: q.Version, Arch: q.Arch,
			Filename: q.Filename, SHA256: q.SHA256, Size: q.Size})
	}
	for _, x := range []struct {
		kind, sum string
		size      int64
	}{{plan.ArtifactRelease, d.Tar, d.TarSize}, {plan.ArtifactEnv, d.EnvSHA256, d.EnvSize}} {
		if x.sum != "" {
			out.Artifacts = append(out.Artifacts, plan.Artifact{Kind: x.kind, Name: d.App, Version: strconv.Itoa(n), SHA256: x.sum, Size: x.size})
		}
	}
	if len(out.Artifacts) > 0 {
		sums := make([]string, len(out.Artifacts))
		for j, art := range out.Artifacts {
			sums[j] = art.SHA256
		}
		out.Steps = append([]plan.Step{{ID: "verify-bundle", Inputs: &plan.VerifyBundle{Artifacts: sums}}}, out.Steps...)
	}
	if len(d.Packages) > 0 {
		refs := make([]plan.PackageRef, len(d.Packages))
		for j, q := range d.Packages {
			refs[j] = plan.PackageRef{Name: q.Name, Version: q.Version, Arch: q.Arch, SHA256: q.SHA256}
			a.Packages = appendPackage(a.Packages, state.Package{Name: q.Name, Version: q.Version, Arch: q.Arch, SHA256: q.SHA256, InstalledSize: q.InstalledSize})
		}
		b.add(plan.Step{ID: "install-packages:" + d.App, Needs: b.ofKinds(plan.KindVerifyBundle, plan.KindInstallPackages, plan.KindWaitHealth),
			Inputs: &plan.InstallPackages{Packages: refs}})
	}
	install := "install-release:" + d.App + "/" + strconv.Itoa(n)
	b.add(plan.Step{ID: install, Needs: b.ofKinds(plan.KindVerifyBundle, plan.KindInstallPackages, plan.KindStartService, plan.KindWaitHealth),
		Inputs: &plan.InstallRelease{App: d.App, User: a.User, Release: rel, Tar: d.Tar, Base: d.Base, Linked: d.Linked}})
	a.Releases = append(a.Releases, rel)
	if err := startRelease(b, &a, rel, install, d.BudgetMiB, budgetUsed(runtimes, cur.Apps, a.Name)); err != nil {
		return nil, err
	}
	collectReleases(b, &a)
	apps[i] = a
	b.add(plan.Step{ID: "record-state", Needs: allIDs(out), Inputs: &plan.RecordState{Runtimes: runtimes, Apps: apps}})
	return out, nil
}

// PlanRollback returns the plan that makes kept release n of the app live
// again, started beside the live one and switched to once healthy. It
// needs no bundle: the release's files and env file are on the machine.
func PlanRollback(cur *state.State, target plan.Target, app string, n, budgetMiB int) (*plan.Plan, error) {
	i := slices.IndexFunc(cur.Apps, func(a state.App) bool { return a.Name == app })
	if i < 0 {
		return nil, fmt.Errorf("no app %s is deployed (runtimectl status lists the apps)", app)
	}
	a := cloneApp(cur.Apps[i])
	rel, ok := a.Release(n)
	if !ok {
		var kept []string
		for _, r := range a.Releases {
			kept = append(kept, strconv.Itoa(r.Number))
		}
		return nil, fmt.Errorf("app %s has no release %d on this machine; the kept releases are %v", app, n, kept)
	}
	if n == a.Live {
		return nil, fmt.Errorf("release %d of %s is live already", n, app)
	}
	out := &plan.Plan{FormatVersion: plan.FormatVersion, Target: target,
		State: plan.StateRef{Lineage: cur.Lineage, Serial: cur.Serial}, Artifacts: []plan.Artifact{}, Steps: []plan.Step{}}
	b := &stepBuilder{plan: out}
	if err := startRelease(b, &a, *rel, "", budgetMiB, budgetUsed(cur.Runtimes, cur.Apps, a.Name)); err != nil {
		return nil, err
	}
	apps := slices.Clone(cur.Apps)
	apps[i] = a
	b.add(plan.Step{ID: "record-state", Needs: allIDs(out), Inputs: &plan.RecordState{Runtimes: cur.Runtimes, Apps: apps}})
	return out, nil
}

// startRelease adds the steps that start release rel of a beside its live
// release, switch to it once healthy, and stop the one that was live;
// when budgetMiB cannot hold both, the old one stops first (a short
// outage, which the plan's notes say). a becomes the app after them.
func startRelease(b *stepBuilder, a *state.App, rel state.Release, after string, budgetMiB, usedMiB int) error {
	old := a.Services
	oldLive := a.Live
	svcs := releaseServices(*a, rel)
	hc := rel.Health
	hc.Name = a.Name + "-web-r" + strconv.Itoa(rel.Number)
	hc.Service = svcs[0].Name
	hc.Port = rel.Port
	if iv := hc.Interval.Std(); iv > SwitchPoll {
		hc.Retries = int((time.Duration(max(hc.Retries, 1))*iv + SwitchPoll - 1) / SwitchPoll)
		hc.Interval = u.Duration(SwitchPoll)
	}
	tight := oldLive != 0 && budgetMiB > 0 && usedMiB+2*a.MemoryMiB > budgetMiB
	var stops []string
	stop := func(needs []string) {
		for _, s := range old {
			id := "stop-service:" + s.Name
			b.add(plan.Step{ID: id, Needs: needs, Inputs: &plan.StopService{ServiceName: s.Name}})
			stops = append(stops, id)
		}
	}
	var installs []string
	for _, s := range svcs {
		needs := []string{}
		if after != "" {
			needs = append(needs, after)
		}
		id := "install-service:" + s.Name
		b.add(plan.Step{ID: id, Needs: needs, Inputs: &plan.InstallService{Service: s}})
		installs = append(installs, id)
	}
	if tight {
		stop(installs)
		b.plan.Summary.Notes = append(b.plan.Summary.Notes, fmt.Sprintf("app %s: the memory budget (%d MiB) cannot run releases %d and %d side by side (%d MiB each, %d MiB used by the rest): release %d stops before release %d starts, so the app is down meanwhile",
			a.Name, budgetMiB, oldLive, rel.Number, a.MemoryMiB, usedMiB, oldLive, rel.Number))
	}
	var started []string
	for _, s := range svcs {
		id := "start-service:" + s.Name
		b.add(plan.Step{ID: id, Needs: append([]string{"install-service:" + s.Name}, stops...), Inputs: &plan.StartService{ServiceName: s.Name}})
		started = append(started, id)
	}
	wait := "wait-health:" + a.Name + "/" + hc.Name
	b.add(plan.Step{ID: wait, Needs: started, Inputs: &plan.WaitHealth{Health: hc}})
	sw := "switch-release:" + a.Name + "/" + strconv.Itoa(rel.Number)
	b.add(plan.Step{ID: sw, Needs: []string{wait}, Inputs: &plan.SwitchRelease{App: a.Name, Number: rel.Number, Port: rel.Port, Drain: u.Duration(DefaultDrain)}})
	if !tight {
		stop([]string{sw})
	}
	for _, s := range old {
		b.add(plan.Step{ID: "remove-service:" + s.Name, Needs: []string{"stop-service:" + s.Name, sw}, Inputs: &plan.RemoveService{Service: s}})
	}
	a.Live, a.Port, a.Services, a.Health = rel.Number, rel.Port, svcs, []state.HealthCheck{hc}
	return nil
}

// collectReleases removes the oldest releases beyond Keep (never the live
// one) once the switch is done.
func collectReleases(b *stepBuilder, a *state.App) {
	for len(a.Releases) > a.Keep {
		j := slices.IndexFunc(a.Releases, func(r state.Release) bool { return r.Number != a.Live })
		r := a.Releases[j]
		b.add(plan.Step{ID: "remove-release:" + a.Name + "/" + strconv.Itoa(r.Number), Needs: b.ofKinds(plan.KindSwitchRelease, plan.KindRemoveService),
			Inputs: &plan.RemoveRelease{App: a.Name, Number: r.Number}})
		a.Releases = slices.Delete(a.Releases, j, j+1)
	}
}

// releaseServices are the runit services of rel's processes: run as the
// app's user in the release's directory, with the release's env file and
// $PORT.
func releaseServices(a state.App, rel state.Release) []state.Service {
	var out []state.Service
	for _, p := range rel.Processes {
		env := maps.Clone(p.Env)
		if env == nil {
			env = map[string]string{}
		}
		env["PORT"] = strconv.Itoa(rel.Port)
		s := state.Service{Name: state.ProcessService(a.Name, p.Name, rel.Number), Argv: p.Argv, User: a.User,
			Workdir: state.ReleaseDir(a.Name, rel.Number), Env: env, Restart: u.RestartAlways,
			StopSignal: "TERM", StopTimeout: u.Duration(10 * time.Second)}
		if rel.EnvSHA256 != "" {
			s.EnvFile = state.EnvPath(a.Name, rel.Number)
		}
		out = append(out, s)
	}
	return out
}

// appPorts keeps the app's ports and adds free ones until it has want:
// ports no runtime declares and no other app has.
func appPorts(runtimes []state.Runtime, apps []state.App, a state.App, want int) []int {
	used := map[int]bool{}
	for _, rt := range runtimes {
		for _, p := range rt.Ports {
			used[p.Number] = true
		}
	}
	for _, o := range apps {
		if o.Name != a.Name {
			for _, p := range o.Ports {
				used[p] = true
			}
		}
	}
	ports := slices.Clone(a.Ports)
	for p := FirstAppPort; len(ports) < want && p < 65536; p++ {
		if !used[p] && !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports
}

// freePort is the first of the app's ports no kept release has.
func freePort(a state.App) int {
	for _, p := range a.Ports {
		if !slices.ContainsFunc(a.Releases, func(r state.Release) bool { return r.Port == p }) {
			return p
		}
	}
	return 0
}

// budgetUsed is the memory the runtimes and the other apps take.
func budgetUsed(runtimes []state.Runtime, apps []state.App, except string) int {
	n := 0
	for _, rt := range runtimes {
		n += rt.MemoryMiB
	}
	for _, a := range apps {
		if a.Name != except {
			n += a.MemoryMiB
		}
	}
	return n
}

// releaseDigest is the SHA-256 of the release's canonical JSON without
// its number, digest and time: the same app deployed twice has one
// digest.
func releaseDigest(r state.Release) string {
	r.Number, r.Digest, r.Created, r.Port = 0, "", "", 0
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// appendPackage adds q to pkgs, replacing another version of it.
func appendPackage(pkgs []state.Package, q state.Package) []state.Package {
	for i, o := range pkgs {
		if o.Name == q.Name && o.Arch == q.Arch {
			pkgs[i] = q
			return pkgs
		}
	}
	return append(pkgs, q)
}

func findRuntime(rts []state.Runtime, name string) *state.Runtime {
	for i := range rts {
		if rts[i].Name == name {
			return &rts[i]
		}
	}
	return nil
}

func cloneApp(a state.App) state.App {
	a.Ports = slices.Clone(a.Ports)
	a.Packages = slices.Clone(a.Packages)
	a.Releases = slices.Clone(a.Releases)
	a.Services = slices.Clone(a.Services)
	a.Health = slices.Clone(a.Health)
	return a
}

func allIDs(p *plan.Plan) []string {
	ids := []string{}
	for _, s := range p.Steps {
		ids = append(ids, s.ID)
	}
	return ids
}

// PlanRemoveApp returns the plan that removes a deployed app: its
// processes stopped and removed, every kept release and env file removed,
// its own packages purged, the state without it. supervisor names the
// supervisor's packages (the target lock's), kept while another app or a
// runtime still runs services. Its user stays (files it wrote elsewhere
// may still be its), as adduser's --system users do.
func PlanRemoveApp(cur *state.State, target plan.Target, app string, supervisor []string) (*plan.Plan, error) {
	i := slices.IndexFunc(cur.Apps, func(a state.App) bool { return a.Name == app })
	if i < 0 {
		return nil, fmt.Errorf("no app %s is deployed (runtimectl status lists the apps)", app)
	}
	a := cur.Apps[i]
	out := &plan.Plan{FormatVersion: plan.FormatVersion, Target: target,
		State: plan.StateRef{Lineage: cur.Lineage, Serial: cur.Serial}, Artifacts: []plan.Artifact{}, Steps: []plan.Step{}}
	b := &stepBuilder{plan: out}
	off := "switch-release:" + a.Name + "/0"
	b.add(plan.Step{ID: off, Inputs: &plan.SwitchRelease{App: a.Name, Number: 0, Port: 0}})
	for _, s := range a.Services {
		b.add(plan.Step{ID: "stop-service:" + s.Name, Needs: []string{off}, Inputs: &plan.StopService{ServiceName: s.Name}})
		b.add(plan.Step{ID: "remove-service:" + s.Name, Needs: []string{"stop-service:" + s.Name}, Inputs: &plan.RemoveService{Service: s}})
	}
	for _, r := range a.Releases {
		b.add(plan.Step{ID: "remove-release:" + a.Name + "/" + strconv.Itoa(r.Number), Needs: b.ofKinds(plan.KindRemoveService),
			Inputs: &plan.RemoveRelease{App: a.Name, Number: r.Number}})
	}
	apps := slices.Delete(slices.Clone(cur.Apps), i, i+1)
	others := map[string]bool{}
	for _, rt := range cur.Runtimes {
		for _, q := range rt.Packages {
			others[q.Name] = true
		}
	}
	for _, o := range apps {
		for _, q := range o.Packages {
			others[q.Name] = true
		}
	}
	if len(apps) > 0 || slices.ContainsFunc(cur.Runtimes, func(rt state.Runtime) bool { return len(rt.Services) > 0 }) {
		for _, n := range supervisor {
			others[n] = true
		}
	}
	var refs []plan.PackageRef
	for _, q := range slices.Backward(a.Packages) {
		if !others[q.Name] && !plan.CorePackage(q.Name) {
			refs = append(refs, plan.PackageRef{Name: q.Name, Version: q.Version, Arch: q.Arch})
		}
	}
	if len(refs) > 0 {
		b.add(plan.Step{ID: "remove-packages:" + a.Name, Needs: b.ofKinds(plan.KindRemoveService), Inputs: &plan.RemovePackages{Packages: refs, Purge: true}})
	}
	b.add(plan.Step{ID: "record-state", Needs: allIDs(out), Inputs: &plan.RecordState{Runtimes: cur.Runtimes, Apps: apps}})
	return out, nil
}
