package executor

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/runtimekit/runtimekit/sdk/plan"
)

// install-packages and remove-packages, run by dpkg (dpkg.go).

func init() {
	register[*plan.InstallPackages, installUndo](installPackages{})
	register[*plan.RemovePackages, removeUndo](removePackages{})
}

// installUndo is what an install's undo needs: the packages not on disk
// before (purged on undo) and those replaced by another version
// (reinstalled on undo); the account databases, to which maintainer
// scripts add system users; and the listing of the directories
// maintainer scripts write to, taken before (see leftovers.go).
type installUndo struct {
	New      []pkgState    `json:"new,omitempty"`
	Replaced []pkgState    `json:"replaced,omitempty"`
	Accounts []accountFile `json:"accounts,omitempty"`
	Tree     string        `json:"tree,omitempty"`
}

// removeUndo is the removed packages as they were.
type removeUndo struct {
	Removed []pkgState `json:"removed,omitempty"`
}

type installPackages struct{}

func (installPackages) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.InstallPackages, u *installUndo) error {
	db, err := r.fs.readDpkgStatus()
	if err != nil {
		return err
	}
	led := newLedger(r.st)
	for _, p := range in.Packages {
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
		if u.Accounts, err = r.saveAccounts(r.backup); err != nil {
			return err
		}
		u.Tree = r.backup + ".tree"
		if err := r.saveTree(u.Tree); err != nil {
			return err
		}
	}
	return nil
}

func (installPackages) effects() effects { return effects{runsDpkg: true} }

func (installPackages) describe(in *plan.InstallPackages) string {
	return describePackages(in.Packages)
}

type removePackages struct{}

func (removePackages) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.RemovePackages, u *removeUndo) error {
	db, err := r.fs.readDpkgStatus()
	if err != nil {
		return err
	}
	led := newLedger(r.st)
	for _, p := range in.Packages {
		if cur := db.get(p.Name, p.Arch); cur.present() {
			rec, _ := led.pkg(cur.Name, cur.Arch, cur.Version)
			cur.SHA256 = rec.SHA256
			u.Removed = append(u.Removed, cur)
		}
	}
	return nil
}

// undo puts the packages back in the reverse of the removal order:
// dependencies first.
func (removePackages) undo(ctx context.Context, r *run, s *plan.Step, in *plan.RemovePackages, u *removeUndo) error {
	rev := slices.Clone(u.Removed)
	slices.Reverse(rev)
	return r.reinstall(ctx, s, rev)
}

func (removePackages) effects() effects { return effects{runsDpkg: true} }

func (removePackages) describe(in *plan.RemovePackages) string { return describePackages(in.Packages) }

func (installPackages) check(r *run, s *plan.Step, in *plan.InstallPackages, pf *preflight) {
	r.checkPackages(s, in.Packages, false, pf)
}

func (removePackages) check(r *run, s *plan.Step, in *plan.RemovePackages, pf *preflight) {
	r.checkPackages(s, in.Packages, true, pf)
}

// checkPackages refuses packages of another architecture, removals of
// packages that are the base system's or not runtimekit's, and version
// replacements that could not be undone offline.
func (r *run) checkPackages(s *plan.Step, pkgs []plan.PackageRef, remove bool, pf *preflight) {
	p, add, led := r.plan, pf.add, pf.led
	for _, pk := range pkgs {
		if pk.Arch != p.Target.DebianArch && pk.Arch != "all" {
			add(s.ID, "", "package %s is for %s, the plan's target is %s", pk.Name, pk.Arch, p.Target.DebianArch)
		}
		cur := pf.db.get(pk.Name, pk.Arch)
		if remove {
			switch {
			case cur.essential:
				add(s.ID, "", "package %s is part of the base system (Essential, Protected or of priority required): no plan may remove it", pk.Name)
			case !led.hasPackage(pk.Name, pk.Arch):
				add(s.ID, "", "package %s: %s", pk.Name, notOwned)
			}
			continue
		}
		if cur.present() && cur.Version != pk.Version {
			// Replacing a version can be undone offline only by
			// reinstalling the very .deb the state recorded for it.
			rec, ok := led.pkg(cur.Name, cur.Arch, cur.Version)
			switch {
			case !ok || rec.SHA256 == "":
				add(s.ID, "", "package %s is installed at version %s, and the state records no .deb for it; the plan would replace it with %s, which could not be undone",
					pk.Name, cur.Version, pk.Version)
			case r.e.opts.BundleDir == "":
			default:
				b, err := r.openBundleOnce()
				if err != nil {
					break // reported with the bundle's files
				}
				if _, ok := b.lookup(rec.SHA256); !ok {
					add(s.ID, "", "package %s is installed at version %s; the plan would replace it with %s, which could not be undone: the bundle lacks the .deb of %s (sha256 %s)",
						pk.Name, cur.Version, pk.Version, cur.Version, rec.SHA256)
				}
			}
		}
	}
}

func describePackages(pkgs []plan.PackageRef) string {
	names := make([]string, len(pkgs))
	for i, p := range pkgs {
		names[i] = p.Name
	}
	return fmt.Sprintf(": %d packages: %s", len(names), strings.Join(names, " "))
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

func (installPackages) do(ctx context.Context, r *run, s *plan.Step, in *plan.InstallPackages, u *installUndo) error {
	db, err := r.fs.readDpkgStatus()
	if err != nil {
		return err
	}
	var refs []plan.PackageRef
	for _, p := range in.Packages {
		if cur := db.get(p.Name, p.Arch); cur.Status == "installed" && cur.Version == p.Version {
			continue // already there (or done by an earlier attempt)
		}
		refs = append(refs, p)
	}
	if len(refs) == 0 {
		r.progress("      all %d packages are installed already", len(in.Packages))
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

func (installPackages) undo(ctx context.Context, r *run, s *plan.Step, in *plan.InstallPackages, u *installUndo) error {
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
			for _, ref := range in.Packages {
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

func (removePackages) do(ctx context.Context, r *run, s *plan.Step, in *plan.RemovePackages, u *removeUndo) error {
	db, err := r.fs.readDpkgStatus()
	if err != nil {
		return err
	}
	var keys []string
	for _, p := range in.Packages {
		cur := db.get(p.Name, p.Arch)
		if cur.present() || (in.Purge && cur.Status == "config-files") {
			keys = append(keys, cur.key())
		}
	}
	if len(keys) == 0 {
		return nil
	}
	op := "--remove"
	if in.Purge {
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

// checkDebs reads each .deb an install uses, before dpkg sees any: its
// control file must name the package, version and architecture the plan
// gives (or a rollback would purge a name that was never installed), and
// its data must hold no device node and no hard link to a file outside
// the package.
func (r *run) checkDebs(resume bool) []Problem {
	type job struct {
		step string
		pk   plan.PackageRef
		path string
		ctrl *debControl
		prob *Problem
	}
	var jobs []*job
	var probs []Problem
	seen := map[string]bool{}
	for i, s := range r.plan.Steps {
		in, ok := s.Inputs.(*plan.InstallPackages)
		if !ok || (resume && r.j.Steps[i].Phase == phaseDone) {
			continue
		}
		for _, pk := range in.Packages {
			if _, ok := r.controls[pk.SHA256]; ok || seen[pk.SHA256] {
				continue
			}
			seen[pk.SHA256] = true
			path, err := r.artifactPath(pk.SHA256)
			if err != nil {
				probs = append(probs, Problem{Step: s.ID, Reason: err.Error()})
				continue
			}
			jobs = append(jobs, &job{step: s.ID, pk: pk, path: path})
		}
	}
	// Reading a .deb's data means decompressing all of it: the one part of
	// preflight that costs CPU, so it is spread over the processors there
	// are (one in a browser VM, more elsewhere). Each worker keeps its own
	// xz decoder, whose dictionary is the memory cost.
	workers := min(runtime.GOMAXPROCS(0), 4, len(jobs))
	next := make(chan *job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dr := &debReader{}
			for jb := range next {
				ctrl, err := dr.control(jb.path)
				switch {
				case err != nil:
				case ctrl.Package != jb.pk.Name || ctrl.Version != jb.pk.Version || ctrl.Architecture != jb.pk.Arch:
					err = fmt.Errorf("the .deb is %s %s (%s), the plan installs %s %s (%s) from it: the bundle does not match the plan",
						ctrl.Package, ctrl.Version, ctrl.Architecture, jb.pk.Name, jb.pk.Version, jb.pk.Arch)
				default:
					err = dr.checkData(jb.path)
				}
				if err != nil {
					jb.prob = &Problem{Step: jb.step, Path: jb.path, Reason: err.Error()}
					continue
				}
				jb.ctrl = ctrl
			}
		}()
	}
	for _, jb := range jobs {
		next <- jb
	}
	close(next)
	wg.Wait()
	for _, jb := range jobs {
		if jb.prob != nil {
			probs = append(probs, *jb.prob)
			continue
		}
		r.controls[jb.pk.SHA256] = jb.ctrl
	}
	return probs
}
