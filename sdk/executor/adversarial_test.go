package executor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// The adversarial corpus: hand-made plans and bundles that try to make
// the executor change what runtimekit does not own. Each is refused before
// anything changes, or (for a bundle swapped between apply and recover)
// stopped before dpkg sees the impostor.

// installed returns an env where the test runtime is applied, and the
// state that apply wrote.
func installed(t *testing.T) (*env, *state.State) {
	t.Helper()
	e := newEnv(t)
	if _, err := e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0))); err != nil {
		t.Fatal(err)
	}
	st, _, err := state.Load(filepath.Join(e.root, state.DefaultPath))
	if err != nil {
		t.Fatal(err)
	}
	return e, st
}

func TestRefusesRemovingWhatItDoesNotOwn(t *testing.T) {
	step := func(p *plan.Plan, kind string) *plan.Step {
		for i := range p.Steps {
			if p.Steps[i].Kind() == kind {
				return &p.Steps[i]
			}
		}
		panic("no step " + kind)
	}
	tests := []struct {
		name  string
		setup func(e *env, p *plan.Plan)
		want  string
	}{
		{"archive dest /usr", func(e *env, p *plan.Plan) {
			step(p, plan.KindRemoveArchive).Inputs.(*plan.RemoveArchive).Archive.Dest = "/usr"
		}, "/usr holds"},
		{"archive dest /etc", func(e *env, p *plan.Plan) {
			step(p, plan.KindRemoveArchive).Inputs.(*plan.RemoveArchive).Archive.Dest = "/etc"
		}, "/etc holds"},
		{"archive dest holding dpkg's database", func(e *env, p *plan.Plan) {
			step(p, plan.KindRemoveArchive).Inputs.(*plan.RemoveArchive).Archive.Dest = "/var/lib"
		}, "/var/lib holds /var/lib/"},
		{"file not written by runtimekit, with its real digest", func(e *env, p *plan.Plan) {
			s := step(p, plan.KindRemoveFile)
			s.Inputs.(*plan.RemoveFile).File.Path = "/etc/passwd"
			s.Inputs.(*plan.RemoveFile).File.SHA256 = sum([]byte(e.read("etc/passwd")))
			s.ID = "remove-file:/etc/passwd"
		}, "/etc/passwd"},
		{"tree runtimekit did not extract", func(e *env, p *plan.Plan) {
			e.write("opt/other/data", "someone's\n", 0o644)
			step(p, plan.KindRemoveArchive).Inputs.(*plan.RemoveArchive).Archive.Dest = "/opt/other"
		}, "/opt/other: the state does not record it as installed by runtimekit"},
		{"user's file, with its real digest", func(e *env, p *plan.Plan) {
			e.write("srv/www/mine.html", "mine\n", 0o644)
			s := step(p, plan.KindRemoveFile)
			s.Inputs.(*plan.RemoveFile).File = fileInput("/srv/www/mine.html", "mine\n", "managed")
			s.ID = "remove-file:/srv/www/mine.html"
		}, "/srv/www/mine.html: the state does not record it as installed by runtimekit"},
		{"service not installed by runtimekit", func(e *env, p *plan.Plan) {
			svc := fooService
			svc.Name = "getty"
			step(p, plan.KindRemoveService).Inputs.(*plan.RemoveService).Service = svc
			step(p, plan.KindStopService).Inputs.(*plan.StopService).ServiceName = "getty"
		}, "service getty: the state does not record it"},
		{"Essential package", func(e *env, p *plan.Plan) {
			s := step(p, plan.KindRemovePackages)
			s.Inputs.(*plan.RemovePackages).Packages = append(s.Inputs.(*plan.RemovePackages).Packages, plan.PackageRef{Name: "dpkg", Version: "1.21.22", Arch: "i386"})
		}, "package dpkg is part of"},
		{"required package the state claims", func(e *env, p *plan.Plan) {
			s := step(p, plan.KindRemovePackages)
			s.Inputs.(*plan.RemovePackages).Packages = append(s.Inputs.(*plan.RemovePackages).Packages, plan.PackageRef{Name: "libc6", Version: "2.36-9+deb12u10", Arch: "i386"})
			st, _, _ := state.Load(filepath.Join(e.root, state.DefaultPath))
			st.Runtimes[0].Packages = append(st.Runtimes[0].Packages, state.Package{Name: "libc6", Version: "2.36-9+deb12u10", Arch: "i386"})
			if err := state.Save(filepath.Join(e.root, state.DefaultPath), st); err != nil {
				e.t.Fatal(err)
			}
		}, "package libc6 is part of"},
		{"package Essential on this machine, claimed by the state", func(e *env, p *plan.Plan) {
			e.write(dpkgStatus, e.read(dpkgStatus)+"Package: local-base\nEssential: yes\nStatus: install ok installed\nArchitecture: i386\nVersion: 1\n\n", 0o644)
			s := step(p, plan.KindRemovePackages)
			s.Inputs.(*plan.RemovePackages).Packages = append(s.Inputs.(*plan.RemovePackages).Packages, plan.PackageRef{Name: "local-base", Version: "1", Arch: "i386"})
			st, _, _ := state.Load(filepath.Join(e.root, state.DefaultPath))
			st.Runtimes[0].Packages = append(st.Runtimes[0].Packages, state.Package{Name: "local-base", Version: "1", Arch: "i386"})
			if err := state.Save(filepath.Join(e.root, state.DefaultPath), st); err != nil {
				e.t.Fatal(err)
			}
		}, "package local-base is part of the base system (Essential, Protected or of priority required)"},
		{"package no runtime installed", func(e *env, p *plan.Plan) {
			s := step(p, plan.KindRemovePackages)
			s.Inputs.(*plan.RemovePackages).Packages = append(s.Inputs.(*plan.RemovePackages).Packages, plan.PackageRef{Name: "oldconf", Version: "1.0", Arch: "all"})
		}, "package oldconf: the state does not record it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, st := installed(t)
			// libc6 is required in the base status, as in Debian.
			e.write(dpkgStatus, strings.Replace(e.read(dpkgStatus), "Package: libc6\n", "Package: libc6\nPriority: required\n", 1), 0o644)
			e.write(dpkgStatus, strings.Replace(e.read(dpkgStatus), "Package: dpkg\n", "Package: dpkg\nEssential: yes\n", 1), 0o644)
			p := e.removePlan(st.Lineage, st.Serial)
			tt.setup(e, p)
			e.refused(t, p, tt.want)
		})
	}
}

// TestRefusesDebNotMatchingPlan: a .deb whose control file names another
// package than the plan would be installed under one name and rolled back
// under another; it is refused before dpkg runs.
func TestRefusesDebNotMatchingPlan(t *testing.T) {
	e := newEnv(t)
	// foo's .deb in the bundle is really a package named "evil".
	b := makeDeb(t, "evil", "1.0-1", "i386", "")
	path := filepath.Join(e.bundle, "debs", "foo_1.0-1_i386.deb")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range e.bfiles {
		if e.bfiles[i].Name == "foo" {
			e.bfiles[i].SHA256, e.bfiles[i].Size = sum(b), int64(len(b))
		}
	}
	e.writeIndex()
	a := e.arts["foo"]
	a.SHA256, a.Size = sum(b), int64(len(b))
	e.arts["foo"] = a
	before := e.snapshot()
	_, err := e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0)))
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "the .deb is evil 1.0-1 (i386), the plan installs foo 1.0-1 (i386)") {
		t.Fatalf("want a refusal naming both packages, got %v", err)
	}
	if d := diffSnapshots(before, e.snapshot()); d != "" {
		t.Errorf("a refused plan changed the root:\n%s", d)
	}
	if log := e.dpkgLog(); len(log) > 1 || log[0] != "" {
		t.Errorf("dpkg ran: %q", log)
	}
}

// TestRollbackReinstallIsPinned: a removal is interrupted, and the bundle
// given to recover holds an impostor .deb with the same name and version
// as a removed package. Recover must not install it: the state recorded
// the digest of the .deb the package came from.
func TestRollbackReinstallIsPinned(t *testing.T) {
	e, st := installed(t)
	crash := func(step, ph string) error {
		if step == "record-state" && ph == "before" {
			return errCrash
		}
		return nil
	}
	if _, err := e.executor(crash).Apply(t.Context(), e.planJSON(e.removePlan(st.Lineage, st.Serial))); !errors.Is(err, errCrash) {
		t.Fatalf("want the injected crash, got %v", err)
	}
	// The impostor: foo 1.0-1 with other bytes (another maintainer script,
	// say), listed in bundle.json under its own digest.
	imp := makeDeb(t, "foo", "1.0-1", "i386", "libc6")
	path := filepath.Join(e.bundle, "debs", "foo_1.0-1_i386.deb")
	if err := os.WriteFile(path, imp, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range e.bfiles {
		if e.bfiles[i].Name == "foo" {
			e.bfiles[i].SHA256, e.bfiles[i].Size = sum(imp), int64(len(imp))
		}
	}
	e.writeIndex()
	dpkgRuns := len(e.dpkgLog())
	res, err := e.executor(nil).Recover(t.Context(), false)
	if err == nil || !strings.Contains(err.Error(), "foo 1.0-1 (i386)") || !strings.Contains(err.Error(), "rollback incomplete") {
		t.Fatalf("want an incomplete rollback naming foo, got %+v, %v", res, err)
	}
	for _, run := range e.dpkgLog()[dpkgRuns:] {
		if strings.Contains(run, "foo_1.0-1_i386.deb") {
			t.Errorf("dpkg was given the impostor: %q", run)
		}
	}
	if !e.exists(journalPath) {
		t.Errorf("the journal is gone: a recover with the right bundle could not finish the rollback")
	}
}

// TestRefusedPlanCreatesNothing: on a machine runtimekit never touched, a
// refused plan leaves no trace (no lock file, no data directory).
func TestRefusedPlanCreatesNothing(t *testing.T) {
	e := newEnv(t)
	if err := os.RemoveAll(filepath.Join(e.root, dataDir)); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	_, err := e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 3)))
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("want a refusal (stale serial), got %v", err)
	}
	if e.exists(dataDir) {
		t.Errorf("a refused plan created %s", abs(dataDir))
	}
	if d := diffSnapshots(before, e.snapshot()); d != "" {
		t.Errorf("a refused plan changed the root:\n%s", d)
	}
}

// TestStateThroughRoot: a state file that is a symbolic link (here to a
// file outside the root) is refused, and the file it names is untouched.
func TestStateThroughRoot(t *testing.T) {
	e := newEnv(t)
	outside := filepath.Join(t.TempDir(), "host-state.json")
	if err := os.WriteFile(outside, []byte("the host's file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(e.root, state.DefaultPath)); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	_, err := e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0)))
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "state.json is a symbolic link") {
		t.Fatalf("want a refusal of the linked state file, got %v", err)
	}
	if d := diffSnapshots(before, e.snapshot()); d != "" {
		t.Errorf("a refused plan changed the root:\n%s", d)
	}
	if b, _ := os.ReadFile(outside); string(b) != "the host's file\n" {
		t.Errorf("the host's file changed: %q", b)
	}
}

// TestRefusesWritesItMustNot: paths that pass the plan's own rules as
// written but not as the machine resolves them, and targets that a rename
// would destroy.
func TestRefusesWritesItMustNot(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env, p *plan.Plan)
		want  string
	}{
		{"a link inside /etc leading to the account files", func(e *env, p *plan.Plan) {
			os.Symlink(".", filepath.Join(e.root, "etc/foo"))
			p.Steps[3].Inputs.(*plan.WriteFile).File = fileInput("/etc/foo/passwd", confContent, "managed")
			p.Steps[3].ID = "write-file:/etc/foo/passwd"
		}, "resolves to /etc/passwd is"},
		{"a FIFO where the file goes", func(e *env, p *plan.Plan) {
			os.MkdirAll(filepath.Join(e.root, "etc/runtimekit/foo"), 0o755)
			if err := syscall.Mkfifo(filepath.Join(e.root, "etc/runtimekit/foo/foo.conf"), 0o644); err != nil {
				e.t.Fatal(err)
			}
		}, "is a FIFO, not a regular file: refusing to replace it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.installPlan("", 0)
			tt.setup(e, p)
			e.refused(t, p, tt.want)
		})
	}
}

// TestReapplyKeepsEditedManagedFile: a managed file the user edited after
// runtimekit wrote it is kept on a re-apply and reported, as dpkg keeps an
// edited conffile, never silently overwritten.
func TestReapplyKeepsEditedManagedFile(t *testing.T) {
	e, st := installed(t)
	e.write("etc/runtimekit/foo/foo.conf", "listen 9090; # mine\n", 0o644)
	p := e.installPlan(st.Lineage, st.Serial)
	p.Steps[3].Inputs.(*plan.WriteFile).File = fileInput("/etc/runtimekit/foo/foo.conf", "listen 8081;\n", "managed")
	res, err := e.executor(nil).Apply(t.Context(), e.planJSON(p))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.read("etc/runtimekit/foo/foo.conf"); got != "listen 9090; # mine\n" {
		t.Errorf("the user's edit was overwritten: %q", got)
	}
	found := false
	for _, k := range res.Kept {
		found = found || (k.Path == "/etc/runtimekit/foo/foo.conf" && strings.Contains(k.Reason, "changed since runtimekit wrote it"))
	}
	if !found {
		t.Errorf("the kept file is not reported: %+v", res.Kept)
	}
}
