package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/runtimekit/runtimekit/sdk/service"
)

// Arguments that name something inside the machine (--root) are checked
// before any path is made from them: a service name becomes a directory
// name and the state path a path below the root, so "../../.." would lead
// out of them.

// checkServiceName refuses what cannot be a service's name.
func checkServiceName(name string) error {
	if !service.ValidName(name) {
		return fmt.Errorf("invalid service name %q: %s", name, service.NameRule)
	}
	return nil
}

// checkStatePath refuses a --state that could lead out of --root.
func checkStatePath(p string) error {
	if p == "" || strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("invalid --state %q: the state file is a path inside --root", p)
	}
	for _, e := range strings.Split(filepath.ToSlash(p), "/") {
		if e == ".." {
			return fmt.Errorf("invalid --state %q: the state file is a path inside --root, without \"..\" elements", p)
		}
	}
	return nil
}

// check checks the flags that name paths inside the root.
func (f machineFlags) check() error {
	return checkStatePath(f.statePath)
}

// openLog opens the current log file in the log directory dir, which is
// below root, following no symbolic link out of root on the way to dir
// nor out of dir from it: a service inside the root may replace its log
// by a link to any file, which this process would then read with its own
// rights and on its own file system.
func openLog(root, dir string) (*os.File, error) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(absRoot, absDir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, fmt.Errorf("%s is not inside %s", dir, root)
	}
	r, err := os.OpenRoot(absRoot)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	logs, err := r.OpenRoot(rel)
	if escapes(err) {
		return nil, fmt.Errorf("%s leads out of %s, so it is not read: %w", dir, root, err)
	}
	if err != nil {
		return nil, err
	}
	defer logs.Close()
	f, err := logs.Open("current")
	if escapes(err) {
		return nil, fmt.Errorf("%s leads out of its log directory, so it is not read: %w", filepath.Join(dir, "current"), err)
	}
	return f, err
}

// escapes reports whether err is an os.Root refusing a path that leads
// out of it (the error has no exported value to compare with).
func escapes(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes")
}
