package host_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/bundle"
	"github.com/runtimekit/runtimekit/sdk/host"
	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/targets"
)

// A runtimectl-like program: list plugins, show one manifest (from the
// cache when warm), and run one plugin's Detect. It has no Output: it
// needs plugin binaries and their lock on this machine, so go test
// compiles it without running it.
func Example() {
	ctx := context.TODO() // in a CLI: signal.NotifyContext(..., os.Interrupt)
	cacheDir, _ := os.UserCacheDir()
	h := host.New(host.Options{
		LockFile:    "/etc/runtimekit/plugins.lock.json",
		RequireLock: true,
		CacheDir:    filepath.Join(cacheDir, "runtimekit"),
		Logger:      slog.Default(),
	})
	defer h.Close() // stops every plugin process h started

	plugins, err := h.Plugins(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	for _, p := range plugins {
		fmt.Println(p.Name, p.Version, p.SHA256[:12], p.Locked)
	}

	m, err := h.Manifest(ctx, "nginx")
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // a *host.DigestMismatchError if the binary changed since `plugins lock`
		return
	}
	fmt.Println(m.Name, m.Version)

	rt, err := h.Runtime(ctx, "nginx")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	d, err := rt.Detect(ctx, &sdk.DetectRequest{Dir: "/srv/www"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(d.Match, d.Confidence, d.Reason)
}

// A Go host doing what `runtimectl detect`, `plan -o` and `bundle --plan`
// do, with library calls only: find the runtimes that serve an app
// directory, plan installing the best one on the WebVM target, and fetch
// exactly the files that plan needs into an offline bundle for the VM. It
// needs installed plugins, a Debian mirror and the network, so it has no
// output to check.
func Example_detectPlanBundle() {
	ctx := context.TODO()
	h := host.New(host.Options{}) // plugins beside the program and in $RUNTIMECTL_PLUGIN_PATH, unpinned
	defer h.Close()

	// Detect: every plugin at once, the best match first.
	found, err := h.Detect(ctx, "/srv/shop")
	var failed *host.DetectError
	if errors.As(err, &failed) {
		for _, e := range failed.Errs {
			fmt.Fprintln(os.Stderr, e) // each names its plugin; the others' matches are still in found
		}
	} else if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	if len(found) == 0 {
		fmt.Fprintln(os.Stderr, "no runtime serves /srv/shop")
		return
	}
	best := found[0]

	// Plan: from a machine with only the target's base system, with the
	// lock shipped for the target, and the parameters detection suggests.
	prof, err := targets.Load(ctx, "webvm-i386")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	l, err := prof.ShippedLock()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	p, err := planner.Plan(ctx,
		planner.Input{Target: prof.Target, Base: prof.Base, Lock: l, Catalog: &host.Catalog{Host: h}},
		planner.Request{Add: []planner.Add{{Name: best.Runtime, Params: best.Params}}})
	var ds manifest.Diagnostics
	if errors.As(err, &ds) {
		for _, d := range ds {
			fmt.Fprintln(os.Stderr, d) // what the user must change, with its position
		}
		return
	} else if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	planJSON, err := p.Marshal() // what `runtimectl apply` in the VM takes
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}

	// Bundle: the plan's .debs from the Debian mirror this machine's apt
	// uses, its npm tarballs from the registry npm uses.
	mirror, err := bundle.AptMirror("/", prof.Debian.Release)
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // needed only if the plan has .debs
	}
	registry, err := bundle.NPMRegistry(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // needed only if the plan has npm tarballs
	}
	target := prof.LockTarget()
	res, err := bundle.Fetch(ctx, bundle.ItemsFromPlan(p), bundle.FetchOptions{
		Out: "/tmp/shop-bundle", Target: &target, Mirror: mirror, NPMRegistry: registry,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // the bundle directory is left as it was
		return
	}
	fmt.Printf("%s %d: plan of %d bytes, bundle of %d files\n", best.Runtime, best.Confidence, len(planJSON), len(res.Files))
}
