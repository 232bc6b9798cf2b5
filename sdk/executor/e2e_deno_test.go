package executor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/executor"
)

// Deno has no i386 build, so its end-to-end test runs on an amd64 bookworm
// minbase root (target debian12-amd64) with runtimectl built for
// linux/amd64; the i386 target must refuse it at plan time. The helpers of
// e2e_test.go (startVM, vm.exec, run) are reused; the tools differ: a host
// runtimectl with the deno plugin beside it, and amd64 binaries for the
// root.

// denoVersion is the version the shipped debian12-amd64 lock pins.
const denoVersion = "2.9.6"

var (
	denoToolsOnce sync.Once
	denoBuilt     *tools
	denoBuildErr  error
)

// buildDenoTools builds, once per test process, the host runtimectl with
// the deno plugin pinned beside it and runtimectl and httpget for
// linux/amd64, in a fixed directory of the fixture cache of their own (so
// that the plugins lock beside that runtimectl names only deno). The CLI
// cache is the one buildTools uses: bundle downloads kept there
// (--keep-downloads) serve later runs, so the ~42 MB deno tarball is
// fetched once.
func buildDenoTools(t *testing.T) *tools {
	t.Helper()
	testenv.RequireTools(t, "go")
	cache := testenv.CacheDir(t)
	denoToolsOnce.Do(func() {
		dir := filepath.Join(cache, "e2e-tools-deno-"+checkoutKey(t))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			denoBuildErr = err
			return
		}
		lk := flock.New(dir + ".lock")
		if err := lk.Lock(); err != nil {
			denoBuildErr = err
			return
		}
		defer lk.Unlock()
		tl := &tools{host: filepath.Join(dir, "host", "runtimectl"), vm: filepath.Join(dir, "runtimectl-amd64"),
			httpget: filepath.Join(dir, "httpget-amd64"), cache: filepath.Join(cache, "cli")}
		amd64 := []string{"GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0"}
		for _, b := range []struct {
			env  []string
			args []string
		}{
			{nil, []string{"-o", filepath.Dir(tl.host) + "/", "../../cmd/runtimectl", "../../plugins/deno/cmd/runtimectl-plugin-deno"}},
			{amd64, []string{"-ldflags=-s -w", "-o", tl.vm, "../../cmd/runtimectl"}},
			{amd64, []string{"-o", tl.httpget, "./testdata/httpget"}},
		} {
			cmd := exec.Command("go", append([]string{"build", "-trimpath"}, b.args...)...)
			cmd.Env = append(os.Environ(), b.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				denoBuildErr = fmt.Errorf("go build %v: %v\n%s", b.args, err, out)
				return
			}
		}
		// Pinned while the build lock is held: another test process may
		// be rebuilding the plugin otherwise.
		if out, err := tl.runHost("plugins", "lock"); err != nil {
			denoBuildErr = fmt.Errorf("runtimectl plugins lock: %v\n%s", err, out)
			return
		}
		denoBuilt = tl
	})
	if denoBuildErr != nil {
		t.Fatal(denoBuildErr)
	}
	tl := *denoBuilt
	return &tl
}

// npmRegistryEnv returns the environment that tells `runtimectl bundle`
// the npm registry: npm_config_registry as set, else what `npm config get
// registry` prints. ok is false when neither is available; a bundle can
// then still be made from the download cache.
func npmRegistryEnv(t *testing.T) (env []string, ok bool) {
	t.Helper()
	for _, k := range []string{"npm_config_registry", "NPM_CONFIG_REGISTRY"} {
		if v := os.Getenv(k); v != "" {
			return []string{"npm_config_registry=" + v}, true
		}
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, npm, "config", "get", "registry").Output()
	reg := strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(reg, "http://") && !strings.HasPrefix(reg, "https://") {
		t.Logf("npm config get registry: %q %v", reg, err)
		return nil, false
	}
	return []string{"npm_config_registry=" + reg}, true
}

// runHostEnv is tools.runHost with extra environment variables.
func (tl *tools) runHostEnv(env []string, args ...string) (string, error) {
	cmd := exec.Command(tl.host, args...)
	cmd.Env = append(os.Environ(), "RUNTIMECTL_CACHE_DIR="+tl.cache, "RUNTIMECTL_PLUGIN_PATH=", "RUNTIMECTL_PLUGINS_LOCK=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestE2EDenoRefusedOnI386 plans deno for the default target (WebVM,
// i386): the plan is refused with the manifest's reason, and no plan file
// is written.
func TestE2EDenoRefusedOnI386(t *testing.T) {
	testenv.RequireE2E(t)
	tl := buildDenoTools(t)
	planFile := filepath.Join(t.TempDir(), "plan.json")
	out, err := tl.runHost("plan", "--add", "deno", "-o", planFile)
	if err == nil {
		t.Fatalf("runtimectl plan --add deno for the i386 target succeeded:\n%s", out)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("runtimectl plan: want exit status 1, got %v", err)
	}
	for _, want := range []string{
		"deno cannot run on target webvm-i386 (linux/386)",
		"upstream Deno publishes no i386 (32-bit x86) build",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(planFile); err == nil {
		t.Errorf("a refused plan was written to %s", planFile)
	}
}

// TestE2EApplyDenoAmd64 applies deno to an amd64 bookworm root, offline:
// the plan's exec health check (deno evaluates a script) passes, so the
// apply succeeds, and deno runs in the root afterwards; removing it takes
// /opt/deno away again.
func TestE2EApplyDenoAmd64(t *testing.T) {
	testenv.RequireE2E(t)
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "unshare", "nsenter", "chroot", "ip", "cp", "debootstrap", "go")
	base := testenv.Rootfs(t, "bookworm", "amd64", "minbase")
	tl := buildDenoTools(t)

	work := t.TempDir()
	planFile := filepath.Join(work, "plan.json")
	if out, err := tl.runHost("plan", "--add", "deno", "--target", "debian12-amd64", "-o", planFile); err != nil {
		t.Fatalf("runtimectl plan --add deno --target debian12-amd64: %v\n%s", err, out)
	}
	bundleDir := filepath.Join(work, "bundle")
	env, haveRegistry := npmRegistryEnv(t)
	out, err := tl.runHostEnv(env, "bundle", "--plan", planFile, "--out", bundleDir, "--keep-downloads")
	if err != nil {
		if !haveRegistry {
			testenv.Unavailable(t, "the npm registry to fetch deno from: set npm_config_registry or install npm "+
				"(the registry is what `npm config get registry` prints); runtimectl bundle: %s", out)
		}
		if strings.Contains(out, "dial") || strings.Contains(out, "no such host") || strings.Contains(out, "network is unreachable") {
			testenv.Unavailable(t, "network (to fetch the bundle): %s", out)
		}
		t.Fatalf("runtimectl bundle: %v\n%s", err, out)
	}
	t.Logf("runtimectl bundle: %s", strings.TrimSpace(out))

	v := startVM(t, base, tl)
	v.copyIn(planFile, "plan.json")
	v.copyIn(bundleDir, "bundle")
	if dev := v.mustExec("cat", "/proc/net/dev"); strings.Count(dev, ":") != 1 || !strings.Contains(dev, "lo:") {
		t.Fatalf("the root has network interfaces:\n%s", dev)
	}
	if arch := strings.TrimSpace(v.mustExec("dpkg", "--print-architecture")); arch != "amd64" {
		t.Fatalf("the root's dpkg architecture is %q, not amd64", arch)
	}
	pkgsBefore := v.packages()

	start := time.Now()
	out, errOut, err := v.exec("/runtimectl", "apply", "/plan.json", "--bundle", "/bundle")
	t.Logf("runtimectl apply (%s):\n%s%s", time.Since(start).Round(time.Millisecond), errOut, out)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	// The apply passed its exec health check; deno runs on its own too.
	if !strings.Contains(errOut, "wait-health:deno/deno-runs") {
		t.Errorf("progress does not show the health check step:\n%s", errOut)
	}
	if got := v.mustExec("/opt/deno/deno", "--version"); !strings.HasPrefix(got, "deno "+denoVersion+" ") {
		t.Errorf("/opt/deno/deno --version: %q", got)
	}
	if got := v.mustExec("/opt/deno/deno", "eval", "console.log(6*7)"); strings.TrimSpace(got) != "42" {
		t.Errorf("deno eval: %q", got)
	}

	var rep executor.Report
	if err := json.Unmarshal([]byte(v.mustExec("/runtimectl", "status", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Healthy || rep.Serial != 1 || len(rep.Runtimes) != 1 {
		t.Fatalf("status: %+v", rep)
	}
	rt := rep.Runtimes[0]
	if rt.Name != "deno" || rt.Version != denoVersion || len(rt.Services) != 0 || len(rt.Health) != 1 || !rt.Health[0].Healthy {
		t.Errorf("status of deno: %+v", rt)
	}
	// deno pulls in no Debian package; dpkg is untouched.
	if got := v.packages(); got != pkgsBefore {
		t.Errorf("packages changed by the deno apply:\n%s", got)
	}
	for _, p := range []string{"var/lib/runtimekit/journal.json", "var/lib/runtimekit/backup", "usr/sbin/policy-rc.d"} {
		if _, err := os.Lstat(filepath.Join(v.root, p)); err == nil {
			t.Errorf("%s is left after the apply", p)
		}
	}

	out, errOut, err = v.exec("/runtimectl", "remove", "deno")
	t.Logf("runtimectl remove deno:\n%s%s", errOut, out)
	if err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(v.root, "opt/deno")); err == nil {
		t.Errorf("/opt/deno is left after remove")
	}
	if err := json.Unmarshal([]byte(v.mustExec("/runtimectl", "status", "--json")), &rep); err != nil || rep.Serial != 2 || len(rep.Runtimes) != 0 {
		t.Errorf("status after remove: %+v %v", rep, err)
	}
}

// TestE2EDeployDeno deploys examples/deno to the amd64 root: deno is
// installed with the release (from its npm tarball), and the release's
// TypeScript modules run as the app's user with nothing fetched.
func TestE2EDeployDeno(t *testing.T) {
	testenv.RequireE2E(t)
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "unshare", "nsenter", "chroot", "ip", "cp", "debootstrap", "go")
	d := newDeployerOn(t, "deno", testenv.Rootfs(t, "bookworm", "amd64", "minbase"), buildDenoTools(t))
	d.env, _ = npmRegistryEnv(t)
	d.args = []string{"--target", "debian12-amd64"}
	if err := os.CopyFS(d.app, os.DirFS("../../examples/deno")); err != nil {
		t.Fatal(err)
	}
	planFile, bundleDir, _ := d.deploy(1, "")
	v := startVM(t, d.base, d.tl)
	v.apply(planFile, bundleDir)
	d.get(v, "hello from deno, hi")
	a := mustApp(t, v, "deno")
	if a.Runtime != "deno" || a.Live != 1 {
		t.Errorf("app %+v, want release 1 live on deno", a)
	}
}
