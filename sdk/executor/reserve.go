package executor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// A full disk must not strand an apply half way: when a step fails for
// want of space, the rollback has to journal its progress and dpkg has to
// rewrite its status file to purge what was unpacked, and both need
// space. So before the first change, an apply reserves space in a file of
// its own (reservePath) and gives it back the moment a rollback begins,
// and when the apply ends. An apply that cannot reserve it is refused,
// with nothing changed.
const (
	reservePath = dataDir + "/reserve"
	// reserveSize covers a rollback's needs: dpkg writes its status file
	// anew (status-new, then -old: a few hundred KiB for a base system
	// with three runtimes) plus its updates journal, and runtimekit's
	// journal grows by a few hundred bytes per step.
	reserveSize = 8 << 20
)

// NoSpaceError is an apply refused because the disk cannot hold the
// space a rollback may need.
type NoSpaceError struct {
	Path string
	Need int64
	Err  error
}

func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("not enough free disk space to apply safely: runtimekit keeps %d MiB free (in %s) for a rollback, and could not reserve it: %v; free some space and apply again",
		e.Need>>20, e.Path, e.Err)
}

func (e *NoSpaceError) Unwrap() error { return e.Err }

// reserve creates the reserve file, all of its blocks allocated.
func (f *fsroot) reserve() error {
	if _, err := f.mkdirs(dataDir); err != nil {
		return err
	}
	if err := f.writeLockInfo(); err != nil {
		return err
	}
	fh, err := f.r.OpenFile(reservePath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return &NoSpaceError{Path: f.host(reservePath), Need: reserveSize, Err: err}
	}
	err = unix.Fallocate(int(fh.Fd()), 0, 0, reserveSize)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		// ext2 (WebVM's disk images) has no fallocate: write the zeros.
		zero := make([]byte, 1<<20)
		err = nil
		for n := 0; n < reserveSize && err == nil; n += len(zero) {
			_, err = fh.Write(zero)
		}
	}
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = f.r.Remove(reservePath)
		return &NoSpaceError{Path: f.host(reservePath), Need: reserveSize, Err: err}
	}
	return nil
}

// release gives the reserved space back.
func (f *fsroot) release() error {
	err := f.r.Remove(reservePath)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("free the reserved space %s: %w", f.host(reservePath), err)
}
