package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// testLogger logs to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestInstallFiles checks the files Install writes and rewrites, without
// runit processes.
func TestInstallFiles(t *testing.T) {
	root := t.TempDir()
	r := &Runit{Root: root, Logger: testLogger(t)}
	ctx := t.Context()
	svc := state.Service{Name: "api", Argv: []string{"/bin/api"}, User: "root", Restart: RestartOnFailure, StopSignal: "QUIT"}
	if err := r.Install(ctx, svc); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "etc/runtimekit/sv/api")
	if r.Dir("api") != dir {
		t.Errorf("Dir = %s, want %s", r.Dir("api"), dir)
	}
	files := func() map[string]string {
		got := map[string]string{}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == root {
				return err
			}
			fi, _ := d.Info()
			rel, _ := filepath.Rel(root, p)
			got[rel] = fi.Mode().String()
			return nil
		})
		return got
	}
	want := map[string]string{
		"etc":                                   "drwxr-xr-x",
		"etc/runtimekit":                        "drwxr-xr-x",
		"etc/runtimekit/sv":                     "drwxr-xr-x",
		"etc/runtimekit/sv/api":                 "drwxr-xr-x",
		"etc/runtimekit/sv/api/run":             "-rwxr-xr-x",
		"etc/runtimekit/sv/api/finish":          "-rwxr-xr-x",
		"etc/runtimekit/sv/api/control":         "drwxr-xr-x",
		"etc/runtimekit/sv/api/control/t":       "-rwxr-xr-x",
		"etc/runtimekit/sv/api/log":             "drwxr-xr-x",
		"etc/runtimekit/sv/api/log/run":         "-rwxr-xr-x",
		"etc/runtimekit/sv/api/runtimekit.json": "-rw-r--r--",
		"var":                                   "drwxr-xr-x",
		"var/log":                               "drwxr-xr-x",
		"var/log/runtimekit":                    "drwxr-xr-x",
		"var/log/runtimekit/api":                "drwxr-x---",
	}
	if diff := cmp.Diff(want, files()); diff != "" {
		t.Errorf("installed files (-want +got):\n%s", diff)
	}
	logRun, _ := os.ReadFile(filepath.Join(dir, "log/run"))
	if !bytes.Contains(logRun, []byte("svlogd -tt '"+filepath.Join(root, "var/log/runtimekit/api")+"'")) {
		t.Errorf("log/run does not use the log directory under Root:\n%s", logRun)
	}

	// Reinstall as restart=never with TERM: finish and control/t go, down comes.
	svc.Restart, svc.StopSignal = RestartNever, ""
	if err := r.Install(ctx, svc); err != nil {
		t.Fatal(err)
	}
	got := files()
	for _, gone := range []string{"etc/runtimekit/sv/api/finish", "etc/runtimekit/sv/api/control/t"} {
		if _, ok := got[gone]; ok {
			t.Errorf("%s left after reinstall", gone)
		}
	}
	if got["etc/runtimekit/sv/api/down"] != "-rw-r--r--" {
		t.Errorf("no down file after reinstall as restart=never")
	}
	if d := stopTimeout(dir); d != DefaultStopTimeout {
		t.Errorf("stop timeout %s, want the default", d)
	}

	st, err := r.Status(ctx, "api")
	if err != nil {
		t.Fatal(err)
	}
	if st.Supervised || st.Enabled || st.Up || st.NormallyUp || st.State != StateDown {
		t.Errorf("status of an installed, unsupervised service: %+v", st)
	}
	// Enabling with no runsvdir: the link is made, and the error says why
	// the wait is pointless.
	if err := r.Enable(ctx, "api"); !errors.Is(err, ErrNoSupervisor) {
		t.Errorf("Enable without runsvdir = %v, want ErrNoSupervisor", err)
	}
	if target, err := os.Readlink(filepath.Join(root, "etc/runtimekit/service/api")); err != nil || target != dir {
		t.Errorf("link = %q, %v; want %s", target, err, dir)
	}
	// Stop, Disable and Remove need no runsv.
	if err := r.Stop(ctx, "api"); err != nil {
		t.Error(err)
	}
	if err := r.Remove(ctx, "api"); err != nil {
		t.Fatal(err)
	}
	got = files()
	for p := range got {
		if strings.HasPrefix(p, "etc/runtimekit/sv/api") || strings.HasPrefix(p, "var/log/runtimekit/api") || p == "etc/runtimekit/service/api" {
			t.Errorf("%s left after Remove", p)
		}
	}

	if _, err := r.Status(ctx, "api"); !errors.Is(err, ErrNotInstalled) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Status of a removed service = %v, want ErrNotInstalled and fs.ErrNotExist", err)
	}
	for _, op := range []func(context.Context, string) error{r.Start, r.Stop, r.Restart, r.Enable} {
		if err := op(ctx, "api"); !errors.Is(err, ErrNotInstalled) {
			t.Errorf("operation on a removed service = %v, want ErrNotInstalled", err)
		}
	}
	if err := r.Remove(ctx, "api"); err != nil {
		t.Errorf("Remove of a removed service = %v, want nil", err)
	}
	if err := r.Start(ctx, "../etc"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Start(../etc) = %v, want ErrInvalid", err)
	}
	if err := r.Install(ctx, state.Service{Name: "x"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Install with no argv = %v, want ErrInvalid", err)
	}
}

// rig is a runsvdir with its files under a temporary root, shared by the
// subtests of TestRunit.
type rig struct {
	root   string
	out    string // a directory every service may write to
	helper string // the helper service binary
	pid    int    // runsvdir, leader of the session of every runit process
}

// runit returns a Runit on the rig's root that logs to t.
func (g *rig) runit(t *testing.T) *Runit {
	return &Runit{Root: g.root, PollInterval: 20 * time.Millisecond, ScanTimeout: 20 * time.Second, Logger: testLogger(t)}
}

// service returns a helper service definition; env adds to its environment.
func (g *rig) service(name string, env map[string]string) state.Service {
	e := map[string]string{
		"HELPER_NAME": name,
		"HELPER_LOG":  filepath.Join(g.out, name+".log"),
		helperEnv:     "1",
	}
	for k, v := range env {
		e[k] = v
	}
	return state.Service{Name: name, Argv: []string{g.helper}, User: "root", Env: e, StopTimeout: unit.Duration(5 * time.Second)}
}

// events returns the lines the helper service name logged.
func (g *rig) events(name string) []string {
	b, _ := os.ReadFile(filepath.Join(g.out, name+".log"))
	return strings.Fields(strings.ReplaceAll(string(b), " ", "_"))
}

// count returns how many events start with prefix.
func (g *rig) count(name, prefix string) int {
	n := 0
	for _, e := range g.events(name) {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

// eventually polls cond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// proc is a process seen in /proc.
type proc struct {
	pid, ppid, sid int
	comm           string
	state          byte
}

func (p proc) String() string {
	return fmt.Sprintf("%d(%s %c ppid %d sid %d)", p.pid, p.comm, p.state, p.ppid, p.sid)
}

// procs lists the processes in /proc that match keep.
func procs(keep func(proc) bool) []proc {
	var out []proc
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(string(b[j+2:]))
		if len(f) < 4 {
			continue
		}
		p := proc{pid: pid, comm: string(b[i+1 : j]), state: f[0][0]}
		p.ppid, _ = strconv.Atoi(f[1])
		p.sid, _ = strconv.Atoi(f[3])
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// serviceProcs lists the processes of service name: its runsv, and the
// helper processes whose environment names it.
func serviceProcs(name string) []proc {
	return procs(func(p proc) bool {
		args, _ := procArgs(p.pid)
		if len(args) == 2 && args[0] == "runsv" && args[1] == name {
			return true
		}
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.pid))
		return bytes.Contains(env, []byte("\x00HELPER_NAME="+name+"\x00")) || bytes.HasPrefix(env, []byte("HELPER_NAME="+name+"\x00"))
	})
}

// reap collects exited children (this process is a subreaper, see TestMain).
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// teardown stops the supervision tree the way a shutdown would (SIGHUP:
// runsvdir sends SIGTERM to every runsv, which stops its service and its
// svlogd), then kills what is left, and checks that no process of the
// session remains.
func (g *rig) teardown(t *testing.T) {
	inSession := func(p proc) bool { return p.sid == g.pid }
	syscall.Kill(g.pid, syscall.SIGHUP)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		reap()
		if len(procs(inSession)) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	left := procs(inSession)
	t.Errorf("processes left 15s after SIGHUP to runsvdir: %v; killing them", left)
	for _, p := range left {
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
	for range 100 {
		reap()
		if len(procs(inSession)) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("processes left after SIGKILL: %v", procs(inSession))
}

// newRig starts a runsvdir on a temporary root; its cleanup stops every
// process it started and removes the root.
func newRig(t *testing.T) *rig {
	testenv.RequireE2E(t)
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "runsvdir", "runsv", "chpst", "svlogd")
	root, err := os.MkdirTemp("", "runtimekit-service-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) }) // runs last
	g := &rig{root: root, out: filepath.Join(root, "out"), helper: filepath.Join(root, "bin", "svc-helper")}
	// Readable and writable by the unprivileged service users too.
	for _, d := range []string{root, filepath.Dir(g.helper), g.out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(root, 0o755)
	os.Chmod(g.out, 0o777)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(g.helper, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}

	r := g.runit(t)
	g.pid, err = r.EnsureSupervisor(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.teardown(t) })
	return g
}

func TestRunit(t *testing.T) {
	g := newRig(t)

	t.Run("supervisor", func(t *testing.T) {
		r := g.runit(t)
		if pid, err := r.EnsureSupervisor(t.Context()); err != nil || pid != g.pid {
			t.Errorf("second EnsureSupervisor = %d, %v; want the running %d", pid, err, g.pid)
		}
		// A stale pid file (this process is no runsvdir): the runsvdir
		// running on the scan directory is found and recorded again.
		pidFile := filepath.Join(g.root, "run/runtimekit/runsvdir.pid")
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if pid, err := r.EnsureSupervisor(t.Context()); err != nil || pid != g.pid {
			t.Errorf("EnsureSupervisor with a stale pid file = %d, %v; want %d", pid, err, g.pid)
		}
		if b, _ := os.ReadFile(pidFile); strings.TrimSpace(string(b)) != strconv.Itoa(g.pid) {
			t.Errorf("pid file holds %q, want %d", b, g.pid)
		}
		if n := len(procs(func(p proc) bool {
			return p.comm == "runsvdir" && isRunsvdir(p.pid, r.seenScanDir(), r.supervisorRoot())
		})); n != 1 {
			t.Errorf("%d runsvdirs on the scan directory, want 1", n)
		}
	})

	t.Run("http service", func(t *testing.T) {
		t.Parallel()
		r, ctx := g.runit(t), t.Context()
		hp := closedPort(t)
		svc := g.service("web", map[string]string{
			"HELPER_PORT":   strconv.Itoa(hp),
			"HELPER_REPORT": filepath.Join(g.out, "web.json"),
			"ODD":           "it's \"quoted\" $HOME `id` \\ \n second line",
		})
		svc.Argv = append(svc.Argv, "two words", "it's", "", "$PATH")
		svc.User = "nobody"
		svc.Workdir = g.out
		if err := r.Install(ctx, svc); err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx, "web"); err != nil {
			t.Fatal(err)
		}
		hc := state.HealthCheck{Name: "web-http", Kind: state.HealthHTTP, Port: hp, Path: "/healthz", Body: "ok from",
			Interval: unit.Duration(50 * time.Millisecond), Timeout: unit.Duration(time.Second), Retries: 40}
		if err := Wait(ctx, hc, testLogger(t)); err != nil {
			t.Fatal(err)
		}
		st, err := r.Status(ctx, "web")
		if err != nil {
			t.Fatal(err)
		}
		if !st.Up || st.PID == 0 || !st.WantUp || !st.NormallyUp || !st.Enabled || !st.Supervised || st.State != StateRun {
			t.Errorf("status of a running service: %+v", st)
		}
		if age := time.Since(st.Since); age < 0 || age > time.Minute {
			t.Errorf("Since = %s, %s ago", st.Since, age)
		}

		// The process runit runs: the argv, user, directory and exactly
		// the environment of the definition.
		var rep helperReport
		b, err := os.ReadFile(filepath.Join(g.out, "web.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.UID != 65534 || rep.Cwd != g.out {
			t.Errorf("uid %d in %s, want nobody (65534) in %s", rep.UID, rep.Cwd, g.out)
		}
		if diff := cmp.Diff(svc.Argv, rep.Args); diff != "" {
			t.Errorf("argv (-want +got):\n%s", diff)
		}
		var wantEnv []string
		for k, v := range svc.Env {
			wantEnv = append(wantEnv, k+"="+v)
		}
		wantEnv = append(wantEnv, "PATH="+DefaultPath)
		slices.Sort(wantEnv)
		slices.Sort(rep.Env)
		if diff := cmp.Diff(wantEnv, rep.Env); diff != "" {
			t.Errorf("environment (-want +got):\n%s", diff)
		}
		if pid := g.count("web", "start_"); pid != 1 {
			t.Errorf("%d starts, want 1", pid)
		}

		// svlogd writes the service's output, with timestamps.
		eventually(t, 10*time.Second, "no output in the svlogd log", func() bool {
			b, _ := os.ReadFile(filepath.Join(r.LogPath("web"), "current"))
			return bytes.Contains(b, []byte(fmt.Sprintf("helper serving on 127.0.0.1:%d", hp)))
		})
		b, _ = os.ReadFile(filepath.Join(r.LogPath("web"), "current"))
		if !bytes.HasPrefix(b, []byte("20")) || b[10] != '_' {
			t.Errorf("log lines lack svlogd -tt timestamps:\n%s", b)
		}

		// kill -9: runsv starts it again, with a new pid.
		old := st.PID
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "not restarted after kill -9", func() bool {
			st, err = r.Status(ctx, "web")
			return err == nil && st.Up && st.PID != old && st.PID != 0
		})
		if err := Wait(ctx, hc, nil); err != nil {
			t.Fatal(err)
		}

		// Restart: a new process again.
		old = st.PID
		if err := r.Restart(ctx, "web"); err != nil {
			t.Fatal(err)
		}
		if st, _ = r.Status(ctx, "web"); !st.Up || st.PID == old {
			t.Errorf("after Restart: %+v (pid before %d)", st, old)
		}
		if err := Wait(ctx, hc, nil); err != nil {
			t.Fatal(err)
		}
		if n := g.count("web", "signal_TERM"); n != 1 {
			t.Errorf("%d TERM signals after Restart, want 1: %v", n, g.events("web"))
		}

		// Stop: down, not wanted up, port closed.
		if err := r.Stop(ctx, "web"); err != nil {
			t.Fatal(err)
		}
		if st, _ = r.Status(ctx, "web"); st.Up || st.WantUp || st.PID != 0 || !st.Supervised {
			t.Errorf("after Stop: %+v", st)
		}
		if res, _ := Probe(ctx, hc); res.Healthy || res.Reason != "connection refused" {
			t.Errorf("probe after Stop: %s", res)
		}
		if err := r.Start(ctx, "web"); err != nil {
			t.Fatal(err)
		}
		if err := Wait(ctx, hc, nil); err != nil {
			t.Fatal(err)
		}

		// Remove: no files, no processes.
		if err := r.Remove(ctx, "web"); err != nil {
			t.Fatal(err)
		}
		checkRemoved(t, r, "web")
	})

	t.Run("stop signal", func(t *testing.T) {
		t.Parallel()
		for _, sig := range []string{"INT", "USR1", "HUP"} {
			t.Run(sig, func(t *testing.T) {
				t.Parallel()
				r, ctx := g.runit(t), t.Context()
				name := "sig-" + strings.ToLower(sig)
				svc := g.service(name, nil)
				svc.StopSignal = sig
				if err := r.Install(ctx, svc); err != nil {
					t.Fatal(err)
				}
				if err := r.Start(ctx, name); err != nil {
					t.Fatal(err)
				}
				eventually(t, 10*time.Second, "helper not ready", func() bool { return g.count(name, "ready_") == 1 })
				start := time.Now()
				if err := r.Stop(ctx, name); err != nil {
					t.Fatal(err)
				}
				if took := time.Since(start); took > 4*time.Second {
					t.Errorf("Stop took %s: the signal did not stop it", took)
				}
				if got := g.count(name, "signal_"); got != 1 || g.count(name, "signal_"+sig) != 1 {
					t.Errorf("events %v, want exactly one signal, %s", g.events(name), sig)
				}
				if err := r.Remove(ctx, name); err != nil {
					t.Fatal(err)
				}
				checkRemoved(t, r, name)
			})
		}
	})

	t.Run("stop timeout kills", func(t *testing.T) {
		t.Parallel()
		r, ctx := g.runit(t), t.Context()
		svc := g.service("stubborn", map[string]string{"HELPER_IGNORE": "1"})
		svc.StopTimeout = unit.Duration(700 * time.Millisecond)
		if err := r.Install(ctx, svc); err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx, "stubborn"); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "helper not ready", func() bool { return g.count("stubborn", "ready_") == 1 })
		start := time.Now()
		if err := r.Stop(ctx, "stubborn"); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 700*time.Millisecond || took > 5*time.Second {
			t.Errorf("Stop took %s, want the 700ms stop timeout, then SIGKILL", took)
		}
		if g.count("stubborn", "signal_TERM") != 1 {
			t.Errorf("events %v, want the TERM it ignored", g.events("stubborn"))
		}
		if st, _ := r.Status(ctx, "stubborn"); st.Up || st.PID != 0 {
			t.Errorf("after Stop: %+v", st)
		}
		if err := r.Remove(ctx, "stubborn"); err != nil {
			t.Fatal(err)
		}
		checkRemoved(t, r, "stubborn")
	})

	t.Run("restart policies", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name      string
			restart   unit.RestartPolicy
			exit      string
			restarted bool
		}{
			{"always-clean", RestartAlways, "0", true},
			{"onfail-crash", RestartOnFailure, "3", true},
			{"onfail-clean", RestartOnFailure, "0", false},
			{"never-crash", RestartNever, "3", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r, ctx := g.runit(t), t.Context()
				svc := g.service(tc.name, map[string]string{"HELPER_EXIT": tc.exit})
				svc.Restart = tc.restart
				if err := r.Install(ctx, svc); err != nil {
					t.Fatal(err)
				}
				if err := r.Enable(ctx, tc.name); err != nil {
					t.Fatal(err)
				}
				if tc.restart == RestartNever {
					// Enabled, supervised, not started.
					time.Sleep(500 * time.Millisecond)
					st, _ := r.Status(ctx, tc.name)
					if n := g.count(tc.name, "start_"); n != 0 || st.Up || st.WantUp || st.NormallyUp || !st.Supervised {
						t.Fatalf("restart=never after Enable: %d starts, %+v", n, st)
					}
				}
				if err := r.Start(ctx, tc.name); err != nil {
					t.Fatal(err)
				}
				if tc.restarted {
					// runsv restarts at most once a second.
					eventually(t, 10*time.Second, "not restarted", func() bool { return g.count(tc.name, "start_") >= 2 })
				} else {
					eventually(t, 10*time.Second, "did not exit", func() bool { return g.count(tc.name, "exit_") == 1 })
					time.Sleep(2500 * time.Millisecond)
					if n := g.count(tc.name, "start_"); n != 1 {
						t.Errorf("%d starts, want 1: %v", n, g.events(tc.name))
					}
					st, err := r.Status(ctx, tc.name)
					if err != nil || st.Up || st.WantUp || st.State != StateDown {
						t.Errorf("after a run that is not restarted: %+v, %v", st, err)
					}
					// Start runs it again.
					if err := r.Start(ctx, tc.name); err != nil {
						t.Fatal(err)
					}
					eventually(t, 10*time.Second, "not started again", func() bool { return g.count(tc.name, "start_") == 2 })
				}
				if err := r.Remove(ctx, tc.name); err != nil {
					t.Fatal(err)
				}
				checkRemoved(t, r, tc.name)
			})
		}
	})

	t.Run("failing health check", func(t *testing.T) {
		t.Parallel()
		r, ctx := g.runit(t), t.Context()
		hp := closedPort(t)
		svc := g.service("sick", map[string]string{"HELPER_PORT": strconv.Itoa(hp), "HELPER_STATUS": "503"})
		if err := r.Install(ctx, svc); err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx, "sick"); err != nil {
			t.Fatal(err)
		}
		hc := state.HealthCheck{Name: "sick-http", Kind: state.HealthHTTP, Service: "sick", Port: hp, Path: "/healthz",
			Interval: unit.Duration(100 * time.Millisecond), Timeout: unit.Duration(500 * time.Millisecond), Retries: 3, StartPeriod: unit.Duration(300 * time.Millisecond)}
		start := time.Now()
		err := Wait(ctx, hc, testLogger(t))
		// Budget: 300ms + 3 × (500ms + 100ms).
		if took := time.Since(start); took > 2100*time.Millisecond {
			t.Errorf("failed after %s, over its 2.1s budget", took)
		}
		var he *HealthError
		if !errors.As(err, &he) {
			t.Fatalf("Wait = %v, want a *HealthError", err)
		}
		msg := err.Error()
		for _, want := range []string{`health check "sick-http"`, fmt.Sprintf("GET http://127.0.0.1:%d/healthz", hp), "status 503, want 200"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not mention %q", msg, want)
			}
		}
		t.Log(msg)
		if err := r.Remove(ctx, "sick"); err != nil {
			t.Fatal(err)
		}
		checkRemoved(t, r, "sick")
	})
}

// checkRemoved checks that nothing of service name is left: no files, no
// link, no processes.
func checkRemoved(t *testing.T, r *Runit, name string) {
	t.Helper()
	for _, p := range []string{r.Dir(name), r.LogPath(name), r.link(name)} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left after Remove (%v)", p, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := serviceProcs(name)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes of %s left after Remove: %v", name, left)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCatches checks the SigCgt reading that decides whether runsvdir may
// be sent SIGALRM.
func TestCatches(t *testing.T) {
	if !catches(os.Getpid(), syscall.SIGURG) { // the Go runtime's preemption signal
		t.Error("this Go process does not catch SIGURG, per catches")
	}
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if catches(cmd.Process.Pid, syscall.SIGALRM) {
		t.Error("sleep catches SIGALRM, per catches")
	}
	if catches(-1, syscall.SIGALRM) {
		t.Error("no process catches SIGALRM, per catches")
	}
}
