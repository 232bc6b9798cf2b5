package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// install-release and remove-release: an app's release directories, its
// env files and its user. The release's processes are ordinary services
// (install-service, start-service), started by the steps after these.

func init() {
	register[*plan.InstallRelease, releaseUndo](installRelease{})
	register[*plan.RemoveRelease, releaseUndo](removeRelease{})
	register[*plan.SwitchRelease, switchUndo](switchRelease{})
}

// releaseUndo is what a release step's undo needs: the release directory
// and env file, where they are assembled or set aside, the directories the
// step created, and the account databases as they were when it added the
// app's user.
type releaseUndo struct {
	Dir      string        `json:"dir"`
	Env      string        `json:"env"`
	Staging  string        `json:"staging,omitempty"`
	Aside    string        `json:"aside,omitempty"`
	EnvAside string        `json:"envAside,omitempty"`
	Created  []string      `json:"created,omitempty"`
	Accounts []accountFile `json:"accounts,omitempty"`
}

func (u *releaseUndo) paths(r *run, app string, n int) error {
	dir, err := r.fs.resolve(state.ReleaseDir(app, n))
	if err != nil {
		return err
	}
	env, err := r.fs.resolve(state.EnvPath(app, n))
	if err != nil {
		return err
	}
	u.Dir, u.Env = dir, env
	return nil
}

type installRelease struct{}

func (installRelease) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.InstallRelease, u *releaseUndo) error {
	n := in.Release.Number
	if err := u.paths(r, in.App, n); err != nil {
		return err
	}
	u.Staging = parentRel(u.Dir) + "/." + strconv.Itoa(n) + ".runtimekit-new"
	var err error
	if u.Created, err = r.missingDirs(parentRel(u.Dir)); err != nil {
		return err
	}
	envDirs, err := r.missingDirs(parentRel(u.Env))
	if err != nil {
		return err
	}
	for _, d := range envDirs {
		if !strings.HasPrefix(d+"/", parentRel(u.Dir)+"/") && !slices.Contains(u.Created, d) {
			u.Created = append(u.Created, d)
		}
	}
	if _, err := r.fs.lookupID("etc/passwd", in.User); err != nil {
		if u.Accounts, err = r.saveAccounts(r.backup); err != nil {
			return err
		}
	}
	return nil
}

// do assembles the release in a directory beside its final name and
// renames it into place, so a release directory is whole or absent: the
// archive's files, then the unchanged files hard-linked from the base
// release (one inode for both: release files are read-only and root's,
// so neither release can change the other's). The env file comes last,
// mode 0600 and the app user's, as the app reads it.
func (installRelease) do(ctx context.Context, r *run, s *plan.Step, in *plan.InstallRelease, u *releaseUndo) error {
	uid, gid, err := r.ensureAppUser(in.App, in.User)
	if err != nil {
		return err
	}
	for _, d := range []string{parentRel(u.Dir), parentRel(u.Env)} {
		if _, err := r.fs.mkdirs(d); err != nil {
			return err
		}
	}
	if ok, err := r.fs.exists(u.Dir); err != nil {
		return err
	} else if !ok {
		if err := r.assembleRelease(ctx, in, u); err != nil {
			return err
		}
	}
	if sum := in.Release.EnvSHA256; sum != "" {
		src, err := r.artifactPath(sum)
		if err != nil {
			return err
		}
		fh, err := os.Open(src)
		if err != nil {
			return err
		}
		defer fh.Close()
		if err := r.fs.writeAtomicFrom(u.Env, fh, 0o600, uid, gid); err != nil {
			return err
		}
	}
	r.progress("      release %d of %s: %d files (%d linked from release %d)", in.Release.Number, in.App,
		len(in.Release.Files), len(in.Linked), in.Base)
	return nil
}

func (r *run) assembleRelease(ctx context.Context, in *plan.InstallRelease, u *releaseUndo) error {
	if err := r.fs.removeAll(u.Staging); err != nil {
		return err
	}
	if err := r.fs.r.Mkdir(u.Staging, 0o755); err != nil {
		return err
	}
	// The archive, the links and the checks go through open directories
	// (see dirFDs). Nothing needs syncing until the syncfs below.
	stage, err := openDirFDs(r.fs.r, u.Staging)
	if err != nil {
		return err
	}
	defer stage.Close()
	if in.Tar != "" {
		src, err := r.artifactPath(in.Tar)
		if err != nil {
			return err
		}
		want := map[string]bool{}
		for _, f := range in.Release.Files {
			if _, linked := in.Linked[f.Path]; !linked {
				want[f.Path] = true
			}
		}
		if err := stage.extractRelease(ctx, src, want); err != nil {
			return fmt.Errorf("unpack release %d of %s: %w", in.Release.Number, in.App, err)
		}
	}
	if len(in.Linked) > 0 {
		base, err := openDirFDs(r.fs.r, parentRel(u.Dir)+"/"+strconv.Itoa(in.Base))
		if err != nil {
			return fmt.Errorf("release %d of %s: the base release %d: %w", in.Release.Number, in.App, in.Base, err)
		}
		defer base.Close()
		for _, p := range slices.Sorted(maps.Keys(in.Linked)) {
			if err := stage.linkFrom(base, in.Linked[p], p); err != nil {
				return fmt.Errorf("release %d of %s: link %s from release %d: %w", in.Release.Number, in.App, p, in.Base, err)
			}
		}
	}
	// Every file the release lists, as it lists it, and read-only.
	for _, f := range in.Release.Files {
		if f.Link != "" {
			if target, err := stage.readlink(f.Path); err != nil || target != f.Link {
				return fmt.Errorf("release %d of %s: %s is not the link to %s the plan lists", in.Release.Number, in.App, f.Path, f.Link)
			}
			continue
		}
		ok, err := stage.fixRegular(f.Path, f.Size, fs.FileMode(f.Mode)&^0o222)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("release %d of %s: %s is not the %d-byte file the plan lists: make the bundle again", in.Release.Number, in.App, f.Path, f.Size)
		}
	}
	// No link may lead out of the release, alone or through others (the
	// archive extractor's check, over the whole tree).
	sr, err := r.fs.r.OpenRoot(u.Staging)
	if err != nil {
		return err
	}
	err = (&extractor{root: sr, dest: abs(u.Dir)}).checkLinks()
	sr.Close()
	if err != nil {
		return fmt.Errorf("release %d of %s: %w", in.Release.Number, in.App, err)
	}
	// One syncfs instead of an fsync per file, before the rename makes
	// the tree the release.
	if d, err := r.fs.r.Open(u.Staging); err == nil {
		_ = unix.Syncfs(int(d.Fd()))
		d.Close()
	}
	return r.rename(u.Staging, u.Dir)
}

func (installRelease) undo(ctx context.Context, r *run, s *plan.Step, in *plan.InstallRelease, u *releaseUndo) error {
	for _, p := range []string{u.Staging, u.Dir} {
		if err := r.fs.removeAll(p); err != nil {
			return err
		}
	}
	if err := r.fs.remove(u.Env); err != nil {
		return err
	}
	if err := r.restoreAccounts(u.Accounts); err != nil {
		return err
	}
	r.removeCreated(u.Created)
	return nil
}

func (installRelease) checkUndone(ctx context.Context, r *run, s *plan.Step, in *plan.InstallRelease, u *releaseUndo, add func(string, ...any)) {
	for _, p := range []string{u.Dir, u.Env} {
		if ok, err := r.fs.exists(p); err != nil || ok {
			add("%s: exists after the rollback", abs(p))
		}
	}
}

func (installRelease) collect(r *run, u *releaseUndo, committed bool) {
	if u.Staging != "" {
		r.gc(r.fs.removeAll(u.Staging))
	}
}

// check refuses to write a release that is there already: a release is
// immutable, and a directory of that name that the state does not record
// is not runtimekit's.
func (installRelease) check(r *run, s *plan.Step, in *plan.InstallRelease, pf *preflight) {
	dir := state.ReleaseDir(in.App, in.Release.Number)
	rel, err := r.fs.resolve(dir)
	if err != nil {
		pf.add(s.ID, dir, err.Error())
		return
	}
	if ok, _ := r.fs.exists(rel); ok {
		pf.add(s.ID, dir, fmt.Sprintf("release %d of %s exists already: a release is never written again; deploy again from the machine's current state (--state)", in.Release.Number, in.App))
	}
	for p, from := range in.Linked {
		src := state.ReleaseDir(in.App, in.Base) + "/" + from
		srel, err := r.fs.resolve(src)
		if err != nil {
			pf.add(s.ID, src, err.Error())
			continue
		}
		if fi, err := r.fs.r.Lstat(srel); err != nil || !fi.Mode().IsRegular() {
			pf.add(s.ID, src, fmt.Sprintf("%s of release %d is linked from release %d, which does not have it: deploy again from the machine's current state (--state)", p, in.Release.Number, in.Base))
		}
	}
}

func (installRelease) describe(in *plan.InstallRelease) string {
	return fmt.Sprintf(": %s release %d", in.App, in.Release.Number)
}

// ensureAppUser returns the uid and gid of the app's user, first adding
// it (a system user, and its group of the same name, one id for both) to
// the root's account databases where it is missing. Each database is
// looked at on its own and an id already written for the name is kept, so
// that a run cut off between two of them finishes the others alike. It is
// written here rather than by useradd: one process less under emulation,
// and the same code for a chroot root as for the machine's own.
func (r *run) ensureAppUser(app, user string) (int, int, error) {
	uid, uerr := r.fs.lookupID("etc/passwd", user)
	gid, gerr := r.fs.lookupID("etc/group", user)
	id := -1
	switch {
	case gerr == nil:
		id = gid
	case uerr == nil:
		id = uid
	default:
		var err error
		if id, err = r.freeSystemID(); err != nil {
			return -1, -1, err
		}
	}
	if gerr != nil {
		gid = id
	}
	if uerr != nil {
		uid = id
	}
	lines := map[string]string{
		"etc/group":   fmt.Sprintf("%s:x:%d:", user, gid),
		"etc/gshadow": user + ":!::",
		"etc/passwd":  fmt.Sprintf("%s:x:%d:%d:runtimekit app %s:%s:/usr/sbin/nologin", user, uid, gid, app, state.AppDir(app)),
		"etc/shadow":  user + ":!:::::::",
	}
	// passwd last: once it names the user, the user exists.
	for _, file := range []string{"etc/group", "etc/gshadow", "etc/shadow", "etc/passwd"} {
		fi, err := r.fs.r.Lstat(file)
		if errors.Is(err, fs.ErrNotExist) && (file == "etc/shadow" || file == "etc/gshadow") {
			continue
		}
		if err != nil {
			return -1, -1, err
		}
		old, err := r.fs.readRegular(file, "the account database", 16<<20)
		if err != nil {
			return -1, -1, err
		}
		if hasEntry(old, user) {
			continue
		}
		if len(old) > 0 && old[len(old)-1] != '\n' {
			old = append(old, '\n')
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return -1, -1, fmt.Errorf("%s: no owner to keep", abs(file))
		}
		if err := r.fs.writeAtomic(file, append(old, lines[file]+"\n"...), fi.Mode().Perm(), int(st.Uid), int(st.Gid)); err != nil {
			return -1, -1, err
		}
	}
	return uid, gid, nil
}

// hasEntry reports whether an account database has a line for name.
func hasEntry(db []byte, name string) bool {
	for _, l := range strings.Split(string(db), "\n") {
		if strings.HasPrefix(l, name+":") {
			return true
		}
	}
	return false
}

// freeSystemID is the highest id of the system range (100-999, which
// adduser --system also takes from the top) that is neither a uid nor a
// gid yet.
func (r *run) freeSystemID() (int, error) {
	used := map[int]bool{}
	for _, file := range []string{"etc/passwd", "etc/group"} {
		b, err := r.fs.readRegular(file, "the account database", 16<<20)
		if err != nil {
			return -1, err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Split(l, ":"); len(f) > 2 {
				if id, err := strconv.Atoi(f[2]); err == nil {
					used[id] = true
				}
			}
		}
	}
	for id := 999; id >= 100; id-- {
		if !used[id] {
			return id, nil
		}
	}
	return -1, errors.New("no free system user id left (100-999)")
}

type removeRelease struct{}

func (removeRelease) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveRelease, u *releaseUndo) error {
	if err := u.paths(r, in.App, in.Number); err != nil {
		return err
	}
	u.Aside = parentRel(u.Dir) + "/." + strconv.Itoa(in.Number) + ".runtimekit-old"
	u.EnvAside = parentRel(u.Env) + "/." + strconv.Itoa(in.Number) + ".runtimekit-old"
	return nil
}

// do sets the release aside (a rename each): its bytes go when the apply
// is committed, and an undo renames them back.
func (removeRelease) do(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveRelease, u *releaseUndo) error {
	return r.moveIfThere([2]string{u.Dir, u.Aside}, [2]string{u.Env, u.EnvAside})
}

func (removeRelease) undo(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveRelease, u *releaseUndo) error {
	return r.moveIfThere([2]string{u.Aside, u.Dir}, [2]string{u.EnvAside, u.Env})
}

// moveIfThere renames each from-to pair whose from exists (again after a
// crash: what moved already is not there).
func (r *run) moveIfThere(moves ...[2]string) error {
	for _, m := range moves {
		if ok, err := r.fs.exists(m[0]); err != nil {
			return err
		} else if ok {
			if err := r.rename(m[0], m[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (removeRelease) checkUndone(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveRelease, u *releaseUndo, add func(string, ...any)) {
	if ok, err := r.fs.exists(u.Dir); err != nil || !ok {
		add("%s: missing after the rollback", abs(u.Dir))
	}
}

func (removeRelease) collect(r *run, u *releaseUndo, committed bool) {
	if !committed {
		return
	}
	for _, p := range []string{u.Aside, u.EnvAside} {
		r.gc(r.fs.removeAll(p))
	}
}

// check refuses to remove a release the state does not record, or the
// live one.
func (removeRelease) check(r *run, s *plan.Step, in *plan.RemoveRelease, pf *preflight) {
	dir := state.ReleaseDir(in.App, in.Number)
	st, _, err := loadState(r.fs, r.stateRel)
	if err != nil {
		pf.add(s.ID, dir, err.Error())
		return
	}
	a, ok := st.App(in.App)
	if !ok {
		pf.add(s.ID, dir, fmt.Sprintf("the state records no app %s: runtimekit removes only releases it deployed", in.App))
		return
	}
	if _, ok := a.Release(in.Number); !ok {
		pf.add(s.ID, dir, fmt.Sprintf("the state records no release %d of %s", in.Number, in.App))
	}
}

func (removeRelease) describe(in *plan.RemoveRelease) string {
	return fmt.Sprintf(": %s release %d", in.App, in.Number)
}

// switchUndo is the app's "current" link and "live" file as they were.
type switchUndo struct {
	Current string `json:"current"`
	Live    string `json:"live"`
	// PrevCurrent is the link's target before ("" when there was none),
	// PrevLive the live file's content.
	PrevCurrent string `json:"prevCurrent,omitempty"`
	PrevLive    string `json:"prevLive,omitempty"`
	HadLive     bool   `json:"hadLive,omitempty"`
}

type switchRelease struct{}

// LiveFile is what an app's live file holds: the release serving and its
// port, for whatever routes requests to the app.
type LiveFile struct {
	Release int `json:"release"`
	Port    int `json:"port"`
}

func (switchRelease) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.SwitchRelease, u *switchUndo) error {
	dir, err := r.fs.resolve(state.AppDir(in.App))
	if err != nil {
		return err
	}
	u.Current, u.Live = dir+"/current", dir+"/live"
	if t, err := r.fs.r.Readlink(u.Current); err == nil {
		u.PrevCurrent = t
	}
	if b, err := r.fs.readRegular(u.Live, "the app's live file", 4096); err == nil {
		u.PrevLive, u.HadLive = string(b), true
	}
	return nil
}

// do points the live file and the current link at the release (each
// replaced in one rename), then lets requests already sent to the
// release that was live finish for the drain time.
func (switchRelease) do(ctx context.Context, r *run, s *plan.Step, in *plan.SwitchRelease, u *switchUndo) error {
	if in.Number == 0 {
		// The app goes offline: nothing is live.
		if err := r.fs.remove(u.Live); err != nil {
			return err
		}
		return r.fs.remove(u.Current)
	}
	live, err := json.Marshal(LiveFile{Release: in.Number, Port: in.Port})
	if err != nil {
		return err
	}
	if err := r.fs.writeAtomic(u.Live, append(live, '\n'), 0o644, 0, 0); err != nil {
		return err
	}
	if err := r.setLink(u.Current, "releases/"+strconv.Itoa(in.Number)); err != nil {
		return err
	}
	r.progress("      %s: release %d is live on port %d", in.App, in.Number, in.Port)
	if d := in.Drain.Std(); d > 0 && u.PrevCurrent != "" {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
	return nil
}

func (switchRelease) undo(ctx context.Context, r *run, s *plan.Step, in *plan.SwitchRelease, u *switchUndo) error {
	if u.HadLive {
		if err := r.fs.writeAtomic(u.Live, []byte(u.PrevLive), 0o644, 0, 0); err != nil {
			return err
		}
	} else if err := r.fs.remove(u.Live); err != nil {
		return err
	}
	if u.PrevCurrent != "" {
		return r.setLink(u.Current, u.PrevCurrent)
	}
	return r.fs.remove(u.Current)
}

func (switchRelease) describe(in *plan.SwitchRelease) string {
	return fmt.Sprintf(": %s release %d live on port %d", in.App, in.Number, in.Port)
}

// setLink makes rel a symbolic link to target, replacing what is there in
// one rename.
func (r *run) setLink(rel, target string) error {
	tmp := tmpName(rel)
	if err := r.fs.remove(tmp); err != nil {
		return err
	}
	if err := r.fs.r.Symlink(target, tmp); err != nil {
		return err
	}
	return r.rename(tmp, rel)
}
