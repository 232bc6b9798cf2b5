package executor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// run is one Apply or Recover: the plan, its journal and what was found
// on the machine.
type run struct {
	e        *Executor
	fs       *fsroot
	plan     *plan.Plan
	digest   string
	j        *journal
	bundle   *bundleIndex
	verified map[string]bool // bundle files checked by this run
	dpkg     *dpkg
	front    *frontendLock
	jw       *journalWriter // appends to the open journal
	stateRel string
	st       *state.State           // the state preflight read
	controls map[string]*debControl // .deb control files checked by preflight, by SHA-256
	// repairErr is a failed `dpkg --configure -a` of a recovery.
	repairErr error
	res       *Result
	start     time.Time
	// backup is where the step being prepared keeps its backups.
	backup string
	// startedSupervisor: a start-service step the rollback undid had
	// started runsvdir (see verifyRollback).
	startedSupervisor bool
}

// Apply runs a plan (its JSON bytes, as `runtimectl plan` writes them).
//
// Before anything changes it checks the plan against
// schema/plan.schema.json, takes the lock, and refuses (with a
// *RefusedError naming each problem) a stale plan, a plan for another
// architecture, paths that escape, and bundle files that are missing or
// corrupt. Then it runs the steps, journaling each before and after;
// when a step fails, the completed steps are undone in reverse order and
// the error is a *StepError. Another apply holding the lock gives a
// *LockedError; an interrupted apply not yet recovered an
// *InterruptedError, unless Options.Resume is set and the plan is the
// same, in which case Apply finishes it.
func (e *Executor) Apply(ctx context.Context, planJSON []byte) (*Result, error) {
	start := time.Now()
	p, err := plan.Parse(planJSON)
	if err != nil {
		return nil, &RefusedError{Problems: parseProblems(err)}
	}
	digest := sha256Hex(planJSON)
	f, err := openFSRoot(e.opts.Root)
	if err != nil {
		return nil, err
	}
	defer f.close()
	unlock, err := e.lock(ctx, f, "apply plan "+short(digest))
	if err != nil {
		return nil, err
	}
	defer unlock()
	r := e.newRun(f, p, digest, start)
	defer r.close()
	j, err := f.loadJournal()
	if err != nil {
		return nil, err
	}
	if j != nil {
		if !e.opts.Resume || j.PlanDigest != digest {
			return nil, interrupted(j)
		}
		r.j = j
		if e.opts.BundleDir == "" {
			r.e.opts.BundleDir = j.BundleDir
		}
		return r.recover(ctx, true)
	}
	r.cleanStale()
	if err := r.preflight(ctx, false); err != nil {
		return nil, err
	}
	if r.changesPackages() {
		l, err := f.lockFrontend(ctx, e.opts.Wait)
		if err != nil {
			return nil, &RefusedError{Problems: []Problem{{Reason: err.Error()}}}
		}
		r.front = l
	}
	if err := r.begin(planJSON); err != nil {
		var ns *NoSpaceError
		if errors.As(err, &ns) {
			return nil, &RefusedError{Problems: []Problem{{Reason: err.Error()}}}
		}
		return nil, err
	}
	return r.forward(ctx)
}

// Recover finishes what an interrupted apply left: it puts back a
// policy-rc.d left in place, runs `dpkg --configure -a` when dpkg was
// interrupted, and then rolls the completed steps back (the default) or,
// with resume, runs the remaining steps. Afterwards the machine is fully
// as before the apply or fully as after, the state file is valid, and the
// journal is gone. With no journal there is nothing to do
// (OutcomeNothing).
func (e *Executor) Recover(ctx context.Context, resume bool) (*Result, error) {
	start := time.Now()
	f, err := openFSRoot(e.opts.Root)
	if err != nil {
		return nil, err
	}
	defer f.close()
	unlock, err := e.lock(ctx, f, "recover")
	if err != nil {
		return nil, err
	}
	defer unlock()
	j, err := f.loadJournal()
	if err != nil {
		return nil, err
	}
	if j == nil {
		r := e.newRun(f, nil, "", start)
		r.cleanStale()
		r.superviseAfterRecover(ctx)
		r.res.Outcome = OutcomeNothing
		r.res.Duration = time.Since(start)
		return r.res, nil
	}
	b, err := f.r.ReadFile(backupDir(j.PlanDigest) + "/plan.json")
	if err != nil {
		return nil, fmt.Errorf("recover: the journal's plan: %w", err)
	}
	if sha256Hex(b) != j.PlanDigest {
		return nil, fmt.Errorf("recover: the saved plan %s does not have the journal's digest %s", f.host(backupDir(j.PlanDigest)+"/plan.json"), j.PlanDigest)
	}
	p, err := plan.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("recover: the journal's plan: %w", err)
	}
	if len(p.Steps) != len(j.Steps) {
		return nil, fmt.Errorf("recover: the journal has %d steps, its plan %d", len(j.Steps), len(p.Steps))
	}
	r := e.newRun(f, p, j.PlanDigest, start)
	defer r.close()
	r.j = j
	if e.opts.BundleDir == "" {
		r.e.opts.BundleDir = j.BundleDir
	}
	res, err := r.recover(ctx, resume)
	if err == nil {
		r.superviseAfterRecover(ctx)
	}
	return res, err
}

// superviseAfterRecover starts runsvdir when the state has services and
// none runs: the VM has no init, and Recover is what its start-up runs
// (`runtimectl recover`), so that services come back after the VM (the
// browser tab) was closed and opened again.
func (r *run) superviseAfterRecover(ctx context.Context) {
	st, _, err := loadState(r.fs, r.stateRel)
	if err != nil {
		return
	}
	if len(st.Services()) == 0 {
		return
	}
	if pid, err := r.e.opts.Services.EnsureSupervisor(ctx); err != nil {
		r.res.Warnings = append(r.res.Warnings, "start runsvdir: "+err.Error())
	} else {
		r.e.log.Debug("services are supervised", "runsvdir", pid)
	}
}

// superviseStarted starts runsvdir, before a resume runs the remaining
// steps, when a start-service step is done already: the VM may have
// stopped since, and with it runsvdir and the services, which a remaining
// wait-health step then waits for in vain. runsvdir brings the enabled
// services back up. A failure is only a warning: the health wait fails
// and the apply is rolled back.
func (r *run) superviseStarted(ctx context.Context) {
	for i := range r.plan.Steps {
		if r.j.Steps[i].Phase == phaseDone && effectsOf(&r.plan.Steps[i]).startsServices {
			if _, err := r.e.opts.Services.EnsureSupervisor(ctx); err != nil {
				r.res.Warnings = append(r.res.Warnings, "start runsvdir: "+err.Error())
			}
			return
		}
	}
}

func (e *Executor) newRun(f *fsroot, p *plan.Plan, digest string, start time.Time) *run {
	// A copy of the executor: a run may fill in options (the bundle of
	// the journal) without touching the caller's.
	ec := *e
	r := &run{e: &ec, fs: f, plan: p, digest: digest, start: start, verified: map[string]bool{}, controls: map[string]*debControl{},
		res: &Result{PlanDigest: digest, Steps: []StepResult{}}}
	r.dpkg = &dpkg{prog: e.opts.Dpkg, fs: f, log: e.log}
	if rel, err := f.resolve(e.opts.StatePath); err == nil {
		r.stateRel = rel
	}
	return r
}

func interrupted(j *journal) *InterruptedError {
	ie := &InterruptedError{PlanDigest: j.PlanDigest, PID: j.PID, Started: j.Started, Mode: j.Mode}
	for _, s := range j.Steps {
		switch s.Phase {
		case phaseDoing, phaseUndoing:
			ie.Step = s.ID
		}
	}
	if ie.Step == "" {
		ie.Step = "(between steps)"
	}
	return ie
}

func (r *run) progress(format string, args ...any) {
	if w := r.e.opts.Progress; w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// saveStep journals step i's record as it is now.
func (r *run) saveStep(i int) error {
	rec := r.j.Steps[i]
	return r.appendChange(journalChange{Step: i + 1, Rec: &rec})
}

// saveHead journals the mode, policy-rc.d and error fields.
func (r *run) saveHead() error {
	return r.appendChange(journalChange{Head: &journalHead{Mode: r.j.Mode, PolicyRC: r.j.PolicyRC, Error: r.j.Error}})
}

func (r *run) appendChange(c journalChange) error {
	if r.jw == nil {
		w, err := r.fs.appendJournal()
		if err != nil {
			return err
		}
		r.jw = w
	}
	return r.jw.add(c)
}

// begin keeps a copy of the plan (Recover has no other) and writes the
// first journal.
func (r *run) begin(planJSON []byte) error {
	if err := r.fs.reserve(); err != nil {
		return err
	}
	dir := backupDir(r.digest)
	if _, err := r.fs.mkdirs(dir); err != nil {
		r.gc(r.fs.release())
		return fmt.Errorf("backup directory: %w", err)
	}
	if err := r.fs.writeAtomic(dir+"/plan.json", planJSON, 0o600, -1, -1); err != nil {
		r.gc(r.fs.release())
		return err
	}
	r.j = &journal{FormatVersion: journalFormat, Operation: "apply", PlanDigest: r.digest, BundleDir: r.e.opts.BundleDir,
		PID: os.Getpid(), Started: time.Now().UTC().Truncate(time.Millisecond), Mode: modeApply}
	for _, s := range r.plan.Steps {
		r.j.Steps = append(r.j.Steps, stepRecord{ID: s.ID, Kind: s.Kind(), Phase: phasePending})
	}
	if r.changesPackages() {
		db, err := r.fs.readDpkgStatus()
		if err != nil {
			return err
		}
		r.j.Packages = db.list()
	}
	w, err := r.fs.createJournal(r.j)
	if err != nil {
		return err
	}
	r.jw = w
	return nil
}

func (r *run) changesPackages() bool {
	for i := range r.plan.Steps {
		if effectsOf(&r.plan.Steps[i]).runsDpkg {
			return true
		}
	}
	return false
}

// forward runs every step not yet done, in order.
func (r *run) forward(ctx context.Context) (*Result, error) {
	n := len(r.plan.Steps)
	for i := range r.plan.Steps {
		rec := &r.j.Steps[i]
		if rec.Phase == phaseDone {
			continue
		}
		s := &r.plan.Steps[i]
		r.progress("[%d/%d] %s%s", i+1, n, s.ID, describe(s))
		t0 := time.Now()
		if rec.Phase == phasePending {
			if err := r.prepare(ctx, i); err != nil {
				return r.fail(ctx, i, err, t0)
			}
			rec.Phase = phaseDoing
			if err := r.saveStep(i); err != nil {
				return r.fail(ctx, i, err, t0)
			}
		}
		err := r.fault(s.ID, "before")
		if err == nil {
			err = r.do(ctx, i)
		}
		if err == nil || !errors.Is(err, errCrash) {
			if ferr := r.fault(s.ID, "after"); ferr != nil && (err == nil || errors.Is(ferr, errCrash)) {
				err = ferr
			}
		}
		if err == nil {
			rec.Phase = phaseDone
			err = r.saveStep(i)
		}
		if err == nil {
			r.res.Steps = append(r.res.Steps, StepResult{Index: i + 1, ID: s.ID, Kind: s.Kind(), Status: StepDone, Took: time.Since(t0)})
			err = r.fault(s.ID, "done")
		}
		if errors.Is(err, errCrash) {
			return nil, err
		}
		if err != nil {
			return r.fail(ctx, i, err, t0)
		}
	}
	if err := r.finish(modeApply); err != nil {
		return nil, err
	}
	r.res.Outcome = OutcomeApplied
	r.res.Duration = time.Since(r.start)
	r.progress("applied plan %s: %d steps in %s", short(r.digest), n, r.res.Duration.Round(time.Millisecond))
	return r.res, nil
}

// fail rolls back after step i failed with err.
func (r *run) fail(ctx context.Context, i int, err error, t0 time.Time) (*Result, error) {
	s := &r.plan.Steps[i]
	r.res.Steps = append(r.res.Steps, StepResult{Index: i + 1, ID: s.ID, Kind: s.Kind(), Status: StepFailed, Took: time.Since(t0), Error: err.Error()})
	r.progress("[%d/%d] %s failed: %v", i+1, len(r.plan.Steps), s.ID, firstLine(err.Error()))
	r.j.Error = fmt.Sprintf("step %s: %v", s.ID, err)
	// A rollback must run to the end even when the failure was an
	// interrupt (ctx cancelled): a half-undone machine is the worst case.
	rerr := r.rollback(context.WithoutCancel(ctx))
	if errors.Is(rerr, errCrash) {
		return nil, rerr
	}
	r.res.Duration = time.Since(r.start)
	if rerr != nil {
		r.res.Outcome = OutcomeFailed
	} else {
		r.res.Outcome = OutcomeRolledBack
	}
	return r.res, &StepError{Index: i + 1, Step: s.ID, Err: err, RollbackErr: rerr}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// rollback undoes, in reverse order, every step that started.
func (r *run) rollback(ctx context.Context) error {
	r.j.Mode = modeRollback
	// The failure may be a full disk: what the rollback writes needs the
	// space reserved for it.
	if err := r.fs.release(); err != nil {
		r.e.log.Warn("rollback", "err", err)
	}
	if err := r.saveHead(); err != nil {
		return err
	}
	n := len(r.plan.Steps)
	var count int
	for i := range r.j.Steps {
		switch r.j.Steps[i].Phase {
		case phaseDoing, phaseDone, phaseUndoing:
			count++
		}
	}
	if count > 0 {
		r.progress("rolling back %d step(s)", count)
	}
	var errs []error
	for i := n - 1; i >= 0; i-- {
		rec := &r.j.Steps[i]
		switch rec.Phase {
		case phaseDoing, phaseDone, phaseUndoing:
		default:
			continue
		}
		s := &r.plan.Steps[i]
		r.progress("undo [%d/%d] %s", i+1, n, s.ID)
		rec.Phase = phaseUndoing
		if err := r.saveStep(i); err != nil {
			return err
		}
		t0 := time.Now()
		err := r.fault(s.ID, "undo")
		if err == nil {
			err = r.undo(ctx, i)
		}
		if errors.Is(err, errCrash) {
			return err
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", s.ID, err))
			r.res.Steps = append(r.res.Steps, StepResult{Index: i + 1, ID: s.ID, Kind: s.Kind(), Status: StepUndoFailed, Took: time.Since(t0), Error: err.Error()})
			r.progress("undo [%d/%d] %s failed: %v", i+1, n, s.ID, firstLine(err.Error()))
			continue
		}
		rec.Phase = phaseUndone
		if err := r.saveStep(i); err != nil {
			return err
		}
		r.res.Steps = append(r.res.Steps, StepResult{Index: i + 1, ID: s.ID, Kind: s.Kind(), Status: StepUndone, Took: time.Since(t0)})
		if err := r.fault(s.ID, "undone"); err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	diffs := r.verifyRolledBack(ctx)
	if err := r.finish(modeRollback); err != nil {
		return err
	}
	if len(diffs) > 0 {
		return &MismatchError{Differences: diffs}
	}
	return nil
}

func diffLists(before, after []string) string {
	b, a := map[string]bool{}, map[string]bool{}
	for _, x := range before {
		b[x] = true
	}
	for _, x := range after {
		a[x] = true
	}
	var out []string
	for _, x := range before {
		if !a[x] {
			out = append(out, "-"+x)
		}
	}
	for _, x := range after {
		if !b[x] {
			out = append(out, "+"+x)
		}
	}
	return strings.Join(out, " ")
}

// recover continues from a journal: see Executor.Recover.
func (r *run) recover(ctx context.Context, resume bool) (*Result, error) {
	r.res.Resumed = resume
	what := "rolling back"
	if resume && r.j.Mode == modeApply {
		what = "resuming"
	}
	r.progress("recovering the interrupted apply of plan %s (pid %d, started %s): %s",
		short(r.digest), r.j.PID, r.j.Started.UTC().Format(time.RFC3339), what)
	if err := r.restorePolicyRC(); err != nil {
		return nil, err
	}
	if err := r.repairDpkg(ctx); err != nil {
		return nil, err
	}
	allDone := r.j.Mode == modeApply
	for _, s := range r.j.Steps {
		if s.Phase != phaseDone {
			allDone = false
		}
	}
	if allDone {
		// The apply had finished; only closing the journal was left.
		if err := r.finish(modeApply); err != nil {
			return nil, err
		}
		r.res.Outcome = OutcomeApplied
		r.res.Duration = time.Since(r.start)
		return r.res, nil
	}
	if resume && r.j.Mode == modeApply {
		if err := r.preflight(ctx, true); err != nil {
			return nil, err
		}
		r.superviseStarted(ctx)
		return r.forward(ctx)
	}
	if resume {
		r.res.Warnings = append(r.res.Warnings, "the rollback had already started: it is finished instead of resuming the apply")
	}
	if err := r.rollback(context.WithoutCancel(ctx)); err != nil {
		if errors.Is(err, errCrash) {
			return nil, err
		}
		r.res.Outcome = OutcomeFailed
		r.res.Duration = time.Since(r.start)
		var me *MismatchError
		if errors.As(err, &me) {
			return r.res, fmt.Errorf("rolled back the interrupted apply: %w", err)
		}
		return r.res, fmt.Errorf("rollback incomplete: %w\nrun `runtimectl recover` to retry it", err)
	}
	r.res.Outcome = OutcomeRolledBack
	r.res.Duration = time.Since(r.start)
	return r.res, nil
}

// repairDpkg runs `dpkg --configure -a` when dpkg was interrupted (it
// refuses other work until then) and reports what `dpkg --audit` still
// finds; a rollback then purges what the apply brought in.
func (r *run) repairDpkg(ctx context.Context) error {
	if r.j.Packages == nil {
		return nil
	}
	db, err := r.fs.readDpkgStatus()
	if err != nil {
		return err
	}
	bad, err := r.fs.dpkgInterrupted(db)
	if err != nil || !bad {
		return err
	}
	r.progress("dpkg was interrupted: dpkg --configure -a")
	return r.withDpkg(ctx, func() error {
		if _, err := r.dpkg.run(ctx, "--configure", "-a", "--force-confdef", "--force-confold"); err != nil {
			// Not the end yet: a package cut off in its unpack fails to
			// configure, and the rollback unpacks and purges it. Whether
			// dpkg ends settled is checked after the rollback.
			r.e.log.Debug("dpkg --configure -a failed", "err", err)
			r.repairErr = err
		}
		if err := r.dpkg.audit(ctx); err != nil {
			// Expected when the unpack was cut off: the rollback unpacks
			// such packages again and purges them.
			r.e.log.Debug("dpkg --audit after --configure -a", "err", err)
		}
		return nil
	})
}

// finish closes the journal: it moves into the plan's backup directory
// (one rename: from then on the operation is over), and the backups and
// set-aside trees are deleted.
func (r *run) finish(mode string) error {
	dir := backupDir(r.digest)
	if _, err := r.fs.mkdirs(dir); err != nil {
		return err
	}
	if err := r.restorePolicyRC(); err != nil {
		return err
	}
	closed := dir + "/" + closedName(mode)
	r.jw.close()
	r.jw = nil
	if err := r.fs.r.Rename(journalPath, closed); err != nil {
		return fmt.Errorf("close journal: %w", err)
	}
	if err := durable.SyncDirIn(r.fs.r, dataDir); err != nil {
		return err
	}
	r.releaseDpkg()
	r.gc(r.fs.release())
	r.collect(dir)
	if st, _, err := loadState(r.fs, r.stateRel); err == nil {
		r.res.Serial = st.Serial
	}
	return nil
}

func closedName(mode string) string {
	if mode == modeRollback {
		return "rolled-back.json"
	}
	return "committed.json"
}

// collect deletes what a closed apply left: trees set aside (only after a
// commit), unpacking directories and temporary files, then its backup
// directory. Failures are only logged: nothing depends on this garbage.
func (r *run) collect(dir string) {
	for _, name := range []string{"committed.json", "rolled-back.json"} {
		j, err := r.fs.readJournal(dir + "/" + name)
		if err != nil || j == nil {
			continue
		}
		for _, s := range j.Steps {
			if h, ok := handlers[s.Kind]; ok && s.Undo != nil {
				h.collect(r, s.Undo, name == "committed.json")
			}
		}
	}
	r.gc(r.fs.removeAll(dir))
	if entries, err := r.fs.readDir(backupRoot); err == nil && len(entries) == 0 {
		r.gc(r.fs.remove(backupRoot))
	}
}

func (r *run) gc(err error) {
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.e.log.Warn("cleaning up after an apply", "err", err)
	}
}

// cleanStale deletes the backup directories of applies that are over
// (the process ended between closing the journal and cleaning up).
func (r *run) cleanStale() {
	entries, err := r.fs.readDir(backupRoot)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			r.collect(backupRoot + "/" + e.Name())
		}
	}
}

// close releases what the run holds open: the journal and dpkg's
// frontend lock.
func (r *run) close() {
	r.jw.close()
	r.releaseDpkg()
}

func (r *run) releaseDpkg() {
	if r.front != nil {
		r.front.release()
		r.front = nil
	}
}

// withDpkg runs fn with dpkg's frontend lock held (kept until the
// operation ends) and runtimekit's policy-rc.d in place (recorded in the
// journal first, and put back afterwards).
func (r *run) withDpkg(ctx context.Context, fn func() error) error {
	if r.front == nil {
		l, err := r.fs.lockFrontend(ctx, r.e.opts.Wait)
		if err != nil {
			return err
		}
		r.front = l
	}
	if r.j.PolicyRC == nil {
		saved, err := r.setAside(policyRCPath, backupDir(r.digest)+"/policy-rc.d")
		if err != nil {
			return fmt.Errorf("policy-rc.d: %w", err)
		}
		r.j.PolicyRC = saved
		if err := r.saveHead(); err != nil {
			return err
		}
	}
	if _, err := r.fs.mkdirs(parentRel(policyRCPath)); err != nil {
		return fmt.Errorf("policy-rc.d: %w", err)
	}
	if err := r.fs.writeAtomic(policyRCPath, []byte(policyRCScript), 0o755, -1, -1); err != nil {
		return fmt.Errorf("policy-rc.d: %w", err)
	}
	err := fn()
	if errors.Is(err, errCrash) {
		return err
	}
	return errors.Join(err, r.restorePolicyRC())
}

// restorePolicyRC puts back what was at /usr/sbin/policy-rc.d.
func (r *run) restorePolicyRC() error {
	if r.j == nil || r.j.PolicyRC == nil {
		return nil
	}
	if err := r.restoreSaved(r.j.PolicyRC, policyRCPath); err != nil {
		return fmt.Errorf("put back policy-rc.d: %w", err)
	}
	r.j.PolicyRC = nil
	return r.saveHead()
}

// setAside records what is at rel (nothing, a symbolic link, or a file
// kept under backup) before the executor replaces or removes it.
func (r *run) setAside(rel, backup string) (*savedFile, error) {
	fi, err := r.fs.r.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return &savedFile{}, nil
	}
	if err != nil {
		return nil, err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		t, err := r.fs.r.Readlink(rel)
		if err != nil {
			return nil, err
		}
		return &savedFile{Existed: true, Symlink: t}, nil
	case fi.Mode().IsRegular():
		if _, err := r.fs.mkdirs(parentRel(backup)); err != nil {
			return nil, err
		}
		if err := r.fs.keep(rel, backup); err != nil {
			return nil, fmt.Errorf("back up %s: %w", abs(rel), err)
		}
		return &savedFile{Existed: true, Backup: backup}, nil
	default:
		return nil, fmt.Errorf("%s is not a regular file", abs(rel))
	}
}

// restoreSaved makes rel what setAside recorded.
func (r *run) restoreSaved(s *savedFile, rel string) error {
	switch {
	case !s.Existed:
		return r.fs.remove(rel)
	case s.Symlink != "":
		if err := r.fs.remove(rel); err != nil {
			return err
		}
		if err := r.fs.r.Symlink(s.Symlink, rel); err != nil {
			return err
		}
		return durable.SyncDirIn(r.fs.r, parentRel(rel))
	default:
		return r.fs.putBack(s.Backup, rel)
	}
}

// parseProblems turns plan.Parse's refusal into problems: one per rule a
// step breaks (plan.Problems), or one for a plan that is not a plan.
func parseProblems(err error) []Problem {
	var ps plan.Problems
	if !errors.As(err, &ps) {
		return []Problem{{Reason: "invalid plan: " + err.Error()}}
	}
	out := make([]Problem, len(ps))
	for i, p := range ps {
		reason := p.Reason
		if p.Step == "" {
			reason = "invalid plan: " + reason
		}
		out[i] = Problem{Step: p.Step, Reason: reason}
	}
	return out
}
