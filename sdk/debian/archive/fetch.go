package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/runtimekit/runtimekit/internal/durable"
)

// DefaultKeyring is the Debian archive keyring (package
// debian-archive-keyring) that [FetchIndex] checks InRelease against
// unless told otherwise.
const DefaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// maxInRelease bounds what is read of an InRelease file (bookworm's is
// about 150 KB), so a hostile server cannot make us buffer without end.
const maxInRelease = 32 << 20

// FetchIndexOptions says which Packages index [FetchIndex] fetches, from
// where, and what it trusts.
type FetchIndexOptions struct {
	// Mirror is the archive root URL (http, https or file), e.g. a "deb"
	// source's URI from apt's sources.
	Mirror string
	// Release is the suite or codename, e.g. "bookworm". The signed
	// InRelease must name it as its Suite or Codename.
	Release string
	// Component defaults to "main".
	Component string
	// Arch is the dpkg architecture, e.g. "i386".
	Arch string
	// Keyring is the OpenPGP keyring InRelease must be signed with, in a
	// format gpgv reads (binary keyring or keybox). Default DefaultKeyring.
	Keyring string
	// CacheDir holds verified files by digest
	// (CacheDir/by-hash/SHA256/<hex>). Default: runtimekit/debian-index in
	// the user's cache directory.
	CacheDir string
	// HTTPClient defaults to http.DefaultClient.
	HTTPClient *http.Client
	// Log receives progress at debug level; nil discards it.
	Log *slog.Logger
}

// IndexInfo describes a fetched index as the signed InRelease lists it.
type IndexInfo struct {
	// Path is the index below the mirror root, e.g.
	// dists/bookworm/main/binary-i386/Packages.xz.
	Path string
	// SHA256 is the hex digest of the file at Path (compressed as served).
	SHA256 string
	// Size is its length in bytes.
	Size int64
	// InRelease is the local copy, in the cache, of the InRelease file
	// whose signature was verified (signature included).
	InRelease string
}

// SignatureError reports an InRelease file whose signature does not verify
// against the keyring.
type SignatureError struct {
	File    string // URL of the InRelease file
	Keyring string
	Detail  string // what gpgv reported
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("%s: signature does not verify with keyring %s: %s", e.File, e.Keyring, e.Detail)
}

// DigestMismatchError reports a downloaded file whose SHA-256 or size
// differs from what the signed InRelease lists.
type DigestMismatchError struct {
	File              string // URL of the file
	Want, Got         string // hex SHA-256
	WantSize, GotSize int64
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("%s: sha256 %s (%d bytes), but the signed InRelease lists sha256 %s (%d bytes)",
		e.File, e.Got, e.GotSize, e.Want, e.WantSize)
}

// FetchIndex downloads the Packages.xz index of one release, component
// and architecture from a Debian mirror along the archive's trust chain,
// and returns the local path of the verified file with its description:
//
//  1. dists/RELEASE/InRelease is downloaded and its signature checked
//     with gpgv against the keyring; a file that is not exactly one
//     clear-signed message, whose signature does not verify, that names
//     another release, or whose Valid-Until has passed is refused;
//  2. the SHA-256 and size of COMPONENT/binary-ARCH/Packages.xz are taken
//     from the signed text only (what gpgv vouches for, never the raw
//     file);
//  3. if the cache holds a file with that digest, it is re-hashed and
//     used; otherwise the index is downloaded (through the archive's
//     by-hash path when InRelease announces Acquire-By-Hash, so that a
//     mirror update between the two requests cannot mismatch them),
//     streamed through SHA-256 into a temporary file, and moved into the
//     cache only if digest and size match.
//
// Nothing unverified is left in the cache. InRelease is fetched on every
// call, so the result is the mirror's current index.
func FetchIndex(ctx context.Context, opts FetchIndexOptions) (string, IndexInfo, error) {
	log := logger(opts.Log)
	if opts.Mirror == "" || opts.Release == "" || opts.Arch == "" {
		return "", IndexInfo{}, errors.New("fetch index: Mirror, Release and Arch are required")
	}
	if opts.Component == "" {
		opts.Component = "main"
	}
	if opts.Keyring == "" {
		opts.Keyring = DefaultKeyring
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return "", IndexInfo{}, fmt.Errorf("fetch index: no cache directory: %w", err)
		}
		opts.CacheDir = filepath.Join(dir, "runtimekit", "debian-index")
	}
	for _, s := range []string{opts.Release, opts.Component, opts.Arch} {
		if strings.ContainsAny(s, "/\\ \t\n") || s == "." || s == ".." {
			return "", IndexInfo{}, fmt.Errorf("fetch index: bad release, component or architecture %q", s)
		}
	}
	if _, err := os.Stat(opts.Keyring); err != nil {
		return "", IndexInfo{}, fmt.Errorf("fetch index: keyring %s: %w (install debian-archive-keyring or pass another keyring)", opts.Keyring, err)
	}
	f := &fetcher{opts: opts, log: log, mirror: strings.TrimRight(opts.Mirror, "/"), byHash: filepath.Join(opts.CacheDir, "by-hash", "SHA256")}
	if err := os.MkdirAll(f.byHash, 0o755); err != nil {
		return "", IndexInfo{}, fmt.Errorf("fetch index: %w", err)
	}

	dist := "dists/" + opts.Release
	inRelURL := f.mirror + "/" + dist + "/InRelease"
	signed, inRelPath, err := f.fetchInRelease(ctx, inRelURL)
	if err != nil {
		return "", IndexInfo{}, err
	}
	rel, err := parseRelease(signed)
	if err != nil {
		return "", IndexInfo{}, fmt.Errorf("%s: %w", inRelURL, err)
	}
	if rel.fields["suite"] != opts.Release && rel.fields["codename"] != opts.Release {
		return "", IndexInfo{}, fmt.Errorf("%s: signed for suite %q, codename %q, not for release %q",
			inRelURL, rel.fields["suite"], rel.fields["codename"], opts.Release)
	}
	if vu := rel.fields["valid-until"]; vu != "" {
		t, err := parseReleaseDate(vu)
		if err != nil {
			return "", IndexInfo{}, fmt.Errorf("%s: Valid-Until: %w", inRelURL, err)
		}
		if time.Now().After(t) {
			return "", IndexInfo{}, fmt.Errorf("%s: expired: Valid-Until %s has passed (an old InRelease replayed, or a mirror no longer updated)", inRelURL, vu)
		}
	}
	entry := opts.Component + "/binary-" + opts.Arch + "/Packages.xz"
	sum, ok := rel.sha256[entry]
	if !ok {
		return "", IndexInfo{}, fmt.Errorf("%s: no SHA256 entry for %s (is %s built for %s?)", inRelURL, entry, opts.Release, opts.Arch)
	}
	info := IndexInfo{Path: dist + "/" + entry, SHA256: sum.hex, Size: sum.size, InRelease: inRelPath}
	cached := filepath.Join(f.byHash, sum.hex)

	if got, n, err := durable.HashFile(cached); err == nil && got == sum.hex && n == sum.size {
		log.Debug("index from cache", "path", info.Path, "sha256", sum.hex, "file", cached)
		return cached, info, nil
	} else if err == nil {
		log.Warn("cached index is corrupt; fetching it again", "file", cached, "sha256", got)
	}

	plainURL := f.mirror + "/" + info.Path
	urls := []string{plainURL}
	if strings.EqualFold(rel.fields["acquire-by-hash"], "yes") {
		byHashURL := f.mirror + "/" + dist + "/" + path.Dir(entry) + "/by-hash/SHA256/" + sum.hex
		urls = []string{byHashURL, plainURL}
	}
	for i, u := range urls {
		err = f.download(ctx, u, cached, sum)
		if err == nil {
			log.Debug("index fetched", "url", u, "sha256", sum.hex, "size", sum.size)
			return cached, info, nil
		}
		if !errors.Is(err, errNotFound) || i == len(urls)-1 {
			return "", IndexInfo{}, err
		}
		log.Debug("by-hash index not on mirror; fetching by name", "url", u)
	}
	return "", IndexInfo{}, err // not reached
}

type fetcher struct {
	opts   FetchIndexOptions
	log    *slog.Logger
	mirror string
	byHash string
}

var errNotFound = errors.New("not found")

// open returns the body of u, from the network or, for file: URLs, the
// local file system. A missing file gives an error wrapping errNotFound.
func (f *fetcher) open(ctx context.Context, u string) (io.ReadCloser, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	if pu.Scheme == "file" {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, err := os.Open(filepath.FromSlash(pu.Path))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("fetch %s: %w (no such file)", u, errNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", u, err)
		}
		return r, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	resp, err := f.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch index: %w", err) // *url.Error names the URL
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("fetch %s: %w (%s)", u, errNotFound, resp.Status)
		}
		return nil, fmt.Errorf("fetch %s: %s", u, resp.Status)
	}
	return resp.Body, nil
}

// fetchInRelease downloads InRelease, verifies it, keeps it in the cache
// by digest, and returns the signed text as gpgv output it.
func (f *fetcher) fetchInRelease(ctx context.Context, u string) (signed []byte, local string, err error) {
	body, err := f.open(ctx, u)
	if err != nil {
		return nil, "", err
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxInRelease+1))
	body.Close()
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", u, err)
	}
	if len(raw) > maxInRelease {
		return nil, "", fmt.Errorf("%s: larger than %d bytes", u, maxInRelease)
	}
	if err := checkClearsigned(raw); err != nil {
		return nil, "", &SignatureError{File: u, Keyring: f.opts.Keyring, Detail: err.Error()}
	}
	sum := sha256.Sum256(raw)
	local = filepath.Join(f.byHash, hex.EncodeToString(sum[:]))
	tmp, err := writeTemp(f.byHash, raw)
	if err != nil {
		return nil, "", fmt.Errorf("fetch index: %w", err)
	}
	defer os.Remove(tmp) // gone after the rename below
	signed, err = gpgvVerify(ctx, tmp, f.opts.Keyring)
	if err != nil {
		var se *SignatureError
		if errors.As(err, &se) {
			se.File = u
		}
		return nil, "", err
	}
	if err := commit(tmp, local); err != nil {
		return nil, "", fmt.Errorf("fetch index: %w", err)
	}
	f.log.Debug("InRelease verified", "url", u, "keyring", f.opts.Keyring, "file", local)
	return signed, local, nil
}

// download streams u through SHA-256 into a temporary file beside dst and
// renames it to dst only if it has the wanted digest and size.
func (f *fetcher) download(ctx context.Context, u, dst string, want releaseSum) error {
	body, err := f.open(ctx, u)
	if err != nil {
		return err
	}
	defer body.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".fetch-*")
	if err != nil {
		return fmt.Errorf("fetch index: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	// One byte more than listed is enough to tell an over-long file.
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, want.size+1))
	if err != nil {
		return fmt.Errorf("fetch %s: %w", u, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.hex || n != want.size {
		return &DigestMismatchError{File: u, Want: want.hex, Got: got, WantSize: want.size, GotSize: n}
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("fetch index: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("fetch index: %w", err)
	}
	if err := commit(tmp.Name(), dst); err != nil {
		return fmt.Errorf("fetch index: %w", err)
	}
	ok = true
	return nil
}

// Signature checking runs gpgv, not a Go OpenPGP library
// (github.com/ProtonMail/go-crypto/openpgp would do), because gpgv is
// what apt itself verifies archives with: the same code decides on key
// expiry, revocation, subkeys and keyring formats, so we trust exactly
// what apt on the same machine trusts. gpgv is present wherever apt is
// (apt depends on it), the check runs only on the connected machine
// that makes locks, never in the VM, and one process per fetch costs
// nothing next to the download. It also keeps a cryptography module out
// of the dependency graph.

// gpgvVerify checks the clear-signed file with gpgv against keyring and
// returns the signed text. The decision is made from gpgv's status lines,
// as apt does: at least one good signature with a strong digest by a key
// of the keyring, and no bad one. Signatures by keys missing from the
// keyring are ignored (archives are signed by several keys).
func gpgvVerify(ctx context.Context, file, keyring string) ([]byte, error) {
	if _, err := exec.LookPath("gpgv"); err != nil {
		return nil, fmt.Errorf("verify %s: gpgv is needed to check archive signatures (install package gpgv): %w", file, err)
	}
	home, err := os.MkdirTemp("", "runtimekit-gpgv-")
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", file, err)
	}
	defer os.RemoveAll(home)
	var out, stderr bytes.Buffer
	// An empty home directory: no user configuration or default keyring.
	cmd := exec.CommandContext(ctx, "gpgv", "--homedir", home, "--status-fd", "2", "--keyring", keyring, "--output", "-", file)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		return nil, fmt.Errorf("verify %s: run gpgv: %w", file, runErr)
	}
	good, bad, other := 0, []string{}, 0
	var messages []string
	type sig struct {
		good, noKey bool
		hash        int
	}
	var sigs []*sig
	cur := func() *sig {
		if len(sigs) == 0 {
			sigs = append(sigs, &sig{})
		}
		return sigs[len(sigs)-1]
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		rest, ok := strings.CutPrefix(line, "[GNUPG:] ")
		if !ok {
			if m := strings.TrimPrefix(line, "gpgv: "); strings.TrimSpace(m) != "" {
				messages = append(messages, strings.TrimSpace(m))
			}
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "NEWSIG":
			sigs = append(sigs, &sig{})
		case "GOODSIG":
			cur().good = true
		case "VALIDSIG":
			// VALIDSIG fpr date ts expire version reserved pkalgo hashalgo class [primary]
			if len(fields) > 8 {
				cur().hash, _ = strconv.Atoi(fields[8])
			}
		case "NO_PUBKEY":
			cur().noKey = true
		case "BADSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG":
			bad = append(bad, strings.Join(fields[:min(len(fields), 2)], " "))
		}
	}
	for _, s := range sigs {
		switch {
		case s.good && strongHash(s.hash):
			good++
		case s.good:
			bad = append(bad, fmt.Sprintf("signature with weak digest algorithm %d", s.hash))
		case !s.noKey:
			other++
		}
	}
	// gpgv exits non-zero when any signature cannot be checked, which for
	// a multi-signed archive includes keys missing from the keyring.
	if good == 0 || len(bad) > 0 || (runErr != nil && other > 0) {
		detail := strings.Join(messages, "; ")
		if len(bad) > 0 {
			detail = strings.Join(bad, ", ") + ": " + detail
		}
		if detail == "" {
			detail = "no good signature"
		}
		return nil, &SignatureError{File: file, Keyring: keyring, Detail: detail}
	}
	return out.Bytes(), nil
}

// strongHash tells OpenPGP hash algorithm ids apt accepts: SHA-256,
// SHA-384, SHA-512, SHA-224 (not MD5, SHA-1 or RIPEMD-160).
func strongHash(id int) bool { return id >= 8 && id <= 11 }

// checkClearsigned accepts exactly one clear-signed message with nothing
// around it but blank lines, as apt does: text outside the signed part,
// or a second message, could otherwise be read as if it were signed.
func checkClearsigned(raw []byte) error {
	const (
		begin  = "-----BEGIN PGP SIGNED MESSAGE-----"
		sigBeg = "-----BEGIN PGP SIGNATURE-----"
		sigEnd = "-----END PGP SIGNATURE-----"
	)
	lines := strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	first := 0
	for first < len(lines) && strings.TrimSpace(lines[first]) == "" {
		first++
	}
	if first == len(lines) || strings.TrimRight(lines[first], " \t") != begin {
		return errors.New("not a clear-signed file (no PGP SIGNED MESSAGE header)")
	}
	if strings.TrimRight(lines[len(lines)-1], " \t") != sigEnd {
		return errors.New("text after the signature")
	}
	count := map[string]int{}
	for _, l := range lines {
		switch t := strings.TrimRight(l, " \t"); t {
		case begin, sigBeg, sigEnd:
			count[t]++
		}
	}
	if count[begin] != 1 || count[sigBeg] != 1 || count[sigEnd] != 1 {
		return errors.New("more than one signed message")
	}
	return nil
}

type releaseSum struct {
	hex  string
	size int64
}

type releaseFile struct {
	fields map[string]string // lower-cased single-line fields
	sha256 map[string]releaseSum
}

// parseRelease reads the signed text of an InRelease: one deb822
// paragraph, whose SHA256 field lists "digest size path" lines.
func parseRelease(b []byte) (*releaseFile, error) {
	r := &releaseFile{fields: map[string]string{}, sha256: map[string]releaseSum{}}
	var last string
	ended := false
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.TrimSpace(line) == "":
			ended = len(r.fields) > 0
			continue
		case ended:
			return nil, fmt.Errorf("line %d: more than one paragraph in the signed text", i+1)
		case line[0] == ' ' || line[0] == '\t':
			if last == "" {
				return nil, fmt.Errorf("line %d: continuation line outside a field", i+1)
			}
			if last != "sha256" {
				continue
			}
			f := strings.Fields(line)
			if len(f) != 3 {
				return nil, fmt.Errorf("line %d: malformed SHA256 entry %q", i+1, strings.TrimSpace(line))
			}
			size, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || size < 0 || !isHexSHA256(f[0]) {
				return nil, fmt.Errorf("line %d: malformed SHA256 entry %q", i+1, strings.TrimSpace(line))
			}
			if _, dup := r.sha256[f[2]]; dup {
				return nil, fmt.Errorf("line %d: %s listed twice under SHA256", i+1, f[2])
			}
			r.sha256[f[2]] = releaseSum{hex: strings.ToLower(f[0]), size: size}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("line %d: malformed line %q", i+1, line)
			}
			last = strings.ToLower(strings.TrimSpace(k))
			if _, dup := r.fields[last]; dup {
				return nil, fmt.Errorf("line %d: field %s given twice", i+1, k)
			}
			r.fields[last] = strings.TrimSpace(v)
		}
	}
	if len(r.fields) == 0 {
		return nil, errors.New("empty signed text")
	}
	return r, nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// parseReleaseDate reads Release dates ("Sat, 10 Jun 2023 08:52:45 UTC").
func parseReleaseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 MST", "Mon, 2 Jan 2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable date %q", s)
}

func writeTemp(dir string, b []byte) (string, error) {
	f, err := os.CreateTemp(dir, ".fetch-*")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// commit renames a verified temporary file into place and syncs the
// directory, so that a crash leaves either no file or the whole one.
// What is at dst and is not a regular file is refused, not replaced.
func commit(tmp, dst string) error {
	if fi, err := os.Lstat(dst); err == nil && !fi.Mode().IsRegular() {
		return &durable.NotRegularError{Path: dst, Mode: fi.Mode().Type()}
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return durable.SyncDir(filepath.Dir(dst))
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
