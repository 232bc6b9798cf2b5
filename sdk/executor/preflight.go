package executor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"

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
		for _, pk := range rt.Packages {
			l.packages[pk.Name+":"+pk.Arch+"="+pk.Version] = pk
		}
	}
	for _, svc := range st.Services() {
		l.services[svc.Name] = true
	}
	for _, a := range st.Apps {
		for _, pk := range a.Packages {
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
