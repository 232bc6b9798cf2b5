package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// StopSupervisor stops the runsvdir that scans the scan directory and
// every process it started, and returns its pid (0 when none runs).
//
// SIGHUP makes runsvdir send SIGTERM to each runsv and exit at once; each
// runsv then stops its service and its svlogd and exits, but only once
// the service is down, which a service that ignores SIGTERM never is. So
// StopSupervisor follows the whole tree: runsvdir's session (runsvdir
// leads one of its own, see EnsureSupervisor, and runsv, svlogd and the
// services stay in it) and its descendants, listed before the signal and
// while it runs, since once runsvdir has exited its children are
// reparented. It waits for all of them for DefaultStopTimeout, then sends
// SIGKILL to what is left: a machine from which the supervisor was taken
// away must have no supervised process left. The pid file stays.
func (r *Runit) StopSupervisor(ctx context.Context) (int, error) {
	pid, ok := r.supervisorPID()
	if !ok {
		return 0, nil
	}
	leader, err := readProc(pid)
	if err != nil {
		return 0, nil // exited meanwhile
	}
	t := &procTree{leader: leader, members: map[int]procInfo{}}
	t.scan()
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil && !errors.Is(err, syscall.ESRCH) {
		return pid, fmt.Errorf("stop runsvdir (pid %d): %w", pid, err)
	}
	start := time.Now()
	left, err := r.waitTree(ctx, t, DefaultStopTimeout)
	if err != nil {
		return pid, fmt.Errorf("stop runsvdir (pid %d): %w", pid, err)
	}
	if len(left) > 0 {
		r.logger().Warn("processes of runsvdir left after it stopped: killing them", "runsvdir", pid,
			"after", DefaultStopTimeout, "processes", procList(left))
		for _, p := range left {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
		if left, err = r.waitTree(ctx, t, killWait); err != nil {
			return pid, fmt.Errorf("stop runsvdir (pid %d): %w", pid, err)
		}
		if len(left) > 0 {
			return pid, fmt.Errorf("stop runsvdir (pid %d): still running %s after SIGKILL: %s", pid, killWait, procList(left))
		}
	}
	r.logger().Debug("runsvdir stopped", "pid", pid, "took", time.Since(start).Round(time.Millisecond))
	return pid, nil
}

// waitTree polls until no process of t is left, or limit passes, and
// returns those left.
func (r *Runit) waitTree(ctx context.Context, t *procTree, limit time.Duration) ([]procInfo, error) {
	var left []procInfo
	_, err := r.poll(ctx, limit, func() (bool, error) {
		t.scan()
		left = t.alive()
		return len(left) == 0, nil
	})
	return left, err
}

// procInfo is what /proc/PID/stat tells about a process.
type procInfo struct {
	pid, ppid, sid int
	comm           string
	state          byte
	start          uint64 // clock ticks after boot: with pid, names the process
}

func (p procInfo) String() string { return fmt.Sprintf("%d (%s)", p.pid, p.comm) }

func procList(ps []procInfo) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// readProc parses /proc/PID/stat.
func readProc(pid int) (procInfo, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, err
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || end+2 >= len(b) {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: bad format", pid)
	}
	// Fields 3 (state) onwards; starttime is field 22.
	f := strings.Fields(string(b[end+2:]))
	if len(f) < 20 {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: bad format", pid)
	}
	p := procInfo{pid: pid, comm: string(b[open+1 : end]), state: f[0][0]}
	var e1, e2, e3 error
	p.ppid, e1 = strconv.Atoi(f[1])
	p.sid, e2 = strconv.Atoi(f[3])
	p.start, e3 = strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(e1, e2, e3); err != nil {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return p, nil
}

// gone reports whether p has exited: no such process, a zombie, or
// another process that got its pid.
func (p procInfo) gone() bool {
	q, err := readProc(p.pid)
	return err != nil || q.start != p.start || q.state == 'Z' || q.state == 'X'
}

// procTree is a runsvdir and the processes it started.
type procTree struct {
	leader  procInfo
	members map[int]procInfo
}

// scan adds the processes of the leader's session (while the leader runs:
// after it exits its session id may be reused) and the children of the
// leader and of members.
func (t *procTree) scan() {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	leaderUp := !t.leader.gone()
	var all []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == t.leader.pid {
			continue
		}
		if p, err := readProc(pid); err == nil {
			all = append(all, p)
		}
	}
	// Children are older than their descendants: adding in start order
	// adds a whole chain in one pass.
	sort.Slice(all, func(i, j int) bool { return all[i].start < all[j].start })
	for _, p := range all {
		if _, ok := t.members[p.pid]; ok || p.start < t.leader.start {
			continue
		}
		fromLeader := leaderUp && (p.sid == t.leader.pid || p.ppid == t.leader.pid)
		parent, ok := t.members[p.ppid]
		if fromLeader || (ok && !parent.gone()) {
			t.members[p.pid] = p
		}
	}
}

// alive returns the leader, if it still runs, and the members that do.
func (t *procTree) alive() []procInfo {
	var out []procInfo
	if !t.leader.gone() {
		out = append(out, t.leader)
	}
	for _, p := range t.members {
		if !p.gone() {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out
}

// TreeRSSKiB is the resident memory (VmRSS, KiB) of process pid and its
// descendants, from /proc; 0 when pid does not run. Shared pages count
// once per process, as top shows them.
func TreeRSSKiB(pid int) int64 {
	leader, err := readProc(pid)
	if err != nil {
		return 0
	}
	// No leader (pid -1 never runs): members are pid and its descendants.
	t := &procTree{leader: procInfo{pid: -1}, members: map[int]procInfo{pid: leader}}
	t.scan()
	var total int64
	for _, p := range t.members {
		total += vmRSS(p.pid)
	}
	return total
}

// vmRSS reads VmRSS from /proc/PID/status (KiB); 0 for a kernel thread
// or a process that exited.
func vmRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
