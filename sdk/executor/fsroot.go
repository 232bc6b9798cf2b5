package executor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/internal/durable"
)

// maxLinks bounds the symbolic links followed while resolving one path,
// like the kernel's limit.
const maxLinks = 40

// fsroot is the machine's file system as the executor sees it: every path
// is inside dir, and every operation goes through an os.Root opened on it,
// so that nothing, not even a symbolic link swapped in by a race, reaches
// outside.
type fsroot struct {
	dir string // absolute
	r   *os.Root
	// lockInfo describes the executor's lock while this process holds
	// it; lockInfoWritten is set once lock.info says so on disk.
	lockInfo        *lockInfo
	lockInfoWritten bool
}

func openFSRoot(dir string) (*fsroot, error) {
	if dir == "" {
		dir = "/"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", dir, err)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open root %s: %w", abs, err)
	}
	return &fsroot{dir: abs, r: r}, nil
}

func (f *fsroot) close() error { return f.r.Close() }

// host returns the path of rel as this process sees it (for messages and
// for programs that take a path).
func (f *fsroot) host(rel string) string {
	return filepath.Join(f.dir, filepath.FromSlash(rel))
}

// relOf turns an absolute path of the machine ("/etc/x") into a path
// relative to the root ("etc/x"); "/" becomes ".".
func relOf(p string) string {
	p = path.Clean("/" + p)
	if p == "/" {
		return "."
	}
	return p[1:]
}

// abs is the inverse of relOf, for messages.
func abs(rel string) string {
	if rel == "." || rel == "" {
		return "/"
	}
	return "/" + rel
}

// EscapeError reports a path that would lead outside where the executor
// may write: a symbolic link among its parent directories that points
// out of the directory holding the link, or a reserved location.
type EscapeError struct {
	Path   string // the path as the plan names it
	Reason string
}

func (e *EscapeError) Error() string { return e.Path + ": " + e.Reason }

// resolve returns where the absolute path p lies inside the root, with
// every symbolic link among its parent components followed; the final
// component is never followed (files are replaced by rename, which acts
// on a link itself, not on what it points to).
//
// Link targets are read as the root sees them: an absolute target starts
// at the root, as it would inside a chroot. A link may point only into
// the directory that holds it or below it: /lib -> usr/lib (in /) is
// fine, /srv/www -> /etc or -> ../../etc (out of /srv) is an escape and an
// *EscapeError. So a plan path always ends up below the directory its
// first symbolic link sits in, whatever the links on the way, and with
// Root "/" a link cannot redirect a write to /srv into /etc.
func (f *fsroot) resolve(p string) (string, error) {
	todo := splitRel(relOf(p))
	var cur []string
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		if len(todo) == 0 {
			return joinRel(append(cur, c)), nil
		}
		next := joinRel(append(append([]string(nil), cur...), c))
		fi, err := f.r.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			return joinRel(append(append(cur, c), todo...)), nil
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			links++
			if links > maxLinks {
				return "", &EscapeError{p, "too many levels of symbolic links"}
			}
			target, err := f.r.Readlink(next)
			if err != nil {
				return "", fmt.Errorf("%s: %w", p, err)
			}
			var base []string
			if !path.IsAbs(target) {
				base = cur
			}
			tgt, ok := lexicalJoin(base, target)
			if !ok || !hasPrefix(tgt, cur) {
				return "", &EscapeError{p, fmt.Sprintf("%s is a symbolic link to %s, which leads out of %s",
					abs(next), target, abs(joinRel(cur)))}
			}
			todo = append(append([]string(nil), tgt[len(cur):]...), todo...)
		case fi.IsDir():
			cur = append(cur, c)
		default:
			return "", fmt.Errorf("%s: %s is not a directory", p, abs(next))
		}
	}
	return joinRel(cur), nil
}

func splitRel(rel string) []string {
	if rel == "." || rel == "" {
		return nil
	}
	return strings.Split(rel, "/")
}

func joinRel(parts []string) string {
	if len(parts) == 0 {
		return "."
	}
	return strings.Join(parts, "/")
}

// lexicalJoin applies target's components to base; ok is false when ".."
// climbs above the root.
func lexicalJoin(base []string, target string) ([]string, bool) {
	out := append([]string(nil), base...)
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
		case "..":
			if len(out) == 0 {
				return nil, false
			}
			out = out[:len(out)-1]
		default:
			out = append(out, part)
		}
	}
	return out, true
}

func hasPrefix(p, prefix []string) bool {
	if len(p) < len(prefix) {
		return false
	}
	for i := range prefix {
		if p[i] != prefix[i] {
			return false
		}
	}
	return true
}

// within reports whether rel is dir or lies below it.
func within(rel, dir string) bool {
	return dir == "." || rel == dir || strings.HasPrefix(rel, dir+"/")
}

// mkdirs creates the missing directories of rel (0755, like mkdir -p) and
// returns those it created, parents first.
func (f *fsroot) mkdirs(rel string) ([]string, error) {
	var created []string
	parts := splitRel(rel)
	for i := range parts {
		d := joinRel(parts[:i+1])
		fi, err := f.r.Lstat(d)
		if err == nil {
			if !fi.IsDir() {
				return created, fmt.Errorf("%s is not a directory", abs(d))
			}
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return created, err
		}
		if err := f.r.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return created, err
		}
		created = append(created, d)
		if err := durable.SyncDirIn(f.r, parentRel(d)); err != nil {
			return created, err
		}
	}
	return created, nil
}

func parentRel(rel string) string {
	d := path.Dir(rel)
	if d == "" {
		return "."
	}
	return d
}

// tmpName is the fixed name of the temporary file used to replace rel:
// fixed, so that recovery can find and remove a leftover.
func tmpName(rel string) string {
	return path.Join(parentRel(rel), "."+path.Base(rel)+".runtimekit-tmp")
}

// writeAtomic replaces rel with data: a new file beside it (mode, owner),
// fsynced, renamed over rel, then the directory fsynced. uid or gid -1
// keeps this process's. The final component of rel is never followed.
func (f *fsroot) writeAtomic(rel string, data []byte, mode fs.FileMode, uid, gid int) error {
	return f.writeAtomicFrom(rel, strings.NewReader(string(data)), mode, uid, gid)
}

func (f *fsroot) writeAtomicFrom(rel string, src io.Reader, mode fs.FileMode, uid, gid int) error {
	tmp := tmpName(rel)
	if err := f.r.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", abs(rel), err)
	}
	// O_EXCL: the name is created here, never followed if it is a link.
	w, err := f.r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", abs(rel), err)
	}
	fail := func(err error) error {
		w.Close()
		_ = f.r.Remove(tmp)
		return fmt.Errorf("write %s: %w", abs(rel), err)
	}
	if _, err := io.Copy(w, src); err != nil {
		return fail(err)
	}
	// chown before chmod: chown clears set-id bits.
	if uid >= 0 || gid >= 0 {
		if err := w.Chown(uid, gid); err != nil {
			return fail(err)
		}
	}
	if err := w.Chmod(mode); err != nil {
		return fail(err)
	}
	if err := w.Sync(); err != nil {
		return fail(err)
	}
	if err := w.Close(); err != nil {
		_ = f.r.Remove(tmp)
		return fmt.Errorf("write %s: %w", abs(rel), err)
	}
	if err := f.r.Rename(tmp, rel); err != nil {
		_ = f.r.Remove(tmp)
		return fmt.Errorf("write %s: %w", abs(rel), err)
	}
	return durable.SyncDirIn(f.r, parentRel(rel))
}

// remove removes a file (or an empty directory), ignoring one that is
// already gone, and fsyncs its directory.
func (f *fsroot) remove(rel string) error {
	err := f.r.Remove(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return durable.SyncDirIn(f.r, parentRel(rel))
}

// removeAll removes a tree, ignoring one that is gone.
func (f *fsroot) removeAll(rel string) error {
	if _, err := f.r.Lstat(rel); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := f.r.RemoveAll(rel); err != nil {
		return err
	}
	return durable.SyncDirIn(f.r, parentRel(rel))
}

// exists reports whether rel exists (not following a final link).
func (f *fsroot) exists(rel string) (bool, error) {
	_, err := f.r.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// copyFile copies the regular file src to dst (atomically), keeping mode,
// owner and modification time.
func (f *fsroot) copyFile(src, dst string) error {
	in, err := f.r.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	uid, gid := -1, -1
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		uid, gid = int(st.Uid), int(st.Gid)
	}
	if err := f.writeAtomicFrom(dst, in, fi.Mode().Perm()|fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), uid, gid); err != nil {
		return err
	}
	return f.r.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

// keep makes dst a second name of the file src (a hard link: cheap, and
// the bytes are never rewritten), or a copy where a link is impossible.
func (f *fsroot) keep(src, dst string) error {
	_ = f.r.Remove(dst)
	if err := f.r.Link(src, dst); err == nil {
		return durable.SyncDirIn(f.r, parentRel(dst))
	}
	return f.copyFile(src, dst)
}

// putBack makes rel the file kept at backup again (replacing whatever is
// at rel), leaving the backup in place so that it can be done again.
func (f *fsroot) putBack(backup, rel string) error {
	tmp := tmpName(rel)
	_ = f.r.Remove(tmp)
	if err := f.r.Link(backup, tmp); err != nil {
		return f.copyFile(backup, rel)
	}
	if err := f.r.Rename(tmp, rel); err != nil {
		_ = f.r.Remove(tmp)
		return err
	}
	return durable.SyncDirIn(f.r, parentRel(rel))
}

// readRegular reads the regular file rel inside the root: a FIFO, device
// or socket is refused (never waited on), as is a file of more than max
// bytes (doc names the document in the message, with its article).
func (f *fsroot) readRegular(rel, doc string, max int64) ([]byte, error) {
	if fi, err := f.r.Lstat(rel); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &durable.NotRegularError{Path: f.host(rel), Mode: fi.Mode().Type()}
	}
	fh, err := f.r.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &durable.NotRegularError{Path: f.host(rel), Mode: fi.Mode().Type()}
	}
	if fi.Size() > max {
		return nil, &bounded.TooLargeError{Path: f.host(rel), Size: fi.Size(), Doc: doc, Max: max}
	}
	b, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.host(rel), err)
	}
	if int64(len(b)) > max {
		return nil, &bounded.TooLargeError{Path: f.host(rel), Size: -1, Doc: doc, Max: max}
	}
	return b, nil
}
