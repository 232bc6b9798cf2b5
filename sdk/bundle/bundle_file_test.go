package bundle_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/sdk/bundle"
)

// bundle.json as a FIFO is refused at once rather than blocking, and one
// larger than the limit is refused before it is read.
func TestOpenRefusesUnboundedIndex(t *testing.T) {
	dir := t.TempDir()
	index := filepath.Join(dir, bundle.IndexName)
	if err := syscall.Mkfifo(index, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Open(dir); err == nil || !strings.Contains(err.Error(), index+" is a FIFO, not a regular file") {
		t.Errorf("FIFO index: err = %v", err)
	}

	dir = t.TempDir()
	f, err := os.Create(filepath.Join(dir, bundle.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(bounded.MaxBundleIndex + 1)
	f.Close()
	var tl *bounded.TooLargeError
	if _, err := bundle.Open(dir); !errors.As(err, &tl) {
		t.Errorf("oversized index: err = %v, want a *bounded.TooLargeError", err)
	}
}
