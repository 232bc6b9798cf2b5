package executor

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/runtimekit/runtimekit/sdk/plan"
)

// extract-archive and remove-archive. The extraction itself is archive.go.

func init() {
	register[*plan.ExtractArchive, archiveUndo](extractArchive{})
	register[*plan.RemoveArchive, archiveUndo](removeArchive{})
}

// archiveUndo is what an archive step's undo needs: the resolved
// destination, the directory the archive is unpacked in first, where a
// previous destination was moved aside, and the directories the step
// created (parents first).
type archiveUndo struct {
	Dest    string   `json:"dest"`
	Staging string   `json:"staging,omitempty"`
	Aside   string   `json:"aside,omitempty"`
	HadDest bool     `json:"hadDest,omitempty"`
	Created []string `json:"created,omitempty"`
}

// prepare resolves the destination and names the directories beside it.
func (u *archiveUndo) prepare(r *run, a plan.Archive, extract bool) error {
	rel, err := r.fs.resolve(a.Dest)
	if err != nil {
		return err
	}
	if rel == "." {
		return fmt.Errorf("archive destination %s is the root", a.Dest)
	}
	u.Dest = rel
	base := filepathBase(rel)
	if ok, err := r.fs.exists(rel); err != nil {
		return err
	} else if ok {
		u.HadDest = true
		u.Aside = parentRel(rel) + "/." + base + ".runtimekit-old"
	}
	if extract {
		u.Staging = parentRel(rel) + "/." + base + ".runtimekit-new"
		if u.Created, err = r.missingDirs(parentRel(rel)); err != nil {
			return err
		}
	}
	return nil
}

type extractArchive struct{}

func (extractArchive) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.ExtractArchive, u *archiveUndo) error {
	return u.prepare(r, in.Archive, true)
}

// extractArchive unpacks the archive into a fresh directory beside its
// destination and renames that into place, so the destination is never
// half-written: a crash leaves only the unpacking directory, which the
// undo (or the next cleanup) removes. A destination that exists (an
// empty directory, or this runtime's earlier tree) is first moved aside,
// and put back by the undo.
func (extractArchive) do(ctx context.Context, r *run, s *plan.Step, in *plan.ExtractArchive, u *archiveUndo) error {
	a := in.Archive
	src, err := r.artifactPath(a.SHA256)
	if err != nil {
		return err
	}
	if _, err := r.fs.mkdirs(parentRel(u.Dest)); err != nil {
		return err
	}
	if err := r.fs.removeAll(u.Staging); err != nil {
		return err
	}
	if err := r.fs.r.Mkdir(u.Staging, 0o755); err != nil {
		return err
	}
	sr, err := r.fs.r.OpenRoot(u.Staging)
	if err != nil {
		return err
	}
	defer sr.Close()
	n, err := extract(ctx, sr, src, a.Format, a.Strip, a.Include, a.Dest)
	if err != nil {
		return fmt.Errorf("extract %s into %s: %w", a.Name, a.Dest, err)
	}
	// One syncfs instead of an fsync per file: the tree must be on disk
	// before the rename makes it the destination.
	if d, err := sr.Open("."); err == nil {
		_ = unix.Syncfs(int(d.Fd()))
		d.Close()
	}
	if u.HadDest {
		if ok, err := r.fs.exists(u.Aside); err != nil {
			return err
		} else if ok {
			// An earlier attempt moved the original aside: what is at
			// the destination now is that attempt's.
			if err := r.fs.removeAll(u.Dest); err != nil {
				return err
			}
		} else if err := u.moveAside(r); err != nil {
			return err
		}
	} else if err := r.fs.removeAll(u.Dest); err != nil {
		return err
	}
	if err := r.rename(u.Staging, u.Dest); err != nil {
		return err
	}
	r.progress("      %d entries extracted into %s", n, a.Dest)
	return nil
}

func (extractArchive) undo(ctx context.Context, r *run, s *plan.Step, in *plan.ExtractArchive, u *archiveUndo) error {
	if err := r.fs.removeAll(u.Staging); err != nil {
		return err
	}
	if u.HadDest {
		return u.putBack(r)
	}
	if err := r.fs.removeAll(u.Dest); err != nil {
		return err
	}
	r.removeCreated(u.Created)
	return nil
}

func (extractArchive) checkUndone(ctx context.Context, r *run, s *plan.Step, in *plan.ExtractArchive, u *archiveUndo, add func(string, ...any)) {
	u.checkUndone(r, add)
}

func (extractArchive) collect(r *run, u *archiveUndo, committed bool) { u.collect(r, committed) }

type removeArchive struct{}

func (removeArchive) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveArchive, u *archiveUndo) error {
	return u.prepare(r, in.Archive, false)
}

// do sets the destination aside rather than deleting it: the undo puts
// it back; the commit deletes it.
func (removeArchive) do(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveArchive, u *archiveUndo) error {
	if !u.HadDest {
		return nil
	}
	return u.moveAside(r)
}

func (removeArchive) undo(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveArchive, u *archiveUndo) error {
	if !u.HadDest {
		return nil
	}
	return u.putBack(r)
}

func (removeArchive) checkUndone(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveArchive, u *archiveUndo, add func(string, ...any)) {
	u.checkUndone(r, add)
}

func (removeArchive) collect(r *run, u *archiveUndo, committed bool) { u.collect(r, committed) }

func (extractArchive) check(r *run, s *plan.Step, in *plan.ExtractArchive, pf *preflight) {
	a := in.Archive
	rel, ok := r.checkArchiveDest(s, a, pf)
	if !ok {
		return
	}
	if empty, err := r.emptyOrAbsent(rel); err != nil {
		pf.add(s.ID, a.Dest, "%v", err)
	} else if !empty && !r.ownsArchiveDest(a.Dest) {
		pf.add(s.ID, a.Dest, "exists, is not empty, and no installed runtime owns it: refusing to replace it")
	}
}

func (removeArchive) check(r *run, s *plan.Step, in *plan.RemoveArchive, pf *preflight) {
	if _, ok := r.checkArchiveDest(s, in.Archive, pf); ok && !pf.led.archives[in.Archive.Dest] {
		pf.add(s.ID, in.Archive.Dest, "%s", notOwned)
	}
}

// checkArchiveDest resolves an archive's destination, which may not be
// the root.
func (r *run) checkArchiveDest(s *plan.Step, a plan.Archive, pf *preflight) (string, bool) {
	rel, ok := r.checkPath(s.ID, a.Dest, pf.add)
	if !ok {
		return "", false
	}
	if rel == "." {
		pf.add(s.ID, a.Dest, "the archive destination cannot be the root")
		return "", false
	}
	return rel, true
}

// moveAside moves the destination out of the way (beside it, so on the
// same file system), unless an earlier attempt did.
func (u *archiveUndo) moveAside(r *run) error {
	if ok, err := r.fs.exists(u.Aside); err != nil || ok {
		return err
	}
	if ok, err := r.fs.exists(u.Dest); err != nil || !ok {
		return err
	}
	return r.rename(u.Dest, u.Aside)
}

// putBack makes the destination set aside the destination again.
func (u *archiveUndo) putBack(r *run) error {
	if ok, err := r.fs.exists(u.Aside); err != nil || !ok {
		return err // never moved: the destination is the original
	}
	if err := r.fs.removeAll(u.Dest); err != nil {
		return err
	}
	return r.rename(u.Aside, u.Dest)
}

func (u *archiveUndo) checkUndone(r *run, add func(string, ...any)) {
	ok, err := r.fs.exists(u.Dest)
	switch {
	case err != nil:
		add("%s: %v", abs(u.Dest), err)
	case ok != u.HadDest:
		add("%s: %s", abs(u.Dest), map[bool]string{true: "exists, and did not before", false: "is missing"}[ok])
	}
}

func (u *archiveUndo) collect(r *run, committed bool) {
	if u.Staging != "" {
		r.gc(r.fs.removeAll(u.Staging))
	}
	if u.Aside != "" && committed {
		r.gc(r.fs.removeAll(u.Aside))
	}
}
