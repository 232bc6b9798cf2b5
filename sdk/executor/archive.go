package executor

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/xi2/xz"
)

// entry is one member of an archive.
type entry struct {
	name string // as in the archive
	kind byte   // tar type flag
	mode fs.FileMode
	link string
	open func() (io.ReadCloser, error)
}

// extract unpacks the archive file src (format tar, tar.gz, tar.xz or zip)
// into root, dropping the first strip path components of every entry, and
// keeping only entries that match one of the include globs (path.Match,
// after the strip), or lie below a directory that does, when there are
// any. An entry that would land outside root (an absolute name, "..", a
// hard link to anything but a regular file extracted before it) is an
// error naming it, as is a device or FIFO; so is a symbolic link that,
// in the extracted tree, leads out of it (see checkLinks). dest is the
// final destination's absolute path (absolute link targets below it
// stay inside).
func extract(ctx context.Context, root *os.Root, src, format string, strip int, include []string, dest string) (int, error) {
	for _, g := range include {
		if _, err := path.Match(g, ""); err != nil {
			return 0, fmt.Errorf("include pattern %q: %w", g, err)
		}
	}
	x := &extractor{root: root, strip: strip, include: include, dest: dest}
	switch format {
	case "tar", "tar.gz", "tar.xz":
		fh, err := os.Open(src)
		if err != nil {
			return 0, err
		}
		defer fh.Close()
		var zr io.Reader = fh
		switch format {
		case "tar.gz":
			gz, err := gzip.NewReader(fh)
			if err != nil {
				return 0, err
			}
			zr = gz
		case "tar.xz":
			xr, err := xz.NewReader(fh, 0)
			if err != nil {
				return 0, err
			}
			zr = xr
		}
		tr := tar.NewReader(zr)
		for {
			if err := ctx.Err(); err != nil {
				return x.n, err
			}
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return x.n, x.checkLinks()
			}
			if err != nil {
				return x.n, err
			}
			e := entry{name: h.Name, kind: h.Typeflag, mode: fs.FileMode(h.Mode).Perm(), link: h.Linkname,
				open: func() (io.ReadCloser, error) { return io.NopCloser(tr), nil }}
			if err := x.place(e); err != nil {
				return x.n, err
			}
		}
	case "zip":
		zr, err := zip.OpenReader(src)
		if err != nil {
			return 0, err
		}
		defer zr.Close()
		for _, f := range zr.File {
			if err := ctx.Err(); err != nil {
				return x.n, err
			}
			m := f.Mode()
			e := entry{name: f.Name, mode: m.Perm(), open: f.Open}
			switch {
			case m.IsDir() || strings.HasSuffix(f.Name, "/"):
				e.kind = tar.TypeDir
			case m&fs.ModeSymlink != 0:
				e.kind = tar.TypeSymlink
				rc, err := f.Open()
				if err != nil {
					return x.n, err
				}
				b, err := io.ReadAll(io.LimitReader(rc, 4096))
				rc.Close()
				if err != nil {
					return x.n, err
				}
				e.link = string(b)
			case m.IsRegular():
				e.kind = tar.TypeReg
			default:
				e.kind = 0xff
			}
			if err := x.place(e); err != nil {
				return x.n, err
			}
		}
		return x.n, x.checkLinks()
	}
	return 0, fmt.Errorf("unsupported archive format %q", format)
}

type extractor struct {
	root    *os.Root
	strip   int
	include []string
	dest    string
	n       int
	// links maps where symbolic links were created (paths in the tree)
	// to their entries' names, for messages.
	links map[string]string
}

// included reports whether the entry (after the strip) is to be
// extracted.
func (x *extractor) included(name string) bool {
	if len(x.include) == 0 {
		return true
	}
	for p := name; p != "." && p != ""; p = path.Dir(p) {
		for _, g := range x.include {
			if ok, _ := path.Match(g, p); ok {
				return true
			}
		}
	}
	return false
}

// clean returns the entry's path inside the tree after stripping, ""
// for an entry stripped away, or an error for a name that escapes.
func (x *extractor) clean(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("entry %q: absolute path", name)
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
		case "..":
			return "", fmt.Errorf("entry %q: '..' would leave the destination", name)
		default:
			parts = append(parts, p)
		}
	}
	if len(parts) <= x.strip {
		return "", nil
	}
	return strings.Join(parts[x.strip:], "/"), nil
}

func (x *extractor) place(e entry) error {
	switch e.kind {
	case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
		return nil
	}
	name, err := x.clean(e.name)
	if err != nil || name == "" || !x.included(name) {
		return err
	}
	if dir := path.Dir(name); dir != "." {
		if err := x.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
	}
	switch e.kind {
	case tar.TypeDir:
		if err := x.root.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
		if err := x.root.Chmod(name, e.mode|0o700); err != nil {
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
	case tar.TypeReg, tar.TypeRegA:
		if err := x.replace(name); err != nil {
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
		rc, err := e.open()
		if err != nil {
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
		defer rc.Close()
		w, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
		if _, err := io.Copy(w, rc); err != nil {
			w.Close()
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
		if err := w.Chmod(e.mode); err != nil {
			w.Close()
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
	case tar.TypeSymlink:
		// Where the link leads is checked once the whole tree is there
		// (checkLinks): a target is only meaningful against the final
		// tree. Until then the os.Root keeps every write inside.
		if e.link == "" {
			return fmt.Errorf("entry %q: symbolic link with an empty target", e.name)
		}
		if err := x.replace(name); err != nil {
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
		if err := x.root.Symlink(e.link, name); err != nil {
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
		if x.links == nil {
			x.links = map[string]string{}
		}
		x.links[name] = e.name
	case tar.TypeLink:
		target, err := x.clean(e.link)
		if err != nil || target == "" {
			return fmt.Errorf("entry %q: hard link to %q, outside the destination", e.name, e.link)
		}
		// Only a regular file already extracted: a second name of a
		// symbolic link would be read from another directory than the
		// first, and nothing else can be linked.
		fi, err := x.root.Lstat(target)
		if err != nil {
			return fmt.Errorf("entry %q: hard link to %q, which is not a file extracted before it (%v); a hard link must follow the file it names in the archive", e.name, e.link, err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("entry %q: hard link to %q, which is %s; a hard link must name a regular file", e.name, e.link, kindOf(fi.Mode()))
		}
		if err := x.replace(name); err != nil {
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
		if err := x.root.Link(target, name); err != nil {
			return fmt.Errorf("entry %q: hard link to %q: %w", e.name, e.link, err)
		}
	default:
		return fmt.Errorf("entry %q: unsupported type (device, FIFO or unknown)", e.name)
	}
	x.n++
	return nil
}

// replace removes a non-directory already at name (an archive may list a
// path twice; the last one wins, as with tar).
func (x *extractor) replace(name string) error {
	fi, err := x.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", name)
	}
	return x.root.Remove(name)
}

// kindOf names a file's type for messages.
func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsRegular():
		return "a regular file"
	default:
		return "a special file"
	}
}

// checkLinks refuses the extracted tree when one of its symbolic links
// leads out of it. Each link's target string may be harmless on its own
// and still lead out with the others: with a/b -> .., c -> a/b/.. is
// the destination's parent, though "a/b/.." reads as "a". So every link
// in the tree, whichever entry made it, is followed as the kernel will
// follow it once the tree is at the destination: component by
// component, through the links it meets, ".." going to the parent of the
// directory actually reached. It runs after the last entry (a later
// entry can replace a link or create what one goes through) and before
// the tree is renamed into place. Every link that leads out is named.
func (x *extractor) checkLinks() error {
	var errs []error
	err := fs.WalkDir(x.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if err := x.checkLink(p); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("check the links of the extracted tree: %w", err)
	}
	return errors.Join(errs...)
}

// checkLink follows the symbolic link at rel (a path in the tree whose
// directories are real ones, as the walk found it) and returns an error
// when it leads out of the tree: ".." above the tree's top, or an
// absolute target not below x.dest (an absolute target below it
// continues from the tree's top, as it will on the machine), or more
// than maxLinks links on the way. A component that does not exist, or is
// not a directory, is taken as a directory that could be created later,
// and the rest is followed from there: a link that leads nowhere today
// must not lead out tomorrow.
func (x *extractor) checkLink(rel string) error {
	destParts := splitRel(relOf(x.dest))
	cur := splitRel(parentRel(rel))
	todo := []string{path.Base(rel)}
	var chain []string // the links followed, as "name -> target", names in the tree
	fail := func(problem string) error {
		what := "symbolic link " + strings.TrimSuffix(x.dest, "/") + "/" + chain[0]
		if n, ok := x.links[rel]; ok {
			what = fmt.Sprintf("entry %q: %s", n, what)
		}
		via := ""
		if len(chain) > 1 {
			shown := chain[1:]
			if len(shown) > 4 {
				shown = append(shown[:4:4], "…")
			}
			via = " (through " + strings.Join(shown, ", ") + ")"
		}
		return fmt.Errorf("%s %s%s; an archive's links must resolve inside its destination: refusing the archive", what, problem, via)
	}
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return fail(fmt.Sprintf("leads out of the destination: \"..\" above %s, to %s", x.dest,
					path.Join(path.Dir(x.dest), strings.Join(todo, "/"))))
			}
			cur = cur[:len(cur)-1]
			continue
		}
		next := joinRel(append(cur[:len(cur):len(cur)], c))
		fi, err := x.root.Lstat(next)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				cur = append(cur, c)
				continue
			}
			return fmt.Errorf("check symbolic link %s: %w", path.Join(x.dest, rel), err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = append(cur, c)
			continue
		}
		target, err := x.root.Readlink(next)
		if err != nil {
			return fmt.Errorf("check symbolic link %s: %w", path.Join(x.dest, rel), err)
		}
		chain = append(chain, next+" -> "+target)
		if len(chain) > maxLinks {
			chain = chain[:1] // a loop, most likely: not worth listing
			return fail(fmt.Sprintf("cannot be followed: more than %d symbolic links on the way (a loop?)", maxLinks))
		}
		parts := strings.Split(target, "/")
		if path.IsAbs(target) {
			// The destination's own components must come first, as
			// written: "/opt/app/../etc" is not below /opt/app.
			var named []string
			for _, p := range parts {
				if p != "" && p != "." {
					named = append(named, p)
				}
			}
			if len(named) < len(destParts) || !slices.Equal(named[:len(destParts)], destParts) {
				return fail(fmt.Sprintf("leads out of the destination: to %s, outside %s",
					path.Join(append([]string{target}, todo...)...), x.dest))
			}
			cur, parts = nil, named[len(destParts):]
		}
		todo = append(parts, todo...)
	}
	return nil
}
