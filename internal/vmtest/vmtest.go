// Package vmtest boots the image of `runtimectl image build --boot` under
// qemu-system-i386 with TCG (an emulated CPU, no KVM) for the tests of
// what emulation changes: every boot from a copy-on-write overlay of the
// image, the test's files on a second disk, the serial console in a file,
// and the machine killed (SIGKILL of qemu: a power cut, the guest's page
// cache lost) when a test says so.
package vmtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

// Tools are the binaries the tests run: the host's runtimectl with the
// built-in plugins pinned beside it, the image built with its VM build,
// and httpget for linux/386 (minbase has no curl).
type Tools struct {
	Host    string // runtimectl for this machine
	Image   string // the image directory (rootfs.ext4, vmlinuz, initrd.img)
	HTTPGet string // a static linux/386 GET client
	Cache   string // RUNTIMECTL_CACHE_DIR
}

var (
	once     sync.Once
	built    *Tools
	buildErr error
)

// Build builds the tools once per test process; the image's root and
// kernel come from the fixture cache (see sdk/image).
func Build(t testing.TB) *Tools {
	t.Helper()
	testenv.RequireE2E(t)
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "go", "debootstrap", "mke2fs", "qemu-system-i386", "qemu-img")
	cache := testenv.CacheDir(t)
	mirror := testenv.Mirror(t, "bookworm")
	once.Do(func() {
		dir, err := os.MkdirTemp("", "runtimekit-vmtest-")
		if err != nil {
			buildErr = err
			return
		}
		tl := &Tools{Host: filepath.Join(dir, "bin", "runtimectl"), Image: filepath.Join(dir, "image"),
			HTTPGet: filepath.Join(dir, "httpget"), Cache: filepath.Join(cache, "cli")}
		root := moduleRoot()
		plugins, _ := filepath.Glob(filepath.Join(root, "plugins", "*", "cmd", "runtimectl-plugin-*"))
		i386 := []string{"GOOS=linux", "GOARCH=386", "CGO_ENABLED=0"}
		for _, b := range []struct {
			env  []string
			args []string
		}{
			{nil, append([]string{"-o", filepath.Dir(tl.Host) + "/", "./cmd/runtimectl"}, rel(root, plugins)...)},
			{i386, []string{"-tags", "vm", "-ldflags=-s -w", "-o", filepath.Join(filepath.Dir(tl.Host), "linux-386-vm", "runtimectl"), "./cmd/runtimectl"}},
			{i386, []string{"-ldflags=-s -w", "-o", tl.HTTPGet, "./sdk/executor/testdata/httpget"}},
		} {
			cmd := exec.Command("go", append([]string{"build", "-trimpath"}, b.args...)...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), b.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %v: %v\n%s", b.args, err, out)
				return
			}
		}
		if out, err := tl.Run("plugins", "lock"); err != nil {
			buildErr = fmt.Errorf("runtimectl plugins lock: %v\n%s", err, out)
			return
		}
		if out, err := tl.Run("image", "build", "--boot", "--mirror", mirror, "-o", tl.Image); err != nil {
			buildErr = fmt.Errorf("runtimectl image build: %v\n%s", err, out)
			return
		}
		built = tl
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

func rel(root string, paths []string) []string {
	var out []string
	for _, p := range paths {
		r, _ := filepath.Rel(root, p)
		out = append(out, "./"+r)
	}
	return out
}

// moduleRoot is the repository's top directory.
func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "."
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// Run runs the host runtimectl.
func (tl *Tools) Run(args ...string) (string, error) {
	cmd := exec.Command(tl.Host, args...)
	cmd.Env = append(os.Environ(), "RUNTIMECTL_CACHE_DIR="+tl.Cache, "RUNTIMECTL_PLUGIN_PATH=", "RUNTIMECTL_PLUGINS_LOCK=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Machine is one VM: its disk (an overlay of the image, kept across
// boots) and its test disk.
type Machine struct {
	t       testing.TB
	tl      *Tools
	dir     string
	disk    string
	boots   int
	MemMiB  int
	testDir string // the files of the test disk, mounted at /mnt/t
}

// NewMachine makes a machine whose disk starts as the image, with the
// files of testDir on its second disk.
func (tl *Tools) NewMachine(t testing.TB, testDir string) *Machine {
	t.Helper()
	m := &Machine{t: t, tl: tl, dir: t.TempDir(), MemMiB: 512, testDir: testDir}
	m.disk = filepath.Join(m.dir, "disk.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
		filepath.Join(tl.Image, "rootfs.ext4"), m.disk).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v\n%s", err, out)
	}
	return m
}

// Boot is one run of a machine.
type Boot struct {
	m       *Machine
	cmd     *exec.Cmd
	log     string
	started time.Time
	done    chan struct{}
	err     error
}

// Start boots the machine to run script (sh, from the test disk) after
// runtimectl boot's mounts and recover.
func (m *Machine) Start(script string) *Boot {
	t := m.t
	t.Helper()
	m.boots++
	n := m.boots
	tdisk := filepath.Join(m.dir, fmt.Sprintf("test%d.ext2", n))
	if err := os.WriteFile(filepath.Join(m.testDir, "run.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mke2fs", "-q", "-F", "-t", "ext2", "-d", m.testDir, tdisk, "256M").CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v\n%s", err, out)
	}
	b := &Boot{m: m, log: filepath.Join(m.dir, fmt.Sprintf("console%d.log", n)), done: make(chan struct{})}
	b.cmd = exec.Command("qemu-system-i386", "-m", fmt.Sprint(m.MemMiB), "-accel", "tcg", "-smp", "1",
		"-display", "none", "-no-reboot", "-monitor", "none", "-serial", "file:"+b.log, "-nic", "none",
		"-kernel", filepath.Join(m.tl.Image, "vmlinuz"), "-initrd", filepath.Join(m.tl.Image, "initrd.img"),
		"-drive", "file="+m.disk+",format=qcow2,if=virtio,cache=writeback",
		"-drive", "file="+tdisk+",format=raw,if=virtio",
		"-append", "root=/dev/vda rw console=ttyS0 panic=1 quiet init=/usr/local/bin/runtimectl -- boot --mount /dev/vdb:/mnt/t /bin/sh /mnt/t/run.sh")
	var stderr bytes.Buffer
	b.cmd.Stderr = &stderr
	// qemu dies with the test process, even one a timeout ends.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	b.started = time.Now()
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("qemu-system-i386: %v", err)
	}
	go func() {
		b.err = b.cmd.Wait()
		if b.err != nil && stderr.Len() > 0 {
			b.err = fmt.Errorf("%w: %s", b.err, strings.TrimSpace(stderr.String()))
		}
		close(b.done)
	}()
	t.Cleanup(func() { b.Kill() })
	return b
}

// Console is what the serial console has printed so far.
func (b *Boot) Console() string {
	out, _ := os.ReadFile(b.log)
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

// WaitFor waits until the console prints want (returning the time since
// the boot began) or the machine stops or timeout passes (failing the
// test).
func (b *Boot) WaitFor(want string, timeout time.Duration) time.Duration {
	t := b.m.t
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(b.Console(), want) {
			return time.Since(b.started)
		}
		select {
		case <-b.done:
			if strings.Contains(b.Console(), want) {
				return time.Since(b.started)
			}
			t.Fatalf("the VM stopped (%v) before printing %q; its console:\n%s", b.err, want, tail(b.Console(), 4000))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Kill()
			t.Fatalf("the VM did not print %q within %s; its console:\n%s", want, timeout, tail(b.Console(), 4000))
		}
	}
}

// Wait waits for the machine to power off by itself and returns its
// console.
func (b *Boot) Wait(timeout time.Duration) string {
	t := b.m.t
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(timeout):
		b.Kill()
		t.Fatalf("the VM did not power off within %s; its console:\n%s", timeout, tail(b.Console(), 4000))
	}
	return b.Console()
}

// Kill cuts the power: SIGKILL of qemu, so that what the guest had not
// written to its disk is lost.
func (b *Boot) Kill() {
	if b.cmd.Process != nil {
		_ = b.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-b.done
}

// Section returns what the console printed between the lines BEGIN name
// and END name, as a script prints them with Mark.
func Section(console, name string) (string, bool) {
	_, after, ok := strings.Cut(console, "\n==BEGIN "+name+"==\n")
	if !ok {
		return "", false
	}
	body, _, ok := strings.Cut(after, "\n==END "+name+"==")
	return body, ok
}

// Mark is the shell that prints the output of command between the lines
// Section reads.
func Mark(name, command string) string {
	return fmt.Sprintf("echo; echo '==BEGIN %s=='; %s; echo; echo '==END %s=='\n", name, command, name)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
