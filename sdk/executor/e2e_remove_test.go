package executor_test

import (
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

var (
	vmBuildOnce sync.Once
	vmBuild     string
	vmBuildErr  error
)

// buildVMRuntimectl builds, once per test process, the runtimectl that
// ships into the VM (-tags vm, linux/386; with the crash hook the other
// end-to-end builds have) in a fixed directory of the fixture cache.
func buildVMRuntimectl(t *testing.T) string {
	t.Helper()
	testenv.RequireTools(t, "go")
	cache := testenv.CacheDir(t)
	vmBuildOnce.Do(func() {
		dir := filepath.Join(cache, "e2e-tools-vm-"+checkoutKey(t))
		if vmBuildErr = os.MkdirAll(dir, 0o755); vmBuildErr != nil {
			return
		}
		lk := flock.New(dir + ".lock")
		if vmBuildErr = lk.Lock(); vmBuildErr != nil {
			return
		}
		defer lk.Unlock()
		out := filepath.Join(dir, "runtimectl-386")
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "vm,crashtest", "-ldflags=-s -w", "-o", out, "../../cmd/runtimectl")
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=386", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			vmBuildErr = fmt.Errorf("go build -tags vm,crashtest: %v\n%s", err, b)
			return
		}
		vmBuild = out
	})
	if vmBuildErr != nil {
		t.Fatal(vmBuildErr)
	}
	return vmBuild
}

// TestE2ERemoveWithVMBuild installs nginx with the vm build of runtimectl
// (the one WebVM ships) and removes it with that build's `remove`, which
// plans the removal inside the VM from the state, the built-in target and
// its shipped lock: every package, file and service of nginx is gone, the
// state records no runtime, and nothing is left running.
func TestE2ERemoveWithVMBuild(t *testing.T) {
	base, tl, planFile, bundleDir := e2eSetup(t)
	bin := buildVMRuntimectl(t)
	v := startVM(t, base, tl)
	v.put(bin, "runtimectl")
	if _, errOut, err := v.exec("/runtimectl", "plan", "--add", "nginx"); err == nil || !strings.Contains(errOut, `unknown command "plan"`) {
		t.Fatalf("/runtimectl plans additions: it is not the vm build (%v)\n%s", err, errOut)
	}

	v.apply(planFile, bundleDir)
	installed := v.state()
	nginx := stateRuntime(installed, "nginx")
	if nginx == nil || len(nginx.Packages) == 0 || len(nginx.Files) == 0 || len(nginx.Services) == 0 {
		t.Fatalf("the state after the apply does not record nginx's packages, files and services: %+v", nginx)
	}
	checkAllHealthy(t, v.status(), "nginx")
	for _, s := range nginx.Services {
		if !v.exists("etc/runtimekit/sv/"+s.Name) || !v.exists("etc/runtimekit/service/"+s.Name) {
			t.Fatalf("service %s is not installed and enabled", s.Name)
		}
	}

	start := time.Now()
	out, errOut, err := v.exec("/runtimectl", "remove", "nginx", "--bundle", "/bundle")
	t.Logf("runtimectl remove nginx (%s):\n%s%s", time.Since(start).Round(time.Millisecond), errOut, out)
	if err != nil {
		t.Fatalf("remove: %v", err)
	}
	for _, want := range []string{
		"Plan for target webvm-i386 (linux/386, Debian bookworm), state serial 1",
		"  - nginx " + nginx.Version,
		fmt.Sprintf("Packages: 0 to install, %d to remove", len(nginx.Packages)),
		"] stop-service:nginx",
		"] remove-packages",
		"] record-state",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("remove's plan and progress do not say %q", want)
		}
	}
	if !strings.Contains(out, "applied: ") || !strings.Contains(out, "state serial 2") {
		t.Errorf("remove's result: %q", out)
	}

	if got := v.packages(); got != basePackages(t, base) {
		t.Errorf("packages after remove are not the base system's:\n%s", got)
	}
	for _, f := range nginx.Files {
		if v.exists(f.Path) {
			t.Errorf("file %s of nginx is left", f.Path)
		}
	}
	for _, s := range nginx.Services {
		for _, p := range []string{"etc/runtimekit/sv/" + s.Name, "etc/runtimekit/service/" + s.Name} {
			if v.exists(p) {
				t.Errorf("%s of service %s is left", p, s.Name)
			}
		}
	}
	if _, _, err := v.exec("/httpget", "http://127.0.0.1:80/"); err == nil {
		t.Errorf("nginx still answers after remove")
	}
	if left := v.processes(); len(left) != 1 {
		t.Errorf("processes left after remove (want the namespace's init only): %v", left)
	}
	for _, p := range []string{"var/lib/runtimekit/journal.json", "var/lib/runtimekit/backup", "usr/sbin/policy-rc.d"} {
		if v.exists(p) {
			t.Errorf("%s is left after the remove", p)
		}
	}
	v.auditClean()

	st := v.state()
	if st == nil || st.Serial != 2 || st.Lineage != installed.Lineage || st.Target != "webvm-i386" || len(st.Runtimes) != 0 {
		t.Errorf("state after remove: %+v; want serial 2, lineage %s, no runtimes", st, installed.Lineage)
	}
	var rep executor.Report
	if err := json.Unmarshal([]byte(v.mustExec("/runtimectl", "status", "--json")), &rep); err != nil || rep.Serial != 2 || len(rep.Runtimes) != 0 || !rep.Healthy {
		t.Errorf("status after remove: %+v %v", rep, err)
	}
	if _, errOut, err := v.exec("/runtimectl", "remove", "nginx"); err == nil || !strings.Contains(errOut, "cannot remove nginx: it is not installed") {
		t.Errorf("a second remove: %v\n%s", err, errOut)
	}
}
