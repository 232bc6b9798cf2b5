package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/runtimekit/runtimekit/manifest"
)

// DefaultStartTimeout bounds how long a plugin may take from exec to a
// completed handshake.
const DefaultStartTimeout = 5 * time.Second

// Options configure a Host. The zero value works: plugins are searched in
// DefaultDirs, nothing is locked or cached, and manifests are evaluated with
// manifest.LoadFiles.
type Options struct {
	// Dirs are searched in order for executables named
	// runtimectl-plugin-NAME; the first one found for a name wins. nil means
	// DefaultDirs(); a non-nil empty slice searches nowhere.
	Dirs []string
	// LockFile is the plugins lock (JSON) that pins each plugin's SHA-256.
	// Empty means no lock: Lock fails and plugins run unpinned.
	LockFile string
	// RequireLock refuses to run a plugin that the lock does not pin.
	// Otherwise an unpinned plugin runs, checked against the digest it had
	// when it was discovered.
	RequireLock bool
	// CacheDir holds the digest (stat) cache and the manifest cache. Empty
	// disables both: every call hashes and launches.
	CacheDir string
	// CacheKey names the manifest evaluator (schema and loader version):
	// cached manifests evaluated under another key are evaluated again.
	// Empty means the SHA-256 of the running executable, so a rebuilt
	// runtimectl never trusts manifests evaluated by the old one.
	CacheKey string
	// StartTimeout bounds a plugin's start-up; 0 means DefaultStartTimeout.
	StartTimeout time.Duration
	// Logger receives warnings (shadowed plugins, unreadable directories)
	// and debug detail; nil discards.
	Logger *slog.Logger
	// Evaluate turns a plugin's manifest source files into a manifest; nil
	// means manifest.LoadFiles with no parameters.
	Evaluate func(ctx context.Context, files map[string][]byte) (*manifest.Manifest, error)
}

// Plugin is a discovered plugin binary.
type Plugin struct {
	Name string `json:"name"`
	// Path is where the binary was found (not resolved through symlinks).
	Path string `json:"path"`
	// SHA256 is the hex digest of the binary's current content.
	SHA256 string `json:"sha256"`
	// Version is the runtime version the plugin declared, when known from
	// the manifest cache or the lock without starting the plugin.
	Version string `json:"version,omitempty"`
	// Locked reports that the lock pins this plugin at exactly SHA256.
	Locked bool `json:"locked"`
	// Shadowed lists binaries with the same name later in the search path,
	// which are ignored.
	Shadowed []string `json:"shadowed,omitempty"`
}

// Host finds, verifies and runs plugins. Its methods are safe for
// concurrent use. Call Close when done: it stops every plugin process the
// Host started.
type Host struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	closed   bool
	found    []Plugin // nil until discovered
	lock     *lockFile
	stats    *statCache
	evalKey  string
	slots    map[string]*slot
	starting sync.WaitGroup     // launches in progress
	live     map[*proc]struct{} // processes started and not yet ended
}

// slot serializes launches of one plugin, so concurrent callers share a
// process instead of starting one each.
type slot struct {
	mu sync.Mutex
	p  *proc
}

// New returns a Host. It does no I/O: directories, the lock and the caches
// are read on first use.
func New(opts Options) *Host {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Host{
		opts:  opts,
		log:   log,
		slots: map[string]*slot{},
		live:  map[*proc]struct{}{},
	}
}

var errClosed = errors.New("plugin host is closed")

// Close stops every plugin process started by h and waits for them to exit.
// Afterwards the Runtimes it returned fail and every method returns an
// error.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	var procs []*proc
	for p := range h.live {
		procs = append(procs, p)
	}
	h.mu.Unlock()

	// Starting plugins are killed (their context is cancelled), running ones
	// are asked to exit and killed if they do not within go-plugin's grace
	// period. In parallel, so five plugins cost one round trip.
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(p.stop)
	}
	wg.Wait()
	h.starting.Wait()
	return nil
}

func (h *Host) checkOpen() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errClosed
	}
	return nil
}

// Plugins lists the discovered plugins, sorted by name, with their current
// digests. It starts no plugin.
func (h *Host) Plugins(ctx context.Context) ([]Plugin, error) {
	if err := h.checkOpen(); err != nil {
		return nil, err
	}
	found, err := h.discovered(ctx)
	if err != nil {
		return nil, err
	}
	lock, err := h.loadLock()
	if err != nil {
		return nil, err
	}
	defer h.saveStats(ctx)
	out := make([]Plugin, len(found))
	for i, p := range found {
		sum, err := h.digest(ctx, p.Path)
		if err != nil {
			return nil, err
		}
		p.SHA256 = sum
		if e, ok := lock.find(p.Name); ok && e.SHA256 == sum {
			p.Locked = true
			p.Version = e.Version
		}
		if ent, _ := h.readEntry(ctx, sum); ent != nil && ent.Describe != nil {
			p.Version = ent.Describe.Version
		}
		p.Shadowed = append([]string(nil), p.Shadowed...)
		out[i] = p
	}
	return out, nil
}

// NotFoundError is returned for a plugin name no search directory holds.
type NotFoundError struct {
	Name string
	Dirs []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("plugin %s not found: no executable %s%s in %q", e.Name, BinaryPrefix, e.Name, e.Dirs)
}

// plugin returns the discovered plugin called name.
func (h *Host) plugin(ctx context.Context, name string) (Plugin, error) {
	found, err := h.discovered(ctx)
	if err != nil {
		return Plugin{}, err
	}
	for _, p := range found {
		if p.Name == name {
			return p, nil
		}
	}
	dirs, _ := h.dirs()
	return Plugin{}, &NotFoundError{Name: name, Dirs: dirs}
}

// target is a plugin resolved for running: the digest it must have, and
// whether that digest is pinned by the lock or was taken at discovery.
type target struct {
	Plugin
	digest string
	pinned bool
}

// resolve finds a plugin, computes its digest and checks it against the
// lock.
func (h *Host) resolve(ctx context.Context, name string) (target, error) {
	if err := h.checkOpen(); err != nil {
		return target{}, err
	}
	p, err := h.plugin(ctx, name)
	if err != nil {
		return target{}, err
	}
	lock, err := h.loadLock()
	if err != nil {
		return target{}, err
	}
	sum, err := h.digest(ctx, p.Path)
	h.saveStats(ctx)
	if err != nil {
		return target{}, err
	}
	e, ok := lock.find(name)
	switch {
	case ok && e.SHA256 != sum:
		return target{}, &DigestMismatchError{Name: name, Path: p.Path, LockFile: h.opts.LockFile, Locked: e.SHA256, Actual: sum}
	case !ok && h.opts.RequireLock:
		return target{}, fmt.Errorf("plugin %s (%s) is not pinned in the plugins lock %s: run `runtimectl plugins lock` to trust it", name, p.Path, h.lockName())
	case !ok:
		h.log.DebugContext(ctx, "running unpinned plugin", "plugin", name, "path", p.Path, "sha256", sum)
	}
	p.SHA256 = sum
	return target{Plugin: p, digest: sum, pinned: ok}, nil
}

func (h *Host) lockName() string {
	if h.opts.LockFile == "" {
		return "(none configured)"
	}
	return h.opts.LockFile
}
