package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// BinaryPrefix starts the file name of every plugin executable; the rest of
// the name is the plugin's (and its runtime's) name.
const BinaryPrefix = "runtimectl-plugin-"

// PathEnv names the environment variable with extra plugin directories,
// separated by colons, searched after runtimectl's own directory.
const PathEnv = "RUNTIMECTL_PLUGIN_PATH"

// validName is the shape of a runtime name.
var validName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// DefaultDirs is where runtimectl looks for plugins: the directory of the
// running executable (symlinks resolved, so a symlinked runtimectl finds the
// plugins installed beside the real binary), then each directory of
// $RUNTIMECTL_PLUGIN_PATH in order.
func DefaultDirs() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate runtimectl executable: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	dirs := []string{filepath.Dir(exe)}
	for _, d := range filepath.SplitList(os.Getenv(PathEnv)) {
		if d == "" {
			continue
		}
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

func (h *Host) dirs() ([]string, error) {
	if h.opts.Dirs != nil {
		return h.opts.Dirs, nil
	}
	return DefaultDirs()
}

// discovered returns the plugins found in the search path, scanning it on
// first use.
func (h *Host) discovered(ctx context.Context) ([]Plugin, error) {
	h.mu.Lock()
	found := h.found
	h.mu.Unlock()
	if found != nil {
		return found, nil
	}
	dirs, err := h.dirs()
	if err != nil {
		return nil, err
	}
	found = h.discover(ctx, dirs)
	h.mu.Lock()
	h.found = found
	h.mu.Unlock()
	return found, nil
}

// discover scans dirs in order. Problems with one directory or file are
// logged and skipped rather than returned: a stray entry in
// $RUNTIMECTL_PLUGIN_PATH must not make every other plugin unusable.
func (h *Host) discover(ctx context.Context, dirs []string) []Plugin {
	byName := map[string]int{}
	found := []Plugin{}
	seenDir := map[string]bool{}
	for _, dir := range dirs {
		dir = filepath.Clean(dir)
		if seenDir[dir] {
			continue // listed twice: not a shadowing
		}
		seenDir[dir] = true
		entries, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				h.log.DebugContext(ctx, "plugin directory does not exist", "dir", dir)
			} else {
				h.log.WarnContext(ctx, "cannot read plugin directory, skipped", "dir", dir, "err", err)
			}
			continue
		}
		// os.ReadDir sorts by name, so discovery is deterministic.
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), BinaryPrefix)
			if !ok {
				continue
			}
			path := filepath.Join(dir, e.Name())
			if !validName.MatchString(name) {
				h.log.DebugContext(ctx, "ignoring file with an invalid plugin name", "path", path)
				continue
			}
			fi, err := os.Stat(path) // follows symlinks, as exec does
			if err != nil {
				h.log.WarnContext(ctx, "cannot stat plugin, skipped", "path", path, "err", err)
				continue
			}
			if !fi.Mode().IsRegular() {
				continue
			}
			if fi.Mode().Perm()&0o111 == 0 {
				h.log.WarnContext(ctx, "plugin file is not executable, skipped", "path", path)
				continue
			}
			if i, dup := byName[name]; dup {
				found[i].Shadowed = append(found[i].Shadowed, path)
				h.log.WarnContext(ctx, "plugin shadowed by one earlier in the search path", "plugin", name, "ignored", path, "used", found[i].Path)
				continue
			}
			byName[name] = len(found)
			found = append(found, Plugin{Name: name, Path: path})
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Name < found[j].Name })
	return found
}
