package service

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStopSupervisor stops a runsvdir whose service ignores SIGTERM, so
// that its runsv cannot exit by itself: nothing of the supervision tree
// may be left.
func TestStopSupervisor(t *testing.T) {
	g := newRig(t)
	r, ctx := g.runit(t), t.Context()
	svc := g.service("stubborn", map[string]string{"HELPER_IGNORE": "1"})
	if err := r.Install(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, "stubborn"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "helper not ready", func() bool { return g.count("stubborn", "ready_") == 1 })
	st, err := r.Status(ctx, "stubborn")
	if err != nil || !st.Up {
		t.Fatalf("status: %+v, %v", st, err)
	}
	inTree := func(p proc) bool { return p.sid == g.pid || p.pid == st.PID }
	if len(procs(inTree)) < 4 {
		t.Fatalf("want runsvdir, runsv, svlogd and the service running; have %v", procs(inTree))
	}

	pid, err := r.StopSupervisor(ctx)
	if err != nil || pid != g.pid {
		t.Fatalf("StopSupervisor = %d, %v; want %d", pid, err, g.pid)
	}
	reap()
	if left := procs(func(p proc) bool { return inTree(p) && p.state != 'Z' }); len(left) > 0 {
		t.Errorf("left after StopSupervisor: %v", left)
	}
	if g.count("stubborn", "signal_TERM") != 1 {
		t.Errorf("events %v: want the TERM the service ignored before it was killed", g.events("stubborn"))
	}
	if p, ok := r.SupervisorPID(); ok {
		t.Errorf("SupervisorPID = %d after StopSupervisor", p)
	}
	if _, err := os.Stat(filepath.Join(g.root, DefaultPIDFile)); err != nil {
		t.Errorf("the pid file is left for the caller: %v", err)
	}
}

func TestTreeRSSKiB(t *testing.T) {
	self := TreeRSSKiB(os.Getpid())
	if self <= 0 {
		t.Fatalf("TreeRSSKiB(self) = %d, want the test process's resident memory", self)
	}
	if got := TreeRSSKiB(1 << 30); got != 0 {
		t.Errorf("TreeRSSKiB of no process = %d, want 0", got)
	}
}
