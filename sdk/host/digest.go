package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/internal/durable"
)

// Hashing five ~15 MB plugin binaries costs tens of milliseconds, more than
// the whole budget of a warm run, so digests are cached by file identity:
// (device, inode, size, mtime, ctime). mtime can be set back with utimes(2)
// but ctime cannot: every write, chmod, rename or utimes sets ctime to the
// current time, so a binary replaced or edited in place always gets a new
// ctime and is hashed again. Launching does not depend on this cache:
// go-plugin's SecureConfig hashes the real file before exec.

// racyWindow guards against a file modified twice within one tick of the
// file system's clock (as coarse as one second on some file systems): an
// entry is trusted only if the file's ctime was at least this much older
// than the moment it was hashed; otherwise a second edit in the same tick
// could leave ctime unchanged. Recently changed files are simply hashed
// again until they age. Git's index has the same "racy" rule.
const racyWindow = 2 * time.Second

const statCacheFormat = 1

type fileID struct {
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtimeNs"`
	CtimeNs int64  `json:"ctimeNs"`
}

type statEntry struct {
	fileID
	SHA256     string `json:"sha256"`
	HashedAtNs int64  `json:"hashedAtNs"`
}

func (e statEntry) trusted() bool {
	return e.HashedAtNs-e.CtimeNs >= int64(racyWindow)
}

type statCache struct {
	path    string // empty: in memory only
	entries map[string]statEntry
	dirty   bool
}

type statCacheFile struct {
	FormatVersion int                  `json:"formatVersion"`
	Files         map[string]statEntry `json:"files"`
}

// loadStatCache reads the cache; a missing or unreadable cache is empty,
// since it only saves work.
func loadStatCache(path string) *statCache {
	c := &statCache{path: path, entries: map[string]statEntry{}}
	if path == "" {
		return c
	}
	b, err := bounded.ReadFile(path, "a plugin digest cache", bounded.MaxCache)
	if err != nil {
		return c
	}
	var f statCacheFile
	if json.Unmarshal(b, &f) == nil && f.FormatVersion == statCacheFormat && f.Files != nil {
		c.entries = f.Files
	}
	return c
}

func (c *statCache) save() error {
	if c.path == "" || !c.dirty {
		return nil
	}
	b, err := json.Marshal(statCacheFile{FormatVersion: statCacheFormat, Files: c.entries})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return err
	}
	if err := durable.ReplaceFile(c.path, b, 0o644); err != nil {
		return err
	}
	c.dirty = false
	return nil
}

// digest returns the SHA-256 of the file at path, from the cache when the
// file is unchanged.
func (c *statCache) digest(path string) (string, error) {
	if fi, err := os.Stat(path); err == nil {
		if id, ok := identify(fi); ok {
			if e, hit := c.entries[path]; hit && e.fileID == id && e.trusted() {
				return e.SHA256, nil
			}
		}
	}
	sum, id, ok, err := hashIdentified(path)
	if err != nil {
		return "", err
	}
	if ok {
		c.entries[path] = statEntry{fileID: id, SHA256: sum, HashedAtNs: time.Now().UnixNano()}
		c.dirty = true
	}
	return sum, nil
}

// hashIdentified hashes a file and returns its identity, ok only if the
// identity did not change while it was being read: the file is looked at
// before it is opened and after it is read, so a replacement or an edit
// in between (a new inode, size, mtime or ctime) leaves it uncached.
func hashIdentified(path string) (sum string, id fileID, ok bool, err error) {
	before, err := os.Stat(path)
	if err != nil {
		return "", fileID{}, false, fmt.Errorf("hash plugin: %w", err)
	}
	sum, _, err = durable.HashFile(path)
	if err != nil {
		return "", fileID{}, false, fmt.Errorf("hash plugin: %w", err)
	}
	after, err := os.Stat(path)
	if err != nil {
		return sum, fileID{}, false, nil
	}
	id1, ok1 := identify(before)
	id2, ok2 := identify(after)
	return sum, id2, ok1 && ok2 && id1 == id2, nil
}

// statCache returns the digest cache, loading it on first use; h.mu is held.
func (h *Host) statCache() *statCache {
	if h.stats == nil {
		path := ""
		if h.opts.CacheDir != "" {
			path = filepath.Join(h.opts.CacheDir, "plugins", "stat.json")
		}
		h.stats = loadStatCache(path)
	}
	return h.stats
}

// digest returns the cached-or-computed digest of path.
func (h *Host) digest(_ context.Context, path string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.statCache().digest(path)
}

// freshDigest hashes path for real and refreshes the cache with the result.
func (h *Host) freshDigest(_ context.Context, path string) (string, error) {
	sum, id, ok, err := hashIdentified(path)
	if err != nil {
		return "", err
	}
	if ok {
		h.mu.Lock()
		c := h.statCache()
		c.entries[path] = statEntry{fileID: id, SHA256: sum, HashedAtNs: time.Now().UnixNano()}
		c.dirty = true
		h.mu.Unlock()
	}
	return sum, nil
}

// saveStats writes the stat cache if it changed. A failure costs only
// speed, so it is logged, not returned.
func (h *Host) saveStats(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stats == nil {
		return
	}
	if err := h.stats.save(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		h.log.WarnContext(ctx, "cannot save plugin digest cache", "path", h.stats.path, "err", err)
	}
}
