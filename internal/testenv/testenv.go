// Package testenv provides fixtures shared by runtimekit's tests: a real
// Debian archive index and a debootstrapped root file system, cached
// outside the repository and rebuilt when missing, plus the rule for
// tests whose prerequisites may be absent.
//
// Fixtures live under $RUNTIMEKIT_CACHE (default /var/cache/runtimekit),
// in directories named after their inputs. Each is built in a temporary
// directory beside its final place and renamed into it, so a half-built
// fixture is never seen. The Debian mirror is the one this machine's apt
// uses (as runtimectl chooses it), or $RUNTIMEKIT_DEBIAN_MIRROR.
//
// A test that lacks a prerequisite (root, a tool, the network) is
// skipped with the reason, unless RUNTIMEKIT_E2E=1, where it fails: CI
// sets that so that a missing tool cannot turn the end-to-end tests into
// silent skips.
package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/runtimekit/runtimekit/sdk/bundle"
	"github.com/runtimekit/runtimekit/sdk/debian/archive"
)

// Environment variables read by this package.
const (
	EnvE2E    = "RUNTIMEKIT_E2E"           // "1": missing prerequisites fail tests
	EnvCache  = "RUNTIMEKIT_CACHE"         // fixture cache directory
	EnvMirror = "RUNTIMEKIT_DEBIAN_MIRROR" // Debian mirror root URL
)

// Keyring is the Debian archive keyring InRelease files are checked
// against (package debian-archive-keyring).
const Keyring = archive.DefaultKeyring

// E2E reports whether end-to-end tests are required to run.
func E2E() bool { return os.Getenv(EnvE2E) == "1" }

// Unavailable stops a test whose prerequisite is missing: t.Fatal when
// RUNTIMEKIT_E2E=1, t.Skip otherwise, with the reason either way.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if E2E() {
		t.Fatalf("prerequisite missing (%s=1): %s", EnvE2E, msg)
	}
	t.Skipf("prerequisite missing: %s (set %s=1 to make this a failure)", msg, EnvE2E)
}

// RequireE2E marks t as an end-to-end test: under "go test -short" it is
// skipped, unless RUNTIMEKIT_E2E=1, which makes it mandatory.
func RequireE2E(t testing.TB) {
	t.Helper()
	if testing.Short() && !E2E() {
		t.Skipf("end-to-end test skipped in -short mode")
	}
}

// RequireTools checks that each program is on PATH.
func RequireTools(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			Unavailable(t, "%s is not installed: %v", n, err)
		}
	}
}

// RequireRoot checks that the test runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root (euid is %d)", os.Geteuid())
	}
}

// CacheDir returns the fixture cache directory, creating it.
func CacheDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvCache)
	if dir == "" {
		dir = "/var/cache/runtimekit"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		Unavailable(t, "fixture cache %s (set %s): %v", dir, EnvCache, err)
	}
	return dir
}

// Mirror returns the Debian mirror root for release: $RUNTIMEKIT_DEBIAN_MIRROR
// if set, else the one this machine's apt uses for it (bundle.AptMirror,
// the choice `runtimectl bundle` and `runtimectl lock` make).
func Mirror(t testing.TB, release string) string {
	t.Helper()
	if m := os.Getenv(EnvMirror); m != "" {
		return strings.TrimRight(m, "/")
	}
	m, err := bundle.AptMirror("/", release)
	if err != nil {
		Unavailable(t, "%v; set %s", err, EnvMirror)
	}
	return m
}

func key(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:6])
}

// DebianIndex returns a directory holding dists/<release>/InRelease and
// main/binary-<arch>/Packages.xz as downloaded from the mirror by
// [archive.FetchIndex]: the InRelease signature checked by gpgv against the
// Debian archive keyring and Packages.xz checked against the SHA256 and
// size the signed InRelease lists. The files are named as on the mirror:
// IndexPackages(dir, release, arch) is the Packages.xz path.
func DebianIndex(t testing.TB, release, arch string) string {
	t.Helper()
	RequireTools(t, "gpgv")
	if _, err := os.Stat(Keyring); err != nil {
		Unavailable(t, "Debian archive keyring: %v (install debian-archive-keyring)", err)
	}
	mirror := Mirror(t, release)
	dir := filepath.Join(CacheDir(t), "debian-index", fmt.Sprintf("%s-%s-%s", release, arch, key(mirror, release, arch)))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir
	}
	buildLocked(t, dir, func(tmp string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		fetched := filepath.Join(tmp, ".fetch")
		p, info, err := archive.FetchIndex(ctx, archive.FetchIndexOptions{
			Mirror: mirror, Release: release, Arch: arch, Keyring: Keyring, CacheDir: fetched,
		})
		var netErr *url.Error
		if errors.As(err, &netErr) {
			Unavailable(t, "network: %v", err)
		}
		if err != nil {
			return err
		}
		for src, dst := range map[string]string{
			p:              IndexPackages(tmp, release, arch),
			info.InRelease: filepath.Join(tmp, "dists", release, "InRelease"),
		} {
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Rename(src, dst); err != nil {
				return err
			}
		}
		return os.RemoveAll(fetched)
	})
	return dir
}

// IndexPackages returns the Packages.xz path inside a DebianIndex dir.
func IndexPackages(dir, release, arch string) string {
	return filepath.Join(dir, "dists", release, "main", "binary-"+arch, "Packages.xz")
}

// buildLocked builds dir with build, into a temporary directory renamed
// into place, holding an exclusive file lock so that concurrent test
// processes build it once. A ".complete" marker is written last.
func buildLocked(t testing.TB, dir string, build func(tmp string) error) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatalf("fixture %s: %v", dir, err)
	}
	lock := flock.New(dir + ".lock")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if ok, err := lock.TryLockContext(ctx, time.Second); err != nil || !ok {
		t.Fatalf("lock fixture %s: %v", dir, err)
	}
	defer lock.Unlock()
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return // another process built it while we waited
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		t.Fatalf("fixture %s: %v", dir, err)
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	if err := build(tmp); err != nil {
		t.Fatalf("build fixture %s: %v", dir, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		t.Fatalf("fixture %s: %v", dir, err)
	}
	// A directory without the marker is a leftover of something else;
	// rename cannot replace a non-empty directory.
	if _, err := os.Stat(dir); err == nil {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatalf("fixture %s: remove incomplete copy: %v", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatalf("fixture %s: %v", dir, err)
	}
	t.Logf("built fixture %s in %s", dir, time.Since(start).Round(time.Second))
}

// Rootfs returns a Debian root file system made by "debootstrap
// --variant=<variant> --arch=<arch> <release>" from the mirror. Building
// it takes about a minute and needs root and debootstrap; the result is
// cached and shared by test processes (a file lock serialises builds).
// Callers must not modify it: copy what they change.
func Rootfs(t testing.TB, release, arch, variant string) string {
	t.Helper()
	mirror := Mirror(t, release)
	dir := filepath.Join(CacheDir(t), "rootfs", fmt.Sprintf("%s-%s-%s-%s", release, arch, variant, key(mirror, release, arch, variant)))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir
	}
	RequireRoot(t)
	RequireTools(t, "debootstrap")
	buildLocked(t, dir, func(tmp string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, "debootstrap", "--variant="+variant, "--arch="+arch, release, tmp, mirror)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			tail := out.String()
			if len(tail) > 4000 {
				tail = tail[len(tail)-4000:]
			}
			return fmt.Errorf("debootstrap %s %s %s: %v\n%s", variant, arch, release, err, tail)
		}
		return nil
	})
	return dir
}

// MinbaseStatus returns the dpkg status file of the minbase root file
// system for release and arch (see Rootfs).
func MinbaseStatus(t testing.TB, release, arch string) string {
	t.Helper()
	p := filepath.Join(Rootfs(t, release, arch, "minbase"), "var", "lib", "dpkg", "status")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("minbase status: %v", err)
	}
	return p
}
