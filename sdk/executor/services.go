package executor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/runtimekit/runtimekit/sdk/service"
)

// The runit backend writes directories of its own (service, scan, log and
// pid file directories) and starts runsvdir; a rollback must take those
// away too when the apply brought them, or a runsvdir would keep running
// from the runit package the rollback purges. The executor knows where
// they are only for the default backend, a *service.Runit on its root.

// runit returns the default backend, if that is what runs services.
func (r *run) runit() (*service.Runit, bool) {
	rt, ok := r.e.opts.Services.(*service.Runit)
	if !ok {
		return nil, false
	}
	root := rt.Root
	if root == "" {
		root = "/"
	}
	// r.fs.dir is absolute; Root may be relative (runtimectl --root DIR).
	if abs, err := filepath.Abs(root); err != nil || abs != r.fs.dir {
		return nil, false
	}
	return rt, true
}

func orDefault(p, def string) string {
	if p == "" {
		return def
	}
	return p
}

// relHost turns a path under the root, as this process sees it, into a
// path relative to the root.
func (r *run) relHost(p string) (string, bool) {
	p, err := filepath.Abs(p)
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(r.fs.dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// serviceDirs returns the directories the backend would create for the
// service (install) or for supervision (start), that do not exist yet.
func (r *run) serviceDirs(name string, start bool) ([]string, error) {
	var paths []string
	if rt, ok := r.runit(); ok && start {
		paths = append(paths, relOf(orDefault(rt.ScanDir, service.DefaultScanDir)),
			parentRel(relOf(orDefault(rt.PIDFile, service.DefaultPIDFile))))
	}
	if !start {
		for _, p := range []string{filepath.Dir(r.e.opts.Services.Dir(name)), filepath.Dir(r.e.opts.Services.LogPath(name))} {
			if rel, ok := r.relHost(p); ok {
				paths = append(paths, rel)
			}
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		dirs, err := r.missingDirs(p)
		if err != nil {
			return nil, err
		}
		for _, d := range dirs {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// supervisorPID returns the pid of the runsvdir of the default backend,
// when one runs: the one its pid file records or another on its scan
// directory, in its root (see service.Runit.SupervisorPID).
func (r *run) supervisorPID() (int, bool) {
	rt, ok := r.runit()
	if !ok {
		return 0, false
	}
	return rt.SupervisorPID()
}

// stopSupervisor stops the runsvdir an apply started, once no service is
// enabled any more, and with it every runsv and process it started (see
// service.Runit.StopSupervisor: a runsv whose service ignores SIGTERM
// would otherwise stay). Its pid file and the directories the step
// created go too.
func (r *run) stopSupervisor(ctx context.Context, created []string) error {
	rt, ok := r.runit()
	if !ok {
		return nil
	}
	scan := relOf(orDefault(rt.ScanDir, service.DefaultScanDir))
	if entries, err := r.fs.readDir(scan); err == nil {
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				return nil // another service is enabled: runsvdir stays
			}
		}
	}
	pid, err := rt.StopSupervisor(ctx)
	if err != nil {
		return err
	}
	if pid != 0 {
		r.progress("      stopped runsvdir (pid %d): no service left to supervise", pid)
	}
	pidFile := relOf(orDefault(rt.PIDFile, service.DefaultPIDFile))
	for _, p := range []string{pidFile, pidFile + ".lock"} {
		if err := r.fs.remove(p); err != nil {
			return err
		}
	}
	for _, d := range created {
		if d == scan {
			// Only runsvdir's own dot files (.forced-rescan) are left.
			if err := r.fs.removeAll(scan); err != nil {
				return err
			}
		}
	}
	r.removeCreated(created)
	return nil
}

// accountFiles are the account databases maintainer scripts add system
// users and groups to, with the backups the shadow tools keep.
var accountFiles = []string{"etc/passwd", "etc/group", "etc/shadow", "etc/gshadow",
	"etc/passwd-", "etc/group-", "etc/shadow-", "etc/gshadow-", "etc/subuid", "etc/subgid"}

// saveAccounts copies the account databases before packages are
// installed (copies: these files are small, and some tools rewrite them in
// place).
func (r *run) saveAccounts(backup string) ([]accountFile, error) {
	var out []accountFile
	for i, rel := range accountFiles {
		a := accountFile{Path: rel}
		fi, err := r.fs.r.Lstat(rel)
		switch {
		case err != nil && !os.IsNotExist(err):
			return nil, err
		case err == nil && fi.Mode().IsRegular():
			a.Existed = true
			a.Backup = fmt.Sprintf("%s.accounts.%d", backup, i)
			if _, err := r.fs.mkdirs(parentRel(a.Backup)); err != nil {
				return nil, err
			}
			if err := r.fs.copyFile(rel, a.Backup); err != nil {
				return nil, err
			}
		case err == nil:
			continue // not a regular file: left alone
		}
		out = append(out, a)
	}
	return out, nil
}

// restoreAccounts puts the account databases back after the packages an
// apply installed were purged, when the users and groups their maintainer
// scripts added are all that changed: every line of the saved databases
// is still there. Otherwise they are left as they are, with a warning.
func (r *run) restoreAccounts(saved []accountFile) error {
	if len(saved) == 0 {
		return nil
	}
	for _, a := range saved {
		if !a.Existed || strings.HasSuffix(a.Path, "-") {
			continue
		}
		old, err := r.fs.r.ReadFile(a.Backup)
		if err != nil {
			return err
		}
		cur, err := r.fs.r.ReadFile(a.Path)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, l := range strings.Split(string(cur), "\n") {
			have[l] = true
		}
		for _, l := range strings.Split(string(old), "\n") {
			if !have[l] {
				r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("%s was changed otherwise than by adding entries during the apply: kept as it is", abs(a.Path)))
				return nil
			}
		}
	}
	for _, a := range saved {
		s := &savedFile{Existed: a.Existed, Backup: a.Backup}
		if err := r.restoreSaved(s, a.Path); err != nil {
			return err
		}
	}
	return nil
}

// accountFile is one account database as it was.
type accountFile struct {
	Path    string `json:"path"`
	Existed bool   `json:"existed"`
	Backup  string `json:"backup,omitempty"`
}
