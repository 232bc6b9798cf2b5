package executor_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/executor"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// The end-to-end tests run the real runtimectl (linux/386) in a copy of a
// debootstrapped i386 bookworm minbase root, inside new network, pid and
// mount namespaces (unshare): the network is provably absent (only the
// loopback exists), and killing the namespace's init at the end kills
// every process started in it (runsvdir, runsv, the services).
//
// The plan and the bundle are made on the host with the CLI, as a user
// would: `runtimectl plan --add nginx -o plan.json` and `runtimectl bundle
// --plan plan.json --out DIR`.

// tools are the binaries the tests need, built once.
type tools struct {
	host    string // runtimectl for the host, with the nginx, node and python plugins pinned beside it
	vm      string // runtimectl for linux/386, with the crash hook (-tags crashtest)
	httpget string // linux/386 helper: GET a URL
	cache   string
}

var (
	toolsOnce sync.Once
	built     *tools
	buildErr  error
)

// checkoutKey names this checkout of the repository: tools built from one
// checkout must not replace another's while its tests use them.
func checkoutKey(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(wd))
	return hex.EncodeToString(sum[:6])
}

func buildTools(t *testing.T) *tools {
	t.Helper()
	cache := testenv.CacheDir(t)
	toolsOnce.Do(func() {
		// A fixed place, rebuilt (incrementally) by every run: nothing to
		// clean up, and runs of this package take turns.
		dir := filepath.Join(cache, "e2e-tools-"+checkoutKey(t))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		lk := flock.New(dir + ".lock")
		if err := lk.Lock(); err != nil {
			buildErr = err
			return
		}
		defer lk.Unlock()
		tl := &tools{host: filepath.Join(dir, "host", "runtimectl"), vm: filepath.Join(dir, "runtimectl-386"),
			httpget: filepath.Join(dir, "httpget-386")}
		gobuild := func(env []string, args ...string) error {
			cmd := exec.Command("go", append([]string{"build", "-trimpath"}, args...)...)
			cmd.Dir = "."
			cmd.Env = append(os.Environ(), env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go build %v: %v\n%s", args, err, out)
			}
			return nil
		}
		i386 := []string{"GOOS=linux", "GOARCH=386", "CGO_ENABLED=0"}
		for _, b := range []struct {
			env  []string
			args []string
		}{
			{nil, []string{"-o", filepath.Dir(tl.host) + "/", "../../cmd/runtimectl", "../../plugins/nginx/cmd/runtimectl-plugin-nginx",
				"../../plugins/node/cmd/runtimectl-plugin-node", "../../plugins/python/cmd/runtimectl-plugin-python",
				"../../plugins/nextjs/cmd/runtimectl-plugin-nextjs"}},
			// crashtest: the crash tests kill this runtimectl with
			// RUNTIMEKIT_CRASH_AT, which builds without the tag ignore.
			{i386, []string{"-tags", "crashtest", "-ldflags=-s -w", "-o", tl.vm, "../../cmd/runtimectl"}},
			{i386, []string{"-o", tl.httpget, "./testdata/httpget"}},
		} {
			if buildErr = gobuild(b.env, b.args...); buildErr != nil {
				return
			}
		}
		built = tl
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	tl := *built
	tl.cache = filepath.Join(cache, "cli")
	if out, err := tl.runHost("plugins", "lock"); err != nil {
		t.Fatalf("runtimectl plugins lock: %v\n%s", err, out)
	}
	return &tl
}

func (tl *tools) runHost(args ...string) (string, error) {
	cmd := exec.Command(tl.host, args...)
	cmd.Env = append(os.Environ(), "RUNTIMECTL_CACHE_DIR="+tl.cache, "RUNTIMECTL_PLUGIN_PATH=", "RUNTIMECTL_PLUGINS_LOCK=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// vm is a copy of the base root with runtimectl in it, and the namespaces
// it runs in, held open by a sleeping init.
type vm struct {
	t    *testing.T
	root string
	init int       // the namespace's pid 1, as the host sees it
	cmd  *exec.Cmd // unshare
}

func startVM(t *testing.T, base string, tl *tools) *vm {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	run(t, "cp", "-a", base, root)
	_ = os.Remove(filepath.Join(root, ".complete"))
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "cp", tl.vm, filepath.Join(root, "runtimectl"))
	run(t, "cp", tl.httpget, filepath.Join(root, "httpget"))
	v := &vm{t: t, root: root}
	v.boot()
	return v
}

// boot starts the namespaces with their init.
func (v *vm) boot() {
	t := v.t
	cmd := exec.Command("unshare", "--net", "--pid", "--mount", "--fork", "--mount-proc="+filepath.Join(v.root, "proc"),
		"chroot", v.root, "/bin/sleep", "infinity")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	v.init = 0
	v.cmd = cmd
	t.Cleanup(func() { v.stop(cmd) })
	deadline := time.Now().Add(10 * time.Second)
	for v.init == 0 {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			v.init, _ = strconv.Atoi(f[0])
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the namespace's init did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A new network namespace has only the loopback, down.
	run(t, "nsenter", "-t", strconv.Itoa(v.init), "-n", "ip", "link", "set", "lo", "up")
}

// reboot kills every process of the VM, as closing the browser tab does,
// and boots it again on the same disk.
func (v *vm) reboot() {
	v.stop(v.cmd)
	v.boot()
}

// stop kills the namespace's init, which kills every process in the pid
// namespace, and checks that none is left with the root as its root.
func (v *vm) stop(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return // stopped already
	}
	if v.init > 0 {
		_ = syscall.Kill(v.init, syscall.SIGKILL)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := v.processes()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			v.t.Errorf("processes left in %s: %v", v.root, left)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processes lists the host pids whose root directory is the VM's root.
func (v *vm) processes() []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if r, err := os.Readlink("/proc/" + e.Name() + "/root"); err == nil && r == v.root {
			comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
			out = append(out, e.Name()+" "+strings.TrimSpace(string(comm)))
		}
	}
	return out
}

// exec runs a command inside the VM (its namespaces and root) and returns
// its stdout, stderr and error.
func (v *vm) exec(args ...string) (string, string, error) {
	full := append([]string{"-t", strconv.Itoa(v.init), "-m", "-n", "-p", "-r", "-w",
		"/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}, args...)
	cmd := exec.CommandContext(v.t.Context(), "nsenter", full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func (v *vm) mustExec(args ...string) string {
	v.t.Helper()
	out, errOut, err := v.exec(args...)
	if err != nil {
		v.t.Fatalf("in the VM: %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (v *vm) copyIn(src, name string) {
	v.t.Helper()
	run(v.t, "cp", "-a", src, filepath.Join(v.root, name))
}

// packages lists the installed packages with their versions and states.
func (v *vm) packages() string {
	v.t.Helper()
	return v.mustExec("dpkg-query", "-W", "-f", "${Package}:${Architecture} ${Version} ${db:Status-Abbrev}\n")
}

// snapshot maps every path of the root (but the kernel's and the test's
// own) to its type, mode, owner and content digest or link target.
func (v *vm) snapshot() map[string]string {
	v.t.Helper()
	out := map[string]string{}
	skip := map[string]bool{"proc": true, "sys": true, "dev": true, "runtimectl": true, "httpget": true, "plan.json": true, "bundle": true}
	err := filepath.WalkDir(v.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(v.root, p)
		if rel == "." {
			return nil
		}
		if skip[strings.Split(rel, "/")[0]] {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(p)
			desc += " -> " + t
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(s[:8])
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		v.t.Fatal(err)
	}
	return out
}

func changed(a, b map[string]string) []string {
	var out []string
	for k, x := range a {
		if y, ok := b[k]; !ok || x != y {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), args[0], args[1:]...)
	var stdout, both bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &both
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), both.String())
	}
	return stdout.String()
}

// e2eSetup makes the nginx plan and its bundle on the host.
func e2eSetup(t *testing.T) (base string, tl *tools, planFile, bundleDir string) {
	testenv.RequireE2E(t)
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "unshare", "nsenter", "chroot", "ip", "cp", "debootstrap", "go")
	base = testenv.Rootfs(t, "bookworm", "i386", "minbase")
	tl = buildTools(t)
	work := t.TempDir()
	planFile = filepath.Join(work, "plan.json")
	if out, err := tl.runHost("plan", "--add", "nginx", "-o", planFile); err != nil {
		t.Fatalf("runtimectl plan: %v\n%s", err, out)
	}
	bundleDir = filepath.Join(work, "bundle")
	if out, err := tl.runHost("bundle", "--plan", planFile, "--out", bundleDir, "--keep-downloads"); err != nil {
		if strings.Contains(out, "dial") || strings.Contains(out, "no such host") || strings.Contains(out, "network is unreachable") {
			testenv.Unavailable(t, "network (to fetch the bundle): %s", out)
		}
		t.Fatalf("runtimectl bundle: %v\n%s", err, out)
	}
	return base, tl, planFile, bundleDir
}

func TestE2EApplyNginx(t *testing.T) {
	base, tl, planFile, bundleDir := e2eSetup(t)
	v := startVM(t, base, tl)
	v.copyIn(planFile, "plan.json")
	v.copyIn(bundleDir, "bundle")

	// No network but the loopback.
	if dev := v.mustExec("cat", "/proc/net/dev"); strings.Count(dev, ":") != 1 || !strings.Contains(dev, "lo:") {
		t.Fatalf("the VM has network interfaces:\n%s", dev)
	}
	start := time.Now()
	out, errOut, err := v.exec("/runtimectl", "apply", "/plan.json", "--bundle", "/bundle")
	t.Logf("runtimectl apply (%s):\n%s%s", time.Since(start).Round(time.Millisecond), errOut, out)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if !strings.Contains(errOut, "[2/8] install-packages: 22 packages: libelf1") || !strings.Contains(errOut, "nginx-light") {
		t.Errorf("progress does not show the step and its packages:\n%s", errOut)
	}

	// The health check passed (else apply had failed); GET / answers 200.
	if got := v.mustExec("/httpget", "http://127.0.0.1:80/"); !strings.HasPrefix(got, "200\n") {
		t.Errorf("GET /: %q", got)
	}
	var rep executor.Report
	if err := json.Unmarshal([]byte(v.mustExec("/runtimectl", "status", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Healthy || rep.Serial != 1 || len(rep.Runtimes) != 1 || len(rep.Runtimes[0].Services) != 1 {
		t.Fatalf("status: %+v", rep)
	}
	svc := rep.Runtimes[0].Services[0]
	if !svc.Up || svc.PID <= 1 || len(rep.Runtimes[0].Health) != 1 || !rep.Runtimes[0].Health[0].Healthy {
		t.Errorf("status of nginx: %+v %+v", svc, rep.Runtimes[0].Health)
	}
	t.Logf("status:\n%s", v.mustExec("/runtimectl", "status"))
	if audit := v.mustExec("dpkg", "--audit"); strings.TrimSpace(audit) != "" {
		t.Errorf("dpkg --audit: %s", audit)
	}
	// Nothing of the apply is left but the lock file.
	for _, p := range []string{"var/lib/runtimekit/journal.json", "var/lib/runtimekit/backup", "usr/sbin/policy-rc.d"} {
		if _, err := os.Lstat(filepath.Join(v.root, p)); err == nil {
			t.Errorf("%s is left after the apply", p)
		}
	}
	if logs, _, err := v.exec("/runtimectl", "logs", "nginx"); err != nil {
		t.Errorf("logs nginx: %v", err)
	} else if !strings.Contains(logs, "GET / HTTP/1.1\" 200") {
		t.Errorf("logs nginx does not show the request:\n%s", logs)
	}

	// The tab closes: every process dies. At the next start, recover
	// brings the supervisor, and so nginx, back.
	v.reboot()
	if _, _, err := v.exec("/httpget", "http://127.0.0.1:80/"); err == nil {
		t.Fatal("nginx answers after the reboot before anything started it")
	}
	out, errOut, err = v.exec("/runtimectl", "recover")
	if err != nil || !strings.Contains(out, "nothing to recover") {
		t.Fatalf("recover after the reboot: %v\n%s%s", err, out, errOut)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, _, err := v.exec("/httpget", "http://127.0.0.1:80/")
		if err == nil && strings.HasPrefix(got, "200\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not answer after recover: %q %v\n%s", got, err, v.mustExec("/runtimectl", "status"))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// remove: plan and apply in one, inside the VM, with no plugin.
	out, errOut, err = v.exec("/runtimectl", "remove", "nginx")
	t.Logf("runtimectl remove nginx:\n%s%s", errOut, out)
	if err != nil {
		t.Fatalf("remove: %v", err)
	}
	if got := v.packages(); got != basePackages(t, base) {
		t.Errorf("packages after remove:\n%s", got)
	}
	if _, _, err := v.exec("/httpget", "http://127.0.0.1:80/"); err == nil {
		t.Errorf("nginx still answers after remove")
	}
	if err := json.Unmarshal([]byte(v.mustExec("/runtimectl", "status", "--json")), &rep); err != nil || rep.Serial != 2 || len(rep.Runtimes) != 0 {
		t.Errorf("status after remove: %+v %v", rep, err)
	}
	if left := v.processes(); len(left) != 1 {
		t.Errorf("processes left after remove: %v", left)
	}
}

// basePackages is the package list of a fresh copy of the base root.
func basePackages(t *testing.T, base string) string {
	t.Helper()
	return run(t, "chroot", base, "dpkg-query", "-W", "-f", "${Package}:${Architecture} ${Version} ${db:Status-Abbrev}\n")
}

// TestE2ECrashRecover kills runtimectl (RUNTIMEKIT_CRASH_AT) inside the
// dpkg unpack of the nginx plan, and after the last step; `runtimectl
// recover` rolls the first back and finishes the second (--resume).
func TestE2ECrashRecover(t *testing.T) {
	base, tl, planFile, bundleDir := e2eSetup(t)
	for _, tc := range []struct {
		crashAt string
		resume  bool
	}{
		{"install-packages:unpack", false},
		{"install-packages:configure", false},
		{"wait-health:nginx/nginx-http:done", true},
	} {
		t.Run(tc.crashAt, func(t *testing.T) {
			v := startVM(t, base, tl)
			v.copyIn(planFile, "plan.json")
			v.copyIn(bundleDir, "bundle")
			before, pkgsBefore := v.snapshot(), v.packages()
			out, errOut, err := v.exec("env", "RUNTIMEKIT_CRASH_AT="+tc.crashAt, "/runtimectl", "apply", "/plan.json", "--bundle", "/bundle")
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 137 && !strings.Contains(ee.Error(), "killed") {
				t.Fatalf("apply with RUNTIMEKIT_CRASH_AT=%s: want a SIGKILL, got %v\n%s%s", tc.crashAt, err, out, errOut)
			}
			st, _, _ := v.exec("/runtimectl", "status")
			if !strings.Contains(st, "was interrupted") {
				t.Errorf("status does not report the interrupted apply:\n%s", st)
			}
			args := []string{"/runtimectl", "recover"}
			if tc.resume {
				args = append(args, "--resume")
			}
			out, errOut, err = v.exec(args...)
			t.Logf("%s:\n%s%s", strings.Join(args, " "), errOut, out)
			if err != nil {
				t.Fatalf("recover: %v", err)
			}
			if audit := v.mustExec("dpkg", "--audit"); strings.TrimSpace(audit) != "" {
				t.Errorf("dpkg --audit: %s", audit)
			}
			if tc.resume {
				if got := v.mustExec("/httpget", "http://127.0.0.1:80/"); !strings.HasPrefix(got, "200\n") {
					t.Errorf("GET / after recover --resume: %q", got)
				}
				return
			}
			if got := v.packages(); got != pkgsBefore {
				t.Errorf("packages after recover:\n%s", got)
			}
			for _, p := range changed(before, v.snapshot()) {
				// var/lib/dpkg/tmp.ci is the scratch directory of the
				// killed dpkg; dpkg empties it at its next unpack.
				if !strings.HasPrefix(p, "var/lib/runtimekit") && !strings.HasPrefix(p, "var/log/dpkg.log") &&
					!strings.HasPrefix(p, "var/lib/dpkg/tmp.ci") &&
					!strings.HasPrefix(p, "var/lib/dpkg/status-old") && !strings.HasPrefix(p, "var/cache/") {
					t.Errorf("changed after recover: %s", p)
				}
			}
		})
	}
}

// TestE2EHealthFailureRollsBack applies the nginx plan with its health
// check pointed at a port nothing listens on: the apply fails and the
// root is as before. What a rollback cannot take back is what Debian's
// own `dpkg --purge` leaves too (files maintainer scripts made, dpkg's
// logs and -old files): a reference VM where the same .debs are installed
// and purged with plain dpkg gives that set, and the rollback may differ
// from the start only there (and in runtimekit's lock file).
func TestE2EHealthFailureRollsBack(t *testing.T) {
	base, tl, planFile, bundleDir := e2eSetup(t)
	b, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	var debs []string
	var names []string
	for i, s := range p.Steps {
		switch in := s.Inputs.(type) {
		case *plan.WaitHealth:
			h := in.Health
			h.Port, h.Retries, h.Interval, h.Timeout = 81, 2, unit.Duration(200*time.Millisecond), unit.Duration(time.Second)
			p.Steps[i].Inputs = &plan.WaitHealth{Health: h}
		case *plan.InstallPackages:
			for _, pk := range in.Packages {
				names = append(names, pk.Name+":"+pk.Arch)
			}
		}
	}
	bad, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(badFile, bad, 0o644); err != nil {
		t.Fatal(err)
	}

	v := startVM(t, base, tl)
	v.copyIn(badFile, "plan.json")
	v.copyIn(bundleDir, "bundle")
	before, pkgsBefore := v.snapshot(), v.packages()
	out, errOut, err := v.exec("/runtimectl", "apply", "/plan.json", "--bundle", "/bundle")
	t.Logf("runtimectl apply:\n%s%s", errOut, out)
	if err == nil {
		t.Fatal("apply succeeded with a failing health check")
	}
	if !strings.Contains(errOut, "health check \"nginx-http\" failed") || !strings.Contains(errOut, "the completed steps were undone") {
		t.Errorf("stderr does not tell the failure and the rollback:\n%s", errOut)
	}
	if got := v.packages(); got != pkgsBefore {
		t.Errorf("package list after the rollback:\n%s\nbefore:\n%s", got, pkgsBefore)
	}
	if audit := v.mustExec("dpkg", "--audit"); strings.TrimSpace(audit) != "" {
		t.Errorf("dpkg --audit: %s", audit)
	}
	if left := v.processes(); len(left) != 1 { // the namespace's init
		t.Errorf("processes left running after the rollback: %v", left)
	}
	got := changed(before, v.snapshot())

	// The reference: the same .debs, installed and purged by dpkg itself.
	ref := startVM(t, base, tl)
	ref.copyIn(bundleDir, "bundle")
	refBefore := ref.snapshot()
	if err := os.WriteFile(filepath.Join(ref.root, "usr/sbin/policy-rc.d"), []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, pk := range p.Steps {
		if in, ok := pk.Inputs.(*plan.InstallPackages); ok {
			for _, r := range in.Packages {
				for _, a := range p.Artifacts {
					if a.SHA256 == r.SHA256 {
						debs = append(debs, "/bundle/debs/"+filepath.Base(a.Filename))
					}
				}
			}
		}
	}
	ref.mustExec(append([]string{"env", "DEBIAN_FRONTEND=noninteractive", "dpkg", "--unpack"}, debs...)...)
	ref.mustExec("env", "DEBIAN_FRONTEND=noninteractive", "dpkg", "--configure", "--pending")
	ref.mustExec(append([]string{"env", "DEBIAN_FRONTEND=noninteractive", "dpkg", "--purge"}, names...)...)
	if err := os.Remove(filepath.Join(ref.root, "usr/sbin/policy-rc.d")); err != nil {
		t.Fatal(err)
	}
	residue := map[string]bool{"var/lib/runtimekit": true, "var/lib/runtimekit/lock": true}
	for _, p := range changed(refBefore, ref.snapshot()) {
		residue[p] = true
	}
	var unexpected, expected []string
	for _, p := range got {
		if residue[p] {
			expected = append(expected, p)
		} else {
			unexpected = append(unexpected, p)
		}
	}
	t.Logf("differences a plain dpkg install and purge leaves too: %v", expected)
	for _, p := range expected {
		// What maintainer scripts made in /etc, /var/www, /run... (runit's
		// /etc/sv/default-syslog, nginx's index.nginx-debian.html): dpkg
		// --purge leaves it, the rollback must not.
		for _, dir := range []string{"etc/", "var/www/", "srv/", "opt/", "run/"} {
			if strings.HasPrefix(p, dir) {
				t.Errorf("the rollback left %s, made by a maintainer script", p)
			}
		}
	}
	if len(unexpected) > 0 {
		t.Errorf("the rollback left changes that dpkg --purge does not explain:\n%s", strings.Join(unexpected, "\n"))
	}
	for _, p := range []string{"var/lib/runtimekit/state.json", "etc/runtimekit", "srv/www", "var/log/runtimekit", "run/runtimekit"} {
		if _, err := os.Lstat(filepath.Join(v.root, p)); err == nil {
			t.Errorf("%s exists after the rollback", p)
		}
	}
}
