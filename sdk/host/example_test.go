package host_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/host"
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
