//go:build crashtest

package executor

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// crashOptions is embedded in Options in binaries built with -tags
// crashtest, the builds the end-to-end crash tests run; other builds have
// an empty one (fault_off.go) and so no CrashAt at all.
type crashOptions struct {
	// CrashAt is a fault-injection hook for crash tests: the process
	// kills itself with SIGKILL, as if the VM's tab had closed, at a
	// point named "<step-id>[:<phase>]". Phases: before (the default:
	// journal says doing, nothing done yet), after (done, not yet
	// journaled), done (journaled), unpack and configure (while that dpkg
	// run of an install-packages step is working: dpkg is killed too),
	// purge (the same for a remove-packages step or an undo's purge),
	// unpacked (between unpack and configure), undo (journal says
	// undoing), undone. runtimectl built with -tags crashtest sets it
	// from RUNTIMEKIT_CRASH_AT.
	CrashAt string
}

// crashPoint kills the process when CrashAt names step and phase.
func (r *run) crashPoint(step, phase string) {
	if crashAt(r.e.opts.CrashAt, step, phase) {
		r.e.log.Warn("fault injection: killing runtimectl", "step", step, "phase", phase)
		crash()
	}
}

// dpkgCrash returns, when CrashAt names step and phase, what to do with
// the running dpkg: wait until it has begun changing its database, then
// kill it (and what it started) and the executor. It returns nil
// otherwise.
func (r *run) dpkgCrash(step, phase string) func(*os.Process) {
	if !crashAt(r.e.opts.CrashAt, step, phase) {
		return nil
	}
	return func(p *os.Process) {
		r.waitDpkgBusy(p.Pid)
		r.e.log.Warn("fault injection: killing dpkg and runtimectl", "step", step, "phase", phase, "dpkg", p.Pid)
		killTree(p.Pid)
		crash()
	}
}

// crash ends the process at once, as if the VM stopped: SIGKILL, no
// deferred functions, no cleanup.
func crash() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
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
