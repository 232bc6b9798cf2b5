package bundle_test

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/bundle"
	"github.com/runtimekit/runtimekit/sdk/debian"
	"github.com/runtimekit/runtimekit/sdk/debian/resolve"
	"github.com/runtimekit/runtimekit/sdk/lock"
)

// TestInstallOffline is the proof that a bundle is all an offline target
// needs: nginx-light is resolved against the real bookworm i386 index and
// an i386 minbase root's dpkg status, its closure is fetched from the
// mirror into a bundle, and the bundle installs with dpkg inside a copy of
// that root, chrooted in a network namespace of its own (no network), with
// a policy-rc.d that forbids starting services.
//
// Downloads are kept under $RUNTIMEKIT_CACHE by SHA-256, so a rerun
// fetches nothing.
func TestInstallOffline(t *testing.T) {
	testenv.RequireE2E(t)
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "unshare", "chroot", "cp", "debootstrap", "gpgv")
	ctx := t.Context()
	const release, arch = "bookworm", "i386"

	ix, err := debian.OpenPackages(ctx, testenv.IndexPackages(testenv.DebianIndex(t, release, arch), release, arch), nil)
	if err != nil {
		t.Fatal(err)
	}
	base := testenv.Rootfs(t, release, arch, "minbase")
	status, err := debian.OpenStatus(ctx, testenv.MinbaseStatus(t, release, arch))
	if err != nil {
		t.Fatal(err)
	}
	res, err := resolve.Resolve(ctx, ix, status, []resolve.Request{{Name: "nginx-light"}}, resolve.Options{Arch: arch})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Remove) > 0 {
		t.Fatalf("installing nginx-light would remove %v", res.Remove)
	}
	// The lock entries, in install order, as `runtimectl lock` writes them.
	var pkgs []lock.Package
	var items []bundle.Item
	for _, p := range res.Install {
		lp := lock.Package{Name: p.Name, Version: p.Version, Arch: p.Architecture, Filename: p.Filename,
			SHA256: p.SHA256, Size: p.Size, InstalledSize: p.InstalledSize}
		pkgs = append(pkgs, lp)
		items = append(items, bundle.PackageItem(lp))
	}
	t.Logf("closure of nginx-light: %d packages", len(pkgs))

	out := filepath.Join(t.TempDir(), "bundle")
	start := time.Now()
	fr, err := bundle.Fetch(ctx, items, bundle.FetchOptions{
		Out:           out,
		Target:        &lock.Target{Name: "webvm-i386", Arch: "386", DebianArch: arch, Release: release},
		Mirror:        testenv.Mirror(t, release),
		CacheDir:      filepath.Join(testenv.CacheDir(t), "bundle-downloads"),
		KeepDownloads: true,
		Progress:      testLog{t},
	})
	var ue *url.Error
	if errors.As(err, &ue) {
		testenv.Unavailable(t, "network: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fetched %d files in %s, %d bytes downloaded", len(fr.Files), time.Since(start).Round(time.Millisecond), fr.Downloaded)
	b, err := bundle.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(ctx); err != nil {
		t.Fatal(err)
	}

	// A copy of the base root, so that the cached one stays clean, with
	// the bundle inside and services forbidden to start.
	root := filepath.Join(t.TempDir(), "root")
	run(t, "cp", "-a", base, root)
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "cp", "-a", out, filepath.Join(root, "tmp", "bundle"))
	if err := os.WriteFile(filepath.Join(root, "usr/sbin/policy-rc.d"), []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	offline := func(args ...string) string {
		t.Helper()
		return run(t, append([]string{"unshare", "--net", "chroot", root}, args...)...)
	}
	// A new network namespace has no interface but the loopback (read
	// outside the chroot, which has no /proc).
	if got := run(t, "unshare", "--net", "cat", "/proc/self/net/dev"); strings.Count(got, ":") != 1 || !strings.Contains(got, "lo:") {
		t.Fatalf("unshare --net left interfaces:\n%s", got)
	}

	// Unpack in batches: a package whose Pre-Depends is unpacked in the
	// current batch needs that batch configured first.
	start = time.Now()
	var batch []string
	pending := map[string]bool{}
	flush := func() {
		if len(batch) == 0 {
			return
		}
		offline(append([]string{"dpkg", "--unpack"}, batch...)...)
		offline("dpkg", "--configure", "--pending")
		batch, pending = nil, map[string]bool{}
	}
	for i, p := range res.Install {
		pre, err := debian.ParseRelations(p.PreDepends, arch)
		if err != nil {
			t.Fatalf("%s Pre-Depends: %v", p.Name, err)
		}
		for _, g := range pre {
			for _, alt := range g {
				if pending[alt.Name] {
					flush()
				}
			}
		}
		p0, _ := items[i].BundlePath()
		batch = append(batch, "/tmp/bundle/"+p0)
		pending[p.Name] = true
	}
	flush()
	t.Logf("dpkg installed the bundle in %s", time.Since(start).Round(time.Millisecond))

	if got := offline("dpkg-query", "-W", "-f", "${Status} ${Version}", "nginx-light"); !strings.HasPrefix(got, "install ok installed ") {
		t.Errorf("dpkg-query nginx-light: %q, want installed", got)
	}
	if got := offline("dpkg", "-s", "nginx-light"); !strings.Contains(got, "Status: install ok installed") {
		t.Errorf("dpkg -s nginx-light:\n%s", got)
	}
	if got := offline("dpkg", "--audit"); strings.TrimSpace(got) != "" {
		t.Errorf("dpkg --audit is not empty:\n%s", got)
	}
	for _, p := range pkgs {
		got := offline("dpkg-query", "-W", "-f", "${Status} ${Version}", p.Name+":"+p.Arch)
		if got != "install ok installed "+p.Version {
			t.Errorf("%s: %q, want installed at %s", p.Name, got, p.Version)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "usr/sbin/nginx")); err != nil {
		t.Errorf("nginx binary: %v", err)
	}
}

// run runs a command and returns its standard output; it fails the test
// with the combined output otherwise.
func run(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, both bytes.Buffer
	cmd := exec.CommandContext(t.Context(), args[0], args[1:]...)
	cmd.Stdout = io.MultiWriter(&stdout, &both)
	cmd.Stderr = &both
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, both.String())
	}
	return stdout.String()
}

// testLog sends progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
