// Package durable writes files so that a crash leaves either the old
// content or the new one, never a mix, and so that writing never replaces
// something that is not a regular file.
//
// A plain "write a temporary file and rename it over the target" replaces
// whatever the target is: as root, writing a plan to /dev/null that way
// turns the machine's /dev/null into a regular file. So every write first
// looks at what the path names, and:
//
//   - a regular file, or nothing: the data is written to a temporary file
//     in the same directory, fsynced, renamed over the path, and the
//     directory is fsynced, so the rename itself survives a crash. An
//     existing file keeps its permission bits; a new one gets perm less
//     the umask.
//   - a symbolic link: the chain of links is followed to the name it ends
//     at, and that file is written as above. The link stays a link (a
//     symlinked configuration keeps pointing where it did) and a dangling
//     link gets the file it names.
//   - a character device or a FIFO ([WriteFile] only): it is opened and
//     written into, as a shell redirection would, so that "-o /dev/null"
//     discards and "-o /dev/stdout" prints. Nothing is renamed. A FIFO
//     nobody reads yet is waited for, until the context ends.
//   - a link inside /proc, such as /dev/stdout → /proc/self/fd/1 when
//     stdout is a file ([WriteFile] only): it names an open file, not a
//     place in a directory, and its text is not a path that may be renamed
//     over. The file is written into at its end, never truncated: the
//     descriptor may be a log opened with 2>>log.
//   - anything else (a directory, a socket, a block device): refused with
//     a *[NotRegularError] naming the path. It is never replaced, and a
//     block device is not written into either: that would destroy a disk.
//
// [ReplaceFile] is the stricter form for files the program reads back
// (state, locks, caches): only a regular file, or nothing, is accepted
// there, after following symbolic links.
//
// It is also the module's one home for fsyncs of directories ([SyncDir])
// and SHA-256s of files ([Hash], [HashFile]); [SyncDirIn] and [HashIn] do
// the same inside an os.Root, for the executor, which reaches the machine
// only through one so that no symbolic link leads it outside.
//
// The package imports only the standard library and renameio, so that the
// executor, which runs in the VM, can use it without growing.
package durable

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
)

// NotRegularError reports a path that names something a file operation of
// this package does not read, write or replace.
type NotRegularError struct {
	Path string
	Mode fs.FileMode // the type bits of what Path names
	// Proc is set when Path reaches its file through a link in /proc,
	// which names an open file rather than a place in a directory.
	Proc bool
}

func (e *NotRegularError) Error() string {
	if e.Proc {
		return fmt.Sprintf("%s is a link to an open file (through /proc), not a regular file", e.Path)
	}
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, Describe(e.Mode))
}

// Describe names the type of a file mode in words, with an article: "a
// directory", "a FIFO", "a character device".
func Describe(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeDir != 0:
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	default:
		return "an irregular file"
	}
}

// stream reports whether writing into m is like writing to a pipe: the
// data flows to a reader (a FIFO) or a driver (a character device) and
// there is no content to replace.
func stream(m fs.FileMode) bool {
	return m&fs.ModeNamedPipe != 0 || m&fs.ModeCharDevice != 0
}

// WriteFile writes data to the file at path following the package policy:
// a regular file (or none) is replaced atomically, a character device or
// a FIFO is written into, anything else is refused with a
// *NotRegularError. It is meant for output whose destination the user
// names (-o FILE). ctx ends the wait for a FIFO's reader and a write to a
// reader that stopped reading.
func WriteFile(ctx context.Context, path string, data []byte, perm fs.FileMode) error {
	if ctx.Err() != nil {
		return fmt.Errorf("write %s: %w", path, context.Cause(ctx))
	}
	fi, err := os.Stat(path) // follows links, as the open below will
	switch {
	case err == nil && stream(fi.Mode()):
		return writeInto(ctx, path, data, 0, fi.Mode()&fs.ModeNamedPipe != 0)
	case err == nil && !fi.Mode().IsRegular():
		return &NotRegularError{Path: path, Mode: fi.Mode().Type()}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	real, proc, err := resolve(path)
	if err != nil {
		return err
	}
	if proc {
		if fi == nil {
			return &NotRegularError{Path: path, Proc: true} // cannot be created
		}
		return writeInto(ctx, path, data, os.O_APPEND, false)
	}
	return replace(path, real, data, perm)
}

// ReplaceFile writes data atomically to the regular file at path, or
// creates it: temporary file in the same directory, fsync, rename, fsync
// of the directory. Symbolic links are followed to the file they name.
// Anything but a regular file, a FIFO or a device included, is refused
// with a *NotRegularError and left as it is. It never waits, so it takes
// no context.
func ReplaceFile(path string, data []byte, perm fs.FileMode) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return &NotRegularError{Path: path, Mode: fi.Mode().Type()}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	real, proc, err := resolve(path)
	if err != nil {
		return err
	}
	if proc {
		return &NotRegularError{Path: path, Proc: true}
	}
	return replace(path, real, data, perm)
}

// replace does the atomic write of real, the resolved name of path (which
// errors name, being the user's).
func replace(path, real string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(real)
	t, err := renameio.NewPendingFile(real, renameio.WithTempDir(dir),
		renameio.WithPermissions(perm), renameio.WithExistingPermissions())
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer t.Cleanup()
	if _, err := t.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Look again just before the rename: what appeared meanwhile is not
	// replaced either.
	if fi, err := os.Lstat(real); err == nil && !fi.Mode().IsRegular() {
		return &NotRegularError{Path: path, Mode: fi.Mode().Type()}
	}
	if err := t.CloseAtomicallyReplace(); err != nil { // fsync, close, rename
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(dir)
}

// maxLinks is how many symbolic links resolve follows, as Linux does
// (MAXSYMLINKS).
const maxLinks = 40

// resolve follows the symbolic links that path ends with until it names
// something that is not a link, or nothing. It returns that name, in a
// directory with every link resolved, or proc=true as soon as a link lies
// in /proc: the text of such a link is not a path to rename over.
//
// Relative link targets are joined to the unresolved directory of the
// link and never cleaned lexically, so that "dir/../x" goes where the
// kernel would go when dir is itself a link.
func resolve(path string) (name string, proc bool, err error) {
	p := path
	for hops := 0; ; hops++ {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", false, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			break
		}
		if hops == maxLinks {
			return "", false, &fs.PathError{Op: "resolve", Path: path, Err: syscall.ELOOP}
		}
		dir, _ := split(p)
		if onProcFS(dir) {
			return p, true, nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", false, err
		}
		if filepath.IsAbs(target) {
			p = target
		} else {
			p = dir + string(filepath.Separator) + target
		}
	}
	dir, base := split(p)
	if base == "" || base == "." || base == ".." {
		return "", false, fmt.Errorf("%s does not name a file", path)
	}
	rdir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", false, err
	}
	return filepath.Join(rdir, base), false, nil
}

// split cuts p at its last separator without cleaning either part.
func split(p string) (dir, base string) {
	i := strings.LastIndexByte(p, filepath.Separator)
	switch {
	case i < 0:
		return ".", p
	case i == 0:
		return string(filepath.Separator), p[1:]
	default:
		return p[:i], p[i+1:]
	}
}

// writeInto opens path for writing without creating, truncating or
// renaming anything and writes data to it. O_NONBLOCK keeps the open
// from blocking on a FIFO without a reader (it fails with ENXIO instead,
// and is retried while ctx lasts) and lets Go's poller, and so ctx,
// interrupt a write that waits on a full pipe. O_NOCTTY keeps a terminal
// from becoming the process's controlling terminal.
func writeInto(ctx context.Context, path string, data []byte, flag int, fifo bool) error {
	flag |= os.O_WRONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY
	f, err := os.OpenFile(path, flag, 0)
	for delay := time.Millisecond; err != nil && fifo && errors.Is(err, syscall.ENXIO); delay = min(2*delay, 100*time.Millisecond) {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("write %s: no process opened the FIFO for reading: %w", path, context.Cause(ctx))
		case <-t.C:
		}
		f, err = os.OpenFile(path, flag, 0)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if m := fi.Mode(); !stream(m) && !(flag&os.O_APPEND != 0 && m.IsRegular()) {
		return &NotRegularError{Path: path, Mode: m.Type()} // changed since the Stat
	}
	// A file the poller cannot watch (/dev/null) has no deadline; its
	// writes do not wait.
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Now()) })
	defer stop()
	if _, err := f.Write(data); err != nil {
		if cerr := context.Cause(ctx); cerr != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			err = cerr
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// OpenRegular opens the regular file at path for reading, following
// symbolic links, and returns it with its FileInfo. Anything else is
// refused with a *NotRegularError before a byte is read: the open uses
// O_NONBLOCK, so a FIFO without a writer cannot block it (a plain open
// would wait for a writer, deaf to signals), and O_NOCTTY, so a terminal
// does not become the controlling one.
func OpenRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		// Opening a socket fails with ENXIO; say what it is instead.
		if fi, serr := os.Stat(path); serr == nil && !fi.Mode().IsRegular() {
			return nil, nil, &NotRegularError{Path: path, Mode: fi.Mode().Type()}
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &NotRegularError{Path: path, Mode: fi.Mode().Type()}
	}
	return f, fi, nil
}
