package executor_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/bundle"
	"github.com/runtimekit/runtimekit/sdk/executor"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/service"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// The tests in this file apply plans with Options.Root set to another
// machine's root, as `runtimectl apply --root DIR` does, and check that
// what runs on that machine runs inside it: runsvdir, runsv, the
// services and exec health probes are chrooted into the root, and a
// rollback or a removal leaves none of them running.

// containedTarget is the target of the plans: the i386 root's.
var containedTarget = plan.Target{Name: "webvm-i386", OS: "linux", Arch: "386", DebianArch: "i386", Release: "bookworm"}

// containedPlan starts service svc with health check hc on a fresh
// machine (or removes them, with remove, from state lineage at serial 1).
func containedPlan(t *testing.T, svc state.Service, hc state.HealthCheck, lineage string, remove bool) []byte {
	t.Helper()
	rt := state.Runtime{Name: "sleeper", Version: "1.0.0", Services: []state.Service{svc}, Health: []state.HealthCheck{hc}}
	var p plan.Plan
	if !remove {
		rts := []state.Runtime{rt}
		p = plan.Plan{FormatVersion: plan.FormatVersion, Target: containedTarget, Artifacts: []plan.Artifact{},
			Steps: []plan.Step{
				{ID: "install-service:" + svc.Name, Runtime: rt.Name, Inputs: &plan.InstallService{Service: svc}},
				{ID: "start-service:" + svc.Name, Runtime: rt.Name, Inputs: &plan.StartService{ServiceName: svc.Name}},
				{ID: "wait-health:" + hc.Name, Runtime: rt.Name, Inputs: &plan.WaitHealth{Health: hc}},
				{ID: "record-state", Inputs: &plan.RecordState{Runtimes: rts}},
			}}
	} else {
		rts := []state.Runtime{}
		p = plan.Plan{FormatVersion: plan.FormatVersion, Target: containedTarget, Artifacts: []plan.Artifact{},
			State: plan.StateRef{Lineage: lineage, Serial: 1},
			Steps: []plan.Step{
				{ID: "stop-service:" + svc.Name, Runtime: rt.Name, Inputs: &plan.StopService{ServiceName: svc.Name}},
				{ID: "remove-service:" + svc.Name, Runtime: rt.Name, Inputs: &plan.RemoveService{Service: svc}},
				{ID: "record-state", Inputs: &plan.RecordState{Runtimes: rts}},
			}}
	}
	for i := range p.Steps {
		p.Steps[i].Needs = []string{}
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// containedExecutor is an executor on root, given as a path relative to
// the working directory, as `runtimectl apply --root DIR` gives it.
func containedExecutor(t *testing.T, root string, progress *bytes.Buffer) *executor.Executor {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, root)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	return executor.New(executor.Options{Root: rel, Progress: progress, Logger: log})
}

// inRoot lists the processes whose root directory is root.
func inRoot(root string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if r, err := os.Readlink("/proc/" + e.Name() + "/root"); err == nil && r == root {
			comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
			out = append(out, e.Name()+" "+strings.TrimSpace(string(comm)))
		}
	}
	return out
}

// noneLeftIn fails t if a process runs in root, after giving the ones
// that are exiting a moment.
func noneLeftIn(t *testing.T, root, after string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := inRoot(root)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes left in the root after %s: %v", after, left)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killAllIn is the test's own safety net: it kills whatever still runs in
// root, so that a failing test leaves nothing behind either.
func killAllIn(root string) {
	for range 50 {
		left := inRoot(root)
		if len(left) == 0 {
			return
		}
		for _, l := range left {
			pid, _ := strconv.Atoi(strings.Fields(l)[0])
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runitRoot returns a copy of the i386 minbase root with the service
// supervisor's packages (runit and what it needs), as the shipped
// webvm-i386 lock pins them, installed by the root's own dpkg.
func runitRoot(t *testing.T) string {
	t.Helper()
	testenv.RequireE2E(t)
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "cp", "chroot")
	base := testenv.Rootfs(t, "bookworm", "i386", "minbase")
	l, err := lock.Read("../../targets/webvm-i386.lock.json")
	if err != nil {
		t.Fatal(err)
	}
	if l.Supervisor == nil || len(l.Supervisor.Packages) == 0 {
		t.Fatal("the webvm-i386 lock has no supervisor packages")
	}
	var items []bundle.Item
	for _, p := range l.Supervisor.Packages {
		items = append(items, bundle.PackageItem(p))
	}
	debs := filepath.Join(t.TempDir(), "bundle")
	_, err = bundle.Fetch(t.Context(), items, bundle.FetchOptions{
		Out:           debs,
		Mirror:        testenv.Mirror(t, "bookworm"),
		CacheDir:      filepath.Join(testenv.CacheDir(t), "bundle-downloads"),
		KeepDownloads: true,
	})
	var ue *url.Error
	if errors.As(err, &ue) {
		testenv.Unavailable(t, "network (to fetch runit): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}

	root := filepath.Join(t.TempDir(), "root")
	containedRun(t, "cp", "-a", base, root)
	_ = os.Remove(filepath.Join(root, ".complete"))
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killAllIn(root) })
	containedRun(t, "cp", "-a", debs, filepath.Join(root, "tmp", "runit-debs"))
	var args []string
	for _, it := range items {
		p, _ := it.BundlePath()
		args = append(args, "/tmp/runit-debs/"+p)
	}
	// No maintainer script may start a service, as during an apply.
	rc := filepath.Join(root, "usr/sbin/policy-rc.d")
	if err := os.WriteFile(rc, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The root's environment, not this process's (whose TMPDIR, say, is
	// not in the root).
	containedRun(t, append([]string{"chroot", root, "/usr/bin/env", "-i", "PATH=" + service.DefaultPath, "dpkg", "-i"}, args...)...)
	for _, p := range []string{rc, filepath.Join(root, "tmp", "runit-debs")} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/runsvdir")); err != nil {
		t.Fatalf("runit is not installed in the root: %v", err)
	}
	if left := inRoot(root); len(left) > 0 {
		t.Fatalf("installing runit left processes in the root: %v", left)
	}
	return root
}

func containedRun(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestE2ERootContained applies a plan that starts a service and waits for
// its exec health check on another machine's root, removes it again, and
// has a second apply's health check fail and be rolled back.
func TestE2ERootContained(t *testing.T) {
	root := runitRoot(t)
	root, err := filepath.EvalSymlinks(root) // as /proc/PID/root shows it
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// A name no other test uses: were the probe run on this machine, it
	// would land here, in this machine's /tmp.
	mark := fmt.Sprintf("/tmp/runtimekit-probe-%d-%d", os.Getpid(), time.Now().UnixNano())
	hostMark := mark
	t.Cleanup(func() { os.Remove(hostMark) })

	// The service writes who it runs as and its pid; the probe passes once
	// that file is there, and leaves a mark.
	svc := state.Service{Name: "sleeper", User: "nobody", Restart: "always", StopSignal: "TERM", StopTimeout: unit.Duration(5 * time.Second),
		Argv: []string{"/bin/sh", "-c", "echo \"$(id -un) $$\" >/tmp/sleeper.out; exec sleep 1000"}}
	hc := state.HealthCheck{Name: "sleeper-exec", Kind: state.HealthExec, Service: "sleeper", User: "nobody",
		Argv:     []string{"sh", "-c", "test -s /tmp/sleeper.out && id -un >" + mark},
		Interval: unit.Duration(200 * time.Millisecond), Timeout: unit.Duration(5 * time.Second), Retries: 100, StartPeriod: 0}
	var progress bytes.Buffer
	res, err := containedExecutor(t, root, &progress).Apply(ctx, containedPlan(t, svc, hc, "", false))
	t.Logf("apply:\n%s", progress.String())
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if res.Outcome != executor.OutcomeApplied {
		t.Fatalf("outcome %s", res.Outcome)
	}

	// The probe ran inside the root, as its user.
	if b, err := os.ReadFile(filepath.Join(root, mark)); err != nil || string(b) != "nobody\n" {
		t.Errorf("the probe's mark inside the root: %q, %v; want nobody", b, err)
	}
	if _, err := os.Stat(hostMark); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the probe wrote %s on this machine (%v)", hostMark, err)
	}

	// runsvdir and the service run with the root as their root, the
	// service as the root's nobody.
	rt := &service.Runit{Root: root, Chroot: true}
	sv, ok := rt.SupervisorPID()
	if !ok {
		t.Fatal("no runsvdir runs for the root")
	}
	if r, err := os.Readlink(fmt.Sprintf("/proc/%d/root", sv)); err != nil || r != root {
		t.Errorf("runsvdir (pid %d) has root %q, %v; want %s", sv, r, err, root)
	}
	st, err := rt.Status(ctx, "sleeper")
	if err != nil || !st.Up {
		t.Fatalf("status of sleeper: %+v, %v", st, err)
	}
	if r, err := os.Readlink(fmt.Sprintf("/proc/%d/root", st.PID)); err != nil || r != root {
		t.Errorf("the service (pid %d) has root %q, %v; want %s", st.PID, r, err, root)
	}
	if b, err := os.ReadFile(filepath.Join(root, "tmp/sleeper.out")); err != nil || string(b) != fmt.Sprintf("nobody %d\n", st.PID) {
		t.Errorf("the service wrote %q, %v; want nobody %d", b, err, st.PID)
	}
	// Its scan path is this machine's default one too: a Runit of this
	// machine must not take the root's runsvdir for its own.
	if pid, ok := (&service.Runit{}).SupervisorPID(); ok && pid == sv {
		t.Errorf("a Runit on / takes the root's runsvdir (pid %d) for its own", sv)
	}
	if pid, ok := (&service.Runit{Root: root}).SupervisorPID(); ok && pid == sv {
		t.Errorf("an unchrooted Runit on the root takes the chrooted runsvdir (pid %d) for its own", sv)
	}

	// Removing the runtime stops the service and runsvdir, which had
	// nothing left to supervise: nothing runs in the root any more.
	ex := containedExecutor(t, root, &progress)
	rep, err := ex.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	progress.Reset()
	if _, err := ex.Apply(ctx, containedPlan(t, svc, hc, rep.Lineage, true)); err != nil {
		t.Fatalf("remove: %v\n%s", err, progress.String())
	}
	t.Logf("remove:\n%s", progress.String())
	if !strings.Contains(progress.String(), fmt.Sprintf("stopped runsvdir (pid %d)", sv)) {
		t.Errorf("the removal does not say it stopped runsvdir (pid %d)", sv)
	}
	noneLeftIn(t, root, "the removal")

	// A service that keeps exiting, which runsv keeps restarting, and a
	// health check that fails: the rollback stops the runsvdir the apply
	// started, and every runsv with it.
	failing := state.Service{Name: "crasher", User: "root", Restart: "always", StopSignal: "TERM", StopTimeout: unit.Duration(5 * time.Second),
		Argv: []string{"/bin/sh", "-c", "echo ran >>/tmp/crasher.runs; exit 3"}}
	fhc := state.HealthCheck{Name: "crasher-exec", Kind: state.HealthExec, Service: "crasher", User: "root",
		Argv:     []string{"sh", "-c", "echo probed >>/tmp/crasher.probes; exit 1"},
		Interval: unit.Duration(200 * time.Millisecond), Timeout: unit.Duration(2 * time.Second), Retries: 3, StartPeriod: unit.Duration(1500 * time.Millisecond)}
	res, err = containedExecutor(t, root, &progress).Apply(ctx, containedPlanAt(t, failing, fhc, rep.Lineage, 2))
	var se *executor.StepError
	if !errors.As(err, &se) || se.RollbackErr != nil || res.Outcome != executor.OutcomeRolledBack {
		t.Fatalf("apply with a failing check: %v (outcome %s)\n%s", err, res.Outcome, progress.String())
	}
	t.Logf("failing apply: %v", err)
	if !strings.Contains(progress.String(), "stopped runsvdir") {
		t.Errorf("the rollback does not say it stopped runsvdir:\n%s", progress.String())
	}
	noneLeftIn(t, root, "the rollback")
	for _, f := range []string{"tmp/crasher.runs", "tmp/crasher.probes"} {
		if b, err := os.ReadFile(filepath.Join(root, f)); err != nil || len(b) == 0 {
			t.Errorf("%s inside the root: %q, %v", f, b, err)
		}
	}
	for _, p := range []string{service.DefaultPIDFile, service.DefaultScanDir + "/crasher"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left after the rollback (%v)", p, err)
		}
	}
}

// containedPlanAt is containedPlan for a machine at serial > 1.
func containedPlanAt(t *testing.T, svc state.Service, hc state.HealthCheck, lineage string, serial int64) []byte {
	t.Helper()
	p, err := plan.Parse(containedPlan(t, svc, hc, "", false))
	if err != nil {
		t.Fatal(err)
	}
	p.State = plan.StateRef{Lineage: lineage, Serial: serial}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRootWithoutRunit starts a service on a root that has no runit: the
// start is refused, since this machine's runit would supervise it
// outside the root, and the rollback leaves nothing of it.
func TestRootWithoutRunit(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	status := "Package: dpkg\nStatus: install ok installed\nArchitecture: i386\nVersion: 1.21.22\n\n"
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	svc := state.Service{Name: "web", User: "root", Restart: "always", StopSignal: "TERM", StopTimeout: unit.Duration(time.Second), Argv: []string{"/usr/sbin/nginx"}}
	hc := state.HealthCheck{Name: "web-tcp", Kind: state.HealthTCP, Service: "web", Port: 8080,
		Interval: unit.Duration(time.Second), Timeout: unit.Duration(time.Second), Retries: 1, StartPeriod: 0}
	var progress bytes.Buffer
	res, err := containedExecutor(t, root, &progress).Apply(t.Context(), containedPlan(t, svc, hc, "", false))
	var se *executor.StepError
	if !errors.As(err, &se) || se.Step != "start-service:web" || se.RollbackErr != nil || res.Outcome != executor.OutcomeRolledBack {
		t.Fatalf("apply on a root without runit: %v\n%s", err, progress.String())
	}
	if want := "runsvdir is not installed in " + root + ": the plan must install runit first"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	for _, p := range []string{"etc/runtimekit", "var/log/runtimekit", "run/runtimekit", "var/lib/runtimekit/state.json"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left after the rollback (%v)", p, err)
		}
	}
}
