package executor

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ulikunitz/xz"

	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
)

func (e *env) statePackages() string {
	e.t.Helper()
	f, err := openFSRoot(e.root)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.close()
	db, err := f.readDpkgStatus()
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Join(db.list(), " ")
}

func (e *env) dpkgLog() []string {
	b, _ := os.ReadFile(filepath.Join(e.root, "fake-dpkg.log"))
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// checkClean checks that nothing of an operation is left: no journal, no
// backups, no temporary files or unpacking directories, no lock holder.
func (e *env) checkClean() {
	e.t.Helper()
	for _, rel := range []string{journalPath, lockInfoPath, "opt/.app.runtimekit-new", "opt/.app.runtimekit-old"} {
		if e.exists(rel) {
			e.t.Errorf("%s is left over", rel)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(e.root, backupRoot)); len(entries) > 0 {
		e.t.Errorf("backups are left over: %v", entries)
	}
	filepath.WalkDir(e.root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".runtimekit-tmp") {
			e.t.Errorf("temporary file %s is left over", p)
		}
		return nil
	})
	if got := e.read("usr/sbin/policy-rc.d"); !strings.Contains(got, "the admin's own") {
		e.t.Errorf("policy-rc.d was not put back: %q", got)
	}
}

func TestApply(t *testing.T) {
	e := newEnv(t)
	res, err := e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeApplied || res.Serial != 1 || len(res.Steps) != 9 {
		t.Errorf("result: outcome %s serial %d, %d steps", res.Outcome, res.Serial, len(res.Steps))
	}
	if got, want := e.statePackages(), "dpkg:i386=1.21.22 foo-common:i386=1.0-1 foo:i386=1.0-1 libc6:i386=2.36-9+deb12u10 libfoo1:i386=1.0-1"; got != want {
		t.Errorf("packages:\n got %s\nwant %s", got, want)
	}
	// foo-common pre-depends on libfoo1: libfoo1 is configured first.
	// Otherwise one dpkg run per action, never one per package.
	want := []string{"--unpack libfoo1", "--configure --pending", "--unpack foo-common foo", "--configure --pending", "--audit"}
	if diff := cmp.Diff(want, e.dpkgLog()); diff != "" {
		t.Errorf("dpkg runs (-want +got):\n%s", diff)
	}
	if got := e.read("etc/runtimekit/foo/foo.conf"); got != confContent {
		t.Errorf("foo.conf: %q", got)
	}
	fi, _ := os.Stat(filepath.Join(e.root, "etc/runtimekit/foo/foo.conf"))
	if gid := fi.Sys().(*syscall.Stat_t).Gid; fi.Mode().Perm() != 0o644 || int(gid) != e.wwwGID {
		t.Errorf("foo.conf: mode %v gid %d, want 0644 and www-data (%d)", fi.Mode(), gid, e.wwwGID)
	}
	if got := e.read("opt/app/bin/app"); !strings.Contains(got, "echo app") {
		t.Errorf("extracted app: %q", got)
	}
	if fi, err := os.Stat(filepath.Join(e.root, "opt/app/bin/app")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("extracted app mode: %v %v", fi, err)
	}
	if !e.exists("etc/fakesv/foo/up") {
		t.Errorf("service foo is not up")
	}
	st, ok, err := state.Load(filepath.Join(e.root, state.DefaultPath))
	if err != nil || !ok || st.Serial != 1 || len(st.Lineage) != 32 || st.Target != "test-i386" || len(st.Runtimes) != 1 {
		t.Fatalf("state: %+v %v %v", st, ok, err)
	}
	e.checkClean()

	// The next plan is made against serial 1; this one is now stale.
	_, err = e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0)))
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "stale plan") {
		t.Errorf("applying the plan again: want a stale-plan refusal, got %v", err)
	}

	// Removing it all again restores the first snapshot but for the state.
	res, err = e.executor(nil).Apply(t.Context(), e.planJSON(e.removePlan(st.Lineage, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.statePackages(), "dpkg:i386=1.21.22 libc6:i386=2.36-9+deb12u10"; got != want {
		t.Errorf("packages after removal: %s", got)
	}
	for _, rel := range []string{"etc/runtimekit/foo/foo.conf", "srv/www/index.html", "opt/app", "etc/fakesv/foo"} {
		if e.exists(rel) {
			t.Errorf("%s is still there after the removal", rel)
		}
	}
	if st, _, _ := state.Load(filepath.Join(e.root, state.DefaultPath)); st.Serial != 2 || len(st.Runtimes) != 0 {
		t.Errorf("state after removal: %+v", st)
	}
	e.checkClean()
}

func TestUserConfigKept(t *testing.T) {
	e := newEnv(t)
	e.write("srv/www/index.html", "my own page\n", 0o600)
	res, err := e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0)))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.read("srv/www/index.html"); got != "my own page\n" {
		t.Errorf("user-config file was overwritten: %q", got)
	}
	if len(res.Kept) != 1 || res.Kept[0].Path != "/srv/www/index.html" {
		t.Errorf("kept: %+v", res.Kept)
	}
}

func TestRemoveFileKeepsEditedFile(t *testing.T) {
	e := newEnv(t)
	res, err := e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0)))
	if err != nil {
		t.Fatal(err)
	}
	st, _, _ := state.Load(filepath.Join(e.root, state.DefaultPath))
	e.write("etc/runtimekit/foo/foo.conf", "listen 9090; # edited\n", 0o644)
	res, err = e.executor(nil).Apply(t.Context(), e.planJSON(e.removePlan(st.Lineage, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.read("etc/runtimekit/foo/foo.conf"); !strings.Contains(got, "edited") {
		t.Errorf("edited file: %q", got)
	}
	if e.exists("srv/www/index.html") {
		t.Errorf("unchanged file was not removed")
	}
	if len(res.Kept) != 1 || res.Kept[0].Path != "/etc/runtimekit/foo/foo.conf" || !strings.Contains(res.Kept[0].Reason, "changed") {
		t.Errorf("kept: %+v", res.Kept)
	}
}

// TestRollbackAtEveryStep fails each step of the install plan, before
// and after its work, and checks that the root is exactly as before.
func TestRollbackAtEveryStep(t *testing.T) {
	proto := newEnv(t)
	steps := proto.installPlan("", 0).Steps
	for i, s := range steps {
		for _, phase := range []string{"before", "after"} {
			t.Run(fmt.Sprintf("%d-%s-%s", i+1, s.ID, phase), func(t *testing.T) {
				e := newEnv(t)
				before := e.snapshot()
				injected := errors.New("injected failure")
				hook := func(step, ph string) error {
					if step == s.ID && ph == phase {
						return injected
					}
					return nil
				}
				res, err := e.executor(hook).Apply(t.Context(), e.planJSON(e.installPlan("", 0)))
				var se *StepError
				if !errors.As(err, &se) || !errors.Is(err, injected) || se.RollbackErr != nil || se.Index != i+1 {
					t.Fatalf("want a rolled-back failure of step %d, got %v", i+1, err)
				}
				if res.Outcome != OutcomeRolledBack {
					t.Errorf("outcome %s", res.Outcome)
				}
				if d := diffSnapshots(before, e.snapshot()); d != "" {
					t.Errorf("the root changed:\n%s", d)
				}
				e.checkClean()
			})
		}
	}
}

func TestHealthFailureRollsBack(t *testing.T) {
	e := newEnv(t)
	e.unhealthy["foo-http"] = true
	before := e.snapshot()
	res, err := e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0)))
	var se *StepError
	if !errors.As(err, &se) || se.Step != "wait-health:foo-http" || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("want the health check's failure, got %v", err)
	}
	if res.Outcome != OutcomeRolledBack {
		t.Errorf("outcome %s", res.Outcome)
	}
	if d := diffSnapshots(before, e.snapshot()); d != "" {
		t.Errorf("the root changed:\n%s", d)
	}
}

// crashAndRecover runs the plan until the hook crashes it, then recovers.
func crashAndRecover(t *testing.T, e *env, p *plan.Plan, hook func(step, phase string) error, resume bool) *Result {
	t.Helper()
	_, err := e.executor(hook).Apply(t.Context(), e.planJSON(p))
	if !errors.Is(err, errCrash) {
		t.Fatalf("want a simulated crash, got %v", err)
	}
	if !e.exists(journalPath) {
		t.Fatalf("no journal after the crash")
	}
	// A new apply refuses to run over an interrupted one.
	_, err = e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0)))
	var ie *InterruptedError
	if !errors.As(err, &ie) {
		t.Fatalf("apply over an interrupted apply: want *InterruptedError, got %v", err)
	}
	res, err := e.executor(nil).Recover(t.Context(), resume)
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	return res
}

// TestRecoverAtEveryStep crashes the install plan at every step boundary
// and checks that Recover brings the root back to exactly before (or,
// resuming, exactly what an uninterrupted apply gives).
func TestRecoverAtEveryStep(t *testing.T) {
	ref := newEnv(t)
	if _, err := ref.executor(nil).Apply(t.Context(), ref.planJSON(ref.installPlan("", 0))); err != nil {
		t.Fatal(err)
	}
	after := ref.snapshot()
	steps := ref.installPlan("", 0).Steps
	for i, s := range steps {
		for _, phase := range []string{"before", "after", "done"} {
			for _, resume := range []bool{false, true} {
				name := fmt.Sprintf("%d-%s-%s-rollback", i+1, s.ID, phase)
				if resume {
					name = strings.TrimSuffix(name, "rollback") + "resume"
				}
				t.Run(name, func(t *testing.T) {
					e := newEnv(t)
					before := e.snapshot()
					crashed := false
					hook := func(step, ph string) error {
						if !crashed && step == s.ID && ph == phase {
							crashed = true
							return errCrash
						}
						return nil
					}
					res := crashAndRecover(t, e, e.installPlan("", 0), hook, resume)
					want := before
					if resume || (i == len(steps)-1 && phase == "done") {
						want = after
					}
					if d := diffSnapshots(want, e.snapshot()); d != "" {
						t.Errorf("outcome %s; the root is not as it should be:\n%s", res.Outcome, d)
					}
					e.checkClean()
				})
			}
		}
	}
}

// TestRecoverAfterCrashInRollback crashes a rollback half way.
func TestRecoverAfterCrashInRollback(t *testing.T) {
	for _, undoStep := range []string{"record-state", "start-service:foo", "write-file:/etc/runtimekit/foo/foo.conf", "install-packages"} {
		t.Run(undoStep, func(t *testing.T) {
			e := newEnv(t)
			e.unhealthy["foo-http"] = true
			before := e.snapshot()
			hook := func(step, ph string) error {
				if step == undoStep && (ph == "undo" || ph == "purge") {
					return errCrash
				}
				return nil
			}
			p := e.installPlan("", 0)
			if undoStep == "record-state" {
				// Fail after record-state instead of at the health check.
				e.unhealthy = map[string]bool{}
				hook = func(step, ph string) error {
					switch {
					case step == "record-state" && ph == "after":
						return errors.New("injected")
					case step == "record-state" && ph == "undone":
						return errCrash
					}
					return nil
				}
			}
			res := crashAndRecover(t, e, p, hook, true)
			if res.Outcome != OutcomeRolledBack {
				t.Errorf("outcome %s: a rollback that began must end as a rollback", res.Outcome)
			}
			if d := diffSnapshots(before, e.snapshot()); d != "" {
				t.Errorf("the root changed:\n%s", d)
			}
			e.checkClean()
		})
	}
}

// TestRecoverInterruptedDpkg leaves dpkg interrupted in the middle of the
// unpack (a half-installed package and an update record), then crashes.
func TestRecoverInterruptedDpkg(t *testing.T) {
	for _, resume := range []bool{false, true} {
		t.Run(fmt.Sprint("resume=", resume), func(t *testing.T) {
			e := newEnv(t)
			before := e.snapshot()
			e.write("fake-dpkg.fail", "unpack:foo\n", 0o644)
			hook := func(step, ph string) error {
				if step == "install-packages" && ph == "after" {
					os.Remove(filepath.Join(e.root, "fake-dpkg.fail"))
					return errCrash
				}
				return nil
			}
			res := crashAndRecover(t, e, e.installPlan("", 0), hook, resume)
			log := strings.Join(e.dpkgLog(), "\n")
			if !strings.Contains(log, "--configure -a") {
				t.Errorf("recover did not run dpkg --configure -a:\n%s", log)
			}
			if !resume {
				// foo was half-installed: dpkg purges it only after an
				// unpack again.
				if !strings.Contains(log, "--configure -a\n--audit\n--unpack foo\n--purge foo:i386 foo-common:i386 libfoo1:i386") {
					t.Errorf("rollback dpkg runs:\n%s", log)
				}
				if d := diffSnapshots(before, e.snapshot()); d != "" {
					t.Errorf("the root changed:\n%s", d)
				}
			} else if res.Outcome != OutcomeApplied || !e.exists("etc/fakesv/foo/up") {
				t.Errorf("resume: outcome %s", res.Outcome)
			}
			f, _ := openFSRoot(e.root)
			db, _ := f.readDpkgStatus()
			f.close()
			if u := db.unsettled(); len(u) > 0 {
				t.Errorf("dpkg left unsettled: %v", u)
			}
			e.checkClean()
		})
	}
}

// TestRollbackOfRemoval fails a removal plan at its end: the packages
// come back from the bundle, the files from backups, the service as it
// was.
func TestRollbackOfRemoval(t *testing.T) {
	e := newEnv(t)
	if _, err := e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0))); err != nil {
		t.Fatal(err)
	}
	st, _, _ := state.Load(filepath.Join(e.root, state.DefaultPath))
	before := e.snapshot()
	hook := func(step, ph string) error {
		if step == "record-state" && ph == "after" {
			return errors.New("injected")
		}
		return nil
	}
	_, err := e.executor(hook).Apply(t.Context(), e.planJSON(e.removePlan(st.Lineage, 1)))
	var se *StepError
	if !errors.As(err, &se) || se.RollbackErr != nil {
		t.Fatalf("want a rolled-back failure, got %v", err)
	}
	if d := diffSnapshots(before, e.snapshot()); d != "" {
		t.Errorf("the root changed:\n%s", d)
	}
	e.checkClean()
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env, p *plan.Plan)
		want  string
	}{
		{"stale serial", func(e *env, p *plan.Plan) { p.State.Serial = 3 }, "stale plan"},
		{"stale lineage", func(e *env, p *plan.Plan) { p.State.Lineage = strings.Repeat("ab", 16) }, "stale plan"},
		{"state of another machine", func(e *env, p *plan.Plan) {
			st := state.New("test-i386")
			st.Lineage, st.Serial = strings.Repeat("cd", 16), 4
			if err := state.Save(filepath.Join(e.root, state.DefaultPath), st); err != nil {
				e.t.Fatal(err)
			}
		}, "lineage cdcdcdcd"},
		{"other architecture", func(e *env, p *plan.Plan) {
			e.write(dpkgStatus, strings.Replace(baseStatus, "Architecture: i386", "Architecture: amd64", 1), 0o644)
		}, "this machine's architecture is amd64"},
		{"symlink escape, absolute", func(e *env, p *plan.Plan) {
			os.Symlink("/etc", filepath.Join(e.root, "srv/www"))
		}, "/srv/www is a symbolic link to /etc, which leads out of /srv"},
		{"symlink escape, relative", func(e *env, p *plan.Plan) {
			os.Symlink("../../../../etc", filepath.Join(e.root, "srv/www"))
		}, "/srv/www is a symbolic link to ../../../../etc, which leads out of /srv"},
		{"symlink escape, nested", func(e *env, p *plan.Plan) {
			os.MkdirAll(filepath.Join(e.root, "srv/data"), 0o755)
			os.Symlink("data/x", filepath.Join(e.root, "srv/www"))
			os.Symlink("../../etc", filepath.Join(e.root, "srv/data/x"))
		}, "leads out of /srv/data"},
		{"reserved path", func(e *env, p *plan.Plan) {
			p.Steps[3].Inputs.(*plan.WriteFile).File.Path = "/var/lib/dpkg/info/foo.list"
			p.Steps[3].ID = "write-file:/var/lib/dpkg/info/foo.list"
		}, "where plans may not write"},
		{"content digest", func(e *env, p *plan.Plan) { p.Steps[3].Inputs.(*plan.WriteFile).File.Content = "tampered\n" }, "does not have the sha256"},
		{"corrupt deb", func(e *env, p *plan.Plan) {
			path := filepath.Join(e.bundle, "debs", "foo_1.0-1_i386.deb")
			b, _ := os.ReadFile(path)
			b[100] ^= 0xff
			os.WriteFile(path, b, 0o644)
		}, "foo_1.0-1_i386.deb: sha256 is"},
		{"missing deb", func(e *env, p *plan.Plan) {
			os.Remove(filepath.Join(e.bundle, "debs", "libfoo1_1.0-1_i386.deb"))
		}, "libfoo1_1.0-1_i386.deb: missing"},
		{"symlinked deb", func(e *env, p *plan.Plan) {
			path := filepath.Join(e.bundle, "debs", "foo_1.0-1_i386.deb")
			real := filepath.Join(filepath.Dir(e.bundle), "foo.deb.real")
			os.Rename(path, real)
			os.Symlink(real, path)
		}, "is a symbolic link"},
		{"artifact not in bundle", func(e *env, p *plan.Plan) {
			os.Remove(filepath.Join(e.bundle, e.bfiles[0].Path))
			e.bfiles = e.bfiles[1:] // drop the archive
			e.writeIndex()
		}, "archive app  (sha256"},
		{"archive destination taken", func(e *env, p *plan.Plan) {
			e.write("opt/app/data", "someone's\n", 0o644)
		}, "no installed runtime owns it"},
		{"file the bundle does not list", func(e *env, p *plan.Plan) {
			os.WriteFile(filepath.Join(e.bundle, "debs", "extra.deb"), []byte("x"), 0o644)
		}, "debs/extra.deb: file not listed in bundle.json"},
		{"entry listed twice", func(e *env, p *plan.Plan) {
			e.bfiles = append(e.bfiles, e.bfiles[0])
			e.writeIndex()
		}, "listed twice"},
		{"dpkg interrupted", func(e *env, p *plan.Plan) {
			e.write(dpkgUpdates+"/0003", "x", 0o644)
		}, "dpkg has unfinished work"},
		{"package version replaced", func(e *env, p *plan.Plan) {
			e.write(dpkgStatus, baseStatus+"Package: foo\nStatus: install ok installed\nArchitecture: i386\nVersion: 0.9-1\n\n", 0o644)
		}, "installed at version 0.9-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.installPlan("", 0)
			tt.setup(e, p)
			before := e.snapshot()
			_, err := e.executor(nil).Apply(t.Context(), e.anyPlanJSON(p))
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("want *RefusedError, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not say %q:\n%v", tt.want, err)
			}
			if d := diffSnapshots(before, e.snapshot()); d != "" {
				t.Errorf("a refused plan changed the root:\n%s", d)
			}
			if e.exists(journalPath) || len(e.dpkgLog()) > 1 || e.dpkgLog()[0] != "" {
				t.Errorf("a refused plan started: journal %v, dpkg runs %q", e.exists(journalPath), e.dpkgLog())
			}
		})
	}
}

func TestInvalidPlans(t *testing.T) {
	e := newEnv(t)
	good := string(e.planJSON(e.installPlan("", 0)))
	for name, b := range map[string]string{
		"dotdot path":  strings.Replace(good, `"path": "/srv/www/index.html"`, `"path": "/srv/../etc/shadow"`, 1),
		"unknown kind": strings.Replace(good, `"kind": "wait-health"`, `"kind": "reboot"`, 1),
		"not json":     "{",
	} {
		t.Run(name, func(t *testing.T) {
			if b == good {
				t.Fatal("the replacement did not apply")
			}
			_, err := e.executor(nil).Apply(t.Context(), []byte(b))
			var re *RefusedError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), "invalid plan") {
				t.Errorf("want an invalid-plan refusal, got %v", err)
			}
		})
	}
}

func TestSymlinkInsideAllowed(t *testing.T) {
	e := newEnv(t)
	os.MkdirAll(filepath.Join(e.root, "srv/data/www"), 0o755)
	os.Symlink("data/www", filepath.Join(e.root, "srv/www"))
	if _, err := e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0))); err != nil {
		t.Fatal(err)
	}
	if got := e.read("srv/data/www/index.html"); got != indexContent {
		t.Errorf("index.html through the link: %q", got)
	}
	// A link at the file itself is replaced, not followed.
	e2 := newEnv(t)
	e2.write("etc/shadow", "secret\n", 0o600)
	os.MkdirAll(filepath.Join(e2.root, "etc/runtimekit/foo"), 0o755)
	os.Symlink("/etc/shadow", filepath.Join(e2.root, "etc/runtimekit/foo/foo.conf"))
	if _, err := e2.executor(nil).Apply(t.Context(), e2.planJSON(e2.installPlan("", 0))); err != nil {
		t.Fatal(err)
	}
	if got := e2.read("etc/shadow"); got != "secret\n" {
		t.Errorf("write-file followed a symbolic link: /etc/shadow is %q", got)
	}
}

func TestLock(t *testing.T) {
	e := newEnv(t)
	holder := e.executor(nil)
	f, err := openFSRoot(e.root)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	unlock, err := holder.lock(t.Context(), f, "apply plan 0123456789ab")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0)))
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || le.Operation != "apply plan 0123456789ab" {
		t.Fatalf("second apply: want *LockedError with pid %d, got %v", os.Getpid(), err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("process %d (apply plan 0123456789ab", os.Getpid())) {
		t.Errorf("message: %v", err)
	}
	// With Wait, it waits until the holder is done.
	go func() {
		time.Sleep(300 * time.Millisecond)
		unlock()
	}()
	w := e.executor(nil)
	w.opts.Wait = true
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := w.Apply(ctx, e.planJSON(e.installPlan("", 0))); err != nil {
		t.Fatalf("waiting apply: %v", err)
	}
}

func TestDpkgFrontendLockHeld(t *testing.T) {
	e := newEnv(t)
	// Another process (apt) holds the frontend lock: a child process,
	// since this process's own fcntl locks would not conflict.
	holder := startLockHolder(t, filepath.Join(e.root, dpkgFrontendLock))
	before := e.snapshot()
	_, err := e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0)))
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), fmt.Sprintf("locked by process %d", holder)) {
		t.Errorf("want a refusal naming the frontend lock holder %d, got %v", holder, err)
	}
	if d := diffSnapshots(before, e.snapshot()); d != "" || e.exists(journalPath) {
		t.Errorf("the root changed:\n%s", d)
	}
}

func TestBatches(t *testing.T) {
	d := func(name string, pre ...string) debToInstall {
		c := &debControl{Package: name}
		for _, p := range pre {
			c.PreDepends = append(c.PreDepends, strings.Split(p, "|"))
		}
		return debToInstall{name: name, ctrl: c}
	}
	names := func(bs [][]debToInstall) [][]string {
		var out [][]string
		for _, b := range bs {
			var n []string
			for _, x := range b {
				n = append(n, x.name)
			}
			out = append(out, n)
		}
		return out
	}
	tests := []struct {
		in   []debToInstall
		want [][]string
	}{
		{[]debToInstall{d("a"), d("b"), d("c")}, [][]string{{"a", "b", "c"}}},
		{[]debToInstall{d("isa-support"), d("sse2-support", "isa-support"), d("x")}, [][]string{{"isa-support"}, {"sse2-support", "x"}}},
		{[]debToInstall{d("py-min"), d("py", "py-min"), d("py3", "py")}, [][]string{{"py-min"}, {"py"}, {"py3"}}},
		{[]debToInstall{d("a"), d("b", "libc6"), d("c", "z|a")}, [][]string{{"a", "b"}, {"c"}}},
		{[]debToInstall{d("a"), {name: "unreadable"}, d("b")}, [][]string{{"a"}, {"unreadable", "b"}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, names(batches(tt.in))); diff != "" {
			t.Errorf("batches (-want +got):\n%s", diff)
		}
	}
}

func TestReadDebControl(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.deb")
	os.WriteFile(p, makeDeb(t, "python3", "3.11.2-1+b1", "i386", "python3-minimal (= 3.11.2-1+b1), libc6:any | libc6.1"), 0o644)
	c, err := readDebControl(p)
	if err != nil {
		t.Fatal(err)
	}
	want := &debControl{Package: "python3", Version: "3.11.2-1+b1", Architecture: "i386",
		PreDepends: [][]string{{"python3-minimal"}, {"libc6", "libc6.1"}}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("control (-want +got):\n%s", diff)
	}
}

func TestExtractRefusesEscapes(t *testing.T) {
	tests := []struct {
		name    string
		entries []tar.Header
		want    string
	}{
		{"dotdot", []tar.Header{{Name: "pkg/../../etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644}}, "would leave"},
		{"absolute", []tar.Header{{Name: "/etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644}}, "absolute path"},
		{"symlink out", []tar.Header{{Name: "pkg/evil", Typeflag: tar.TypeSymlink, Linkname: "../../../etc"}}, "leads out of"},
		{"absolute symlink", []tar.Header{{Name: "pkg/evil", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}}, "outside /opt/app"},
		{"write through symlink", []tar.Header{
			{Name: "pkg/lib", Typeflag: tar.TypeSymlink, Linkname: "/opt/app/x"},
			{Name: "pkg/lib/passwd", Typeflag: tar.TypeReg, Mode: 0o644}}, "path escapes"},
		{"hardlink out", []tar.Header{{Name: "pkg/evil", Typeflag: tar.TypeLink, Linkname: "../etc/passwd"}}, "outside the destination"},
		{"device", []tar.Header{{Name: "pkg/dev", Typeflag: tar.TypeChar}}, "unsupported type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "a.tar.gz")
			os.WriteFile(src, tarGz(t, tt.entries, map[string]string{"pkg/../../etc/passwd": "x", "/etc/passwd": "x", "pkg/lib/passwd": "x"}), 0o644)
			os.Mkdir(filepath.Join(dir, "out"), 0o755)
			r, err := os.OpenRoot(filepath.Join(dir, "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			_, err = extract(t.Context(), r, src, "tar.gz", 1, nil, "/opt/app")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("want an error saying %q, got %v", tt.want, err)
			}
		})
	}
}

func TestCrashAtSpec(t *testing.T) {
	tests := []struct {
		spec, step, phase string
		want              bool
	}{
		{"install-packages", "install-packages", "before", true},
		{"install-packages:unpack", "install-packages", "unpack", true},
		{"install-packages:unpack", "install-packages", "before", false},
		{"write-file:/etc/x", "write-file:/etc/x", "before", true},
		{"write-file:/etc/x:after", "write-file:/etc/x", "after", true},
		{"write-file:/etc/x:after", "write-file:/etc/x", "before", false},
		{"", "x", "before", false},
	}
	for _, tt := range tests {
		if got := crashAt(tt.spec, tt.step, tt.phase); got != tt.want {
			t.Errorf("crashAt(%q, %q, %q) = %v", tt.spec, tt.step, tt.phase, got)
		}
	}
}

func TestJournalWrite(t *testing.T) {
	dir := t.TempDir()
	f, err := openFSRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	if _, err := f.mkdirs(dataDir); err != nil {
		t.Fatal(err)
	}
	j := &journal{FormatVersion: journalFormat, PlanDigest: "abc", Mode: modeApply,
		Steps: []stepRecord{{ID: "a", Kind: "write-file", Phase: phasePending}, {ID: "b", Kind: "wait-health", Phase: phasePending}}}
	w, err := f.createJournal(j)
	if err != nil {
		t.Fatal(err)
	}
	want := *j
	want.Steps = slices.Clone(j.Steps)
	want.Steps[0] = stepRecord{ID: "a", Kind: "write-file", Phase: phaseDoing, Undo: &fileUndo{Path: "etc/x", Saved: &savedFile{}}}
	want.Mode, want.Error = modeRollback, "step b: failed"
	for _, c := range []journalChange{{Step: 1, Rec: &want.Steps[0]}, {Head: &journalHead{Mode: modeRollback, Error: "step b: failed"}}} {
		if err := w.add(c); err != nil {
			t.Fatal(err)
		}
	}
	w.close()
	got, err := f.loadJournal()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("journal round trip (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, dataDir))
	if len(entries) != 1 {
		t.Errorf("files beside the journal: %v", entries)
	}
	full, _ := os.ReadFile(filepath.Join(dir, journalPath))

	// A crash in the middle of an append leaves a last line cut short: it
	// was never acted upon, and is ignored.
	os.WriteFile(filepath.Join(dir, journalPath), append(slices.Clone(full), `{"step":2,"rec":{"id":"b","ki`...), 0o600)
	if got, err := f.loadJournal(); err != nil || cmp.Diff(&want, got) != "" {
		t.Errorf("journal with a torn last line: %v\n%s", err, cmp.Diff(&want, got))
	}

	// Older formats (1: one indented object; 2: one undo record type for
	// every kind) are refused, saying which runtimectl can recover them.
	for _, old := range []int{1, 2} {
		v := want
		v.FormatVersion = old
		b, _ := json.MarshalIndent(&v, "", "  ")
		if old == 2 {
			b, _ = json.Marshal(&v)
		}
		os.WriteFile(filepath.Join(dir, journalPath), b, 0o600)
		_, err := f.loadJournal()
		var de *DamagedJournalError
		if !errors.As(err, &de) || de.Older != old || !strings.Contains(err.Error(), "written by an older runtimectl") || !strings.Contains(err.Error(), "--discard-journal") {
			t.Errorf("format %d journal: %v", old, err)
		}
	}

	lines := strings.SplitAfter(string(full), "\n")
	for name, content := range map[string]string{
		"truncated object": `{"formatVersion": 1, "steps": [`,
		"damaged middle":   lines[0] + "{garbage\n" + lines[2],
		"unknown step":     lines[0] + `{"step":7,"rec":{"id":"z","kind":"x","phase":"done"}}` + "\n",
		"other step's id":  lines[0] + `{"step":2,"rec":{"id":"a","kind":"x","phase":"done"}}` + "\n",
		"newer format":     strings.Replace(lines[0], `"formatVersion":3`, `"formatVersion":4`, 1),
		"empty change":     lines[0] + "{}\n",
		"not json at all":  "\x00\x00\x00\n",
	} {
		os.WriteFile(filepath.Join(dir, journalPath), []byte(content), 0o600)
		_, err := f.loadJournal()
		var de *DamagedJournalError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "--discard-journal") {
			t.Errorf("%s: got %v, want a DamagedJournalError that says what to do", name, err)
		}
	}
}

func TestRecoverNothing(t *testing.T) {
	e := newEnv(t)
	res, err := e.executor(nil).Recover(t.Context(), false)
	if err != nil || res.Outcome != OutcomeNothing {
		t.Errorf("recover with no journal: %+v %v", res, err)
	}
}

func TestResumeApply(t *testing.T) {
	e := newEnv(t)
	p := e.installPlan("", 0)
	hook := func(step, ph string) error {
		if step == "start-service:foo" && ph == "before" {
			return errCrash
		}
		return nil
	}
	if _, err := e.executor(hook).Apply(t.Context(), e.planJSON(p)); !errors.Is(err, errCrash) {
		t.Fatal(err)
	}
	// Another plan cannot resume it.
	other := e.installPlan("", 0)
	other.Steps = other.Steps[:len(other.Steps)-1]
	x := e.executor(nil)
	x.opts.Resume = true
	if _, err := x.Apply(t.Context(), e.planJSON(other)); !errors.As(err, new(*InterruptedError)) {
		t.Fatalf("resume with another plan: %v", err)
	}
	res, err := x.Apply(t.Context(), e.planJSON(p))
	if err != nil || res.Outcome != OutcomeApplied || !res.Resumed {
		t.Fatalf("resume: %+v %v", res, err)
	}
	if !e.exists("etc/fakesv/foo/up") {
		t.Error("service not started by the resumed apply")
	}
	e.checkClean()
}

func TestExtractFormats(t *testing.T) {
	files := map[string]string{"package/bin/tool": "#!/bin/sh\necho tool\n", "package/README.md": "readme\n"}
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	tw.WriteHeader(&tar.Header{Name: "package/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, n := range []string{"package/README.md", "package/bin/tool"} {
		tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(files[n]))})
		tw.Write([]byte(files[n]))
	}
	tw.WriteHeader(&tar.Header{Name: "package/bin/alias", Typeflag: tar.TypeSymlink, Linkname: "tool"})
	tw.WriteHeader(&tar.Header{Name: "package/bin/hard", Typeflag: tar.TypeLink, Linkname: "package/bin/tool"})
	tw.Close()
	var txz bytes.Buffer
	xw, err := xz.NewWriter(&txz)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(tarball.Bytes())
	xw.Close()
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	for _, n := range []string{"package/README.md", "package/bin/tool"} {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate}
		h.SetMode(0o755)
		w, _ := zw.CreateHeader(h)
		w.Write([]byte(files[n]))
	}
	h := &zip.FileHeader{Name: "package/bin/alias"}
	h.SetMode(fs.ModeSymlink | 0o777)
	w, _ := zw.CreateHeader(h)
	w.Write([]byte("tool"))
	zw.Close()

	for format, b := range map[string][]byte{"tar.xz": txz.Bytes(), "zip": zipped.Bytes()} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "a."+format)
			os.WriteFile(src, b, 0o644)
			os.Mkdir(filepath.Join(dir, "out"), 0o755)
			r, err := os.OpenRoot(filepath.Join(dir, "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if _, err := extract(t.Context(), r, src, format, 1, nil, "/opt/tool"); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, "out/bin/alias"))
			if err != nil || string(got) != files["package/bin/tool"] {
				t.Errorf("bin/alias (a link to tool): %q %v", got, err)
			}
			if fi, err := os.Stat(filepath.Join(dir, "out/bin/tool")); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("bin/tool: %v %v", fi, err)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "out/README.md")); string(got) != "readme\n" {
				t.Errorf("README.md: %q", got)
			}
		})
	}
}

func TestExtractInclude(t *testing.T) {
	files := map[string]string{"package/deno": "ELF", "package/README.md": "readme\n", "package/lib/a.js": "a\n", "package/lib/sub/b.js": "b\n"}
	var hs []tar.Header
	for _, n := range []string{"package/README.md", "package/deno", "package/lib/a.js", "package/lib/sub/b.js"} {
		hs = append(hs, tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o755})
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "a.tar.gz")
	os.WriteFile(src, tarGz(t, hs, files), 0o644)
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	r, err := os.OpenRoot(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n, err := extract(t.Context(), r, src, "tar.gz", 1, []string{"deno", "li?"}, "/opt/deno")
	if err != nil || n != 3 {
		t.Fatalf("extract: %d entries, %v", n, err)
	}
	for _, p := range []string{"deno", "lib/a.js", "lib/sub/b.js"} {
		if _, err := os.Stat(filepath.Join(dir, "out", p)); err != nil {
			t.Errorf("%s not extracted: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out/README.md")); err == nil {
		t.Errorf("README.md extracted though not included")
	}
	if _, err := extract(t.Context(), r, src, "tar.gz", 1, []string{"[bad"}, "/opt/deno"); err == nil {
		t.Errorf("a bad include pattern was accepted")
	}
}
