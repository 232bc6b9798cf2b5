//go:build linux

package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestVMBuildIgnoresCrashAt checks that the runtimectl `make build-vm`
// ships cannot be made to kill itself: built with -tags vm (for this
// machine's architecture, as the code is the same), it applies a plan to
// the end with RUNTIMEKIT_CRASH_AT naming the plan's step, holds no copy
// of the variable's name, and links none of the executor's crash code.
// The same build with -tags crashtest, the one the end-to-end crash tests
// run, must die by SIGKILL at that step and show all three: so the checks
// are known to see the hook when it is there.
func TestVMBuildIgnoresCrashAt(t *testing.T) {
	dir := t.TempDir()
	shipped := buildRuntimectl(t, filepath.Join(dir, "vm"), "vm")
	crashtest := buildRuntimectl(t, filepath.Join(dir, "vm-crashtest"), "vm,crashtest")

	t.Run("shipped", func(t *testing.T) {
		out, errOut, err := applyWithCrashAt(t, shipped)
		if err != nil || !strings.Contains(out, "applied: 1 steps") {
			t.Errorf("apply with RUNTIMEKIT_CRASH_AT=record-state: %v\n%s%s", err, out, errOut)
		}
		if n := crashTraces(t, shipped); len(n) > 0 {
			t.Errorf("the vm build holds crash-injection code: %s", strings.Join(n, ", "))
		}
	})
	t.Run("crashtest", func(t *testing.T) {
		out, errOut, err := applyWithCrashAt(t, crashtest)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("apply with RUNTIMEKIT_CRASH_AT=record-state: want a SIGKILL, got %v\n%s%s", err, out, errOut)
		}
		if n := crashTraces(t, crashtest); len(n) < 3 {
			t.Errorf("the crashtest build shows only %v of the crash-injection code the check looks for", n)
		}
	})
}

// buildRuntimectl builds ./cmd/runtimectl with the given tags, static as
// for the VM, keeping the symbol table for crashTraces.
func buildRuntimectl(t *testing.T, out, tags string) string {
	t.Helper()
	cmd := exec.Command("go", "build", "-tags", tags, "-trimpath", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags %s: %v\n%s", tags, err, b)
	}
	return out
}

// applyWithCrashAt applies, on a fresh root, a plan whose one step is
// record-state, with RUNTIMEKIT_CRASH_AT naming that step.
func applyWithCrashAt(t *testing.T, bin string) (stdout, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(root, "var/lib/dpkg/status"): "Package: dpkg\nStatus: install ok installed\nArchitecture: i386\nVersion: 1.21.22\n",
		filepath.Join(dir, "plan.json"): `{
  "formatVersion": 2,
  "target": {"name": "webvm-i386", "os": "linux", "arch": "386", "debianArch": "i386", "release": "bookworm"},
  "state": {"lineage": "", "serial": 0},
  "artifacts": [],
  "summary": {},
  "steps": [
    {"id": "record-state", "kind": "record-state", "needs": [], "inputs": {"runtimes": []}}
  ]
}
`,
	}
	for name, content := range files {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "apply", "--root", root, filepath.Join(dir, "plan.json"))
	cmd.Env = append(os.Environ(), "RUNTIMEKIT_CRASH_AT=record-state")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// crashTraces lists what of the crash injection a binary holds: the
// environment variable's name, and the executor's functions that parse a
// crash point and kill the process.
func crashTraces(t *testing.T, bin string) []string {
	t.Helper()
	var found []string
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("RUNTIMEKIT_CRASH_AT")) {
		found = append(found, "the string RUNTIMEKIT_CRASH_AT")
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	const pkg = "github.com/runtimekit/runtimekit/sdk/executor."
	for _, s := range syms {
		for _, fn := range []string{"crash", "crashAt", "killTree"} {
			if s.Name == pkg+fn {
				found = append(found, "function executor."+fn)
			}
		}
	}
	return found
}
