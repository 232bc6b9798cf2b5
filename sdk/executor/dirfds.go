package executor

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// dirFDs opens the directories of one tree once and keeps them open, so
// that a file in it is reached with one *at call on its directory instead
// of a walk of every component of its path: assembling a release of 600
// files through os.Root path by path costs about half a second natively,
// and more under emulation, where each system call is dearer. os.Root has
// no call that works on a directory it handed out, hence this.
//
// Containment is the same as os.Root's: the tree's top is opened through
// the os.Root, and every directory below it is opened by one name (no
// slash, not "." or "..") relative to its parent's descriptor with
// O_NOFOLLOW, so no symbolic link is followed and no path leaves the tree.
type dirFDs struct {
	top  string // the tree, relative to the root, for messages
	open map[string]*os.File
}

// openDirFDs opens rel of root as the top of a tree.
func openDirFDs(root *os.Root, rel string) (*dirFDs, error) {
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s is not a directory", abs(rel))
	}
	return &dirFDs{top: rel, open: map[string]*os.File{".": f}}, nil
}

func (d *dirFDs) Close() {
	for _, f := range d.open {
		f.Close()
	}
}

// checkName refuses a path component that could leave its directory.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return fmt.Errorf("path component %q is not a plain name", name)
	}
	return nil
}

// maxOpenDirs bounds the directories held open: a node_modules can have
// thousands, and a VM's process 1 may open 4096 files at most. Past it the
// cache is emptied (but for the top) and refilled as paths need it.
const maxOpenDirs = 256

// get is dir for a caller that uses the result at once: the only place
// the cache may be emptied, since no descriptor of it is in use then.
func (d *dirFDs) get(dir string, create bool) (*os.File, error) {
	if len(d.open) >= maxOpenDirs {
		for k, f := range d.open {
			if k != "." {
				f.Close()
				delete(d.open, k)
			}
		}
	}
	return d.dir(dir, create)
}

// dir returns the directory dir (slash-separated, relative to the top),
// making each missing component with mode 0755 when create is true.
func (d *dirFDs) dir(dir string, create bool) (*os.File, error) {
	if path.IsAbs(dir) {
		return nil, fmt.Errorf("%s: not a path inside %s", dir, abs(d.top))
	}
	dir = path.Clean(dir)
	if f, ok := d.open[dir]; ok {
		return f, nil
	}
	parent, err := d.dir(path.Dir(dir), create)
	if err != nil {
		return nil, err
	}
	name := path.Base(dir)
	if err := checkName(name); err != nil {
		return nil, err
	}
	if create {
		if err := unix.Mkdirat(int(parent.Fd()), name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, &fs.PathError{Op: "mkdir", Path: abs(d.top + "/" + dir), Err: err}
		}
	}
	fd, err := unix.Openat(int(parent.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: abs(d.top + "/" + dir), Err: err}
	}
	f := os.NewFile(uintptr(fd), abs(d.top+"/"+dir))
	d.open[dir] = f
	return f, nil
}

// at returns the directory of the file p and p's last component.
func (d *dirFDs) at(p string, create bool) (int, string, error) {
	f, err := d.get(path.Dir(p), create)
	if err != nil {
		return -1, "", err
	}
	name := path.Base(p)
	if err := checkName(name); err != nil {
		return -1, "", err
	}
	return int(f.Fd()), name, nil
}

// linkFrom hard-links the file from of the tree src to p in this tree,
// making p's directories: a link to what from is, never to what a
// symbolic link from names (linkat without AT_SYMLINK_FOLLOW).
func (d *dirFDs) linkFrom(src *dirFDs, from, p string) error {
	sfd, sname, err := src.at(from, false)
	if err != nil {
		return err
	}
	dfd, dname, err := d.at(p, true)
	if err != nil {
		return err
	}
	if err := unix.Linkat(sfd, sname, dfd, dname, 0); err != nil {
		return &os.LinkError{Op: "link", Old: abs(src.top + "/" + from), New: abs(d.top + "/" + p), Err: err}
	}
	return nil
}

// readlink returns the target of the symbolic link p.
func (d *dirFDs) readlink(p string) (string, error) {
	fd, name, err := d.at(p, false)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(fd, name, buf)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: abs(d.top + "/" + p), Err: err}
	}
	return string(buf[:n]), nil
}

// fixRegular checks that p is a regular file of size bytes and sets its
// permission bits to perm, on the file it opened (not following a link).
func (d *dirFDs) fixRegular(p string, size int64, perm fs.FileMode) (bool, error) {
	dfd, name, err := d.at(p, false)
	if err != nil {
		return false, err
	}
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, &fs.PathError{Op: "open", Path: abs(d.top + "/" + p), Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != size {
		return false, nil
	}
	if err := unix.Fchmod(fd, uint32(perm.Perm())); err != nil {
		return false, &fs.PathError{Op: "chmod", Path: abs(d.top + "/" + p), Err: err}
	}
	return true, nil
}

// extractRelease unpacks a release's tar (as runtimectl deploy writes it:
// directories, regular files and symbolic links) into the fresh tree d,
// each file made with one *at call on its directory. Only the files the
// plan lists (want, by path) may be in it, each once; a path through a
// symbolic link, or any other entry type, is refused. What the files hold
// is checked afterwards against the plan, as for every release.
func (d *dirFDs) extractRelease(ctx context.Context, src string, want map[string]bool) error {
	fh, err := os.Open(src)
	if err != nil {
		return err
	}
	defer fh.Close()
	tr := tar.NewReader(bufio.NewReaderSize(fh, 256<<10))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(h.Name, "/")
		if name == "" || path.IsAbs(name) || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("entry %q: not a clean relative path", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if _, err := d.get(name, true); err != nil {
				return fmt.Errorf("entry %q: %w", h.Name, err)
			}
			continue
		case tar.TypeReg, tar.TypeSymlink:
		default:
			return fmt.Errorf("entry %q: a release holds only directories, files and symbolic links", h.Name)
		}
		if !want[name] {
			return fmt.Errorf("entry %q: not a file of the release (listed twice, or not in the plan)", h.Name)
		}
		delete(want, name)
		dfd, base, err := d.at(name, true)
		if err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
		if h.Typeflag == tar.TypeSymlink {
			if err := unix.Symlinkat(h.Linkname, dfd, base); err != nil {
				return fmt.Errorf("entry %q: %w", h.Name, err)
			}
			continue
		}
		fd, err := unix.Openat(dfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
		f := os.NewFile(uintptr(fd), abs(d.top+"/"+name))
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
	}
}
