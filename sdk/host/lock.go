package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/internal/durable"
)

const lockFormat = 1

// lockFile is the plugins lock. It is written sorted by name and without
// timestamps, so the same plugins always give the same bytes.
type lockFile struct {
	FormatVersion int         `json:"formatVersion"`
	Plugins       []lockEntry `json:"plugins"`
}

type lockEntry struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Version string `json:"version"`
}

var hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (l *lockFile) find(name string) (lockEntry, bool) {
	if l == nil {
		return lockEntry{}, false
	}
	for _, e := range l.Plugins {
		if e.Name == name {
			return e, true
		}
	}
	return lockEntry{}, false
}

func (l *lockFile) marshal() []byte {
	sort.Slice(l.Plugins, func(i, j int) bool { return l.Plugins[i].Name < l.Plugins[j].Name })
	if l.Plugins == nil {
		l.Plugins = []lockEntry{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(l) // plain strings only: cannot fail
	return b.Bytes()
}

// readLock reads and checks a lock file. A missing file is an empty lock.
func readLock(path string) (*lockFile, error) {
	l := &lockFile{FormatVersion: lockFormat}
	if path == "" {
		return l, nil
	}
	b, err := bounded.ReadFile(path, "a plugins lock", bounded.MaxPluginsLock)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read plugins lock: %w", err)
	}
	if err := json.Unmarshal(b, l); err != nil {
		return nil, fmt.Errorf("plugins lock %s is not valid JSON: %w (delete it and run `runtimectl plugins lock`)", path, err)
	}
	if l.FormatVersion != lockFormat {
		return nil, fmt.Errorf("plugins lock %s has formatVersion %d, this runtimectl reads %d", path, l.FormatVersion, lockFormat)
	}
	seen := map[string]bool{}
	for i, e := range l.Plugins {
		switch {
		case !validName.MatchString(e.Name):
			return nil, fmt.Errorf("plugins lock %s: plugins[%d]: invalid name %q", path, i, e.Name)
		case !hexDigest.MatchString(e.SHA256):
			return nil, fmt.Errorf("plugins lock %s: plugin %s: sha256 %q is not 64 lower-case hex digits", path, e.Name, e.SHA256)
		case seen[e.Name]:
			return nil, fmt.Errorf("plugins lock %s: plugin %s is listed twice", path, e.Name)
		}
		seen[e.Name] = true
	}
	return l, nil
}

func (h *Host) loadLock() (*lockFile, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lock != nil {
		return h.lock, nil
	}
	l, err := readLock(h.opts.LockFile)
	if err != nil {
		return nil, err
	}
	h.lock = l
	return l, nil
}

// DigestMismatchError is returned when a plugin binary's content differs
// from what the plugins lock pins.
type DigestMismatchError struct {
	Name     string
	Path     string // the binary
	LockFile string // empty when the plugin is not locked (see Locked)
	Locked   string // hex SHA-256 pinned by the lock, or seen at discovery
	Actual   string // hex SHA-256 of the binary now
}

func (e *DigestMismatchError) Error() string {
	if e.LockFile == "" {
		return fmt.Sprintf("plugin %s: %s has sha256 %s but had sha256 %s when runtimectl found it moments ago; refusing to run a binary that changes under it",
			e.Name, e.Path, e.Actual, e.Locked)
	}
	return fmt.Sprintf("plugin %s: %s has sha256 %s but the plugins lock %s pins sha256 %s; refusing to run it (if you rebuilt it on purpose, run `runtimectl plugins lock`)",
		e.Name, e.Path, e.Actual, e.LockFile, e.Locked)
}

// Lock pins every discovered plugin at its current SHA-256 and writes the
// lock file atomically. Each plugin's version comes from its Describe (the
// manifest cache, or a launch), so a plugin that cannot describe itself
// fails the whole lock rather than being pinned half-checked.
func (h *Host) Lock(ctx context.Context) ([]Plugin, error) {
	if err := h.checkOpen(); err != nil {
		return nil, err
	}
	if h.opts.LockFile == "" {
		return nil, errors.New("lock plugins: no lock file configured")
	}
	// Re-scan: locking is when the user tells us the binaries changed.
	h.mu.Lock()
	h.found = nil
	h.mu.Unlock()
	found, err := h.discovered(ctx)
	if err != nil {
		return nil, err
	}
	defer h.saveStats(ctx)
	l := &lockFile{FormatVersion: lockFormat}
	out := make([]Plugin, 0, len(found))
	var errs []error
	for _, p := range found {
		sum, err := h.freshDigest(ctx, p.Path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d, err := h.describe(ctx, target{Plugin: p, digest: sum})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.SHA256, p.Version, p.Locked = sum, d.Version, true
		l.Plugins = append(l.Plugins, lockEntry{Name: p.Name, Path: p.Path, SHA256: sum, Version: d.Version})
		out = append(out, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("lock plugins (lock file %s left unchanged): %w", h.opts.LockFile, err)
	}
	if err := os.MkdirAll(filepath.Dir(h.opts.LockFile), 0o755); err != nil {
		return nil, fmt.Errorf("write plugins lock: %w", err)
	}
	// The lock is read back by every later run: only a regular file can
	// be it, and anything else at that path is refused, not replaced.
	if err := durable.ReplaceFile(h.opts.LockFile, l.marshal(), 0o644); err != nil {
		return nil, fmt.Errorf("write plugins lock: %w", err)
	}
	h.mu.Lock()
	h.lock = l
	h.mu.Unlock()
	return out, nil
}

// Status is the outcome of verifying one plugin against the lock.
type Status string

const (
	StatusOK        Status = "ok"         // content matches the lock
	StatusMismatch  Status = "mismatch"   // content differs from the lock
	StatusMissing   Status = "missing"    // locked but not found
	StatusNotLocked Status = "not-locked" // found but not in the lock
)

// Check is the result of verifying one plugin.
type Check struct {
	Name   string `json:"name"`
	Path   string `json:"path"` // where it was found; for a missing plugin, where it was locked
	Status Status `json:"status"`
	Locked string `json:"lockedSha256,omitempty"`
	Actual string `json:"sha256,omitempty"`

	lockFile string
}

// Err describes a failed check, or returns nil for StatusOK. A mismatch is a
// *DigestMismatchError.
func (c Check) Err() error {
	lockFile := c.lockFile
	switch c.Status {
	case StatusOK:
		return nil
	case StatusMismatch:
		return &DigestMismatchError{Name: c.Name, Path: c.Path, LockFile: lockFile, Locked: c.Locked, Actual: c.Actual}
	case StatusMissing:
		return fmt.Errorf("plugin %s is pinned in the plugins lock %s (at %s) but was not found", c.Name, lockFile, c.Path)
	case StatusNotLocked:
		return fmt.Errorf("plugin %s (%s) is not pinned in the plugins lock %s", c.Name, c.Path, lockFile)
	default:
		return fmt.Errorf("plugin %s: unknown status %q", c.Name, c.Status)
	}
}

// Verify hashes every discovered plugin (bypassing the digest cache) and
// compares it with the lock. The checks are sorted by name; the error is
// only for failures to read the lock or a binary.
func (h *Host) Verify(ctx context.Context) ([]Check, error) {
	if err := h.checkOpen(); err != nil {
		return nil, err
	}
	if h.opts.LockFile == "" {
		return nil, errors.New("verify plugins: no lock file configured")
	}
	lock, err := h.loadLock()
	if err != nil {
		return nil, err
	}
	found, err := h.discovered(ctx)
	if err != nil {
		return nil, err
	}
	defer h.saveStats(ctx)
	var checks []Check
	seen := map[string]bool{}
	for _, p := range found {
		seen[p.Name] = true
		sum, err := h.freshDigest(ctx, p.Path)
		if err != nil {
			return nil, err
		}
		c := Check{Name: p.Name, Path: p.Path, Actual: sum, Status: StatusNotLocked, lockFile: h.opts.LockFile}
		if e, ok := lock.find(p.Name); ok {
			c.Locked = e.SHA256
			c.Status = StatusMismatch
			if e.SHA256 == sum {
				c.Status = StatusOK
			}
		}
		checks = append(checks, c)
	}
	for _, e := range lock.Plugins {
		if !seen[e.Name] {
			checks = append(checks, Check{Name: e.Name, Path: e.Path, Status: StatusMissing, Locked: e.SHA256, lockFile: h.opts.LockFile})
		}
	}
	sort.Slice(checks, func(i, j int) bool { return checks[i].Name < checks[j].Name })
	return checks, nil
}
