package host

import (
	"path/filepath"
	"syscall"
	"testing"
)

// A plugins lock given as a FIFO is refused at once: reading it would
// block until something writes to it.
func TestReadLockFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plugins.lock.json")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := readLock(p)
	if want := "read plugins lock: " + p + " is a FIFO, not a regular file"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
