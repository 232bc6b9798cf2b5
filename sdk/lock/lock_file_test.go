package lock_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/sdk/lock"
)

// A lock path that names a FIFO is neither read (which would block) nor
// replaced by Write.
func TestLockFIFORefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock.json")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var nr *durable.NotRegularError
	if _, err := lock.Read(path); !errors.As(err, &nr) {
		t.Errorf("Read: err = %v, want a refusal of the FIFO", err)
	}
	if err := sample().Write(path); !errors.As(err, &nr) {
		t.Errorf("Write: err = %v, want a refusal of the FIFO", err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("lock path is now %v (%v), want the FIFO", fi.Mode(), err)
	}
}

// Writing through a symbolic link replaces the file it names; the link
// stays.
func TestLockWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lock.json")
	if err := os.Symlink("real.json", path); err != nil {
		t.Fatal(err)
	}
	if err := sample().Write(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("lock.json is no longer a link: %v %v", fi.Mode(), err)
	}
	if l, err := lock.Read(filepath.Join(dir, "real.json")); err != nil || len(l.Runtimes) != 2 {
		t.Errorf("real.json: %+v, %v", l, err)
	}
}
