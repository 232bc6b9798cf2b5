package durable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// SyncDir fsyncs a directory, so that the entries just created, renamed
// or removed in it survive a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return syncClose(d, dir)
}

// SyncDirIn is SyncDir for the directory rel inside root, opened through
// root so that no symbolic link leads it outside. Errors name the
// directory as root's name joined with rel.
func SyncDirIn(root *os.Root, rel string) error {
	d, err := root.Open(rel)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", filepath.Join(root.Name(), rel), err)
	}
	return syncClose(d, filepath.Join(root.Name(), rel))
}

// syncClose fsyncs and closes the open directory d. EINVAL means the
// file system cannot fsync a directory at all (some FUSE and network
// file systems): there is nothing more to make durable that way, so it
// is not an error.
func syncClose(d *os.File, name string) error {
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync directory %s: %w", name, err)
	}
	return nil
}
