package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReleaseEntry(t *testing.T) {
	release := []byte(`Origin: Debian
MD5Sum:
 0ed6d4c8891eb86358b94bb35d9e4da4  8681800 main/binary-i386/Packages.xz
SHA256:
 733538cf9b9891118dbdf33d61366e9d5e6263e9e2bb37fc608badc3edd7a035 49325351 main/binary-i386/Packages
 900739f3ad35b689d23f4a97ee2dc7943bebb3763c7c41f9a03072d639444e4d  8681800 main/binary-i386/Packages.xz
`)
	sum, size, err := releaseEntry(release, "main/binary-i386/Packages.xz")
	if err != nil {
		t.Fatal(err)
	}
	if sum != "900739f3ad35b689d23f4a97ee2dc7943bebb3763c7c41f9a03072d639444e4d" || size != 8681800 {
		t.Errorf("got %s %d, want the SHA256 section's entry", sum, size)
	}
	if _, _, err := releaseEntry(release, "main/binary-amd64/Packages.xz"); err == nil {
		t.Error("missing entry: want an error")
	}
}

func TestMirrorOverride(t *testing.T) {
	t.Setenv(EnvMirror, "http://mirror.example/debian/")
	if got := Mirror(t, "bookworm"); got != "http://mirror.example/debian" {
		t.Errorf("Mirror = %q, want the %s value without trailing slash", got, EnvMirror)
	}
}

func TestBuildLockedIsAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fixture")
	calls := 0
	build := func(tmp string) error {
		calls++
		return os.WriteFile(filepath.Join(tmp, "data"), []byte("x"), 0o644)
	}
	buildLocked(t, dir, build)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		t.Fatalf("no completion marker: %v", err)
	}
	buildLocked(t, dir, build) // already complete: must not rebuild
	if calls != 1 {
		t.Errorf("build ran %d times, want 1", calls)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".fixture.tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary directories left behind: %v", leftovers)
	}
}

// TestFixtures builds (or finds) the shared fixtures the Debian tests use.
func TestFixtures(t *testing.T) {
	RequireE2E(t)
	dir := DebianIndex(t, "bookworm", "i386")
	if _, err := os.Stat(IndexPackages(dir, "bookworm", "i386")); err != nil {
		t.Errorf("index: %v", err)
	}
	status := MinbaseStatus(t, "bookworm", "i386")
	b, err := os.ReadFile(status)
	if err != nil || len(b) == 0 {
		t.Errorf("minbase status %s: %v (%d bytes)", status, err, len(b))
	}
}
