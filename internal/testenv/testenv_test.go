package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

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
