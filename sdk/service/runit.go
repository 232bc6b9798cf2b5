package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"

	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// Default paths of a [Runit], as seen inside its Root.
const (
	DefaultServiceDir = "/etc/runtimekit/sv"
	DefaultScanDir    = "/etc/runtimekit/service"
	DefaultLogDir     = "/var/log/runtimekit"
	DefaultPIDFile    = "/run/runtimekit/runsvdir.pid"
)

// Default waits of a [Runit].
const (
	// DefaultScanTimeout bounds the wait for runsvdir to start runsv for a
	// newly enabled service, and for runsv to act on a command. runsvdir
	// looks for new services every 5 s; emulation slows it down.
	DefaultScanTimeout = 30 * time.Second
	// DefaultPollInterval is how often supervise/status is read while
	// waiting.
	DefaultPollInterval = 50 * time.Millisecond
	// killWait bounds the wait for runsv to reap a service after SIGKILL.
	killWait = 10 * time.Second
)

// ErrNotInstalled is wrapped (together with fs.ErrNotExist) by the errors
// for a service that has no service directory.
var ErrNotInstalled = errors.New("service is not installed")

// ErrNoSupervisor is wrapped by the errors of operations that need a
// running runsvdir when there is none: call [Runit.EnsureSupervisor].
var ErrNoSupervisor = errors.New("runsvdir is not running")

// Runit installs and controls services under runit. The zero value uses
// the default paths on the running system; every field is optional.
//
// Root is the directory the other paths are inside; this process reads
// and writes the files at Root joined with them. What the supervision
// tree sees depends on Chroot:
//
//   - Chroot false: Root is only a prefix. The symlink targets and the
//     paths the scripts and runsvdir use are Root-prefixed too, and
//     runsvdir, runsv, svlogd and the services are this machine's programs
//     running on this machine's file system: a temporary Root lets tests
//     run real runit processes on files below it, and nothing is
//     contained.
//   - Chroot true: runsvdir is started chrooted into Root, from the
//     runsvdir installed in Root, so runsv, the scripts, chpst, svlogd and
//     the services all run inside it, see its files only and look users up
//     in its /etc/passwd. The symlink targets and the scripts' paths are
//     then the paths inside Root, as they would be on a machine whose
//     root Root is.
//
// Chroot is a field of its own rather than implied by a Root other than
// "/" because the prefix mode is what runs runit's real programs against a
// scratch directory without a whole system in it; a caller that manages
// another machine's root (runtimectl apply --root) sets it.
//
// A Runit keeps no state between calls: everything is on disk, so several
// Runits (or processes) may manage the same directories, one operation per
// service at a time.
type Runit struct {
	Root       string // default "/"
	Chroot     bool   // run the supervision tree chrooted into Root
	ServiceDir string // parent of the service directories; default DefaultServiceDir
	ScanDir    string // the directory runsvdir scans; default DefaultScanDir
	LogDir     string // parent of the log directories; default DefaultLogDir
	PIDFile    string // runsvdir's pid, written by EnsureSupervisor; default DefaultPIDFile

	ScanTimeout  time.Duration // default DefaultScanTimeout
	PollInterval time.Duration // default DefaultPollInterval
	Logger       *slog.Logger  // nil discards
}

// Status is a service's state, read from runsv's supervise/status.
type Status struct {
	Name string
	// Enabled is true when the service is linked into the scan directory.
	Enabled bool
	// Supervised is true when a runsv process serves the service. When
	// false, the fields below describe no process: State is StateDown.
	Supervised bool
	State      State
	// Up is true while ./run is running (State is StateRun).
	Up bool
	// PID is the process ./run became (the service itself), or ./finish's
	// while State is StateFinish; 0 when down.
	PID int
	// Since is when the service entered its current state (as runsv saw it;
	// runsv keeps its start time while ./finish runs).
	Since time.Time
	// WantUp is true when runsv starts the service again if it exits.
	WantUp bool
	// NormallyUp is true without a down file: runsv starts the service
	// when runsv itself starts.
	NormallyUp bool
	Paused     bool
	// GotTerm is true after runsv sent SIGTERM until the process exits.
	GotTerm bool
}

func (r *Runit) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

func (r *Runit) path(p, def string) string {
	if p == "" {
		p = def
	}
	root := r.Root
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, p)
}

// seen returns path p (def when empty) as the supervision tree sees it:
// inside Root when chrooted, Root-prefixed otherwise.
func (r *Runit) seen(p, def string) string {
	if !r.Chroot {
		return r.path(p, def)
	}
	if p == "" {
		p = def
	}
	return filepath.Join("/", p)
}

// Dir returns the service directory of the service name.
func (r *Runit) Dir(name string) string {
	return filepath.Join(r.path(r.ServiceDir, DefaultServiceDir), name)
}

// LogPath returns the directory svlogd writes the service's log to; the
// current log is the file "current" in it.
func (r *Runit) LogPath(name string) string {
	return filepath.Join(r.path(r.LogDir, DefaultLogDir), name)
}

func (r *Runit) scanDir() string { return r.path(r.ScanDir, DefaultScanDir) }

// seenScanDir is the scan directory as runsvdir sees it: its argument.
func (r *Runit) seenScanDir() string { return r.seen(r.ScanDir, DefaultScanDir) }

func (r *Runit) link(name string) string { return filepath.Join(r.scanDir(), name) }

func (r *Runit) scanTimeout() time.Duration {
	if r.ScanTimeout > 0 {
		return r.ScanTimeout
	}
	return DefaultScanTimeout
}

func (r *Runit) pollInterval() time.Duration {
	if r.PollInterval > 0 {
		return r.PollInterval
	}
	return DefaultPollInterval
}

// installed returns the service directory of an installed service.
func (r *Runit) installed(name string) (string, error) {
	if !ValidName(name) {
		return "", fmt.Errorf("%w: name %q", ErrInvalid, name)
	}
	dir := r.Dir(name)
	if _, err := os.Stat(filepath.Join(dir, fileRun)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("service %s: %w: %w", name, ErrNotInstalled, err)
		}
		return "", fmt.Errorf("service %s: %w", name, err)
	}
	return dir, nil
}

// Install writes the service directory of svc and its log directory, each
// file atomically. It does not enable or start the service; installing
// over an existing service rewrites its files, which runsv uses the next
// time it starts the service.
func (r *Runit) Install(ctx context.Context, svc unit.Service) error {
	l, err := render(svc, filepath.Join(r.seen(r.LogDir, DefaultLogDir), svc.Name))
	if err != nil {
		return err
	}
	dir := r.Dir(svc.Name)
	for _, d := range []string{dir, filepath.Join(dir, "log")} {
		if err := mkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("install %s: %w", svc.Name, err)
		}
	}
	if l.svc.StopSignal != "TERM" {
		if err := mkdirAll(filepath.Join(dir, "control"), 0o755); err != nil {
			return fmt.Errorf("install %s: %w", svc.Name, err)
		}
	}
	if err := mkdirAll(r.LogPath(svc.Name), 0o750); err != nil {
		return fmt.Errorf("install %s: %w", svc.Name, err)
	}
	dirty := map[string]bool{}
	for _, rel := range l.stale {
		removed, err := removeFile(filepath.Join(dir, rel))
		if err != nil {
			return fmt.Errorf("install %s: %w", svc.Name, err)
		}
		if removed {
			dirty[filepath.Dir(filepath.Join(dir, rel))] = true
		}
	}
	for _, f := range l.files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("install %s: %w", svc.Name, err)
		}
		p := filepath.Join(dir, f.rel)
		if err := writeFile(p, f.data, fs.FileMode(f.mode)); err != nil {
			return fmt.Errorf("install %s: %w", svc.Name, err)
		}
		dirty[filepath.Dir(p)] = true
	}
	for d := range dirty {
		if err := durable.SyncDir(d); err != nil {
			return fmt.Errorf("install %s: %w", svc.Name, err)
		}
	}
	r.logger().Debug("service installed", "service", svc.Name, "dir", dir,
		"restart", l.svc.Restart, "stopSignal", l.svc.StopSignal)
	return nil
}

// Enable links the service into the scan directory and waits until
// runsvdir has started runsv for it (up to ScanTimeout). runsv then starts
// the service unless its restart policy is "never". It fails with
// ErrNoSupervisor when runsvdir is not running; the link stays, and the
// service is picked up when runsvdir starts.
func (r *Runit) Enable(ctx context.Context, name string) error {
	dir, err := r.installed(name)
	if err != nil {
		return err
	}
	if err := mkdirAll(r.scanDir(), 0o755); err != nil {
		return fmt.Errorf("enable %s: %w", name, err)
	}
	link := r.link(name)
	want := filepath.Join(r.seen(r.ServiceDir, DefaultServiceDir), name)
	if target, err := os.Readlink(link); err != nil || target != want {
		if err := renameio.Symlink(want, link); err != nil {
			return fmt.Errorf("enable %s: %w", name, err)
		}
		if err := durable.SyncDir(r.scanDir()); err != nil {
			return fmt.Errorf("enable %s: %w", name, err)
		}
		r.logger().Debug("service enabled", "service", name, "link", link)
	}
	return r.waitSupervised(ctx, name, dir)
}

// waitSupervised waits until a runsv serves dir.
func (r *Runit) waitSupervised(ctx context.Context, name, dir string) error {
	if ok, err := supervised(dir); err != nil || ok {
		return err
	}
	pid, ok := r.supervisorPID()
	if !ok {
		return fmt.Errorf("service %s: %w (scan directory %s)", name, ErrNoSupervisor, r.scanDir())
	}
	// runsvdir rescans within 5 s by itself; a runsvdir that rescans on
	// SIGALRM is asked to now, and again every 1.1 s, since it scans at most
	// once a second and ignores a request that comes sooner.
	start := time.Now()
	kick, kickable := start, true
	ok, err := r.poll(ctx, r.scanTimeout(), func() (bool, error) {
		up, err := supervised(dir)
		if up || err != nil {
			return up, err
		}
		if now := time.Now(); kickable && !now.Before(kick) {
			kickable = r.kickSupervisor(pid)
			kick = now.Add(1100 * time.Millisecond)
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("service %s: wait for runsv: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("service %s: runsvdir on %s did not start runsv within %s%s", name, r.scanDir(), r.scanTimeout(), r.logNote())
	}
	r.logger().Debug("service supervised", "service", name, "waited", time.Since(start).Round(time.Millisecond))
	return nil
}

// Start starts the service and waits until runsv has started it; it
// enables the service first (see Enable) when needed. A service with restart "never" is run
// once ('o'); others are wanted up ('u'), so runsv restarts them as their
// policy says. Start does not wait for the service to be ready: use a
// health check ([Wait]).
func (r *Runit) Start(ctx context.Context, name string) error {
	dir, err := r.installed(name)
	if err != nil {
		return err
	}
	if err := r.Enable(ctx, name); err != nil {
		return err
	}
	before, err := readStatus(dir)
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	if before.state == StateRun && before.wantUp {
		return nil
	}
	cmd := "u"
	if _, err := os.Stat(filepath.Join(dir, fileDown)); err == nil {
		cmd = "o"
	}
	if err := control(dir, cmd); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	// Up, or a state change since the command: a service that ran and
	// exited at once is started too (its policy says what happens next).
	ok, err := r.poll(ctx, r.scanTimeout(), func() (bool, error) {
		s, err := readStatus(dir)
		return (s.state == StateRun && s.pid != 0) || s.stamp != before.stamp, err
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("start %s: runsv did not start it within %s%s", name, r.scanTimeout(), r.logNote())
	}
	s, _ := readStatus(dir)
	r.logger().Debug("service started", "service", name, "pid", s.pid, "command", cmd)
	return nil
}

// Stop stops the service: runsv sends its stop signal (see the package
// documentation), and when the service has not exited after its
// StopTimeout, Stop has runsv send SIGKILL. The service stays down until
// Start (or until runsv itself restarts, e.g. at the next boot, unless its
// policy is "never"). Stopping a service that no runsv serves does nothing.
func (r *Runit) Stop(ctx context.Context, name string) error {
	dir, err := r.installed(name)
	if err != nil {
		return err
	}
	if ok, err := supervised(dir); err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	} else if !ok {
		r.logger().Debug("service not supervised: nothing to stop", "service", name)
		return nil
	}
	timeout := stopTimeout(dir)
	if err := control(dir, "d"); err != nil {
		if errors.Is(err, errNotSupervised) {
			return nil
		}
		return fmt.Errorf("stop %s: %w", name, err)
	}
	down := func() (bool, error) {
		s, err := readStatus(dir)
		return s.state == StateDown && s.pid == 0, err
	}
	start := time.Now()
	ok, err := r.poll(ctx, timeout, down)
	if err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	if ok {
		r.logger().Debug("service stopped", "service", name, "took", time.Since(start).Round(time.Millisecond))
		return nil
	}
	r.logger().Warn("service did not stop in time: killing it", "service", name, "stopTimeout", timeout)
	if err := control(dir, "k"); err != nil && !errors.Is(err, errNotSupervised) {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	ok, err = r.poll(ctx, killWait, down)
	if err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	if !ok {
		s, _ := readStatus(dir)
		return fmt.Errorf("stop %s: still %s (pid %d) %s after SIGKILL", name, s.state, s.pid, killWait)
	}
	return nil
}

// stopTimeout reads the service's StopTimeout from its definition file.
func stopTimeout(dir string) time.Duration {
	b, err := os.ReadFile(filepath.Join(dir, fileDef))
	if err != nil {
		return DefaultStopTimeout
	}
	var svc unit.Service
	if json.Unmarshal(b, &svc) != nil {
		return DefaultStopTimeout
	}
	if d := svc.StopTimeout.Std(); d > 0 {
		return d
	}
	return DefaultStopTimeout
}

// Restart stops the service as Stop does (stop signal, then SIGKILL after
// StopTimeout) and starts it again.
func (r *Runit) Restart(ctx context.Context, name string) error {
	if err := r.Stop(ctx, name); err != nil {
		return err
	}
	return r.Start(ctx, name)
}

// Disable stops the service, removes its link from the scan directory and
// has its runsv (and the runsv's svlogd) exit. The service directory
// stays. Disabling a service that is not enabled does nothing.
func (r *Runit) Disable(ctx context.Context, name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: name %q", ErrInvalid, name)
	}
	dir := r.Dir(name)
	if _, err := r.installed(name); err == nil {
		if err := r.Stop(ctx, name); err != nil {
			return err
		}
	}
	// Unlink before 'x': when runsv exits, runsvdir starts a new one for
	// every directory still linked.
	if removed, err := removeFile(r.link(name)); err != nil {
		return fmt.Errorf("disable %s: %w", name, err)
	} else if removed {
		if err := durable.SyncDir(r.scanDir()); err != nil {
			return fmt.Errorf("disable %s: %w", name, err)
		}
	}
	if err := control(dir, "x"); err != nil {
		if errors.Is(err, errNotSupervised) {
			return nil
		}
		return fmt.Errorf("disable %s: %w", name, err)
	}
	ok, err := r.poll(ctx, r.scanTimeout(), func() (bool, error) {
		up, err := supervised(dir)
		return !up, err
	})
	if err != nil {
		return fmt.Errorf("disable %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("disable %s: runsv did not exit within %s", name, r.scanTimeout())
	}
	r.logger().Debug("service disabled", "service", name)
	return nil
}

// Remove disables the service (see Disable) and removes its service
// directory and its log directory. Removing a service that is not
// installed removes whatever is left of it.
func (r *Runit) Remove(ctx context.Context, name string) error {
	if err := r.Disable(ctx, name); err != nil {
		return err
	}
	for _, d := range []string{r.Dir(name), r.LogPath(name)} {
		if _, err := os.Lstat(d); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("remove %s: %w", name, err)
		}
		if err := durable.SyncDir(filepath.Dir(d)); err != nil {
			return fmt.Errorf("remove %s: %w", name, err)
		}
	}
	r.logger().Debug("service removed", "service", name)
	return nil
}

// Status reads the service's state from runsv's supervise/status file. It
// spawns no process.
func (r *Runit) Status(ctx context.Context, name string) (Status, error) {
	st := Status{Name: name, State: StateDown}
	dir, err := r.installed(name)
	if err != nil {
		return st, err
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if _, err := os.Lstat(r.link(name)); err == nil {
		st.Enabled = true
	}
	if _, err := os.Stat(filepath.Join(dir, fileDown)); errors.Is(err, fs.ErrNotExist) {
		st.NormallyUp = true
	}
	ok, err := supervised(dir)
	if err != nil {
		return st, fmt.Errorf("status %s: %w", name, err)
	}
	if !ok {
		return st, nil
	}
	s, err := readStatus(dir)
	if err != nil {
		return st, fmt.Errorf("status %s: %w", name, err)
	}
	st.Supervised = true
	st.State = s.state
	st.Up = s.state == StateRun && s.pid != 0
	st.PID = s.pid
	st.Since = s.since
	st.WantUp = s.wantUp
	st.Paused = s.paused
	st.GotTerm = s.gotTerm
	return st, nil
}

// logNote returns the tail of runsvdir's log, for an error message.
func (r *Runit) logNote() string {
	l := r.supervisorLog()
	if l == "" {
		return ""
	}
	if len(l) > 300 {
		l = "..." + l[len(l)-300:]
	}
	return " (runsvdir log: " + l + ")"
}

// poll calls cond every PollInterval until it returns true (true, nil), an
// error, ctx ends (its error), or limit passes (false, nil).
func (r *Runit) poll(ctx context.Context, limit time.Duration, cond func() (bool, error)) (bool, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(r.pollInterval())
	defer tick.Stop()
	// A file runsv has not written yet reads as "not yet".
	check := func() (bool, error) {
		ok, err := cond()
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return ok && err == nil, err
	}
	for {
		if ok, err := check(); ok || err != nil {
			return ok, err
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-deadline.C:
			return check()
		case <-tick.C:
		}
	}
}
