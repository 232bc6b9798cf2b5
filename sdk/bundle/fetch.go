package bundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofrs/flock"

	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/internal/human"
	"github.com/runtimekit/runtimekit/sdk/lock"
)

// FetchOptions tells Fetch where files come from and where they go.
type FetchOptions struct {
	// Out is the bundle directory to write. It may be absent, an empty
	// directory, or an earlier bundle: that one is replaced as a whole
	// once the new bundle is complete, and its files are reused when
	// their digests match. Anything else there is refused.
	Out string
	// Target, if not nil, is recorded in bundle.json.
	Target *lock.Target

	// Mirror is the root URL (http, https or file) of the Debian
	// archive a .deb is downloaded from: Mirror + "/" + Filename.
	Mirror string
	// NPMRegistry is the root URL of the npm registry tarballs are
	// downloaded from (see NPMTarballURL).
	NPMRegistry string
	// LocalDirs are searched in order before anything is downloaded. Each
	// may be a flat directory of files (a directory of .debs, apt's
	// /var/cache/apt/archives, downloaded npm tarballs) or a copy of a
	// mirror holding a .deb at its Filename. A file there is used only if
	// its SHA-256 matches; it is copied, never moved.
	LocalDirs []string
	// CacheDir keeps partial downloads (partial/<sha256>.part) between
	// runs, so that an interrupted fetch resumes where it stopped, and,
	// with KeepDownloads, every verified download (sha256/<sha256>), which
	// later fetches copy instead of downloading again. Empty: a temporary
	// directory beside Out, removed when Fetch returns.
	CacheDir      string
	KeepDownloads bool

	// Progress, if not nil, receives progress: one line per file, or an
	// updating bar when ProgressBar is set (for a terminal).
	Progress    io.Writer
	ProgressBar bool

	// Client makes the HTTP requests; nil for a default client that also
	// serves file:// URLs.
	Client *http.Client
	// Parallel is how many files are fetched at once; 0 means 4.
	Parallel int
	// Retries is how often a download that broke off is resumed before
	// giving up; 0 means 3, a negative value none.
	Retries int
	// StallTimeout ends a download that receives no data for this long
	// (it is then resumed like any broken download); 0 means 60s.
	StallTimeout time.Duration
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
}

// Result describes a completed Fetch.
type Result struct {
	Bundle *Bundle
	// Files tells where each file came from, in the order of the items.
	Files []Fetched
	// Downloaded is the number of bytes received over the network.
	Downloaded int64
}

// Sources of a fetched file.
const (
	SourceDownload = "download" // from the mirror, registry or archive URL
	SourceLocal    = "local"    // copied from a local directory or the old bundle
	SourceCache    = "cache"    // from CacheDir: a kept or complete partial download
)

// Fetched tells how one file got into the bundle.
type Fetched struct {
	File   File
	Source string // SourceDownload, SourceLocal or SourceCache
	From   string // the URL or local path
	// Resumed is how many bytes of a download came from a partial
	// download of an earlier attempt.
	Resumed int64
}

// FileError is the failure to put one file into the bundle.
type FileError struct {
	Path string // inside the bundle, or the item when it has no valid path
	Item Item
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s (%s): %v", e.Path, e.Item, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// DigestError reports bytes whose digest is not the pinned one.
type DigestError struct {
	Algo      string // "sha256", or the SRI algorithm of an npm integrity
	Got, Want string
	From      string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s is %s, the lock says %s (from %s)", e.Algo, e.Got, e.Want, e.From)
}

// Fetch puts the files of items into a new bundle at opts.Out and returns
// it. Items are checked before anything is fetched: one whose file would
// land outside the bundle (a Filename with "..", an absolute one) or that
// lacks a digest is refused. Each file is then copied from a local
// directory holding it with the pinned digest, or downloaded while its
// SHA-256 (and an npm tarball's integrity) is computed on the stream;
// a broken download is resumed with a range request, also in a later run
// when CacheDir is kept. The bundle is built in a temporary directory
// beside Out and renamed into place only when every file has been
// verified: on error, Out is left as it was and the error lists every
// file that failed, each as a *FileError.
func Fetch(ctx context.Context, items []Item, opts FetchOptions) (*Result, error) {
	if opts.Out == "" {
		return nil, errors.New("fetch bundle: no output directory")
	}
	out, err := filepath.Abs(opts.Out)
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s: %w", opts.Out, err)
	}
	uniq, errs := checkItems(items)
	if len(errs) > 0 {
		return nil, fmt.Errorf("bundle %s not written: %w", opts.Out, errs)
	}
	existing, err := checkOut(out)
	if err != nil {
		return nil, err
	}
	f := &fetcher{opts: opts, log: opts.Logger, client: opts.Client}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if existing {
		f.oldBundle = out
	}
	if f.client == nil {
		f.client = defaultClient()
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, fmt.Errorf("fetch bundle %s: %w", opts.Out, err)
	}
	release, err := f.openCache(ctx, out)
	if err != nil {
		return nil, err
	}
	defer release()

	tmp, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("fetch bundle %s: %w", opts.Out, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("fetch bundle %s: %w", opts.Out, err)
	}
	installed := false
	defer func() {
		if !installed {
			f.salvage(tmp)
			os.RemoveAll(tmp)
		}
	}()
	for _, d := range []string{DebDir, ArtifactDir} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			return nil, fmt.Errorf("fetch bundle %s: %w", opts.Out, err)
		}
	}

	f.prog = newProgress(opts.Progress, opts.ProgressBar, uniq)
	res := &Result{Files: make([]Fetched, len(uniq))}
	errs = make(fileErrors, len(uniq))
	par := opts.Parallel
	if par <= 0 {
		par = 4
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, it := range uniq {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = &FileError{Path: it.file().Path, Item: it, Err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			fd, err := f.fetchOne(ctx, it, tmp)
			if err != nil {
				errs[i] = &FileError{Path: it.file().Path, Item: it, Err: err}
				f.prog.failed(it.file().Path, err)
				return
			}
			res.Files[i] = fd
		}()
	}
	wg.Wait()
	f.prog.finish()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bundle %s not written: %w", opts.Out, err)
	}
	if errs = errs.compact(); len(errs) > 0 {
		return nil, fmt.Errorf("bundle %s not written: %w", opts.Out, errs)
	}
	res.Downloaded = f.downloaded.Load()

	ix := Index{FormatVersion: FormatVersion, Target: opts.Target}
	for _, fd := range res.Files {
		ix.Files = append(ix.Files, fd.File)
	}
	b, err := ix.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", IndexName, err)
	}
	if err := durable.ReplaceFile(filepath.Join(tmp, IndexName), b, 0o644); err != nil {
		return nil, fmt.Errorf("fetch bundle %s: %w", opts.Out, err)
	}
	for _, d := range []string{DebDir, ArtifactDir, "."} {
		if err := durable.SyncDir(filepath.Join(tmp, d)); err != nil {
			return nil, fmt.Errorf("fetch bundle %s: %w", opts.Out, err)
		}
	}
	// Read the index back as Open will: a bundle that could not be
	// opened is never installed.
	parsed, err := ParseIndex(b)
	if err != nil {
		return nil, fmt.Errorf("bundle %s not written: %s: %w", opts.Out, IndexName, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bundle %s not written: %w", opts.Out, err)
	}
	// Out may have changed while fetching: never replace what is not a
	// bundle.
	if _, err := checkOut(out); err != nil {
		return nil, err
	}
	if err := replaceDir(tmp, out); err != nil {
		return nil, fmt.Errorf("install bundle %s: %w", opts.Out, err)
	}
	installed = true
	if err := durable.SyncDir(filepath.Dir(out)); err != nil {
		return nil, fmt.Errorf("install bundle %s: %w", opts.Out, err)
	}
	res.Bundle = &Bundle{Dir: opts.Out, Index: *parsed}
	return res, nil
}

// checkItems validates every item and drops repeats. Two different files
// that would take the same path inside the bundle are an error.
func checkItems(items []Item) ([]Item, fileErrors) {
	var errs fileErrors
	byPath := map[string]Item{}
	var uniq []Item
	for _, it := range items {
		if err := it.check(); err != nil {
			p, perr := it.BundlePath()
			if perr != nil {
				p = it.Filename
				if p == "" {
					p = it.URL
				}
				if p == "" {
					p = it.Name
				}
			}
			errs = append(errs, &FileError{Path: p, Item: it, Err: err})
			continue
		}
		p, _ := it.BundlePath()
		if prev, ok := byPath[p]; ok {
			if prev.SHA256 != it.SHA256 || prev.Size != it.Size {
				errs = append(errs, &FileError{Path: p, Item: it,
					Err: fmt.Errorf("%s goes to the same path with another digest", prev)})
			}
			continue
		}
		byPath[p] = it
		uniq = append(uniq, it)
	}
	return uniq, errs
}

// fileErrors lists the files that failed, one per line.
type fileErrors []error

func (e fileErrors) Error() string {
	if len(e) == 1 {
		return e[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d files failed:", len(e))
	for _, err := range e {
		b.WriteString("\n\t" + err.Error())
	}
	return b.String()
}

func (e fileErrors) Unwrap() []error { return e }

func (e fileErrors) compact() fileErrors {
	var out fileErrors
	for _, err := range e {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// checkOut reports whether out holds a bundle to be replaced, and refuses
// anything that Fetch must not overwrite.
func checkOut(out string) (bool, error) {
	fi, err := os.Lstat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("fetch bundle: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("fetch bundle: %s exists and is not a directory", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return false, fmt.Errorf("fetch bundle: %w", err)
	}
	if len(ents) == 0 {
		return false, nil
	}
	if _, err := Open(out); err != nil {
		return false, fmt.Errorf("fetch bundle: %s exists and is not a bundle that can be replaced: %w", out, err)
	}
	return true, nil
}

type fetcher struct {
	opts      FetchOptions
	log       *slog.Logger
	client    *http.Client
	prog      progress
	oldBundle string
	cache     string // CacheDir, or a temporary one
	keepParts bool   // cache outlives this call: keep partial downloads

	downloaded atomic.Int64

	mu        sync.Mutex
	downloads map[string]string // bundle file → its partial file, for salvage
}

// openCache prepares the cache directory and locks it against another
// Fetch using it at the same time.
func (f *fetcher) openCache(ctx context.Context, out string) (release func(), err error) {
	f.downloads = map[string]string{}
	if f.opts.CacheDir == "" {
		dir, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".cache-")
		if err != nil {
			return nil, fmt.Errorf("fetch bundle %s: %w", f.opts.Out, err)
		}
		f.cache = dir
		if err := os.Mkdir(filepath.Join(dir, "partial"), 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("fetch bundle %s: %w", f.opts.Out, err)
		}
		return func() { os.RemoveAll(dir) }, nil
	}
	f.cache, f.keepParts = f.opts.CacheDir, true
	if err := os.MkdirAll(filepath.Join(f.cache, "partial"), 0o755); err != nil {
		return nil, fmt.Errorf("bundle cache: %w", err)
	}
	if f.opts.KeepDownloads {
		if err := os.MkdirAll(filepath.Join(f.cache, "sha256"), 0o755); err != nil {
			return nil, fmt.Errorf("bundle cache: %w", err)
		}
	}
	fl := flock.New(filepath.Join(f.cache, ".lock"))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock bundle cache %s: %w", f.cache, err)
	}
	if !ok {
		f.log.Info("waiting for another fetch that uses the cache", "dir", f.cache)
		if ok, err = fl.TryLockContext(ctx, 250*time.Millisecond); err != nil || !ok {
			return nil, fmt.Errorf("lock bundle cache %s: %w", f.cache, err)
		}
	}
	return func() { fl.Unlock() }, nil
}

// salvage moves the downloads of a failed fetch back to the cache as
// complete partial files, so that the next run does not download them
// again.
func (f *fetcher) salvage(tmp string) {
	if !f.keepParts {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for rel, part := range f.downloads {
		if err := moveFile(filepath.Join(tmp, filepath.FromSlash(rel)), part); err != nil {
			f.log.Debug("keep download", "file", rel, "err", err)
		}
	}
}

// fetchOne puts one item into the bundle being built in tmp.
func (f *fetcher) fetchOne(ctx context.Context, it Item, tmp string) (Fetched, error) {
	file := it.file()
	dst := filepath.Join(tmp, filepath.FromSlash(file.Path))
	f.prog.start(file.Path)
	for _, c := range f.localCandidates(it, file.Path) {
		fi, err := os.Stat(c.path)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != it.Size {
			continue
		}
		err = copyVerified(ctx, c.path, dst, it, f.prog)
		if err == nil {
			f.log.Debug("copied", "file", file.Path, "from", c.path)
			f.prog.done(file.Path, "copied from "+c.path, it.Size)
			return Fetched{File: file, Source: c.source, From: c.path}, nil
		}
		if ctx.Err() != nil {
			return Fetched{}, ctx.Err()
		}
		// A file of the right size with other bytes: not the one pinned.
		f.log.Warn("local file does not match the lock", "file", c.path, "err", err)
	}
	url, err := f.sourceURL(it)
	if err != nil {
		return Fetched{}, err
	}
	part := filepath.Join(f.cache, "partial", it.SHA256+".part")
	resumed, err := f.download(ctx, url, part, it)
	if err != nil {
		return Fetched{}, err
	}
	src := SourceDownload
	if resumed == it.Size {
		src = SourceCache // complete from an earlier run: nothing downloaded
	}
	if f.opts.KeepDownloads {
		if err := copyOrLink(part, filepath.Join(f.cache, "sha256", it.SHA256)); err != nil {
			f.log.Warn("keep download in cache", "file", file.Path, "err", err)
		}
	}
	if err := moveFile(part, dst); err != nil {
		return Fetched{}, err
	}
	f.mu.Lock()
	f.downloads[file.Path] = part
	f.mu.Unlock()
	how := "downloaded"
	if resumed > 0 {
		how = fmt.Sprintf("downloaded (resumed at %s)", human.Bytes(resumed))
	}
	if src == SourceCache {
		how = "from cache"
	}
	f.prog.done(file.Path, how, it.Size)
	return Fetched{File: file, Source: src, From: url, Resumed: resumed}, nil
}

type candidate struct{ path, source string }

// localCandidates lists the local files that may hold the item.
func (f *fetcher) localCandidates(it Item, rel string) []candidate {
	var out []candidate
	seen := map[string]bool{}
	add := func(p, src string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, candidate{p, src})
		}
	}
	if f.opts.KeepDownloads {
		add(filepath.Join(f.cache, "sha256", it.SHA256), SourceCache)
	}
	if f.oldBundle != "" {
		add(filepath.Join(f.oldBundle, filepath.FromSlash(rel)), SourceLocal)
	}
	base := path.Base(rel)
	for _, d := range f.opts.LocalDirs {
		add(filepath.Join(d, base), SourceLocal)
		switch it.Kind {
		case KindDeb:
			// apt's cache names a .deb name_version_arch.deb with the
			// epoch kept ("%3a" for ':'); the pool name drops it.
			add(filepath.Join(d, it.Name+"_"+strings.ReplaceAll(it.Version, ":", "%3a")+"_"+it.Arch+".deb"), SourceLocal)
			add(filepath.Join(d, filepath.FromSlash(it.Filename)), SourceLocal)
		case KindNPM:
			add(filepath.Join(d, path.Base(NPMTarballURL("", it.Name, it.Version))), SourceLocal)
		}
	}
	return out
}

// sourceURL returns where the item is downloaded from.
func (f *fetcher) sourceURL(it Item) (string, error) {
	switch it.Kind {
	case KindDeb:
		if f.opts.Mirror == "" {
			return "", errors.New("not in any local directory, and no Debian mirror is set")
		}
		return strings.TrimRight(f.opts.Mirror, "/") + "/" + it.Filename, nil
	case KindNPM:
		if f.opts.NPMRegistry == "" {
			return "", errors.New("not in any local directory, and no npm registry is set")
		}
		return NPMTarballURL(f.opts.NPMRegistry, it.Name, it.Version), nil
	case KindRelease, KindEnv:
		return "", errors.New("an app release is made by runtimectl deploy, which writes it into the bundle: deploy again")
	default:
		return it.URL, nil
	}
}

// hashes computes the digests an item is checked against.
type hashes struct {
	sha  hash.Hash
	sri  hash.Hash
	in   *integrity
	item Item
}

func newHashes(it Item) *hashes {
	h := &hashes{sha: sha256.New(), item: it}
	if it.Kind == KindNPM {
		if in, err := parseIntegrity(it.Integrity); err == nil {
			h.in, h.sri = in, in.newHash()
		}
	}
	return h
}

func (h *hashes) Write(p []byte) (int, error) {
	h.sha.Write(p)
	if h.sri != nil {
		h.sri.Write(p)
	}
	return len(p), nil
}

// check compares the digests with the item's.
func (h *hashes) check(from string) error {
	if got := hex.EncodeToString(h.sha.Sum(nil)); got != h.item.SHA256 {
		return &DigestError{Algo: "sha256", Got: got, Want: h.item.SHA256, From: from}
	}
	if h.sri != nil && !h.in.match(h.sri.Sum(nil)) {
		got := h.in.algo + "-" + encodeB64(h.sri.Sum(nil))
		return &DigestError{Algo: "integrity", Got: got, Want: h.item.Integrity, From: from}
	}
	return nil
}

// copyVerified copies src to dst, hashing on the way, and removes dst
// unless the digests match.
func copyVerified(ctx context.Context, src, dst string, it Item, prog progress) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	h := newHashes(it)
	var added int64
	n, err := io.Copy(io.MultiWriter(out, h, progWriter{prog, &added}), io.LimitReader(ctxReader{ctx, in}, it.Size+1))
	if err != nil {
		prog.add(-added)
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if n != it.Size {
		prog.add(-added)
		return fmt.Errorf("%s has %d bytes, the lock says %d", src, n, it.Size)
	}
	if err := h.check(src); err != nil {
		prog.add(-added)
		return err
	}
	return out.Sync()
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// moveFile renames src to dst, copying when they are on different file
// systems.
func moveFile(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	if err := copyFile(src, dst); err != nil {
		return err
	}
	return os.Remove(src)
}

// copyOrLink makes dst a hard link to src, or a copy where links are
// not possible. dst is replaced atomically.
func copyOrLink(src, dst string) error {
	tmp := dst + ".tmp"
	os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		if err := copyFile(src, tmp); err != nil {
			return err
		}
	}
	return os.Rename(tmp, dst)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}
