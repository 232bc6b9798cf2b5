package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/internal/pluginrpc"
)

// The manifest cache holds, per plugin binary (by SHA-256), what the plugin
// declared and the manifest evaluated from it. A binary's content cannot
// change under its digest, so entries never go stale; the evaluated
// manifest is additionally tagged with the evaluator (CacheKey), so a new
// runtimectl re-evaluates the cached source without starting the plugin.

const cacheFormat = 1

type cacheEntry struct {
	FormatVersion int                `json:"formatVersion"`
	Describe      *describeJSON      `json:"describe"`
	Evaluator     string             `json:"evaluator,omitempty"`
	Manifest      json.RawMessage    `json:"manifest,omitempty"`
	Source        manifest.Positions `json:"source,omitempty"` // not part of Manifest's JSON form
}

type describeJSON struct {
	Name     string            `json:"name"`
	Version  string            `json:"version"`
	Manifest map[string][]byte `json:"manifest"`
}

func (d *describeJSON) response() *sdk.DescribeResponse {
	return &sdk.DescribeResponse{Name: d.Name, Version: d.Version, Manifest: d.Manifest}
}

func (h *Host) entryPath(digest string) string {
	return filepath.Join(h.opts.CacheDir, "plugins", "manifests", digest+".json")
}

// readEntry returns the cache entry for a plugin digest, or nil. A corrupt
// entry is treated as missing: the cache only saves work.
func (h *Host) readEntry(ctx context.Context, digest string) (*cacheEntry, error) {
	if h.opts.CacheDir == "" {
		return nil, nil
	}
	b, err := bounded.ReadFile(h.entryPath(digest), "a manifest cache entry", bounded.MaxCache)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var nr *durable.NotRegularError
	var tl *bounded.TooLargeError
	if errors.As(err, &nr) || errors.As(err, &tl) {
		h.log.DebugContext(ctx, "ignoring manifest cache entry", "err", err)
		return nil, nil // not an entry runtimectl wrote: missing, as a corrupt one is
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest cache: %w", err)
	}
	var e cacheEntry
	if err := json.Unmarshal(b, &e); err != nil || e.FormatVersion != cacheFormat || e.Describe == nil {
		h.log.DebugContext(ctx, "ignoring unreadable manifest cache entry", "path", h.entryPath(digest), "err", err)
		return nil, nil
	}
	return &e, nil
}

// writeEntry stores a cache entry. Failing to cache is logged, not
// returned: the caller already has its answer.
func (h *Host) writeEntry(ctx context.Context, digest string, e *cacheEntry) {
	if h.opts.CacheDir == "" {
		return
	}
	e.FormatVersion = cacheFormat
	b, err := json.Marshal(e)
	if err == nil {
		path := h.entryPath(digest)
		if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			err = durable.ReplaceFile(path, b, 0o644)
		}
	}
	if err != nil {
		h.log.WarnContext(ctx, "cannot write manifest cache entry", "dir", h.opts.CacheDir, "err", err)
	}
}

// Describe returns what the plugin declares, from the cache when its binary
// was described before, otherwise by starting it.
func (h *Host) Describe(ctx context.Context, name string) (*sdk.DescribeResponse, error) {
	t, err := h.resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	return h.describe(ctx, t)
}

func (h *Host) describe(ctx context.Context, t target) (*sdk.DescribeResponse, error) {
	e, err := h.readEntry(ctx, t.digest)
	if err != nil {
		return nil, err
	}
	if e != nil {
		d := e.Describe.response()
		d.Manifest = qualify(d.Name, d.Manifest)
		return d, nil
	}
	rt, err := h.runtime(ctx, t)
	if err != nil {
		return nil, err
	}
	d, err := rt.Describe(ctx, &sdk.DescribeRequest{})
	if err != nil {
		return nil, err
	}
	if d.Name != t.Name {
		return nil, fmt.Errorf("plugin %s (%s) describes itself as %q: a plugin binary must be named %s<its runtime name>", t.Name, t.Path, d.Name, BinaryPrefix)
	}
	d.Manifest = qualify(d.Name, d.Manifest)
	h.writeEntry(ctx, t.digest, &cacheEntry{Describe: &describeJSON{Name: d.Name, Version: d.Version, Manifest: d.Manifest}})
	return d, nil
}

// Manifest returns the plugin's evaluated manifest with default parameters,
// from the cache when possible: a warm call starts no plugin and evaluates
// no CUE. Parameter values are normalized as they are on the plugin wire
// (whole numbers are int64). A manifest error is returned wrapped, with the
// manifest.Diagnostics reachable through errors.As.
func (h *Host) Manifest(ctx context.Context, name string) (*manifest.Manifest, error) {
	t, err := h.resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	key, err := h.evaluatorKey(ctx)
	if err != nil {
		return nil, err
	}
	e, err := h.readEntry(ctx, t.digest)
	if err != nil {
		return nil, err
	}
	if e != nil && e.Manifest != nil && e.Evaluator == key {
		return decodeManifest(e)
	}
	var d *sdk.DescribeResponse
	if e != nil {
		d = e.Describe.response()
		d.Manifest = qualify(d.Name, d.Manifest)
	} else if d, err = h.describe(ctx, t); err != nil {
		return nil, err
	}
	m, err := h.evaluate(ctx, d.Manifest)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: manifest: %w", name, err)
	}
	if m.Name != d.Name || m.Version != d.Version {
		return nil, fmt.Errorf("plugin %s: its manifest declares %s %s but the plugin describes itself as %s %s", name, m.Name, m.Version, d.Name, d.Version)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: encode manifest: %w", name, err)
	}
	e = &cacheEntry{
		Describe:  &describeJSON{Name: d.Name, Version: d.Version, Manifest: d.Manifest},
		Evaluator: key,
		Manifest:  raw,
		Source:    m.Source,
	}
	h.writeEntry(ctx, t.digest, e)
	// Return the decoded form on a cold call too, so that cold and warm
	// calls give identical values.
	return decodeManifest(e)
}

func (h *Host) evaluate(ctx context.Context, files map[string][]byte) (*manifest.Manifest, error) {
	if h.opts.Evaluate != nil {
		return h.opts.Evaluate(ctx, files)
	}
	return manifest.LoadFiles(ctx, files, manifest.Options{})
}

func decodeManifest(e *cacheEntry) (*manifest.Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(e.Manifest))
	dec.UseNumber()
	var m manifest.Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode cached manifest of %s: %w", e.Describe.Name, err)
	}
	for i := range m.Params {
		m.Params[i].Default = pluginrpc.NormalizeNumbers(m.Params[i].Default)
		m.Params[i].Value = pluginrpc.NormalizeNumbers(m.Params[i].Value)
	}
	m.Source = e.Source
	return &m, nil
}

// evaluatorKey identifies the manifest evaluator for the cache.
func (h *Host) evaluatorKey(ctx context.Context) (string, error) {
	if h.opts.CacheDir == "" {
		return "", nil // nothing is cached, nothing to key
	}
	if h.opts.CacheKey != "" {
		return h.opts.CacheKey, nil
	}
	h.mu.Lock()
	key := h.evalKey
	h.mu.Unlock()
	if key != "" {
		return key, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("manifest cache key: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	sum, err := h.digest(ctx, exe)
	if err != nil {
		return "", fmt.Errorf("manifest cache key: %w", err)
	}
	h.saveStats(ctx)
	key = "exe-sha256:" + sum
	h.mu.Lock()
	h.evalKey = key
	h.mu.Unlock()
	return key, nil
}

// qualify prefixes the plugin's manifest file names with its runtime name,
// so that diagnostics say which plugin they are about
// ("nginx/manifest.cue:9:12", not "manifest.cue:9:12").
func qualify(name string, files map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for n, b := range files {
		out[name+"/"+path.Base(n)] = b
	}
	return out
}
