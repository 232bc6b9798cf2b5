package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

// The test below runs twice: in `go test`, where it starts this test
// binary again in a mount namespace of its own, and in that process, where
// envPrivateDev names the work directory and the test mounts a fresh /dev
// and runs runtimectl there. The machine's /dev is never written to.
const (
	envPrivateDev = "RUNTIMEKIT_TEST_PRIVATE_DEV"
	envParentNS   = "RUNTIMEKIT_TEST_PARENT_MNT_NS"
)

// As root, outputs given as /dev/null or /dev/stdout are written into,
// and the documents read are refused, leaving /dev/null the character
// device 1:3: an atomic write by rename would have replaced it with a
// regular file.
func TestDevicesInPrivateDev(t *testing.T) {
	if work := os.Getenv(envPrivateDev); work != "" {
		inPrivateDev(t, work)
		return
	}
	testenv.RequireE2E(t)
	testenv.RequireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	// This binary, run as "runtimectl", is runtimectl (see TestMain).
	if err := os.Symlink(exe, filepath.Join(work, "runtimectl")); err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile("../../plugins/nginx/manifest.cue")
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{"nginx.cue": manifest, "Packages": nil} {
		if err := os.WriteFile(filepath.Join(work, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(work, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	ns, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		testenv.Unavailable(t, "no mount namespaces here: %v", err)
	}

	cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestDevicesInPrivateDev$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), envPrivateDev+"="+work, envParentNS+"="+ns)
	// Go makes every mount of the new namespace private (MS_REC|MS_PRIVATE
	// on /) before the test binary runs, so nothing mounted there is seen
	// outside.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		testenv.Unavailable(t, "cannot start a process in a mount namespace of its own: %v", err)
	}
	t.Logf("in the private /dev:\n%s", out)
	switch {
	case err != nil:
		t.Fatalf("in the private /dev: %v", err)
	case bytes.Contains(out, []byte("--- SKIP: TestDevicesInPrivateDev")):
		testenv.Unavailable(t, "the private /dev could not be made (see the log above)")
	case !bytes.Contains(out, []byte("--- PASS: TestDevicesInPrivateDev")):
		t.Fatalf("the test did not run in the private /dev")
	}
}

// inPrivateDev runs in the new mount namespace.
func inPrivateDev(t *testing.T, work string) {
	ns, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil || ns == os.Getenv(envParentNS) {
		t.Fatalf("not in a mount namespace of its own (%s, %v): refusing to mount over /dev", ns, err)
	}
	if err := syscall.Mount("none", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make the mounts private: %v", err)
	}
	if err := syscall.Mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755"); err != nil {
		t.Skipf("mount a tmpfs on /dev: %v", err)
	}
	if err := syscall.Mknod("/dev/null", syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("mknod /dev/null: %v", err)
	}
	if err := os.Chmod("/dev/null", 0o666); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, "/dev/"+name); err != nil {
			t.Fatal(err)
		}
	}

	checkNull := func(after string) {
		t.Helper()
		fi, err := os.Lstat("/dev/null")
		if err != nil {
			t.Fatalf("after %s: %v", after, err)
		}
		if fi.Mode()&fs.ModeCharDevice == 0 || fi.Sys().(*syscall.Stat_t).Rdev != 1<<8|3 {
			t.Fatalf("after %s: /dev/null is now %v, not the character device 1:3", after, fi.Mode())
		}
	}
	runtimectl := func(args ...string) (stdout, stderr string, err error) {
		t.Helper()
		var o, e bytes.Buffer
		c := exec.CommandContext(t.Context(), filepath.Join(work, "runtimectl"), args...)
		c.Dir = work
		c.Env = append(os.Environ(),
			"RUNTIMECTL_PLUGIN_PATH="+filepath.Join(work, "plugins"),
			"RUNTIMECTL_PLUGINS_LOCK="+filepath.Join(work, "plugins.lock.json"),
			"RUNTIMECTL_CACHE_DIR="+filepath.Join(work, "cache"))
		c.Stdout, c.Stderr = &o, &e
		err = c.Run()
		return o.String(), e.String(), err
	}
	checkNull("mounting the private /dev")

	// Outputs: written into the device.
	for _, args := range [][]string{
		{"plan", "--manifest", "nginx.cue", "-o", "/dev/null"},
		{"lock", "--index", "Packages", "-o", "/dev/null"},
	} {
		if _, stderr, err := runtimectl(args...); err != nil {
			t.Errorf("runtimectl %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		checkNull("runtimectl " + strings.Join(args, " "))
	}
	// /dev/stdout -> /proc/self/fd/1, a pipe here: the plan is printed.
	stdout, stderr, err := runtimectl("plan", "--manifest", "nginx.cue", "-o", "/dev/stdout")
	if err != nil || !strings.Contains(stdout, `"formatVersion": 2`) {
		t.Errorf("plan -o /dev/stdout: %v, stdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if fi, err := os.Lstat("/dev/stdout"); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("/dev/stdout is no longer a symbolic link: %v %v", fi.Mode(), err)
	}

	// Documents read or replaced: refused, naming the device.
	for _, args := range [][]string{
		{"show", "/dev/null"},
		{"apply", "--root", "root", "/dev/null"},
		{"plan", "--manifest", "nginx.cue", "--state", "/dev/null"},
		{"--plugins-lock", "/dev/null", "plugins", "lock"},
	} {
		_, stderr, err := runtimectl(args...)
		if err == nil || !strings.Contains(stderr, "/dev/null is a character device, not a regular file") {
			t.Errorf("runtimectl %s: %v, want a refusal naming /dev/null; stderr:\n%s", strings.Join(args, " "), err, stderr)
		}
		checkNull("runtimectl " + strings.Join(args, " "))
	}
}
