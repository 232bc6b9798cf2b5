package executor_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/executor"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// More end-to-end scenarios on the machinery of e2e_test.go: adding
// runtimes to a machine that has some, removing one of several, a
// service killed under runit, crash injection at every step boundary of
// a nginx+node apply, and plans refused before any change.

// hostPlan runs `runtimectl plan ARGS -o FILE` on the host and returns the
// file and the plan.
func (tl *tools) hostPlan(t *testing.T, args ...string) (string, *plan.Plan) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "plan.json")
	out, err := tl.runHost(append(append([]string{"plan"}, args...), "-o", file)...)
	if err != nil {
		t.Fatalf("runtimectl plan %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("runtimectl plan %s:\n%s", strings.Join(args, " "), out)
	return file, readPlan(t, file)
}

// hostBundle runs `runtimectl bundle --plan FILE` on the host.
func (tl *tools) hostBundle(t *testing.T, planFile string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	if out, err := tl.runHost("bundle", "--plan", planFile, "--out", dir, "--keep-downloads"); err != nil {
		if strings.Contains(out, "dial") || strings.Contains(out, "no such host") || strings.Contains(out, "network is unreachable") {
			testenv.Unavailable(t, "network (to fetch the bundle): %s", out)
		}
		t.Fatalf("runtimectl bundle: %v\n%s", err, out)
	}
	return dir
}

func readPlan(t *testing.T, file string) *plan.Plan {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Parse(b)
	if err != nil {
		t.Fatalf("plan %s: %v", file, err)
	}
	return p
}

// writePlan writes p (changed by a test, so not checked) to a new file.
func writePlan(t *testing.T, p *plan.Plan) string {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// put copies src into the VM as /name, replacing what was there.
func (v *vm) put(src, name string) {
	v.t.Helper()
	if err := os.RemoveAll(filepath.Join(v.root, name)); err != nil {
		v.t.Fatal(err)
	}
	v.copyIn(src, name)
}

// apply runs `runtimectl apply /plan.json --bundle /bundle` with the given
// plan and bundle copied in, and fails the test if it fails.
func (v *vm) apply(planFile, bundleDir string) string {
	v.t.Helper()
	v.put(planFile, "plan.json")
	v.put(bundleDir, "bundle")
	start := time.Now()
	out, errOut, err := v.exec("/runtimectl", "apply", "/plan.json", "--bundle", "/bundle")
	v.t.Logf("runtimectl apply (%s):\n%s%s", time.Since(start).Round(time.Millisecond), errOut, out)
	if err != nil {
		v.t.Fatalf("apply: %v", err)
	}
	return errOut
}

// status runs `runtimectl status --json` in the VM.
func (v *vm) status() *executor.Report {
	v.t.Helper()
	var rep executor.Report
	out := v.mustExec("/runtimectl", "status", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		v.t.Fatalf("status --json: %v\n%s", err, out)
	}
	return &rep
}

// state loads (and so checks against its schema) the VM's state file; nil
// when there is none.
func (v *vm) state() *state.State {
	v.t.Helper()
	st, exists, err := state.Load(filepath.Join(v.root, state.DefaultPath))
	if err != nil {
		v.t.Fatalf("state file: %v", err)
	}
	if !exists {
		return nil
	}
	return st
}

// pkgs maps "name:arch" to "version status" for every package dpkg knows.
func (v *vm) pkgs() map[string]string {
	v.t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(v.packages()), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 {
			out[f[0]] = f[1] + " " + f[2]
		}
	}
	return out
}

func (v *vm) auditClean() {
	v.t.Helper()
	if audit := v.mustExec("dpkg", "--audit"); strings.TrimSpace(audit) != "" {
		v.t.Errorf("dpkg --audit: %s", audit)
	}
}

// exists reports whether a path exists in the VM (links not followed).
func (v *vm) exists(p string) bool {
	_, err := os.Lstat(filepath.Join(v.root, p))
	return err == nil
}

// killed reports whether err is runtimectl's exit by SIGKILL, as the
// fault injection makes it.
func killed(err error) bool {
	ee, ok := err.(*exec.ExitError)
	return ok && (ee.ExitCode() == 137 || strings.Contains(ee.Error(), "killed"))
}

func runtimeByName(rep *executor.Report, name string) *executor.RuntimeReport {
	for i := range rep.Runtimes {
		if rep.Runtimes[i].Name == name {
			return &rep.Runtimes[i]
		}
	}
	return nil
}

func stateRuntime(st *state.State, name string) *state.Runtime {
	for i := range st.Runtimes {
		if st.Runtimes[i].Name == name {
			return &st.Runtimes[i]
		}
	}
	return nil
}

// checkAllHealthy checks a status report: the runtimes are the wanted
// ones, every service is up with a pid, and every health check passed.
func checkAllHealthy(t *testing.T, rep *executor.Report, names ...string) {
	t.Helper()
	var got []string
	for _, rt := range rep.Runtimes {
		got = append(got, rt.Name)
		if len(rt.Health) == 0 {
			t.Errorf("status: runtime %s has no health check", rt.Name)
		}
		for _, s := range rt.Services {
			if !s.Up || s.PID <= 1 || s.State != "run" || !s.Supervised || s.Error != "" {
				t.Errorf("status: service %s of %s is not up: %+v", s.Name, rt.Name, s)
			}
		}
		for _, h := range rt.Health {
			if !h.Healthy {
				t.Errorf("status: health check %s of %s fails: %+v", h.Name, rt.Name, h)
			}
		}
	}
	if !slices.Equal(got, names) {
		t.Errorf("status lists runtimes %v, want %v", got, names)
	}
	if !rep.Healthy || rep.Interrupted != nil {
		t.Errorf("status is not healthy: %+v", rep)
	}
}

// planPackages lists "name:arch" -> version for the packages a plan's
// install steps install.
func planPackages(p *plan.Plan) map[string]string {
	out := map[string]string{}
	for _, s := range p.Steps {
		if in, ok := s.Inputs.(*plan.InstallPackages); ok {
			for _, pk := range in.Packages {
				out[pk.Name+":"+pk.Arch] = pk.Version
			}
		}
	}
	return out
}

// recordedRuntimes returns the runtimes the plan's record-state step
// writes.
func recordedRuntimes(t *testing.T, p *plan.Plan) []state.Runtime {
	t.Helper()
	for _, s := range p.Steps {
		if in, ok := s.Inputs.(*plan.RecordState); ok {
			return in.Runtimes
		}
	}
	t.Fatal("the plan has no record-state step")
	return nil
}

// checkPlanApplied checks that the VM is fully as after the plan: every
// package installed at its planned version, the state's runtimes those of
// the plan's record-state step (the state file valid), no journal left,
// and dpkg --audit clean.
func checkPlanApplied(t *testing.T, v *vm, p *plan.Plan, serial int64) {
	t.Helper()
	pk := v.pkgs()
	for key, ver := range planPackages(p) {
		if got := pk[key]; got != ver+" ii" {
			t.Errorf("package %s: %q, want %s installed", key, got, ver)
		}
	}
	st := v.state()
	if st == nil {
		t.Fatal("no state file after the apply")
	}
	if st.Serial != serial || st.Target != p.Target.Name || st.Lineage == "" {
		t.Errorf("state: serial %d, target %s, lineage %q; want serial %d, target %s", st.Serial, st.Target, st.Lineage, serial, p.Target.Name)
	}
	if d := cmp.Diff(recordedRuntimes(t, p), st.Runtimes, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("state runtimes differ from the plan's record-state (-plan +state):\n%s", d)
	}
	for _, f := range []string{"var/lib/runtimekit/journal.json", "var/lib/runtimekit/backup", "usr/sbin/policy-rc.d"} {
		if v.exists(f) {
			t.Errorf("%s is left after the apply", f)
		}
	}
	v.auditClean()
}

// TestE2EAddRemoveRuntimes starts from nginx applied, adds node and
// python with a plan made on the host against the machine's state, kills
// nginx's master process under runit, and removes node again.
func TestE2EAddRemoveRuntimes(t *testing.T) {
	base, tl, planFile, bundleDir := e2eSetup(t)
	v := startVM(t, base, tl)
	v.apply(planFile, bundleDir)
	basePkgs := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(basePackages(t, base)), "\n") {
		basePkgs[strings.Fields(line)[0]] = true
	}

	// The machine's state, copied out to plan against it.
	stateOut := func(t *testing.T) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(v.root, state.DefaultPath))
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}

	// Add node and python: each is checked by an exec probe that runs it.
	addFile, add := tl.hostPlan(t, "--add", "node", "--add", "python", "--state", stateOut(t))
	if add.State.Serial != 1 {
		t.Fatalf("the plan was made against serial %d, want 1", add.State.Serial)
	}
	addBundle := tl.hostBundle(t, addFile)
	if !t.Run("add node and python", func(t *testing.T) {
		defer v.in(t)()
		progress := v.apply(addFile, addBundle)
		for _, id := range []string{"wait-health:node/node-runs", "wait-health:python/python-runs"} {
			if !strings.Contains(progress, "] "+id) {
				t.Errorf("the apply did not run %s", id)
			}
		}
		checkPlanApplied(t, v, add, 2)
		rep := v.status()
		checkAllHealthy(t, rep, "nginx", "node", "python")
		for _, name := range []string{"node", "python"} {
			rt := runtimeByName(rep, name)
			if rt == nil || len(rt.Health) != 1 || rt.Health[0].Kind != "exec" || len(rt.Services) != 0 {
				t.Errorf("status of %s: want one exec health check and no service: %+v", name, rt)
			}
		}
		if rt := runtimeByName(rep, "nginx"); rt == nil || len(rt.Services) != 1 || len(rt.Health) != 1 || rt.Health[0].Kind != "http" {
			t.Errorf("status of nginx: %+v", rt)
		}
		if got := v.mustExec("/httpget", "http://127.0.0.1:80/"); !strings.HasPrefix(got, "200\n") {
			t.Errorf("GET /: %q", got)
		}
	}) {
		return
	}

	// kill -9 nginx's master: runsv starts it again.
	t.Run("kill -9 nginx", func(t *testing.T) {
		defer v.in(t)()
		nginx := runtimeByName(v.status(), "nginx")
		if nginx == nil || len(nginx.Services) != 1 || !nginx.Services[0].Up {
			t.Fatalf("nginx is not up: %+v", nginx)
		}
		old := nginx.Services[0].PID
		if comm := strings.TrimSpace(v.mustExec("cat", "/proc/"+strconv.Itoa(old)+"/comm")); comm != "nginx" {
			t.Fatalf("the service's pid %d is %q, not nginx's master", old, comm)
		}
		v.mustExec("/bin/sh", "-c", "kill -9 "+strconv.Itoa(old))
		deadline := time.Now().Add(60 * time.Second)
		var rep *executor.Report
		for {
			rep = v.status()
			if rt := runtimeByName(rep, "nginx"); rt != nil && len(rt.Services) == 1 {
				s := rt.Services[0]
				if s.Up && s.PID > 1 && s.PID != old && rep.Healthy {
					t.Logf("nginx restarted: pid %d -> %d", old, s.PID)
					break
				}
			}
			if time.Now().After(deadline) {
				st, _, _ := v.exec("/runtimectl", "status")
				logs, _, _ := v.exec("/runtimectl", "logs", "nginx")
				t.Fatalf("nginx was not restarted with a new pid and healthy within 60s:\n%s\nlogs:\n%s", st, logs)
			}
			time.Sleep(250 * time.Millisecond)
		}
		checkAllHealthy(t, rep, "nginx", "node", "python")
		if got := v.mustExec("/httpget", "http://127.0.0.1:80/"); !strings.HasPrefix(got, "200\n") {
			t.Errorf("GET / after the restart: %q", got)
		}
	})

	// Remove node, planned on the host against the machine's state.
	t.Run("remove node", func(t *testing.T) {
		defer v.in(t)()
		st := v.state()
		before := v.pkgs()
		others := map[string]bool{}
		for _, rt := range st.Runtimes {
			if rt.Name != "node" {
				for _, p := range rt.Packages {
					others[p.Name+":"+p.Arch] = true
				}
			}
		}
		node := stateRuntime(st, "node")
		if node == nil || len(node.Packages) == 0 {
			t.Fatalf("the state lists no packages for node: %+v", node)
		}
		gone := map[string]bool{}
		var shared []string
		for _, p := range node.Packages {
			k := p.Name + ":" + p.Arch
			if others[k] || basePkgs[k] {
				shared = append(shared, k)
			} else {
				gone[k] = true
			}
		}
		t.Logf("node's packages: %d; needed by nginx, python or the base system too: %v", len(node.Packages), shared)
		if len(shared) == 0 {
			// Else this does not check that shared packages stay.
			t.Errorf("none of node's packages is needed by another runtime or the base system")
		}

		rmFile, rm := tl.hostPlan(t, "--remove", "node", "--state", stateOut(t))
		var planned []string
		for _, s := range rm.Steps {
			if in, ok := s.Inputs.(*plan.RemovePackages); ok {
				for _, p := range in.Packages {
					planned = append(planned, p.Name+":"+p.Arch)
				}
			}
		}
		sort.Strings(planned)
		if want := slices.Sorted(maps.Keys(gone)); !slices.Equal(planned, want) {
			t.Errorf("the plan removes %v, want node's packages no other runtime nor the base needs: %v", planned, want)
		}
		// The bundle of the add: what an undo would reinstall from.
		v.apply(rmFile, addBundle)

		after := v.pkgs()
		for k, was := range before {
			switch {
			case gone[k]:
				if s, ok := after[k]; ok && !strings.HasSuffix(s, " un") && !strings.HasSuffix(s, " pn") {
					t.Errorf("package %s of node is still there: %s", k, s)
				}
			case after[k] != was:
				t.Errorf("package %s: %q after the removal, was %q", k, after[k], was)
			}
		}
		for k := range after {
			if _, ok := before[k]; !ok {
				t.Errorf("package %s appeared", k)
			}
		}
		v.auditClean()
		if v.exists("usr/bin/node") || v.exists("usr/bin/nodejs") {
			t.Errorf("node's binary is still there")
		}
		got := v.state()
		if got.Serial != 3 || stateRuntime(got, "node") != nil {
			t.Errorf("state after the removal: serial %d, runtimes %v", got.Serial, got.Runtimes)
		}
		if d := cmp.Diff(recordedRuntimes(t, rm), got.Runtimes, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("state runtimes differ from the plan's record-state (-plan +state):\n%s", d)
		}
		checkAllHealthy(t, v.status(), "nginx", "python")
	})
}

// in makes the VM's helpers report to t until the returned function runs.
func (v *vm) in(t *testing.T) func() {
	old := v.t
	v.t = t
	return func() { v.t = old }
}

// crashCase is one run of TestE2ECrashPoints.
type crashCase struct {
	at     string // RUNTIMEKIT_CRASH_AT of the apply
	reboot bool   // the VM stops (every process dies) before the recover
	// recoverAt is the RUNTIMEKIT_CRASH_AT of a first recover (with
	// --resume when recoverResume), killed there too; a second one then
	// finishes.
	recoverAt     string
	recoverResume bool
	resume        bool // the (last) recover has --resume
	after         bool // the outcome is the plan applied (else rolled back)
}

func (c crashCase) name() string {
	n := strings.ReplaceAll(c.at, "/", "_")
	if c.recoverAt != "" {
		n += "+recover"
		if c.recoverResume {
			n += "-resume"
		}
		n += "@" + strings.ReplaceAll(c.recoverAt, "/", "_")
	}
	if c.resume {
		n += "+resume"
	}
	if c.reboot {
		n += "+reboot"
	}
	return n
}

// crashCases derives the crash points from the plan's steps: before,
// after and done of every step, and the dpkg phases (unpack: dpkg killed
// while unpacking; unpacked: between the unpack and the configure;
// configure: dpkg killed while configuring) of every install-packages
// step. Recover rolls back, but with --resume at the points after dpkg's
// unpack and before each service start and health wait; every other
// point also stops the VM before the recover, as a closed browser tab
// does. A few more cases crash the recover itself: in the middle of a
// rollback (inside dpkg's purge, after undoing a service start) and of a
// resume.
func crashCases(p *plan.Plan) []crashCase {
	var out []crashCase
	last := p.Steps[len(p.Steps)-1].ID
	for _, s := range p.Steps {
		phases := []string{"before", "after", "done"}
		if s.Kind() == plan.KindInstallPackages {
			phases = []string{"before", "unpack", "unpacked", "configure", "after", "done"}
		}
		for _, ph := range phases {
			c := crashCase{at: s.ID + ":" + ph, reboot: len(out)%2 == 1}
			switch {
			case ph == "unpacked" || ph == "configure":
				c.resume = true
			case ph == "before" && (s.Kind() == plan.KindStartService || s.Kind() == plan.KindWaitHealth):
				c.resume = true
			}
			// Once the last step is done, only closing the journal is
			// left: recover finishes the apply.
			c.after = c.resume || (s.ID == last && ph == "done")
			out = append(out, c)
		}
	}
	var install, lastHealth, firstStart string
	for _, s := range p.Steps {
		switch s.Kind() {
		case plan.KindInstallPackages:
			install = s.ID
		case plan.KindWaitHealth:
			lastHealth = s.ID
		case plan.KindStartService:
			if firstStart == "" {
				firstStart = s.ID
			}
		}
	}
	return append(out,
		// The rollback is cut inside dpkg --purge; the next recover
		// finishes it.
		crashCase{at: lastHealth + ":before", recoverAt: install + ":purge"},
		// The rollback is cut after undoing a service start; a recover
		// --resume finishes the rollback rather than the apply.
		crashCase{at: last + ":after", recoverAt: firstStart + ":undone", resume: true, reboot: true},
		// The resume is cut before a health wait; the next resume
		// finishes the apply.
		crashCase{at: install + ":before", recoverAt: lastHealth + ":before", recoverResume: true, resume: true, after: true},
	)
}

// TestE2ECrashPoints kills runtimectl (RUNTIMEKIT_CRASH_AT) at every step
// boundary of a nginx+node apply and inside its dpkg runs, then runs
// `runtimectl recover` (or `recover --resume`): the machine is then fully
// as before the apply or fully as after, dpkg --audit is clean and the
// state file valid. A rolled-back machine is as before, so the next point
// runs on it; after a finished apply the next point gets a fresh copy.
func TestE2ECrashPoints(t *testing.T) {
	base, tl, _, _ := e2eSetup(t)
	planFile, p := tl.hostPlan(t, "--add", "nginx", "--add", "node")
	bundleDir := tl.hostBundle(t, planFile)
	cases := crashCases(p)
	points := map[string]bool{}
	for _, c := range cases {
		points[c.at] = true
	}
	if len(points) < 20 {
		t.Fatalf("only %d crash points in the plan's %d steps, want at least 20", len(points), len(p.Steps))
	}
	t.Logf("%d crash points, %d cases", len(points), len(cases))

	var v *vm
	var snap map[string]string // of v, when known
	for _, c := range cases {
		if snap == nil {
			if v != nil {
				v.stop(v.cmd)
				_ = os.RemoveAll(v.root)
			}
			v = startVM(t, base, tl)
			v.put(planFile, "plan.json")
			v.put(bundleDir, "bundle")
			snap = v.snapshot()
		}
		parent := t
		ok := t.Run(c.name(), func(t *testing.T) {
			defer v.in(t)()
			snap = crashAndRecover(t, parent, v, c, p, snap)
		})
		if !ok || c.after {
			snap = nil
		}
	}
}

// crashAndRecover runs one case on v, whose snapshot is snapBefore, and
// returns the snapshot of v after a rollback.
func crashAndRecover(t, parent *testing.T, v *vm, c crashCase, p *plan.Plan, snapBefore map[string]string) map[string]string {
	pkgsBefore := v.packages()
	if v.exists("var/lib/runtimekit/state.json") {
		t.Fatal("the machine has a state before the apply")
	}
	start := time.Now()
	out, errOut, err := v.exec("env", "RUNTIMEKIT_CRASH_AT="+c.at, "/runtimectl", "apply", "/plan.json", "--bundle", "/bundle")
	if !killed(err) {
		t.Fatalf("apply with RUNTIMEKIT_CRASH_AT=%s: want a SIGKILL, got %v\n%s%s", c.at, err, out, errOut)
	}
	if st, _, _ := v.exec("/runtimectl", "status"); !strings.Contains(st, "was interrupted") {
		t.Errorf("status does not report the interrupted apply:\n%s", st)
	}
	if c.reboot {
		// The VM outlives the subtest: its cleanup is the parent's.
		restore := v.in(parent)
		v.reboot()
		restore()
	}
	recoverArgs := func(resume bool) []string {
		if resume {
			return []string{"/runtimectl", "recover", "--resume"}
		}
		return []string{"/runtimectl", "recover"}
	}
	if c.recoverAt != "" {
		out, errOut, err := v.exec(append([]string{"env", "RUNTIMEKIT_CRASH_AT=" + c.recoverAt}, recoverArgs(c.recoverResume)...)...)
		if !killed(err) {
			t.Fatalf("recover with RUNTIMEKIT_CRASH_AT=%s: want a SIGKILL, got %v\n%s%s", c.recoverAt, err, out, errOut)
		}
		t.Logf("recover killed at %s:\n%s%s", c.recoverAt, errOut, out)
	}
	args := recoverArgs(c.resume)
	out, errOut, err = v.exec(args...)
	t.Logf("%s (after %s of apply and crash):\n%s%s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), errOut, out)
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	if c.after {
		if !strings.Contains(out, "applied") {
			t.Errorf("recover did not finish the apply: %s", out)
		}
		checkPlanApplied(t, v, p, 1)
		waitHTTP(t, v, "http://127.0.0.1:80/")
		checkAllHealthy(t, v.status(), "nginx", "node")
		return nil
	}
	if !strings.Contains(out, "rolled back") {
		t.Errorf("recover did not roll back: %s", out)
	}
	if c.resume && !strings.Contains(errOut, "the rollback had already started") {
		t.Errorf("recover --resume after a cut rollback does not say it finished the rollback instead:\n%s", errOut)
	}
	return checkRolledBack(t, v, pkgsBefore, snapBefore, c.reboot)
}

// checkRolledBack checks that the VM is fully as before an apply to a
// fresh machine: the same packages, no state, no file of runtimekit's
// but its lock, no process but the namespace's init, dpkg --audit clean,
// and no other change than what dpkg's own install and purge leave. It
// returns the VM's snapshot.
func checkRolledBack(t *testing.T, v *vm, pkgsBefore string, snapBefore map[string]string, rebooted bool) map[string]string {
	t.Helper()
	if got := v.packages(); got != pkgsBefore {
		t.Errorf("packages after the rollback differ:\n%s", cmp.Diff(pkgsBefore, got))
	}
	v.auditClean()
	if v.state() != nil {
		t.Errorf("a state file is left after the rollback")
	}
	for _, p := range []string{"var/lib/runtimekit/journal.json", "var/lib/runtimekit/backup", "var/lib/runtimekit/state.json",
		"var/lib/runtimekit/state.json.prev", "usr/sbin/policy-rc.d", "etc/runtimekit", "srv/www", "var/log/runtimekit", "run/runtimekit"} {
		if v.exists(p) {
			t.Errorf("%s exists after the rollback", p)
		}
	}
	if left := v.processes(); len(left) != 1 { // the namespace's init
		t.Errorf("processes left running after the rollback: %v", left)
	}
	snap := v.snapshot()
	for _, p := range changed(snapBefore, snap) {
		// dpkg's logs, -old files and scratch directory (and, after dpkg
		// was killed, the temporary file of its updates journal);
		// update-alternatives' log (nodejs registers an alternative).
		// What maintainer scripts made outside their packages, which
		// dpkg --purge leaves, the rollback removes. When the VM stopped,
		// the pid files of the services it killed are left in /run: on
		// a machine with an init a tmpfs, emptied at boot, as done here.
		if rebooted && strings.HasPrefix(p, "run/") {
			if _, was := snapBefore[p]; !was {
				if err := os.RemoveAll(filepath.Join(v.root, p)); err != nil {
					t.Fatal(err)
				}
				delete(snap, p)
			}
			continue
		}
		if !strings.HasPrefix(p, "var/lib/runtimekit") && !strings.HasPrefix(p, "var/log/dpkg.log") &&
			!strings.HasPrefix(p, "var/log/alternatives.log") &&
			!strings.HasPrefix(p, "var/lib/dpkg/tmp.ci") && p != "var/lib/dpkg/updates/tmp.i" &&
			!strings.HasPrefix(p, "var/lib/dpkg/status-old") && !strings.HasPrefix(p, "var/cache/") {
			t.Errorf("changed after the rollback: %s", p)
		}
	}
	return snap
}

// waitHTTP waits (up to a minute) until url answers 200 in the VM.
func waitHTTP(t *testing.T, v *vm, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, _, err := v.exec("/httpget", url)
		if err == nil && strings.HasPrefix(got, "200\n") {
			return
		}
		if time.Now().After(deadline) {
			st, _, _ := v.exec("/runtimectl", "status")
			t.Fatalf("GET %s: %q %v\n%s", url, got, err, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestE2ERefusals runs plans that must be refused before anything changes,
// through `runtimectl apply` in the VM: a bundle with one corrupted .deb,
// a path with "..", a path through a symbolic link that escapes its
// directory, an unknown step kind, and a stale plan. Each is refused with
// a message naming what is wrong, and the root is unchanged: dpkg's status
// file byte for byte, and every file (type, mode, owner, content) but the
// plan and the bundle.
func TestE2ERefusals(t *testing.T) {
	base, tl, planFile, bundleDir := e2eSetup(t)
	p := readPlan(t, planFile)
	v := startVM(t, base, tl)
	// The lock file is made by the first command that takes the lock, as
	// the VM's start-up runs `runtimectl recover`; a refusal needs it too.
	if out := v.mustExec("/runtimectl", "recover"); !strings.Contains(out, "nothing to recover") {
		t.Fatalf("recover on a fresh machine: %s", out)
	}

	// edit returns a plan file with f applied to a copy of the plan.
	edit := func(f func(p *plan.Plan)) string {
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var c plan.Plan
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		f(&c)
		return writePlan(t, &c)
	}
	stepOf := func(p *plan.Plan, kind string, n int) *plan.Step {
		for i := range p.Steps {
			if p.Steps[i].Kind() == kind {
				if n == 0 {
					return &p.Steps[i]
				}
				n--
			}
		}
		t.Fatalf("the plan has no %s step", kind)
		return nil
	}
	var deb, debName string
	for _, a := range p.Artifacts {
		if a.Kind == plan.ArtifactDeb && a.Name == "nginx-light" {
			deb, debName = "bundle/debs/"+filepath.Base(a.Filename), filepath.Base(a.Filename)
		}
	}
	if deb == "" {
		t.Fatal("the plan has no nginx-light .deb")
	}
	site := stepOf(p, plan.KindWriteFile, 1).Inputs.(*plan.WriteFile).File.Path // in /srv/www
	if filepath.Dir(site) != "/srv/www" {
		t.Fatalf("the second file of the plan is %s, not in /srv/www", site)
	}
	// The schema's messages name a value by its JSON pointer.
	siteStep := "/steps/" + strconv.Itoa(slices.IndexFunc(p.Steps, func(s plan.Step) bool {
		in, ok := s.Inputs.(*plan.WriteFile)
		return ok && in.File.Path == site
	}))

	for _, tc := range []struct {
		name  string
		plan  string
		setup func(t *testing.T) // changes to the VM before the apply
		undo  func(t *testing.T) // what takes setup back afterwards
		want  []string           // in the message
	}{
		{
			name: "corrupted deb",
			plan: planFile,
			setup: func(t *testing.T) {
				f, err := os.OpenFile(filepath.Join(v.root, deb), os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				fi, err := f.Stat()
				if err != nil {
					t.Fatal(err)
				}
				b := make([]byte, 1)
				if _, err := f.ReadAt(b, fi.Size()/2); err != nil {
					t.Fatal(err)
				}
				b[0] ^= 0xff // same size: only the digest tells
				if _, err := f.WriteAt(b, fi.Size()/2); err != nil {
					t.Fatal(err)
				}
			},
			undo: func(t *testing.T) { v.put(bundleDir, "bundle") },
			want: []string{"plan refused, nothing was changed", debName, "sha256 is "},
		},
		{
			name: "dot-dot path",
			plan: edit(func(p *plan.Plan) {
				stepOf(p, plan.KindWriteFile, 1).Inputs.(*plan.WriteFile).File.Path = "/srv/www/../../etc/cron.d/evil"
			}),
			want: []string{"invalid plan", siteStep + "/inputs/file/path"},
		},
		{
			name: "symlink escaping to an absolute path",
			plan: planFile,
			setup: func(t *testing.T) {
				if err := os.Symlink("/etc", filepath.Join(v.root, "srv/www")); err != nil {
					t.Fatal(err)
				}
			},
			undo: func(t *testing.T) { _ = os.Remove(filepath.Join(v.root, "srv/www")) },
			want: []string{"plan refused, nothing was changed", site},
		},
		{
			name: "symlink escaping upwards",
			plan: planFile,
			setup: func(t *testing.T) {
				if err := os.Symlink("../../etc", filepath.Join(v.root, "srv/www")); err != nil {
					t.Fatal(err)
				}
			},
			undo: func(t *testing.T) { _ = os.Remove(filepath.Join(v.root, "srv/www")) },
			want: []string{"plan refused, nothing was changed", site},
		},
		{
			name: "unknown step kind",
			plan: func() string {
				// The kind is its inputs' type in Go: edited in the JSON.
				b, err := os.ReadFile(writePlan(t, p))
				if err != nil {
					t.Fatal(err)
				}
				from := fmt.Sprintf("\"id\": %q,\n      \"kind\": \"write-file\"", "write-file:"+site)
				bad := strings.Replace(string(b), from, strings.Replace(from, `"write-file"`, `"format-disk"`, 1), 1)
				if bad == string(b) {
					t.Fatalf("no step %s in the plan", "write-file:"+site)
				}
				file := filepath.Join(t.TempDir(), "plan.json")
				if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
					t.Fatal(err)
				}
				return file
			}(),
			want: []string{"invalid plan", siteStep + "/kind", `value must be one of "verify-bundle"`},
		},
		{
			name: "stale serial",
			plan: edit(func(p *plan.Plan) { p.State = plan.StateRef{Lineage: strings.Repeat("0123456789abcdef", 2), Serial: 4} }),
			want: []string{"plan refused, nothing was changed", "stale plan", "serial 4"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer v.in(t)()
			v.put(tc.plan, "plan.json")
			v.put(bundleDir, "bundle")
			if tc.setup != nil {
				tc.setup(t)
			}
			if tc.undo != nil {
				defer tc.undo(t)
			}
			refused(t, v, tc.want...)
		})
	}

	// A plan applied already is stale: the machine's serial moved on.
	t.Run("stale plan applied again", func(t *testing.T) {
		defer v.in(t)()
		v.apply(planFile, bundleDir)
		refused(t, v, "plan refused, nothing was changed", "stale plan", "serial 0", "serial 1")
	})
}

// refused runs `runtimectl apply /plan.json --bundle /bundle` and checks
// that it is refused (exit status 1) with a message holding each of want,
// and that nothing changed in the root.
func refused(t *testing.T, v *vm, want ...string) {
	t.Helper()
	status := filepath.Join(v.root, "var/lib/dpkg/status")
	dpkgBefore, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	before, procs := v.snapshot(), len(v.processes())
	out, errOut, err := v.exec("/runtimectl", "apply", "/plan.json", "--bundle", "/bundle")
	t.Logf("runtimectl apply:\n%s%s", errOut, out)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("apply: want a refusal (exit status 1), got %v", err)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("the message does not say %q", w)
		}
	}
	if strings.Contains(errOut, "[1/") {
		t.Errorf("a step ran")
	}
	dpkgAfter, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dpkgBefore, dpkgAfter) {
		t.Errorf("dpkg's status file changed")
	}
	if d := changed(before, v.snapshot()); len(d) > 0 {
		t.Errorf("the refused apply changed the root:\n%s", strings.Join(d, "\n"))
	}
	if n := len(v.processes()); n != procs {
		t.Errorf("%d processes in the VM after the refusal, %d before", n, procs)
	}
}
