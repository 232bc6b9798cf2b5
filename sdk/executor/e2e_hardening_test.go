package executor_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

// procIn returns the host pids of processes in the VM whose command name
// is comm and whose command line contains arg ("" for any).
func (v *vm) procIn(comm, arg string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if r, err := os.Readlink("/proc/" + e.Name() + "/root"); err != nil || r != v.root {
			continue
		}
		c, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		if strings.TrimSpace(string(c)) != comm {
			continue
		}
		cl, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if arg == "" || strings.Contains(string(cl), arg) {
			out = append(out, pid)
		}
	}
	return out
}

// TestE2EKillDuringUnpack kills runtimectl alone (not the VM) while its
// dpkg --unpack runs, a few times at different moments, and runs
// `runtimectl recover` at once. dpkg must not outlive runtimectl (it would
// hold its database lock and go on changing the machine under the
// recovery), recover must never report a rollback while dpkg is unsettled,
// and the machine must end exactly as before.
func TestE2EKillDuringUnpack(t *testing.T) {
	base, tl, planFile, bundleDir := e2eSetup(t)
	v := startVM(t, base, tl)
	v.put(planFile, "plan.json")
	v.put(bundleDir, "bundle")
	snap := v.snapshot()
	pkgsBefore := v.packages()
	for i, delay := range []time.Duration{0, 100 * time.Millisecond, 250 * time.Millisecond, 400 * time.Millisecond} {
		t.Run(fmt.Sprintf("after %s", delay), func(t *testing.T) {
			defer v.in(t)()
			done := make(chan error, 1)
			go func() {
				_, _, err := v.exec("/runtimectl", "apply", "/plan.json", "--bundle", "/bundle")
				done <- err
			}()
			deadline := time.Now().Add(60 * time.Second)
			var ctl []int
			for {
				if len(v.procIn("dpkg", "--unpack")) > 0 {
					ctl = v.procIn("runtimectl", "apply")
					break
				}
				select {
				case err := <-done:
					t.Fatalf("the apply ended before dpkg --unpack was seen: %v", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatal("dpkg --unpack did not start within a minute")
				}
				time.Sleep(2 * time.Millisecond)
			}
			time.Sleep(delay)
			if len(ctl) != 1 {
				t.Fatalf("runtimectl processes in the VM: %v", ctl)
			}
			if err := syscall.Kill(ctl[0], syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if err := <-done; !killed(err) {
				t.Fatalf("case %d: the apply had ended before the kill: %v", i, err)
			}
			out, errOut, err := v.exec("/runtimectl", "recover")
			t.Logf("recover:\n%s%s", errOut, out)
			if err != nil {
				t.Fatalf("recover: %v", err)
			}
			if left := v.procIn("dpkg", ""); len(left) > 0 {
				t.Errorf("dpkg outlived runtimectl: %v", left)
			}
			if !strings.Contains(out, "rolled back") {
				t.Errorf("recover did not roll back: %s", out)
			}
			snap = checkRolledBack(t, v, pkgsBefore, snap, false)
		})
	}
}

// TestE2EDiskFull applies nginx on a root whose file system is a tmpfs
// sized to leave a given amount of free space, from less than the apply's
// reserve to more than it needs: every run ends fully before (refused, or
// rolled back) or fully after, with dpkg --audit clean, never half way.
func TestE2EDiskFull(t *testing.T) {
	base, tl, planFile, bundleDir := e2eSetup(t)
	testenv.RequireTools(t, "mount", "umount")

	// How much the apply needs, measured on a roomy file system.
	v, used := startVMOnTmpfs(t, base, tl, 4<<30, planFile, bundleDir)
	v.apply(planFile, bundleDir)
	need := fsUsed(t, v.root) - used
	t.Logf("the nginx apply uses %d KiB", need>>10)
	v.stop(v.cmd)

	const reserve = 8 << 20 // the executor's reserve (reserve.go)
	p := readPlan(t, planFile)
	for i, free := range []int64{4 << 20, reserve + need/5, reserve + need*2/5, reserve + need*3/5, reserve + need*4/5, reserve + need + 2<<20, 2 * (reserve + need)} {
		t.Run(fmt.Sprintf("level%d", i), func(t *testing.T) {
			v, used := startVMOnTmpfs(t, base, tl, 0, planFile, bundleDir)
			// Size the file system to what is used plus free.
			run(t, "mount", "-o", fmt.Sprintf("remount,size=%d", used+free), filepath.Dir(v.root))
			snap := v.snapshot()
			pkgsBefore := v.packages()
			statusBefore, _ := os.ReadFile(filepath.Join(v.root, "var/lib/dpkg/status"))
			defer func() {
				if after, _ := os.ReadFile(filepath.Join(v.root, "var/lib/dpkg/status")); t.Failed() {
					t.Logf("dpkg status (-before +after):\n%s", cmp.Diff(string(statusBefore), string(after)))
				}
			}()
			out, errOut, err := v.exec("/runtimectl", "apply", "/plan.json", "--bundle", "/bundle")
			t.Logf("apply with %d KiB free: %v\n%s%s", free>>10, err, errOut, out)
			switch {
			case err == nil:
				checkPlanApplied(t, v, p, 1)
			case strings.Contains(errOut, "plan refused, nothing was changed"):
				checkRolledBack(t, v, pkgsBefore, snap, false)
			case strings.Contains(errOut, "the completed steps were undone"):
				checkRolledBack(t, v, pkgsBefore, snap, false)
			default:
				t.Errorf("the apply ended neither before nor after (exit %v)", err)
			}
			v.auditClean()
			if free >= 2*(reserve+need) && err != nil {
				t.Errorf("the apply failed with twice the space it needs")
			}
		})
	}
}

// startVMOnTmpfs is startVM on a root in a tmpfs of its own (size bytes;
// 0: just enough, to be resized), with the plan and bundle copied in. It
// returns the VM and the bytes used on the file system.
func startVMOnTmpfs(t *testing.T, base string, tl *tools, size int64, planFile, bundleDir string) (*vm, int64) {
	t.Helper()
	mnt := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if size == 0 {
		size = 2 << 30
	}
	run(t, "mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0755", size), "tmpfs", mnt)
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	root := filepath.Join(mnt, "root")
	run(t, "cp", "-a", base, root)
	_ = os.Remove(filepath.Join(root, ".complete"))
	run(t, "cp", tl.vm, filepath.Join(root, "runtimectl"))
	run(t, "cp", tl.httpget, filepath.Join(root, "httpget"))
	v := &vm{t: t, root: root}
	v.boot()
	v.put(planFile, "plan.json")
	v.put(bundleDir, "bundle")
	return v, fsUsed(t, root)
}

func fsUsed(t *testing.T, dir string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Blocks-st.Bfree) * int64(st.Bsize) // Bsize is int32 on 386
}
