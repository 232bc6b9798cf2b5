package executor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// loadState reads the state file through the root (a symbolic link in
// the way resolves inside it, never to the host's files), refusing
// anything but a regular file of at most bounded.MaxState bytes. A
// damaged state names the copy the apply before kept.
func loadState(f *fsroot, rel string) (*state.State, bool, error) {
	b, err := f.readRegular(rel, "a state file", bounded.MaxState)
	if errors.Is(err, fs.ErrNotExist) {
		return state.New(""), false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read state: %w", err)
	}
	st, err := state.Parse(b)
	if err != nil {
		hint := ""
		if ok, _ := f.exists(rel + ".prev"); ok {
			hint = fmt.Sprintf("\nthe state before the last apply is in %s: check it and copy it over %s to go back to it", f.host(rel+".prev"), f.host(rel))
		}
		return nil, true, fmt.Errorf("state %s is damaged: %w%s", f.host(rel), err, hint)
	}
	return st, true, nil
}

// saveState writes the state file through the root, its previous
// version kept as .prev (as state.Save does on a host path).
func (f *fsroot) saveState(rel string, st *state.State) error {
	b, err := st.Marshal()
	if err != nil {
		return err
	}
	if _, err := state.Parse(b); err != nil {
		return fmt.Errorf("refusing to write an invalid state: %w", err)
	}
	if fi, err := f.r.Lstat(rel); err == nil && fi.Mode().IsRegular() {
		// A second name for the file, renamed over .prev: .prev is the
		// previous state or the one before, never missing.
		tmp := tmpName(rel + ".prev")
		_ = f.r.Remove(tmp)
		if err := f.r.Link(rel, tmp); err != nil {
			return fmt.Errorf("keep the previous state: %w", err)
		}
		if err := f.r.Rename(tmp, rel+".prev"); err != nil {
			return fmt.Errorf("keep the previous state: %w", err)
		}
	} else if err == nil {
		return &durable.NotRegularError{Path: f.host(rel), Mode: fi.Mode().Type()}
	}
	return f.writeAtomic(rel, b, 0o644, -1, -1)
}

// preflight checks everything that can be checked before a change, and
// returns a *RefusedError listing every problem. On resume, the plan was
// checked when the apply began: only the machine's architecture and the
// bundle files still needed are checked again.
func (r *run) preflight(ctx context.Context, resume bool) error {
	var probs []Problem
	add := func(step, path, format string, args ...any) {
		probs = append(probs, Problem{Step: step, Path: path, Reason: fmt.Sprintf(format, args...)})
	}
	p := r.plan

	// The state the plan was made against.
	rel, err := r.fs.resolve(r.e.opts.StatePath)
	if err != nil {
		add("", r.e.opts.StatePath, "state file: %v", err)
	} else {
		r.stateRel = rel
		st, _, err := loadState(r.fs, rel)
		if err == nil {
			r.st = st
		}
		switch {
		case err != nil:
			add("", r.e.opts.StatePath, "%v", err)
		case resume:
		case st.Lineage != p.State.Lineage || st.Serial != p.State.Serial:
			add("", "", "stale plan: it was made against state %s, but the machine's state (%s) is %s; make a new plan",
				stateName(p.State.Lineage, p.State.Serial), r.e.opts.StatePath, stateName(st.Lineage, st.Serial))
		case st.Target != "" && st.Target != p.Target.Name:
			add("", "", "the plan is for target %s, the machine's state is for target %s", p.Target.Name, st.Target)
		}
	}

	// The machine's architecture.
	db, err := r.fs.readDpkgStatus()
	if err != nil {
		add("", "", "%v", err)
		db = dpkgDB{}
	}
	if arch, err := r.machineArch(ctx, db); err != nil {
		add("", "", "%v", err)
	} else if arch != p.Target.DebianArch {
		add("", "", "the plan is for %s (%s), but this machine's architecture is %s", p.Target.Name, p.Target.DebianArch, arch)
	}

	if !resume {
		if r.changesPackages() {
			if bad, err := r.fs.dpkgInterrupted(db); err != nil {
				add("", "", "%v", err)
			} else if bad {
				what := strings.Join(db.unsettled(), ", ")
				if what == "" {
					what = "its update journal is not empty"
				}
				add("", "", "dpkg has unfinished work (%s): run `dpkg --configure -a` (or `runtimectl recover` after an interrupted apply) first", what)
			}
		}
		led := newLedger(r.st)
		for i := range p.Steps {
			r.checkStep(&p.Steps[i], db, led, add)
		}
	}

	// Bundle files, by SHA-256: each once, named by the first step using it.
	for _, u := range r.artifactUses(resume) {
		if pr := r.checkArtifact(u.step, u.sum); pr != nil {
			probs = append(probs, *pr)
			if r.bundle == nil {
				break // no bundle at all: one problem is enough
			}
			continue
		}
		r.verified[u.sum] = true
	}
	if len(probs) == 0 {
		probs = append(probs, r.checkDebs(resume)...)
	}
	if len(probs) > 0 {
		return &RefusedError{Problems: probs}
	}
	return nil
}

// checkDebs reads each .deb an install uses, before dpkg sees any: its
// control file must name the package, version and architecture the plan
// gives (or a rollback would purge a name that was never installed), and
// its data must hold no device node and no hard link to a file outside
// the package.
func (r *run) checkDebs(resume bool) []Problem {
	type job struct {
		step string
		pk   plan.PackageRef
		path string
		ctrl *debControl
		prob *Problem
	}
	var jobs []*job
	var probs []Problem
	seen := map[string]bool{}
	for i, s := range r.plan.Steps {
		in, ok := s.Inputs.(*plan.InstallPackages)
		if !ok || (resume && r.j.Steps[i].Phase == phaseDone) {
			continue
		}
		for _, pk := range in.Packages {
			if _, ok := r.controls[pk.SHA256]; ok || seen[pk.SHA256] {
				continue
			}
			seen[pk.SHA256] = true
			path, err := r.artifactPath(pk.SHA256)
			if err != nil {
				probs = append(probs, Problem{Step: s.ID, Reason: err.Error()})
				continue
			}
			jobs = append(jobs, &job{step: s.ID, pk: pk, path: path})
		}
	}
	// Reading a .deb's data means decompressing all of it: the one part of
	// preflight that costs CPU, so it is spread over the processors there
	// are (one in a browser VM, more elsewhere). Each worker keeps its own
	// xz decoder, whose dictionary is the memory cost.
	workers := min(runtime.GOMAXPROCS(0), 4, len(jobs))
	next := make(chan *job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dr := &debReader{}
			for jb := range next {
				ctrl, err := dr.control(jb.path)
				switch {
				case err != nil:
				case ctrl.Package != jb.pk.Name || ctrl.Version != jb.pk.Version || ctrl.Architecture != jb.pk.Arch:
					err = fmt.Errorf("the .deb is %s %s (%s), the plan installs %s %s (%s) from it: the bundle does not match the plan",
						ctrl.Package, ctrl.Version, ctrl.Architecture, jb.pk.Name, jb.pk.Version, jb.pk.Arch)
				default:
					err = dr.checkData(jb.path)
				}
				if err != nil {
					jb.prob = &Problem{Step: jb.step, Path: jb.path, Reason: err.Error()}
					continue
				}
				jb.ctrl = ctrl
			}
		}()
	}
	for _, jb := range jobs {
		next <- jb
	}
	close(next)
	wg.Wait()
	for _, jb := range jobs {
		if jb.prob != nil {
			probs = append(probs, *jb.prob)
			continue
		}
		r.controls[jb.pk.SHA256] = jb.ctrl
	}
	return probs
}

func stateName(lineage string, serial int64) string {
	if lineage == "" && serial == 0 {
		return "of a fresh machine (no lineage, serial 0)"
	}
	return fmt.Sprintf("lineage %s serial %d", lineage, serial)
}

// machineArch returns the machine's dpkg architecture: from the status
// file (the dpkg package's own architecture), or else from `dpkg
// --print-architecture`.
func (r *run) machineArch(ctx context.Context, db dpkgDB) (string, error) {
	if arch, ok := db.nativeArch(); ok {
		return arch, nil
	}
	out, err := exec.CommandContext(ctx, r.e.opts.Dpkg, "--print-architecture").Output()
	if err != nil {
		return "", fmt.Errorf("find the machine's architecture: dpkg --print-architecture: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

type artifactUse struct{ step, sum string }

// artifactUses lists the bundle files the plan's steps (those not yet done,
// on resume) use.
func (r *run) artifactUses(resume bool) []artifactUse {
	var out []artifactUse
	seen := map[string]bool{}
	use := func(step, sum string) {
		if sum != "" && !seen[sum] {
			seen[sum] = true
			out = append(out, artifactUse{step, sum})
		}
	}
	for i, s := range r.plan.Steps {
		if resume && r.j.Steps[i].Phase == phaseDone {
			continue
		}
		for _, sum := range s.Inputs.Uses() {
			use(s.ID, sum)
		}
	}
	return out
}

// ledger is what the state records as runtimekit's: the only things a
// removal may take away. A plan that removes anything else (a file, a
// tree, a service or a package the state does not list) is refused,
// whatever its digests say: runtimekit changes only what it owns.
type ledger struct {
	files    map[string]state.File // by plan path
	archives map[string]bool
	services map[string]bool
	packages map[string]state.Package // by name:arch=version
}

func newLedger(st *state.State) ledger {
	l := ledger{files: map[string]state.File{}, archives: map[string]bool{}, services: map[string]bool{}, packages: map[string]state.Package{}}
	if st == nil {
		return l
	}
	for _, rt := range st.Runtimes {
		for _, f := range rt.Files {
			l.files[f.Path] = f
		}
		for _, a := range rt.Artifacts {
			l.archives[a.Dest] = true
		}
		for _, svc := range rt.Services {
			l.services[svc.Name] = true
		}
		for _, pk := range rt.Packages {
			l.packages[pk.Name+":"+pk.Arch+"="+pk.Version] = pk
		}
	}
	return l
}

// pkg returns the state's record of a package version.
func (l ledger) pkg(name, arch, version string) (state.Package, bool) {
	p, ok := l.packages[name+":"+arch+"="+version]
	return p, ok
}

// hasPackage reports whether any runtime lists the package (at any version).
func (l ledger) hasPackage(name, arch string) bool {
	for _, p := range l.packages {
		if p.Name == name && p.Arch == arch {
			return true
		}
	}
	return false
}

const notOwned = "the state does not record it as installed by runtimekit, and a plan may remove only what runtimekit installed"

// checkStep checks one step's paths and packages against the machine and
// the ledger, by its kind's handler.
func (r *run) checkStep(s *plan.Step, db dpkgDB, led ledger, add func(step, path, format string, args ...any)) {
	h, err := handlerFor(s)
	if err != nil {
		add(s.ID, "", "%v", err)
		return
	}
	h.check(r, s, &preflight{db: db, led: led, add: add})
}

// preflight is what a handler's check reads: dpkg's database, the
// ledger, and where to report problems.
type preflight struct {
	db  dpkgDB
	led ledger
	add func(step, path, format string, args ...any)
}

func (r *run) openBundleOnce() (*bundleIndex, error) {
	if r.bundle != nil {
		return r.bundle, nil
	}
	b, err := openBundle(r.e.opts.BundleDir)
	if err != nil {
		return nil, err
	}
	r.bundle = b
	return b, nil
}

// checkPath resolves a plan path inside the root and refuses escapes and
// reserved places.
func (r *run) checkPath(step, p string, add func(step, path, format string, args ...any)) (string, bool) {
	rel, err := r.fs.resolve(p)
	var ee *EscapeError
	switch {
	case errors.As(err, &ee):
		add(step, p, "%s", ee.Reason)
		return "", false
	case err != nil:
		add(step, p, "%v", err)
		return "", false
	}
	// The plan's own rules, again on the path as the machine resolves it
	// (a link may lead an innocent-looking path into a protected place).
	if why := plan.ProtectedPath(abs(rel)); why != "" {
		add(step, p, "resolves to %s", why)
		return "", false
	}
	if self, err := os.Executable(); err == nil && r.fs.host(rel) == self {
		add(step, p, "is this runtimectl, which plans may not write or remove")
		return "", false
	}
	return rel, true
}

func (r *run) emptyOrAbsent(rel string) (bool, error) {
	fi, err := r.fs.r.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, nil
	}
	entries, err := r.fs.readDir(rel)
	if err != nil {
		return false, err
	}
	return len(entries) == 0, nil
}

// plannedService reports whether an install-service step of the plan
// installs the service.
func (r *run) plannedService(name string) bool {
	for _, s := range r.plan.Steps {
		if in, ok := s.Inputs.(*plan.InstallService); ok && in.Service.Name == name {
			return true
		}
	}
	return false
}

// ownsArchiveDest reports whether an installed runtime extracted an
// archive to dest (an upgrade replaces its own tree).
func (r *run) ownsArchiveDest(dest string) bool {
	st, _, err := loadState(r.fs, r.stateRel)
	if err != nil {
		return false
	}
	for _, rt := range st.Runtimes {
		for _, a := range rt.Artifacts {
			if a.Dest == dest {
				return true
			}
		}
	}
	return false
}
