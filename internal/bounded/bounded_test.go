package bounded_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/internal/durable"
)

func TestRegular(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plan.json")
	os.WriteFile(p, []byte(`{"formatVersion":1}`), 0o644)
	b, err := bounded.ReadFile(p, "a plan", bounded.MaxPlan)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"formatVersion":1}` {
		t.Errorf("read %q", b)
	}
	// Exactly at the limit is allowed.
	if b, err := bounded.ReadFile(p, "a plan", int64(len(b))); err != nil || len(b) != 19 {
		t.Errorf("at the limit: %d bytes, %v", len(b), err)
	}
	if _, err := bounded.ReadFile(filepath.Join(t.TempDir(), "none"), "a plan", bounded.MaxPlan); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want not-exist", err)
	}
}

// A FIFO nobody writes to is refused at once instead of blocking the open
// (a blocked open(2) does not return on SIGTERM).
func TestFIFODoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "plan.json")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := bounded.ReadFile(p, "a plan", bounded.MaxPlan)
	var nr *durable.NotRegularError
	if !errors.As(err, &nr) {
		t.Fatalf("err = %v, want a *durable.NotRegularError", err)
	}
	if want := p + " is a FIFO, not a regular file"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

func TestTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plan.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	// 100 MiB without writing them: the size is what is checked.
	if err := f.Truncate(100 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = bounded.ReadFile(p, "a plan", 16<<20)
	var tl *bounded.TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("err = %v, want a *TooLargeError", err)
	}
	if want := p + " is 104857600 bytes; a plan may be at most 16 MiB"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

// Links are followed; what they end at is checked once opened.
func TestSymlinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.json")
	os.WriteFile(real, []byte("lock"), 0o644)
	os.Symlink("real.json", filepath.Join(dir, "lock.json"))
	if b, err := bounded.ReadFile(filepath.Join(dir, "lock.json"), "a lock", bounded.MaxLock); err != nil || string(b) != "lock" {
		t.Errorf("through a link: %q, %v", b, err)
	}

	fifo := filepath.Join(dir, "fifo")
	syscall.Mkfifo(fifo, 0o644)
	os.Symlink("fifo", filepath.Join(dir, "to-fifo"))
	_, err := bounded.ReadFile(filepath.Join(dir, "to-fifo"), "a lock", bounded.MaxLock)
	if want := filepath.Join(dir, "to-fifo") + " is a FIFO, not a regular file"; err == nil || err.Error() != want {
		t.Errorf("link to a FIFO: err = %v, want %q", err, want)
	}

	os.Symlink("nowhere", filepath.Join(dir, "dangling"))
	if _, err := bounded.ReadFile(filepath.Join(dir, "dangling"), "a lock", bounded.MaxLock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dangling link: err = %v, want not-exist", err)
	}
}

func TestDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := bounded.ReadFile(dir, "a bundle index", bounded.MaxBundleIndex)
	if want := dir + " is a directory, not a regular file"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

// A character device (here one with /dev/zero's numbers, made in a
// temporary directory) is refused: /dev/zero would never end.
func TestCharDevice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "zero")
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|5); err != nil {
		t.Skipf("cannot make a character device here (the end-to-end test in cmd/runtimectl covers devices): %v", err)
	}
	_, err := bounded.ReadFile(p, "a bundle index", bounded.MaxBundleIndex)
	if want := p + " is a character device, not a regular file"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

// Files in /proc say they are empty and are not: the limit holds while
// reading.
func TestZeroSizeProcFile(t *testing.T) {
	const p = "/proc/self/status"
	fi, err := os.Stat(p)
	if err != nil || fi.Size() != 0 {
		t.Skipf("no zero-size %s here (%v)", p, err)
	}
	b, err := bounded.ReadFile(p, "a status", 1<<20)
	if err != nil || len(b) == 0 {
		t.Errorf("within the limit: %d bytes, %v", len(b), err)
	}
	_, err = bounded.ReadFile(p, "a status", 16)
	var tl *bounded.TooLargeError
	if !errors.As(err, &tl) || tl.Size != -1 {
		t.Fatalf("over the limit: err = %v, want a *TooLargeError found while reading", err)
	}
	if want := p + " is larger than 16 bytes; a status may be at most 16 bytes"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}
