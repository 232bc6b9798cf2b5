package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runtimekit/runtimekit/sdk/debian"
)

// Paths of dpkg's database, inside the root.
const (
	dpkgAdmin          = "var/lib/dpkg"
	dpkgStatus         = dpkgAdmin + "/status"
	dpkgUpdates        = dpkgAdmin + "/updates"
	dpkgFrontendLock   = "var/lib/dpkg/lock-frontend"
	dpkgDBLock         = "var/lib/dpkg/lock"
	policyRCPath       = "usr/sbin/policy-rc.d"
	policyRCScript     = "#!/bin/sh\n# Written by runtimekit while it runs dpkg: no maintainer script starts a service.\nexit 101\n"
	dpkgOutputTailSize = 2000
)

// pkgState is one package as dpkg's status file records it.
type pkgState struct {
	Name    string `json:"name"`
	Arch    string `json:"arch"`
	Version string `json:"version,omitempty"`
	// Status is the third word of the Status field ("installed",
	// "unpacked", "half-configured", "config-files", ...), or
	// "not-installed" when the package is absent.
	Status string `json:"status"`
	// Reinstreq is dpkg's "reinstallation required" flag: dpkg refuses
	// to remove the package until it is unpacked again.
	Reinstreq bool `json:"reinstreq,omitempty"`
	// SHA256 is the .deb a rollback reinstalls the package from: the
	// digest the plan or the state recorded, never one found by name.
	SHA256 string `json:"sha256,omitempty"`

	// essential is set for an Essential or Protected package, or one of
	// priority required: the base system, which no plan may remove.
	essential bool
	// recorded is set when dpkg has a record of the package (even one
	// not installed); want is the first word of its Status (install,
	// hold, deinstall, purge).
	recorded bool
	want     string
}

func (p pkgState) key() string { return p.Name + ":" + p.Arch }

// present reports whether dpkg has files of the package on disk beyond
// its configuration files.
func (p pkgState) present() bool {
	return p.Status != "not-installed" && p.Status != "config-files" && p.Status != ""
}

// settled states need no more dpkg work; others make dpkg --audit complain.
func settled(status string) bool {
	switch status {
	case "installed", "not-installed", "config-files", "":
		return true
	}
	return false
}

// dpkgDB is dpkg's package database, by name:arch.
type dpkgDB map[string]pkgState

// readDpkgStatus reads the package database as dpkg itself would see it,
// in Go (cheaper than dpkg-query, which is a process): the status file,
// then the records of dpkg's updates journal (var/lib/dpkg/updates/NNNN)
// that a dpkg cut off — killed, or out of disk space — had not merged
// into it yet, in order, each replacing the package's record (see
// debian.ReadDpkgDatabase).
func (f *fsroot) readDpkgStatus() (dpkgDB, error) {
	admin, err := fs.Sub(f.r.FS(), dpkgAdmin)
	if err != nil {
		return nil, err
	}
	st, err := debian.ReadDpkgDatabase(context.Background(), admin, f.host(dpkgAdmin))
	if err != nil {
		return nil, err
	}
	db := make(dpkgDB, len(st.Packages))
	for i := range st.Packages {
		p := pkgStateOf(&st.Packages[i])
		db[p.key()] = p
	}
	return db, nil
}

// pkgStateOf is what the executor keeps of a package's dpkg record.
func pkgStateOf(d *debian.Package) pkgState {
	p := pkgState{
		Name: d.Name, Arch: d.Architecture, Version: d.Version, recorded: true,
		essential: d.Essential || d.Protected || d.Priority == "required",
	}
	if want, flag, state, ok := d.StatusFields(); ok {
		p.want, p.Status, p.Reinstreq = want, state, flag == "reinstreq"
	}
	return p
}

func (db dpkgDB) get(name, arch string) pkgState {
	if p, ok := db[name+":"+arch]; ok {
		return p
	}
	return pkgState{Name: name, Arch: arch, Status: "not-installed"}
}

// list returns "name:arch=version" for every package with files on disk,
// sorted: the package set compared before and after a rollback.
func (db dpkgDB) list() []string {
	var out []string
	for _, p := range db {
		if p.present() {
			out = append(out, p.key()+"="+p.Version)
		}
	}
	sort.Strings(out)
	return out
}

// unsettled lists packages dpkg has not finished with.
func (db dpkgDB) unsettled() []string {
	var out []string
	for _, p := range db {
		if !settled(p.Status) {
			out = append(out, p.key()+" ("+p.Status+")")
		}
	}
	sort.Strings(out)
	return out
}

// nativeArch returns the machine's dpkg architecture: the architecture of
// the installed dpkg package is the one it was built for, which is what
// `dpkg --print-architecture` prints. ok is false when dpkg is not in the
// status file.
func (db dpkgDB) nativeArch() (string, bool) {
	for _, p := range db {
		if p.Name == "dpkg" && p.present() {
			return p.Arch, true
		}
	}
	return "", false
}

// interrupted reports whether dpkg left work unfinished: records in its
// updates journal or a package in a transitional state.
func (f *fsroot) dpkgInterrupted(db dpkgDB) (bool, error) {
	entries, err := f.readDir(dpkgUpdates)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	for _, e := range entries {
		// Numbered files are status updates dpkg has not yet merged
		// into the status file: it stopped in the middle of something.
		if strings.Trim(e.Name(), "0123456789") == "" {
			return true, nil
		}
	}
	return len(db.unsettled()) > 0, nil
}

func (f *fsroot) readDir(rel string) ([]fs.DirEntry, error) {
	d, err := f.r.Open(rel)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// dpkg runs dpkg the way apt does: noninteractive, with the frontend lock
// held by the executor (DPKG_FRONTEND_LOCKED), keeping existing
// configuration files, and with --root when the root is not "/".
type dpkg struct {
	prog string
	fs   *fsroot
	log  *slog.Logger
	// during is called with the running dpkg process (fault injection).
	during func(proc *os.Process)
}

// DpkgError is a dpkg run that failed.
type DpkgError struct {
	Args   []string
	Err    error
	Output string // the end of dpkg's output
}

func (e *DpkgError) Error() string {
	msg := fmt.Sprintf("dpkg %s: %v", strings.Join(e.Args, " "), e.Err)
	if e.Output != "" {
		msg += "\n" + e.Output
	}
	return msg
}

func (e *DpkgError) Unwrap() error { return e.Err }

func (d *dpkg) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DEBIAN_FRONTEND", "DPKG_FRONTEND_LOCKED", "LC_ALL", "PATH":
			continue
		}
		env = append(env, kv)
	}
	path := os.Getenv("PATH")
	for _, dir := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		if !strings.Contains(":"+path+":", ":"+dir+":") {
			path = strings.TrimPrefix(path+":"+dir, ":")
		}
	}
	return append(env, "DEBIAN_FRONTEND=noninteractive", "DPKG_FRONTEND_LOCKED=1", "LC_ALL=C", "PATH="+path)
}

func (d *dpkg) args(args []string) []string {
	var out []string
	if d.fs.dir != "/" {
		out = append(out, "--root="+d.fs.dir)
	}
	return append(out, args...)
}

// run runs one dpkg command and returns its output.
func (d *dpkg) run(ctx context.Context, args ...string) (string, error) {
	full := d.args(args)
	cmd := exec.CommandContext(ctx, d.prog, full...)
	cmd.Env = d.env()
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// dpkg is not killed by a cancelled context in the middle of its work
	// more brutally than needed: SIGTERM first, which dpkg handles.
	cmd.Cancel = func() error { return cmd.Process.Signal(unix.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	// dpkg must not outlive the executor that drives it: an orphaned dpkg
	// would go on changing the database while `runtimectl recover` rolls
	// back. Killed with its parent, it leaves what a power cut leaves,
	// which recovery handles. (Pdeathsig follows the thread that started
	// dpkg; the Go runtime does not end its threads while the process runs
	// unless a goroutine locked to one exits, which none here does.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return "", &DpkgError{Args: args, Err: err}
	}
	if d.during != nil {
		d.during(cmd.Process)
	}
	err := cmd.Wait()
	d.log.Debug("dpkg", "args", full, "took", time.Since(start).Round(time.Millisecond), "err", err)
	if err != nil {
		return out.String(), &DpkgError{Args: args, Err: err, Output: tail(out.String(), dpkgOutputTailSize)}
	}
	return out.String(), nil
}

// audit runs dpkg --audit; it fails unless dpkg reports nothing.
func (d *dpkg) audit(ctx context.Context) error {
	out, err := d.run(ctx, "--audit")
	if strings.TrimSpace(out) != "" {
		return fmt.Errorf("dpkg --audit reports problems:\n%s", head(out, dpkgOutputTailSize))
	}
	return err
}

// tail returns the last whole lines of s that fit in n bytes (at least
// one line), saying how many were left out.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	i, size := len(lines), 0
	for i > 0 && (i == len(lines) || size+len(lines[i-1])+1 <= n) {
		size += len(lines[i-1]) + 1
		i--
	}
	out := strings.Join(lines[i:], "\n")
	if i > 0 {
		out = fmt.Sprintf("(%d earlier lines left out)\n%s", i, out)
	}
	return out
}

// head returns the first whole lines of s that fit in n bytes (at least
// one line), saying how many were left out: dpkg --audit explains first
// and lists after.
func head(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	i, size := 0, 0
	for i < len(lines) && (i == 0 || size+len(lines[i])+1 <= n) {
		size += len(lines[i]) + 1
		i++
	}
	out := strings.Join(lines[:i], "\n")
	if i < len(lines) {
		out += fmt.Sprintf("\n(%d more lines: run dpkg --audit)", len(lines)-i)
	}
	return out
}

// frontendLock is dpkg's frontend lock (/var/lib/dpkg/lock-frontend),
// taken as apt takes it: an fcntl write lock on the whole file.
type frontendLock struct{ f *os.File }

// lockFrontend takes dpkg's frontend lock, waiting for it when wait is
// set; otherwise a lock held by another process (apt, another dpkg) is an
// error naming its pid.
func (f *fsroot) lockFrontend(ctx context.Context, wait bool) (*frontendLock, error) {
	if _, err := f.mkdirs(parentRel(dpkgFrontendLock)); err != nil {
		return nil, fmt.Errorf("dpkg frontend lock: %w", err)
	}
	fh, err := f.r.OpenFile(dpkgFrontendLock, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("dpkg frontend lock: %w", err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	for {
		err := unix.FcntlFlock(fh.Fd(), unix.F_SETLK, &lk)
		if err == nil {
			if err := f.waitDBLock(ctx, wait); err != nil {
				fh.Close()
				return nil, err
			}
			return &frontendLock{fh}, nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
			fh.Close()
			return nil, fmt.Errorf("dpkg frontend lock %s: %w", f.host(dpkgFrontendLock), err)
		}
		if !wait {
			holder := unix.Flock_t{Type: unix.F_WRLCK}
			msg := ""
			if unix.FcntlFlock(fh.Fd(), unix.F_GETLK, &holder) == nil && holder.Type != unix.F_UNLCK {
				msg = fmt.Sprintf(" by process %d", holder.Pid)
			}
			fh.Close()
			return nil, fmt.Errorf("dpkg is in use: %s is locked%s (apt or dpkg running?)", f.host(dpkgFrontendLock), msg)
		}
		select {
		case <-ctx.Done():
			fh.Close()
			return nil, fmt.Errorf("wait for dpkg frontend lock: %w", ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// dbLockGrace is how long the executor waits, even without --wait, for
// a dpkg that holds its database lock without the frontend lock: one
// whose frontend died a moment ago (it is being killed with it) finishes
// dying within this time.
const dbLockGrace = 10 * time.Second

// waitDBLock returns once no process holds dpkg's database lock
// (/var/lib/dpkg/lock). A dpkg run by a frontend that died (a runtimectl
// killed in the middle of an install, before dpkg was killed with it)
// holds it without the frontend lock; running dpkg then fails with
// "dpkg frontend lock is locked by another process", which a recovery
// must never mistake for a finished repair.
func (f *fsroot) waitDBLock(ctx context.Context, wait bool) error {
	fh, err := f.r.OpenFile(dpkgDBLock, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dpkg database lock: %w", err)
	}
	defer fh.Close()
	deadline := time.Now().Add(dbLockGrace)
	for {
		lk := unix.Flock_t{Type: unix.F_WRLCK}
		if err := unix.FcntlFlock(fh.Fd(), unix.F_GETLK, &lk); err != nil {
			return fmt.Errorf("dpkg database lock %s: %w", f.host(dpkgDBLock), err)
		}
		if lk.Type == unix.F_UNLCK {
			return nil
		}
		if !wait && time.Now().After(deadline) {
			return fmt.Errorf("dpkg is still running: process %d holds its database lock %s; wait for it to finish (or pass --wait), then run this again",
				lk.Pid, f.host(dpkgDBLock))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for dpkg (process %d) to finish: %w", lk.Pid, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (l *frontendLock) release() {
	if l != nil && l.f != nil {
		l.f.Close() // closing drops the fcntl lock
		l.f = nil
	}
}
