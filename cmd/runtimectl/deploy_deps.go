//go:build !vm

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runtimekit/runtimekit/sdk/appdeps/npmdeps"
	"github.com/runtimekit/runtimekit/sdk/appdeps/pydeps"
	"github.com/runtimekit/runtimekit/sdk/debian"
	"github.com/runtimekit/runtimekit/sdk/debian/resolve"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/release"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
	"github.com/runtimekit/runtimekit/targets"
)

// buildDeps adds to the release the dependencies built on this machine
// for the target: a Node.js app's node_modules, from its package-lock.json
// (npm ci for linux/ia32, no script run; see sdk/appdeps/npmdeps), built
// in work, which must outlive the tree's use.
func buildDeps(ctx context.Context, a *app, dir string, tree *release.Tree, allow []string, work string) error {
	if !npmdeps.Needed(dir) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); errors.Is(err, fs.ErrNotExist) {
		if fi, err := os.Stat(filepath.Join(dir, "node_modules")); err == nil && fi.IsDir() {
			// A tree built to be shipped as it is (a Next.js standalone
			// build): its addons must load on linux/ia32.
			return npmdeps.CheckAddons(dir, allow)
		}
	}
	cache, err := a.bundleCacheDir()
	if err != nil {
		return err
	}
	opts := npmdeps.Options{CacheDir: filepath.Join(cache, "node_modules"), Allow: allow, Share: true}
	if a.verbose {
		opts.Stderr = a.stderr
	}
	npmDir := filepath.Join(work, "npm")
	res, err := npmdeps.Install(ctx, dir, npmDir, opts)
	if err != nil {
		return err
	}
	return tree.AddTree("node_modules", res.Dir)
}

func nonZero(d unit.Duration, def time.Duration) unit.Duration {
	if d != 0 {
		return d
	}
	return unit.Duration(def)
}

// appPackages are, for a runtime that provides "python", the Debian
// packages a Python app's requirements
// (requirements.txt or pyproject.toml) name, as the target's index has
// them (sdk/appdeps/pydeps), with what they depend on, in install order:
// those the base system and the runtimes (installed, or added by base)
// do not have already. A requirement the index cannot meet refuses the
// deploy, all of them listed at once.
func (a *app) appPackages(ctx context.Context, dir string, prof *targets.Profile, st *state.State, base *plan.Plan) ([]lock.Package, error) {
	reqs, err := pydeps.Parse(dir)
	if err != nil || len(reqs) == 0 {
		return nil, err
	}
	file, _, _, err := a.fetchLockIndex(ctx, prof.Debian.Release, prof.DebianArch(), "", "")
	if err != nil {
		return nil, err
	}
	ix, err := debian.OpenPackages(ctx, file, a.logger())
	if err != nil {
		return nil, err
	}
	matches, err := pydeps.Map(reqs, ix, prof.DebianArch())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	// What the machine will have when the app's packages are installed.
	installed := &debian.Status{Name: "the machine"}
	if prof.Base != nil {
		installed.Packages = append(installed.Packages, prof.Base.Packages...)
	}
	have := func(name, version string) {
		for _, p := range ix.Lookup(name) {
			if p.Version == version {
				q := *p
				q.Status = "install ok installed"
				installed.Packages = append(installed.Packages, q)
				return
			}
		}
	}
	for _, rt := range st.Runtimes {
		for _, q := range rt.Packages {
			have(q.Name, q.Version)
		}
	}
	if base != nil {
		for _, s := range base.Steps {
			if in, ok := s.Inputs.(*plan.InstallPackages); ok {
				for _, q := range in.Packages {
					have(q.Name, q.Version)
				}
			}
		}
	}
	var rs []resolve.Request
	for _, m := range matches {
		rs = append(rs, resolve.Request{Name: m.Package, Op: "=", Version: m.Version})
	}
	res, err := resolve.Resolve(ctx, ix, installed, rs, resolve.Options{Arch: prof.DebianArch()})
	if err != nil {
		return nil, fmt.Errorf("%s: the Debian packages of the app's requirements: %w", dir, err)
	}
	if len(res.Remove) > 0 {
		return nil, fmt.Errorf("%s: the app's Debian packages would remove %s from the machine", dir, res.Remove[0].Name)
	}
	var out []lock.Package
	for _, p := range res.Install {
		out = append(out, lock.Package{Name: p.Name, Version: p.Version, Arch: p.Architecture, Filename: p.Filename,
			SHA256: p.SHA256, Size: p.Size, InstalledSize: p.InstalledSize})
	}
	fmt.Fprintf(a.stderr, "app's Python requirements: %d Debian packages (%s)\n", len(out), packageNames(out))
	return out, nil
}

func packageNames(ps []lock.Package) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return strings.Join(names, " ")
}
