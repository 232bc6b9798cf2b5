package executor

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// errCrash is what the tests' fault hook returns to stop an operation on
// the spot, as a crash would (no rollback, no cleanup).
var errCrash = errors.New("simulated crash")

// crashPhases are the points Options.CrashAt can name.
var crashPhases = map[string]bool{
	"before": true, "after": true, "done": true,
	"unpack": true, "unpacked": true, "configure": true, "purge": true,
	"undo": true, "undone": true,
}

// crashAt reports whether spec ("<step-id>[:<phase>]") names step and
// phase. Step ids contain colons ("write-file:/etc/x"), so the phase is
// the part after the last colon only when it is a known phase.
func crashAt(spec, step, phase string) bool {
	if spec == "" {
		return false
	}
	id, ph := spec, "before"
	if i := strings.LastIndex(spec, ":"); i >= 0 && crashPhases[spec[i+1:]] {
		id, ph = spec[:i], spec[i+1:]
	}
	return id == step && ph == phase
}

// fault is called at every crash point.
func (r *run) fault(step, phase string) error {
	if r.e.opts.hook != nil {
		return r.e.opts.hook(step, phase)
	}
	if crashAt(r.e.opts.CrashAt, step, phase) {
		r.e.log.Warn("fault injection: killing runtimectl", "step", step, "phase", phase)
		crash()
	}
	return nil
}

// crash ends the process at once, as if the VM stopped: SIGKILL, no
// deferred functions, no cleanup.
func crash() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// dpkgRun runs dpkg for step; phase (unpack, configure, purge) names the
// run for fault injection, which kills dpkg (and what it started) and
// then the executor once dpkg has begun changing its database.
func (r *run) dpkgRun(ctx context.Context, step, phase string, args ...string) (string, error) {
	if r.e.opts.hook != nil {
		if err := r.e.opts.hook(step, phase); err != nil {
			return "", err
		}
	}
	r.dpkg.during = nil
	if crashAt(r.e.opts.CrashAt, step, phase) {
		r.dpkg.during = func(p *os.Process) {
			r.waitDpkgBusy(p.Pid)
			r.e.log.Warn("fault injection: killing dpkg and runtimectl", "step", step, "phase", phase, "dpkg", p.Pid)
			killTree(p.Pid)
			crash()
		}
	}
	defer func() { r.dpkg.during = nil }()
	return r.dpkg.run(ctx, args...)
}

// waitDpkgBusy waits (up to a minute) until dpkg has recorded a change in
// its updates journal, or has exited.
func (r *run) waitDpkgBusy(pid int) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if entries, err := r.fs.readDir(dpkgUpdates); err == nil {
			for _, e := range entries {
				if strings.Trim(e.Name(), "0123456789") == "" {
					return
				}
			}
		}
		if st, err := procState(pid); err != nil || st == 'Z' {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// killTree sends SIGKILL to pid and every descendant of it.
func killTree(pid int) {
	children := map[int][]int{}
	if entries, err := os.ReadDir("/proc"); err == nil {
		for _, e := range entries {
			p, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if pp, err := procParent(p); err == nil {
				children[pp] = append(children[pp], p)
			}
		}
	}
	var kill func(int)
	kill = func(p int) {
		_ = syscall.Kill(p, syscall.SIGSTOP) // no new children while we look
		for _, c := range children[p] {
			kill(c)
		}
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	kill(pid)
}

func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, errors.New("bad stat")
	}
	return strings.Fields(s[i+1:]), nil
}

func procState(pid int) (byte, error) {
	f, err := procStat(pid)
	if err != nil || len(f) < 1 {
		return 0, errors.Join(err, errors.New("bad stat"))
	}
	return f[0][0], nil
}

func procParent(pid int) (int, error) {
	f, err := procStat(pid)
	if err != nil || len(f) < 2 {
		return 0, errors.Join(err, errors.New("bad stat"))
	}
	return strconv.Atoi(f[1])
}
