package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runtimekit/runtimekit/internal/durable"
)

// logArg is runsvdir's optional last argument: runsvdir keeps the last
// characters of its (and every runsv's) stderr in it, in place, so they
// show in ps and in /proc/PID/cmdline. runit keeps the first five
// characters.
const (
	logArgPrefix = "log: "
	logArgLen    = 400
)

// EnsureSupervisor makes sure a runsvdir scans the scan directory and
// returns its pid. It reuses the runsvdir recorded in the pid file when
// that process is alive and is a runsvdir on the scan directory, or else
// one it finds in /proc; otherwise it starts one, detached in a session of
// its own (setsid) with its output in its log argument, and records its
// pid. The VM has no init: this is what starts the supervision tree, and
// it is safe to call before every operation.
//
// With Chroot, runsvdir is the one installed in Root, started chrooted
// into Root with only PATH in its environment; a Root without it is
// refused, since the host's runit would supervise the services outside
// the root. A running runsvdir is reused only when its root directory
// (/proc/PID/root) is the one it would be started in, so a runsvdir in
// another root, or on this machine, with the same scan path is never
// taken for it.
//
// runsvdir stays a child of the calling process until that process exits
// (a goroutine reaps it should it exit earlier).
func (r *Runit) EnsureSupervisor(ctx context.Context) (int, error) {
	scan := r.scanDir()
	pidFile := r.path(r.PIDFile, DefaultPIDFile)
	if err := mkdirAll(scan, 0o755); err != nil {
		return 0, fmt.Errorf("start runsvdir: %w", err)
	}
	if err := mkdirAll(filepath.Dir(pidFile), 0o755); err != nil {
		return 0, fmt.Errorf("start runsvdir: %w", err)
	}
	unlock, err := r.lock(ctx, pidFile+".lock")
	if err != nil {
		return 0, fmt.Errorf("start runsvdir: %w", err)
	}
	defer unlock()

	if pid, recorded, ok := r.supervisorPIDFrom(pidFile); ok {
		if !recorded {
			if err := writePIDFile(pidFile, pid); err != nil {
				return 0, fmt.Errorf("record runsvdir: %w", err)
			}
		}
		r.logger().Debug("runsvdir is running", "pid", pid, "scanDir", scan)
		return pid, nil
	}

	attr := &syscall.SysProcAttr{Setsid: true}
	var bin string
	if r.Chroot {
		root, err := r.absRoot()
		if err != nil {
			return 0, fmt.Errorf("start runsvdir: %w", err)
		}
		if bin, err = lookIn(root, "runsvdir"); err != nil {
			return 0, fmt.Errorf("runsvdir is not installed in %s: the plan must install runit first", root)
		}
		attr.Chroot = root
	} else if bin, err = lookRunit("runsvdir"); err != nil {
		return 0, fmt.Errorf("start runsvdir: %w (install the runit package)", err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("start runsvdir: %w", err)
	}
	defer devnull.Close()
	// Not exec.CommandContext: runsvdir outlives this call and this process.
	// Dir is applied after the chroot: "/" is Root's.
	cmd := exec.Command(bin, r.seenScanDir(), logArgPrefix+strings.Repeat(".", logArgLen))
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=" + DefaultPath}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		if attr.Chroot != "" {
			return 0, fmt.Errorf("start runsvdir chrooted into %s: %w", attr.Chroot, err)
		}
		return 0, fmt.Errorf("start runsvdir: %w", err)
	}
	pid := cmd.Process.Pid
	go func() { _ = cmd.Wait() }() // reap it if it exits while we run
	if err := writePIDFile(pidFile, pid); err != nil {
		return 0, fmt.Errorf("record runsvdir: %w", err)
	}
	if attr.Chroot != "" {
		r.logger().Info("started runsvdir", "pid", pid, "scanDir", scan, "chroot", attr.Chroot)
	} else {
		r.logger().Info("started runsvdir", "pid", pid, "scanDir", scan)
	}
	return pid, nil
}

// SupervisorPID returns the pid of the runsvdir that scans the scan
// directory (the one the pid file records, or else one found in /proc),
// and whether one runs. It starts nothing.
func (r *Runit) SupervisorPID() (int, bool) { return r.supervisorPID() }

// supervisorPID returns the pid of the runsvdir on the scan directory.
func (r *Runit) supervisorPID() (int, bool) {
	pid, _, ok := r.supervisorPIDFrom(r.path(r.PIDFile, DefaultPIDFile))
	return pid, ok
}

// supervisorPIDFrom returns the pid of the runsvdir on the scan directory
// and whether pidFile records it.
func (r *Runit) supervisorPIDFrom(pidFile string) (pid int, recorded, ok bool) {
	scan, root := r.seenScanDir(), r.supervisorRoot()
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && isRunsvdir(pid, scan, root) {
			return pid, true, true
		}
	}
	// No pid file, or a stale one (after a reboot its pid may be anyone's):
	// look for a runsvdir another process started on the directory.
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false, false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if isRunsvdir(pid, scan, root) {
			return pid, false, true
		}
	}
	return 0, false, false
}

// supervisorLog returns the tail of runsvdir's stderr (and its runsv
// children's) from its log argument, or "".
func (r *Runit) supervisorLog() string {
	pid, ok := r.supervisorPID()
	if !ok {
		return ""
	}
	args, err := procArgs(pid)
	if err != nil || len(args) < 3 {
		return ""
	}
	s := args[len(args)-1]
	if !strings.HasPrefix(s, logArgPrefix) {
		return ""
	}
	s = strings.TrimLeft(strings.TrimPrefix(s, logArgPrefix), ".")
	return strings.TrimSpace(strings.ReplaceAll(s, "\n", "; "))
}

// catches reports whether process pid has a handler for sig, from the
// SigCgt mask in /proc/PID/status.
func catches(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<(uint(sig)-1)) != 0
		}
	}
	return false
}

// kickSupervisor asks runsvdir pid to rescan its directory now, and
// reports whether it could. Debian's runsvdir (runit 2.1.2-34 and later,
// "forced rescan") rescans on SIGALRM, at most once a second; upstream
// runit 2.1.2's does not catch SIGALRM, which would kill it, so the signal
// is sent only to a runsvdir that catches it.
func (r *Runit) kickSupervisor(pid int) bool {
	if !isRunsvdir(pid, r.seenScanDir(), r.supervisorRoot()) || !catches(pid, syscall.SIGALRM) {
		return false
	}
	return syscall.Kill(pid, syscall.SIGALRM) == nil
}

// isRunsvdir reports whether pid is a live runsvdir scanning scan (the
// path as it sees it) in the root directory root, as /proc/PID/root shows
// it to this process; root "" skips that check (see supervisorRoot).
func isRunsvdir(pid int, scan, root string) bool {
	if pid <= 0 {
		return false
	}
	if root != "" {
		if got, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/root"); err != nil || got != root {
			return false
		}
	}
	comm, st, err := procStat(pid)
	if err != nil || comm != "runsvdir" || st == 'Z' || st == 'X' {
		return false
	}
	args, err := procArgs(pid)
	if err != nil || len(args) < 2 || filepath.Base(args[0]) != "runsvdir" {
		return false
	}
	dir := args[1]
	if (dir == "-P" || dir == "--") && len(args) > 2 {
		dir = args[2]
	}
	return filepath.Clean(dir) == filepath.Clean(scan)
}

// procStat returns a process's command name and state from /proc/PID/stat.
func procStat(pid int) (comm string, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, err
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || end+2 >= len(b) {
		return "", 0, fmt.Errorf("/proc/%d/stat: bad format", pid)
	}
	return string(b[open+1 : end]), b[end+2], nil
}

// procArgs returns a process's arguments from /proc/PID/cmdline.
func procArgs(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), nil
}

// writePIDFile records pid atomically.
func writePIDFile(path string, pid int) error {
	if err := writeFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return err
	}
	return durable.SyncDir(filepath.Dir(path))
}

// lookRunit finds a runit program in PATH or, when PATH lacks it (a
// minimal environment), in DefaultPath.
func lookRunit(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, dir := range filepath.SplitList(DefaultPath) {
		q := filepath.Join(dir, name)
		if fi, e := os.Stat(q); e == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return q, nil
		}
	}
	return "", err
}

// lock takes an exclusive flock on path, waiting while another process
// holds it, so two processes never start two runsvdirs.
func (r *Runit) lock(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(r.pollInterval()):
		}
	}
}
