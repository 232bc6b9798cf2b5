package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/service"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// describe is the progress note after a step's id.
func describe(s *plan.Step) string {
	switch s.Kind {
	case plan.KindInstallPackages, plan.KindRemovePackages:
		names := make([]string, len(s.Inputs.Packages))
		for i, p := range s.Inputs.Packages {
			names[i] = p.Name
		}
		return fmt.Sprintf(": %d packages: %s", len(names), strings.Join(names, " "))
	case plan.KindVerifyBundle:
		return fmt.Sprintf(": %d files (checked by SHA-256 before the apply began)", len(s.Inputs.Artifacts))
	}
	return ""
}

// prepare records, before step i changes anything, what its undo needs
// (taking backups). It changes nothing the machine uses.
func (r *run) prepare(ctx context.Context, i int) error {
	s := &r.plan.Steps[i]
	u := r.j.Steps[i].Undo
	backup := fmt.Sprintf("%s/%d", backupDir(r.digest), i+1)
	switch s.Kind {
	case plan.KindInstallPackages:
		db, err := r.fs.readDpkgStatus()
		if err != nil {
			return err
		}
		led := newLedger(r.st)
		for _, p := range s.Inputs.Packages {
			cur := db.get(p.Name, p.Arch)
			switch {
			case !cur.present():
				u.New = append(u.New, cur)
			case cur.Version != p.Version:
				rec, _ := led.pkg(cur.Name, cur.Arch, cur.Version)
				cur.SHA256 = rec.SHA256 // preflight made sure there is one
				u.Replaced = append(u.Replaced, cur)
			}
		}
		if len(u.New) > 0 {
			if u.Accounts, err = r.saveAccounts(backup); err != nil {
				return err
			}
			u.Tree = backup + ".tree"
			if err := r.saveTree(u.Tree); err != nil {
				return err
			}
		}
	case plan.KindRemovePackages:
		db, err := r.fs.readDpkgStatus()
		if err != nil {
			return err
		}
		led := newLedger(r.st)
		for _, p := range s.Inputs.Packages {
			if cur := db.get(p.Name, p.Arch); cur.present() {
				rec, _ := led.pkg(cur.Name, cur.Arch, cur.Version)
				cur.SHA256 = rec.SHA256
				u.Removed = append(u.Removed, cur)
			}
		}
	case plan.KindWriteFile:
		f := s.Inputs.File
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
			if u.Saved, err = r.setAside(rel, backup); err != nil {
				return err
			}
		}
	case plan.KindRemoveFile:
		f := s.Inputs.File
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
			sum, err := r.fs.hashRel(rel)
			if err != nil {
				return err
			}
			if sum != f.SHA256 {
				u.Kept = "changed since runtimekit wrote it: kept"
				break
			}
			if u.Saved, err = r.setAside(rel, backup); err != nil {
				return err
			}
		}
	case plan.KindExtractArchive, plan.KindRemoveArchive:
		a := s.Inputs.Archive
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
		if s.Kind == plan.KindExtractArchive {
			u.Staging = parentRel(rel) + "/." + base + ".runtimekit-new"
			if u.Created, err = r.missingDirs(parentRel(rel)); err != nil {
				return err
			}
		}
	case plan.KindInstallService, plan.KindRemoveService:
		name := s.Inputs.Service.Name
		prev, err := r.installedService(name)
		if err != nil {
			return err
		}
		u.Service = prev
		if err := r.serviceState(ctx, name, u); err != nil {
			return err
		}
		if s.Kind == plan.KindInstallService && prev == nil {
			if u.Created, err = r.serviceDirs(name, false); err != nil {
				return err
			}
		}
		if s.Kind == plan.KindRemoveService {
			_, running := r.supervisorPID()
			u.SupervisorDown = !running
		}
	case plan.KindStartService, plan.KindStopService:
		if err := r.serviceState(ctx, s.Inputs.ServiceName, u); err != nil {
			return err
		}
		if s.Kind == plan.KindStartService {
			_, running := r.supervisorPID()
			u.SupervisorDown = !running
			var err error
			if u.Created, err = r.serviceDirs(s.Inputs.ServiceName, true); err != nil {
				return err
			}
		}
	case plan.KindRecordState:
		st, _, err := loadState(r.fs, r.stateRel)
		if err != nil {
			return err
		}
		u.Lineage = st.Lineage
		if u.Lineage == "" {
			if u.Lineage, err = state.NewLineage(); err != nil {
				return err
			}
		}
		if u.State, err = r.setAside(r.stateRel, backup+".state"); err != nil {
			return err
		}
		if u.StatePrev, err = r.setAside(r.stateRel+".prev", backup+".state.prev"); err != nil {
			return err
		}
		u.Path = r.stateRel
		if u.Created, err = r.missingDirs(parentRel(r.stateRel)); err != nil {
			return err
		}
	}
	return nil
}

func filepathBase(rel string) string {
	parts := splitRel(rel)
	return parts[len(parts)-1]
}

// missingDirs lists the directories of rel that do not exist, parents
// first: those a step will create and its undo removes.
func (r *run) missingDirs(rel string) ([]string, error) {
	var out []string
	parts := splitRel(rel)
	for i := range parts {
		d := joinRel(parts[:i+1])
		ok, err := r.fs.exists(d)
		if err != nil {
			return nil, err
		}
		if !ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// removeCreated removes the directories a step created, deepest first,
// when they are empty.
func (r *run) removeCreated(dirs []string) {
	for _, d := range slices.Backward(dirs) {
		if err := r.fs.remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.e.log.Debug("directory not removed", "dir", abs(d), "err", err)
		}
	}
}

func (r *run) installedService(name string) (*state.Service, error) {
	b, err := os.ReadFile(filepath.Join(r.e.opts.Services.Dir(name), "runtimekit.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var svc state.Service
	if err := json.Unmarshal(b, &svc); err != nil {
		return nil, fmt.Errorf("service %s: its runtimekit.json: %w", name, err)
	}
	return &svc, nil
}

func (r *run) serviceState(ctx context.Context, name string, u *undoData) error {
	st, err := r.e.opts.Services.Status(ctx, name)
	if errors.Is(err, service.ErrNotInstalled) {
		return nil
	}
	if err != nil {
		return err
	}
	u.WasEnabled = st.Enabled
	u.WasUp = st.Up && st.WantUp
	return nil
}

// do runs step i.
func (r *run) do(ctx context.Context, i int) error {
	s := &r.plan.Steps[i]
	u := r.j.Steps[i].Undo
	svc := r.e.opts.Services
	switch s.Kind {
	case plan.KindVerifyBundle:
		return r.verifyArtifacts(s.ID, s.Inputs.Artifacts)
	case plan.KindInstallPackages:
		return r.installPackages(ctx, s, u)
	case plan.KindRemovePackages:
		return r.removePackages(ctx, s, u)
	case plan.KindWriteFile:
		if u.Kept != "" {
			r.kept(s, u)
			return nil
		}
		f := s.Inputs.File
		uid, gid, err := r.fs.owner(f.Owner, f.Group)
		if err != nil {
			return err
		}
		if _, err := r.fs.mkdirs(parentRel(u.Path)); err != nil {
			return err
		}
		return r.fs.writeAtomic(u.Path, []byte(f.Content), unixMode(f.Mode), uid, gid)
	case plan.KindRemoveFile:
		if u.Kept != "" {
			r.kept(s, u)
			return nil
		}
		if u.Saved.Existed {
			return r.fs.remove(u.Path)
		}
		return nil
	case plan.KindExtractArchive:
		return r.extractArchive(ctx, s, u)
	case plan.KindRemoveArchive:
		// Set aside, not deleted: the undo puts it back; the commit
		// deletes it.
		if !u.HadDest {
			return nil
		}
		return r.moveAside(u)
	case plan.KindInstallService:
		return svc.Install(ctx, *s.Inputs.Service)
	case plan.KindStartService:
		if _, err := svc.EnsureSupervisor(ctx); err != nil {
			return err
		}
		return svc.Start(ctx, s.Inputs.ServiceName)
	case plan.KindStopService:
		return ignoreNotInstalled(svc.Stop(ctx, s.Inputs.ServiceName))
	case plan.KindRemoveService:
		if err := svc.Remove(ctx, s.Inputs.Service.Name); err != nil {
			return err
		}
		// runsvdir with nothing left to supervise goes too: the runit
		// package may be purged next.
		return r.stopSupervisor(ctx, nil)
	case plan.KindWaitHealth:
		hc := *s.Inputs.Health
		r.progress("      waiting for health check %s", hc.Name)
		return r.e.opts.Health(ctx, hc, r.e.log)
	case plan.KindRecordState:
		st := state.New(r.plan.Target.Name)
		st.Lineage = u.Lineage
		st.Serial = r.plan.State.Serial + 1
		st.Runtimes = *s.Inputs.Runtimes
		if _, err := r.fs.mkdirs(parentRel(u.Path)); err != nil {
			return err
		}
		// An earlier attempt may have saved it already: start again from
		// the state as it was, so that .prev is the state before the plan.
		if cur, _, err := loadState(r.fs, u.Path); err == nil && cur.Serial == st.Serial && cur.Lineage == st.Lineage {
			if err := r.restoreSaved(u.State, u.Path); err != nil {
				return err
			}
			if err := r.restoreSaved(u.StatePrev, u.Path+".prev"); err != nil {
				return err
			}
		}
		if err := r.fs.saveState(u.Path, st); err != nil {
			return err
		}
		r.res.Serial = st.Serial
		return nil
	}
	return fmt.Errorf("unknown step kind %q", s.Kind)
}

func (r *run) kept(s *plan.Step, u *undoData) {
	r.res.Kept = append(r.res.Kept, KeptFile{Path: s.Inputs.File.Path, Step: s.ID, Reason: u.Kept})
	r.progress("      %s: %s", s.Inputs.File.Path, u.Kept)
}

func ignoreNotInstalled(err error) error {
	if errors.Is(err, service.ErrNotInstalled) {
		return nil
	}
	return err
}

// unixMode converts a plan's mode (permission bits and set-id/sticky bits
// as in chmod) to an fs.FileMode.
func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// undo reverts step i, whether it completed or stopped half way; every
// undo can be run again.
func (r *run) undo(ctx context.Context, i int) error {
	s := &r.plan.Steps[i]
	u := r.j.Steps[i].Undo
	if u == nil {
		return nil
	}
	svc := r.e.opts.Services
	switch s.Kind {
	case plan.KindInstallPackages:
		return r.undoInstall(ctx, s, u)
	case plan.KindRemovePackages:
		// Back in the reverse of the removal order: dependencies first.
		rev := slices.Clone(u.Removed)
		slices.Reverse(rev)
		return r.reinstall(ctx, s, rev)
	case plan.KindWriteFile, plan.KindRemoveFile:
		if u.Kept != "" || u.Saved == nil {
			return nil
		}
		if err := r.restoreSaved(u.Saved, u.Path); err != nil {
			return err
		}
		_ = r.fs.remove(tmpName(u.Path))
		r.removeCreated(u.Created)
		return nil
	case plan.KindExtractArchive:
		if err := r.fs.removeAll(u.Staging); err != nil {
			return err
		}
		if u.HadDest {
			if ok, err := r.fs.exists(u.Aside); err != nil || !ok {
				return err // never moved: the destination is the original
			}
			if err := r.fs.removeAll(u.Dest); err != nil {
				return err
			}
			return r.rename(u.Aside, u.Dest)
		}
		if err := r.fs.removeAll(u.Dest); err != nil {
			return err
		}
		r.removeCreated(u.Created)
		return nil
	case plan.KindRemoveArchive:
		if !u.HadDest {
			return nil
		}
		if ok, err := r.fs.exists(u.Aside); err != nil || !ok {
			return err
		}
		if err := r.fs.removeAll(u.Dest); err != nil {
			return err
		}
		return r.rename(u.Aside, u.Dest)
	case plan.KindInstallService:
		if u.Service != nil {
			return svc.Install(ctx, *u.Service)
		}
		if err := svc.Remove(ctx, s.Inputs.Service.Name); err != nil {
			return err
		}
		r.removeCreated(u.Created)
		return nil
	case plan.KindStartService:
		name := s.Inputs.ServiceName
		var err error
		if !u.WasUp {
			err = ignoreNotInstalled(svc.Stop(ctx, name))
		}
		if !u.WasEnabled && err == nil {
			err = svc.Disable(ctx, name)
		}
		if u.SupervisorDown {
			// Whatever the service did, the runsvdir this apply started
			// goes, with every process under it.
			return errors.Join(err, r.stopSupervisor(ctx, u.Created))
		}
		if err != nil {
			return err
		}
		r.removeCreated(u.Created)
		return nil
	case plan.KindStopService:
		if !u.WasUp {
			return nil
		}
		if _, err := svc.EnsureSupervisor(ctx); err != nil {
			return err
		}
		return svc.Start(ctx, s.Inputs.ServiceName)
	case plan.KindRemoveService:
		if u.Service == nil {
			return nil
		}
		name := u.Service.Name
		if err := svc.Install(ctx, *u.Service); err != nil {
			return err
		}
		if !u.SupervisorDown || u.WasEnabled {
			if _, err := svc.EnsureSupervisor(ctx); err != nil {
				return err
			}
		}
		if !u.WasEnabled {
			return nil
		}
		if u.WasUp {
			return svc.Start(ctx, name)
		}
		if err := svc.Enable(ctx, name); err != nil {
			return err
		}
		return ignoreNotInstalled(svc.Stop(ctx, name))
	case plan.KindRecordState:
		if u.State == nil || u.StatePrev == nil {
			return nil
		}
		if err := r.restoreSaved(u.State, u.Path); err != nil {
			return err
		}
		if err := r.restoreSaved(u.StatePrev, u.Path+".prev"); err != nil {
			return err
		}
		_ = r.fs.remove(tmpName(u.Path))
		r.removeCreated(u.Created)
		return nil
	}
	return nil
}

func (r *run) rename(from, to string) error {
	if err := r.fs.r.Rename(from, to); err != nil {
		return err
	}
	if err := r.fs.syncDir(parentRel(to)); err != nil {
		return err
	}
	if parentRel(from) != parentRel(to) {
		return r.fs.syncDir(parentRel(from))
	}
	return nil
}

// moveAside moves an archive's destination out of the way (beside it, so
// on the same file system), unless an earlier attempt did.
func (r *run) moveAside(u *undoData) error {
	if ok, err := r.fs.exists(u.Aside); err != nil || ok {
		return err
	}
	if ok, err := r.fs.exists(u.Dest); err != nil || !ok {
		return err
	}
	return r.rename(u.Dest, u.Aside)
}

// verifyArtifacts checks bundle files not yet checked by this run.
func (r *run) verifyArtifacts(step string, sums []string) error {
	var probs []Problem
	for _, sum := range sums {
		if r.verified[sum] {
			continue
		}
		if p := r.checkArtifact(step, sum); p != nil {
			probs = append(probs, *p)
			continue
		}
		r.verified[sum] = true
	}
	if len(probs) > 0 {
		return &RefusedError{Problems: probs}
	}
	return nil
}

// checkArtifact verifies one bundle file by SHA-256.
func (r *run) checkArtifact(step, sum string) *Problem {
	if r.bundle == nil {
		if r.e.opts.BundleDir == "" {
			return &Problem{Step: step, Reason: "the plan needs bundle files: give the bundle directory (--bundle DIR)"}
		}
		b, err := openBundle(r.e.opts.BundleDir)
		if err != nil {
			return &Problem{Step: step, Reason: err.Error()}
		}
		r.bundle = b
	}
	f, ok := r.bundle.lookup(sum)
	if !ok {
		name := sum
		for _, a := range r.plan.Artifacts {
			if a.SHA256 == sum {
				name = a.Kind + " " + a.Name + " " + a.Version + " (sha256 " + sum + ")"
			}
		}
		return &Problem{Step: step, Reason: name + " is not in bundle " + r.bundle.dir}
	}
	if why := r.bundle.verify(f); why != "" {
		return &Problem{Step: step, Path: r.bundle.path(f), Reason: why}
	}
	return nil
}

func (r *run) artifactPath(sum string) (string, error) {
	if r.bundle == nil {
		if r.e.opts.BundleDir == "" {
			return "", errors.New("no bundle directory given")
		}
		if _, err := r.openBundleOnce(); err != nil {
			return "", err
		}
	}
	f, ok := r.bundle.lookup(sum)
	if !ok {
		return "", fmt.Errorf("sha256 %s is not in bundle %s", sum, r.bundle.dir)
	}
	if !r.verified[sum] {
		if why := r.bundle.verify(f); why != "" {
			return "", fmt.Errorf("%s: %s", r.bundle.path(f), why)
		}
		r.verified[sum] = true
	}
	return r.bundle.path(f), nil
}

// debToInstall is one .deb of an install.
type debToInstall struct {
	key  string // name:arch
	name string
	path string
	ctrl *debControl // nil when unreadable
}

// batches splits debs (in the plan's order) into as few dpkg runs as
// possible: a package whose Pre-Depends names a package unpacked earlier
// in the same batch needs that batch configured first (dpkg does not
// accept a pre-dependency that is unpacked but was never configured). A
// .deb whose control cannot be read starts a new batch.
func batches(debs []debToInstall) [][]debToInstall {
	var out [][]debToInstall
	var cur []debToInstall
	pending := map[string]bool{}
	for _, d := range debs {
		flush := d.ctrl == nil && len(cur) > 0
		if d.ctrl != nil {
			for _, group := range d.ctrl.PreDepends {
				for _, name := range group {
					if pending[name] {
						flush = true
					}
				}
			}
		}
		if flush {
			out = append(out, cur)
			cur, pending = nil, map[string]bool{}
		}
		cur = append(cur, d)
		pending[d.name] = true
		if d.ctrl != nil {
			for _, p := range d.ctrl.Provides {
				pending[p] = true
			}
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func (r *run) debsFor(refs []plan.PackageRef, path func(plan.PackageRef) (string, error)) ([]debToInstall, error) {
	var debs []debToInstall
	dr := &debReader{}
	for _, p := range refs {
		fp, err := path(p)
		if err != nil {
			return nil, err
		}
		ctrl, ok := r.controls[p.SHA256]
		if !ok {
			if ctrl, err = dr.control(fp); err != nil {
				r.e.log.Debug("control of a .deb not readable: it gets a dpkg run of its own", "deb", fp, "err", err)
				ctrl = nil
			}
		}
		debs = append(debs, debToInstall{key: p.Name + ":" + p.Arch, name: p.Name, path: fp, ctrl: ctrl})
	}
	return debs, nil
}

// unpackConfigure installs debs with one `dpkg --unpack` and one `dpkg
// --configure --pending` per batch (see batches).
func (r *run) unpackConfigure(ctx context.Context, step string, debs []debToInstall) error {
	for bi, b := range batches(debs) {
		paths := make([]string, len(b))
		names := make([]string, len(b))
		for i, d := range b {
			paths[i], names[i] = d.path, d.name
		}
		note := ""
		if n := len(batches(debs)); n > 1 {
			note = fmt.Sprintf(" (batch %d of %d)", bi+1, n)
		}
		r.progress("      unpacking %d packages%s: %s", len(b), note, strings.Join(names, " "))
		if _, err := r.dpkgRun(ctx, step, "unpack", append([]string{"--unpack", "--force-confdef", "--force-confold"}, paths...)...); err != nil {
			return err
		}
		if err := r.fault(step, "unpacked"); err != nil {
			return err
		}
		r.progress("      configuring%s", note)
		if _, err := r.dpkgRun(ctx, step, "configure", "--configure", "--pending", "--force-confdef", "--force-confold"); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) installPackages(ctx context.Context, s *plan.Step, u *undoData) error {
	db, err := r.fs.readDpkgStatus()
	if err != nil {
		return err
	}
	var refs []plan.PackageRef
	for _, p := range s.Inputs.Packages {
		if cur := db.get(p.Name, p.Arch); cur.Status == "installed" && cur.Version == p.Version {
			continue // already there (or done by an earlier attempt)
		}
		refs = append(refs, p)
	}
	if len(refs) == 0 {
		r.progress("      all %d packages are installed already", len(s.Inputs.Packages))
		return nil
	}
	debs, err := r.debsFor(refs, func(p plan.PackageRef) (string, error) { return r.artifactPath(p.SHA256) })
	if err != nil {
		return err
	}
	return r.withDpkg(ctx, func() error {
		if err := r.unpackConfigure(ctx, s.ID, debs); err != nil {
			return err
		}
		return r.dpkg.audit(ctx)
	})
}

func (r *run) undoInstall(ctx context.Context, s *plan.Step, u *undoData) error {
	db, err := r.fs.readDpkgStatus()
	if err != nil {
		return err
	}
	var purge, remove []string
	var broken []debToInstall // cut off in the middle of their unpack
	force, ghosts := false, false
	for _, p := range slices.Backward(u.New) {
		cur := db.get(p.Name, p.Arch)
		switch {
		case p.Status == "config-files" && cur.present():
			remove = append(remove, p.key()) // back to config-files, as it was
		case p.Status != "config-files" && cur.Status != "not-installed":
			purge = append(purge, p.key())
		case p.Status == "not-installed" && cur.recorded && cur.want != "purge":
			// dpkg recorded the package (selected for install) but had
			// no room or time to unpack it: its record goes too.
			purge = append(purge, p.key())
			ghosts = true
		}
		if cur.Reinstreq || cur.Status == "half-installed" {
			// dpkg removes such a package only after it is unpacked
			// again (its file list is incomplete); without the bundle,
			// it is forced out.
			path := ""
			for _, ref := range s.Inputs.Packages {
				if ref.Name == p.Name && ref.Arch == p.Arch {
					path, _ = r.artifactPath(ref.SHA256)
				}
			}
			if path == "" {
				force = true
				continue
			}
			broken = append(broken, debToInstall{key: p.key(), name: p.Name, path: path})
		}
	}
	if len(broken) > 0 {
		err := r.withDpkg(ctx, func() error {
			paths := make([]string, len(broken))
			for i, d := range broken {
				paths[i] = d.path
			}
			r.progress("      unpacking %d interrupted packages again, to remove them cleanly", len(broken))
			_, err := r.dpkgRun(ctx, s.ID, "purge", append([]string{"--unpack", "--force-depends", "--force-confdef", "--force-confold"}, paths...)...)
			return err
		})
		if err != nil {
			return err
		}
	}
	if len(purge)+len(remove) > 0 {
		err := r.withDpkg(ctx, func() error {
			if len(purge) > 0 {
				r.progress("      purging %d packages: %s", len(purge), strings.Join(purge, " "))
				args := []string{"--purge"}
				if force {
					args = append(args, "--force-remove-reinstreq")
				}
				if _, err := r.dpkgRun(ctx, s.ID, "purge", append(args, purge...)...); err != nil {
					return err
				}
			}
			if len(remove) > 0 {
				r.progress("      removing %d packages: %s", len(remove), strings.Join(remove, " "))
				if _, err := r.dpkgRun(ctx, s.ID, "purge", append([]string{"--remove"}, remove...)...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := r.restoreAccounts(u.Accounts); err != nil {
		return err
	}
	if u.Tree != "" && len(purge)+len(remove) > 0 {
		gone, err := r.removeLeftovers(u.Tree)
		if len(gone) > 0 {
			r.progress("      removed %d paths the packages' maintainer scripts had made: %s", len(gone), strings.Join(gone, " "))
		}
		if err != nil {
			return err
		}
	}
	if len(u.Replaced) > 0 {
		return r.reinstall(ctx, s, u.Replaced)
	}
	if len(purge)+len(remove) > 0 {
		return r.withDpkg(ctx, func() error {
			if err := r.settleTriggers(ctx, s.ID, ghosts); err != nil {
				return err
			}
			return r.dpkg.audit(ctx)
		})
	}
	return nil
}

func (r *run) removePackages(ctx context.Context, s *plan.Step, u *undoData) error {
	db, err := r.fs.readDpkgStatus()
	if err != nil {
		return err
	}
	var keys []string
	for _, p := range s.Inputs.Packages {
		cur := db.get(p.Name, p.Arch)
		if cur.present() || (s.Inputs.Purge && cur.Status == "config-files") {
			keys = append(keys, cur.key())
		}
	}
	if len(keys) == 0 {
		return nil
	}
	op := "--remove"
	if s.Inputs.Purge {
		op = "--purge"
	}
	return r.withDpkg(ctx, func() error {
		if _, err := r.dpkgRun(ctx, s.ID, "purge", append([]string{op}, keys...)...); err != nil {
			return err
		}
		return r.dpkg.audit(ctx)
	})
}

// reinstall puts packages back at their recorded versions from the
// bundle: each from the .deb whose SHA-256 the state recorded, and only
// when its control file names that very package. One that cannot be put
// back is an error naming it (the rollback is then incomplete, and says
// so), never a silent substitute.
func (r *run) reinstall(ctx context.Context, s *plan.Step, pkgs []pkgState) error {
	db, err := r.fs.readDpkgStatus()
	if err != nil {
		return err
	}
	var refs []plan.PackageRef
	paths := map[string]string{}
	var missing []string
	for _, p := range pkgs {
		if cur := db.get(p.Name, p.Arch); cur.Status == "installed" && cur.Version == p.Version {
			continue
		}
		if p.SHA256 == "" {
			missing = append(missing, fmt.Sprintf("%s %s (%s): the state records no .deb for it", p.Name, p.Version, p.Arch))
			continue
		}
		path, err := r.artifactPath(p.SHA256)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s %s (%s): %v", p.Name, p.Version, p.Arch, err))
			continue
		}
		ctrl, err := readDebControl(path)
		if err == nil && (ctrl.Package != p.Name || ctrl.Version != p.Version || ctrl.Architecture != p.Arch) {
			err = fmt.Errorf("the .deb is %s %s (%s)", ctrl.Package, ctrl.Version, ctrl.Architecture)
		}
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s %s (%s): %v", p.Name, p.Version, p.Arch, err))
			continue
		}
		r.controls[p.SHA256] = ctrl
		ref := plan.PackageRef{Name: p.Name, Version: p.Version, Arch: p.Arch, SHA256: p.SHA256}
		paths[ref.Name+":"+ref.Arch] = path
		refs = append(refs, ref)
	}
	if len(missing) > 0 {
		return fmt.Errorf("cannot reinstall %d package(s) offline:\n\t%s\ngive the bundle that holds them (--bundle DIR)", len(missing), strings.Join(missing, "\n\t"))
	}
	if len(refs) == 0 {
		return nil
	}
	debs, err := r.debsFor(refs, func(p plan.PackageRef) (string, error) { return paths[p.Name+":"+p.Arch], nil })
	if err != nil {
		return err
	}
	r.progress("      reinstalling %d packages from the bundle", len(debs))
	return r.withDpkg(ctx, func() error {
		if err := r.unpackConfigure(ctx, s.ID, debs); err != nil {
			return err
		}
		return r.dpkg.audit(ctx)
	})
}

// settleTriggers finishes what an interrupted unpack leaves on packages
// that stay, so that dpkg's database is as before the install: triggers
// pending (libc-bin's ldconfig, activated by a library that was unpacked
// and is purged now), and, when ghosts is set, the records of packages
// purged without ever having been unpacked, which dpkg drops only at its
// next write of the database. One `dpkg --configure --pending` does both.
func (r *run) settleTriggers(ctx context.Context, step string, ghosts bool) error {
	db, err := r.fs.readDpkgStatus()
	if err != nil {
		return err
	}
	need := ghosts
	for _, p := range db {
		need = need || p.Status == "triggers-pending" || p.Status == "triggers-awaited"
	}
	if !need {
		return nil
	}
	r.progress("      settling dpkg's database (pending triggers, records of packages never unpacked)")
	_, err = r.dpkgRun(ctx, step, "purge", "--configure", "--pending", "--force-confdef", "--force-confold")
	return err
}

// editedSince reports whether the file at rel, which runtimekit wrote
// (the state's ledger records it), no longer has the digest it was
// written with.
func (r *run) editedSince(planPath, rel string) bool {
	f, ok := newLedger(r.st).files[planPath]
	if !ok {
		return false
	}
	sum, err := r.fs.hashRel(rel)
	return err == nil && sum != f.SHA256
}
