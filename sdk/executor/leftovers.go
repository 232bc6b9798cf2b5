package executor

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
)

// Maintainer scripts make files outside their packages (runit's preinst
// links /etc/runit/runsvdir/current, nginx's postinst writes
// /var/www/html/index.nginx-debian.html), and `dpkg --purge` leaves them,
// even when the unpack that ran the script failed. So that a rolled-back
// install leaves nothing behind, an install-packages step that brings new
// packages lists, before it starts, the paths in the directories such
// scripts write to (watchedDirs); its undo, once the packages are purged,
// removes every path there that the list does not have. Logs, caches and
// temporary directories are not watched: they are history, not state.
var watchedDirs = []string{"etc", "var/lib", "var/www", "srv", "opt", "usr/local", "run"}

// unwatched are subtrees of watchedDirs left alone: dpkg's database and
// runtimekit's own records change for reasons of their own.
var unwatched = []string{"var/lib/dpkg", dataDir}

// listTree returns every path below the watched directories, sorted.
func (f *fsroot) listTree() ([]string, error) {
	var out []string
	for _, top := range watchedDirs {
		err := fs.WalkDir(f.r.FS(), top, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			for _, u := range unwatched {
				if within(p, u) {
					return fs.SkipDir
				}
			}
			out = append(out, p)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", abs(top), err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// saveTree writes the listing of the watched directories to rel.
func (r *run) saveTree(rel string) error {
	paths, err := r.fs.listTree()
	if err != nil {
		return err
	}
	if _, err := r.fs.mkdirs(parentRel(rel)); err != nil {
		return err
	}
	return r.fs.writeAtomic(rel, []byte(strings.Join(paths, "\n")+"\n"), 0o600, -1, -1)
}

// removeLeftovers removes what is in the watched directories now and was
// not in the listing at rel, deepest first, and returns what it removed.
func (r *run) removeLeftovers(rel string) ([]string, error) {
	b, err := r.fs.r.ReadFile(rel)
	if err != nil {
		return nil, fmt.Errorf("the listing taken before the install: %w", err)
	}
	before := map[string]bool{}
	for _, p := range strings.Split(string(b), "\n") {
		before[p] = true
	}
	now, err := r.fs.listTree()
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, p := range slices.Backward(now) {
		if before[p] {
			continue
		}
		// Deepest first: a new directory is empty by the time it comes.
		if err := r.fs.r.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return gone, fmt.Errorf("remove %s, left by a maintainer script: %w", abs(p), err)
		}
		gone = append(gone, abs(p))
	}
	slices.Reverse(gone)
	return gone, nil
}
