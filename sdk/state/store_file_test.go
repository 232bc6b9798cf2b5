package state_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// A state path that names a FIFO is neither read (which would block) nor
// replaced.
func TestStateFIFORefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var nr *durable.NotRegularError
	if _, _, err := state.Load(path); !errors.As(err, &nr) {
		t.Errorf("Load: err = %v, want a refusal of the FIFO", err)
	}
	if err := state.Save(path, sample()); !errors.As(err, &nr) {
		t.Errorf("Save: err = %v, want a refusal of the FIFO", err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("state path is now %v (%v), want the FIFO", fi.Mode(), err)
	}
	if _, err := os.Lstat(path + ".prev"); err == nil {
		t.Errorf("the FIFO was kept as the previous state")
	}
}

func TestStateTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(bounded.MaxState + 1)
	f.Close()
	var tl *bounded.TooLargeError
	if _, _, err := state.Load(path); !errors.As(err, &tl) {
		t.Errorf("Load: err = %v, want a *bounded.TooLargeError", err)
	}
}

// A symlinked state file stays a link; the previous state kept is the old
// content, not a second link to the new one.
func TestStateSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "data", "state.json")
	os.MkdirAll(filepath.Dir(real), 0o755)
	path := filepath.Join(dir, "state.json")
	if err := os.Symlink("data/state.json", path); err != nil {
		t.Fatal(err)
	}
	first := sample()
	if err := state.Save(path, first); err != nil {
		t.Fatal(err)
	}
	second := sample()
	second.Serial = 4
	if err := state.Save(path, second); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("state.json is no longer a link: %v %v", fi.Mode(), err)
	}
	if got, _, err := state.Load(real); err != nil || got.Serial != 4 {
		t.Errorf("state behind the link: serial %v, %v; want 4", got.Serial, err)
	}
	if prev, _, err := state.Load(path + ".prev"); err != nil || prev.Serial != 3 {
		t.Errorf("previous state: serial %v, %v; want 3", prev.Serial, err)
	}
}
