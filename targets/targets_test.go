package targets_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/targets"
)

func TestBuiltins(t *testing.T) {
	ctx := context.Background()
	names := targets.Names()
	if len(names) < 2 {
		t.Fatalf("built-in targets = %v, want webvm-i386 and debian12-amd64", names)
	}
	for _, n := range names {
		p, err := targets.Load(ctx, n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if p.Base == nil || len(p.Base.Installed()) != len(p.Target.Base.Packages) {
			t.Errorf("%s: base status does not match the base package list", n)
		}
		for _, essential := range []string{"dpkg", "libc6", "bash"} {
			found := false
			for _, q := range p.Target.Base.Packages {
				found = found || q == essential
			}
			if !found {
				t.Errorf("%s: base lacks %s", n, essential)
			}
		}
	}
	p, err := targets.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "webvm-i386" || p.Arch != "386" || p.DebianArch() != "i386" || p.Budget.MemoryMiB != 512 || p.Budget.DiskMiB != 2048 {
		t.Errorf("default target = %+v", p.Target)
	}
}

func TestLoadFileAndErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := filepath.Join(dir, "small.cue")
	os.WriteFile(good, []byte(`name: "small"
os: "linux"
arch: "amd64"
debian: {release: "bookworm", version: "12"}
budget: {memoryMiB: 256, diskMiB: 1024}
base: packages: ["dpkg"]
`), 0o644)
	p, err := targets.Load(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "small" || p.Base != nil {
		t.Errorf("got %+v", p)
	}
	bad := filepath.Join(dir, "bad.cue")
	os.WriteFile(bad, []byte("name: \"Bad\"\nos: \"linux\"\narch: \"mips\"\n"), 0o644)
	if _, err := targets.Load(ctx, bad); err == nil || !strings.Contains(err.Error(), "bad.cue:") {
		t.Errorf("bad profile: want positioned diagnostics, got %v", err)
	}
	if _, err := targets.Load(ctx, "webvm-x"); err == nil || !strings.Contains(err.Error(), "webvm-i386") {
		t.Errorf("unknown name: want an error listing built-ins, got %v", err)
	}
}

// TestShippedLocks checks the embedded locks against lock.schema.json: the
// planner reads them without that check (lock.ParseTrusted) for speed.
func TestShippedLocks(t *testing.T) {
	for _, n := range targets.Names() {
		b, ok := targets.Lock(n)
		if !ok {
			t.Errorf("no shipped lock for %s", n)
			continue
		}
		l, err := lock.Parse(b)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if l.Target.Name != n || l.Supervisor == nil || len(l.Runtimes) < 4 {
			t.Errorf("%s: lock target %q, supervisor %v, %d runtimes", n, l.Target.Name, l.Supervisor != nil, len(l.Runtimes))
		}
	}
}

// The shipped lock of each built-in profile is the one for that profile.
func TestShippedLockFits(t *testing.T) {
	ctx := t.Context()
	for _, n := range targets.Names() {
		prof, err := targets.Load(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		l, err := prof.ShippedLock()
		if err != nil || l == nil {
			t.Fatalf("%s: ShippedLock = %v, %v", n, l, err)
		}
		if err := l.Fits(prof.LockTarget()); err != nil {
			t.Errorf("%s: shipped lock: %v", n, err)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "webvm-i386.cue") // named like a built-in, still from a file
	if err := os.WriteFile(path, []byte(`name: "webvm-i386"
os: "linux"
arch: "amd64"
debian: {release: "bookworm", version: "12"}
budget: {memoryMiB: 256, diskMiB: 1024}
base: packages: ["dpkg"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	prof, err := targets.Load(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := prof.ShippedLock(); l != nil || err != nil {
		t.Errorf("a profile from a file: ShippedLock = %v, %v; want none", l, err)
	}
}
