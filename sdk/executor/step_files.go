package executor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// write-file and remove-file.

func init() {
	register[*plan.WriteFile, fileUndo](writeFile{})
	register[*plan.RemoveFile, fileUndo](removeFile{})
}

// fileUndo is what a file step's undo needs: the resolved path, what was
// there (nil when the step left it alone), the directories the step
// created (parents first), and why an existing file was kept.
type fileUndo struct {
	Path    string     `json:"path"`
	Saved   *savedFile `json:"saved,omitempty"`
	Created []string   `json:"created,omitempty"`
	Kept    string     `json:"kept,omitempty"`
}

type writeFile struct{}

func (writeFile) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.WriteFile, u *fileUndo) error {
	f := in.File
	rel, err := r.fs.resolve(f.Path)
	if err != nil {
		return err
	}
	u.Path = rel
	fi, err := r.fs.r.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		u.Saved = &savedFile{}
		if u.Created, err = r.missingDirs(parentRel(rel)); err != nil {
			return err
		}
	case err != nil:
		return err
	case f.Kind == state.FileUserConfig:
		u.Kept = "a user-config file that already exists is kept as it is"
	case fi.IsDir():
		return fmt.Errorf("%s is a directory", f.Path)
	case r.editedSince(f.Path, rel):
		// As dpkg keeps an edited conffile (--force-confold): the
		// user's edit wins, and the result says so.
		u.Kept = "changed since runtimekit wrote it: kept, and the plan's new version was not written"
	default:
		if u.Saved, err = r.setAside(rel, r.backup); err != nil {
			return err
		}
	}
	return nil
}

func (writeFile) do(ctx context.Context, r *run, s *plan.Step, in *plan.WriteFile, u *fileUndo) error {
	if u.Kept != "" {
		r.kept(s, in.File.Path, u.Kept)
		return nil
	}
	f := in.File
	uid, gid, err := r.fs.owner(f.Owner, f.Group)
	if err != nil {
		return err
	}
	if _, err := r.fs.mkdirs(parentRel(u.Path)); err != nil {
		return err
	}
	return r.fs.writeAtomic(u.Path, []byte(f.Content), unixMode(f.Mode), uid, gid)
}

func (writeFile) undo(ctx context.Context, r *run, s *plan.Step, in *plan.WriteFile, u *fileUndo) error {
	return u.restore(r)
}

func (writeFile) checkUndone(ctx context.Context, r *run, s *plan.Step, in *plan.WriteFile, u *fileUndo, add func(string, ...any)) {
	u.checkUndone(r, add)
}

func (writeFile) collect(r *run, u *fileUndo, committed bool) { u.collect(r) }

type removeFile struct{}

func (removeFile) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveFile, u *fileUndo) error {
	f := in.File
	rel, err := r.fs.resolve(f.Path)
	if err != nil {
		return err
	}
	u.Path = rel
	fi, err := r.fs.r.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		u.Saved = &savedFile{}
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		u.Kept = "no longer a regular file: kept"
	default:
		sum, _, err := durable.HashIn(r.fs.r, rel)
		if err != nil {
			return err
		}
		if sum != f.SHA256 {
			u.Kept = "changed since runtimekit wrote it: kept"
			break
		}
		if u.Saved, err = r.setAside(rel, r.backup); err != nil {
			return err
		}
	}
	return nil
}

func (removeFile) do(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveFile, u *fileUndo) error {
	if u.Kept != "" {
		r.kept(s, in.File.Path, u.Kept)
		return nil
	}
	if u.Saved.Existed {
		return r.fs.remove(u.Path)
	}
	return nil
}

func (removeFile) undo(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveFile, u *fileUndo) error {
	return u.restore(r)
}

func (removeFile) checkUndone(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveFile, u *fileUndo, add func(string, ...any)) {
	u.checkUndone(r, add)
}

func (removeFile) collect(r *run, u *fileUndo, committed bool) { u.collect(r) }

func (writeFile) check(r *run, s *plan.Step, in *plan.WriteFile, pf *preflight) {
	f := in.File
	rel, ok := r.checkPath(s.ID, f.Path, pf.add)
	if !ok {
		return
	}
	if sha256Hex([]byte(f.Content)) != f.SHA256 {
		pf.add(s.ID, f.Path, "the content does not have the sha256 the plan gives (%s)", f.SHA256)
	}
	if fi, err := r.fs.r.Lstat(rel); err == nil && !fi.Mode().IsRegular() && fi.Mode()&fs.ModeSymlink == 0 {
		// Replaced by rename, it would be gone: a FIFO, a device or a
		// directory is never a file a plan writes.
		pf.add(s.ID, f.Path, "is %s, not a regular file: refusing to replace it", durable.Describe(fi.Mode()))
	}
}

func (removeFile) check(r *run, s *plan.Step, in *plan.RemoveFile, pf *preflight) {
	if _, ok := r.checkPath(s.ID, in.File.Path, pf.add); !ok {
		return
	}
	if _, ok := pf.led.files[in.File.Path]; !ok {
		pf.add(s.ID, in.File.Path, "%s", notOwned)
	}
}

// restore puts back what stood at the path.
func (u *fileUndo) restore(r *run) error {
	if u.Kept != "" || u.Saved == nil {
		return nil
	}
	if err := r.restoreSaved(u.Saved, u.Path); err != nil {
		return err
	}
	_ = r.fs.remove(tmpName(u.Path))
	r.removeCreated(u.Created)
	return nil
}

func (u *fileUndo) checkUndone(r *run, add func(string, ...any)) {
	if u.Kept == "" && u.Saved != nil {
		if d := r.differsFromSaved(u.Saved, u.Path); d != "" {
			add("%s: %s", abs(u.Path), d)
		}
	}
}

func (u *fileUndo) collect(r *run) {
	if u.Path != "" {
		r.gc(r.fs.remove(tmpName(u.Path)))
	}
}

func (r *run) kept(s *plan.Step, path, reason string) {
	r.res.Kept = append(r.res.Kept, KeptFile{Path: path, Step: s.ID, Reason: reason})
	r.progress("      %s: %s", path, reason)
}

// editedSince reports whether the file at rel, which runtimekit wrote
// (the state's ledger records it), no longer has the digest it was
// written with.
func (r *run) editedSince(planPath, rel string) bool {
	f, ok := newLedger(r.st).files[planPath]
	if !ok {
		return false
	}
	sum, _, err := durable.HashIn(r.fs.r, rel)
	return err == nil && sum != f.SHA256
}
