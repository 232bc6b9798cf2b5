//go:build !vm

package main

import (
	"context"
	"path/filepath"
	"time"

	"github.com/runtimekit/runtimekit/sdk/appdeps/npmdeps"
	"github.com/runtimekit/runtimekit/sdk/release"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// buildDeps adds to the release the dependencies built on this machine
// for the target: a Node.js app's node_modules, from its package-lock.json
// (npm ci for linux/ia32, no script run; see sdk/appdeps/npmdeps), built
// in work, which must outlive the tree's use.
func buildDeps(ctx context.Context, a *app, dir string, tree *release.Tree, allow []string, work string) error {
	if !npmdeps.Needed(dir) {
		return nil
	}
	cache, err := a.bundleCacheDir()
	if err != nil {
		return err
	}
	opts := npmdeps.Options{CacheDir: filepath.Join(cache, "node_modules"), Allow: allow}
	if a.verbose {
		opts.Stderr = a.stderr
	}
	npmDir := filepath.Join(work, "npm")
	if _, err := npmdeps.Install(ctx, dir, npmDir, opts); err != nil {
		return err
	}
	return tree.AddTree("node_modules", filepath.Join(npmDir, "node_modules"))
}

func nonZero(d unit.Duration, def time.Duration) unit.Duration {
	if d != 0 {
		return d
	}
	return unit.Duration(def)
}
