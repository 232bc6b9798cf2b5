package executor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/runtimekit/runtimekit/internal/durable"
)

// A rollback says "the machine is as it was before" only after checking
// it: the package set and dpkg's audit, every file and tree a step
// replaced or removed, and the processes the apply started. Each undo
// could have succeeded and the machine still differ (a .deb that was not
// the package its plan named, a maintainer script, a service that would
// not stop); that is reported, exactly, instead.

// MismatchError is a rollback whose every undo ran, but after which the
// machine is not as it was before the apply. The journal is closed:
// running the undos again would change nothing.
type MismatchError struct {
	Differences []string
}

func (e *MismatchError) Error() string {
	return "every step was undone, but the machine is not exactly as it was before:\n\t- " + strings.Join(e.Differences, "\n\t- ")
}

// verifyRolledBack lists how the machine differs from the journal's
// record of it before the apply.
func (r *run) verifyRolledBack(ctx context.Context) []string {
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	r.startedSupervisor = false
	if r.j.Packages != nil {
		before := len(diffs)
		db, err := r.fs.readDpkgStatus()
		if err != nil {
			add("%v", err)
		} else {
			if d := diffLists(r.j.Packages, db.list()); d != "" {
				add("the installed packages differ (- missing, + extra): %s", d)
			}
			if u := db.unsettled(); len(u) > 0 {
				add("dpkg has not finished with: %s", strings.Join(u, ", "))
			}
		}
		// A package cut off in its unpack fails `dpkg --configure -a`, and
		// the rollback then unpacks and purges it: the failure is a
		// difference only while dpkg's database still shows one.
		if r.repairErr != nil {
			if len(diffs) > before {
				add("dpkg --configure -a failed during the recovery: %v", firstLine(r.repairErr.Error()))
			} else {
				r.res.Warnings = append(r.res.Warnings, "dpkg --configure -a failed during the recovery ("+
					firstLine(r.repairErr.Error())+"); the rollback then left dpkg settled, with the packages as before")
			}
		}
	}
	for i := range r.plan.Steps {
		s := &r.plan.Steps[i]
		u := r.j.Steps[i].Undo
		if u == nil || r.j.Steps[i].Phase != phaseUndone {
			continue
		}
		h, err := handlerFor(s)
		if err != nil {
			add("%v", err)
			continue
		}
		h.checkUndone(ctx, r, s, u, add)
	}
	if r.startedSupervisor {
		if pid, running := r.supervisorPID(); running {
			add("runsvdir (pid %d), which the apply started, is still running", pid)
		}
	}
	return diffs
}

// differsFromSaved says how rel differs from what setAside recorded, or "".
func (r *run) differsFromSaved(s *savedFile, rel string) string {
	fi, err := r.fs.r.Lstat(rel)
	switch {
	case !s.Existed:
		if err == nil {
			return "exists, and did not before"
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err.Error()
		}
		return ""
	case err != nil:
		return "is missing: " + err.Error()
	case s.Symlink != "":
		if t, err := r.fs.r.Readlink(rel); err != nil || t != s.Symlink {
			return fmt.Sprintf("is no longer the symbolic link to %s", s.Symlink)
		}
		return ""
	case !fi.Mode().IsRegular():
		return "is no longer a regular file"
	}
	want, _, err := durable.HashIn(r.fs.r, s.Backup)
	if err != nil {
		return "its backup " + abs(s.Backup) + " cannot be read: " + err.Error()
	}
	if got, _, err := durable.HashIn(r.fs.r, rel); err != nil || got != want {
		return "has other content than before the apply"
	}
	return ""
}
