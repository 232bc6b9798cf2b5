package archive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ulikunitz/xz"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/debian"
	. "github.com/runtimekit/runtimekit/sdk/debian/archive"
)

// signingKey is an OpenPGP key made for one test in its own GNUPGHOME,
// with its public part exported as a binary keyring for gpgv.
type signingKey struct {
	home, keyring string
}

func newSigningKey(t *testing.T, name string) signingKey {
	t.Helper()
	testenv.RequireTools(t, "gpg", "gpgv", "gpgconf")
	// gpg-agent's socket path is limited to about 100 bytes: keep the
	// home short rather than under t.TempDir().
	home, err := os.MkdirTemp("", "rk-gpg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	k := signingKey{home: home, keyring: filepath.Join(home, "keyring.gpg")}
	k.gpg(t, nil, "--quick-gen-key", name+" archive key <"+name+"@example.invalid>", "ed25519", "sign", "never")
	k.gpg(t, nil, "--export", "-o", k.keyring)
	return k
}

func (k signingKey) gpg(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--homedir", k.home, "--batch", "--yes", "--passphrase", ""}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out.Bytes()
}

// clearsign signs text as an archive signs InRelease.
func (k signingKey) clearsign(t *testing.T, text, digest string) []byte {
	t.Helper()
	return k.gpg(t, []byte(text), "--digest-algo", digest, "--clearsign", "-o", "-")
}

// archive is a fake mirror: files by URL path, and the paths requested.
type archive struct {
	mu    sync.Mutex
	files map[string][]byte
	hits  []string
}

func (a *archive) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.hits = append(a.hits, r.URL.Path)
	b, ok := a.files[r.URL.Path]
	a.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(b)
}

// indexRequests counts requests for anything but InRelease.
func (a *archive) indexRequests() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, h := range a.hits {
		if !strings.HasSuffix(h, "/InRelease") {
			n++
		}
	}
	return n
}

// byHashHits counts successful by-hash requests.
func (a *archive) byHashHits() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, h := range a.hits {
		if strings.Contains(h, "/by-hash/") && a.files[h] != nil {
			n++
		}
	}
	return n
}

func xzBytes(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := xz.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// releaseText is the unsigned text of an InRelease listing the given
// files ("path" -> content) under SHA256, with extra header fields.
func releaseText(codename string, extra string, files map[string][]byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Origin: Debian\nLabel: Debian\nSuite: stable\nCodename: %s\nDate: Sat, 10 Jun 2023 08:52:45 UTC\n", codename)
	b.WriteString(extra)
	// A decoy: only the SHA256 section may be read.
	b.WriteString("Architectures: amd64 i386\nComponents: main\nMD5Sum:\n 0ed6d4c8891eb86358b94bb35d9e4da4 8681800 main/binary-i386/Packages.xz\nSHA256:\n")
	for _, p := range []string{"main/binary-amd64/Packages.xz", "main/binary-i386/Packages", "main/binary-i386/Packages.xz"} {
		if c, ok := files[p]; ok {
			fmt.Fprintf(&b, " %s %8d %s\n", sha256Hex(c), len(c), p)
		}
	}
	return b.String()
}

func TestFetchIndex(t *testing.T) {
	t.Parallel()
	key := newSigningKey(t, "good")
	other := newSigningKey(t, "other")

	const stanza = "Package: hello\nVersion: 2.10-3\nArchitecture: i386\nFilename: pool/main/h/hello/hello_2.10-3_i386.deb\nSize: 100\nSHA256: " +
		"0000000000000000000000000000000000000000000000000000000000000000\n\n"
	pkgXZ := xzBytes(t, stanza)
	pkgSum := sha256Hex(pkgXZ)
	listed := map[string][]byte{
		"main/binary-i386/Packages.xz":  pkgXZ,
		"main/binary-i386/Packages":     []byte(stanza),
		"main/binary-amd64/Packages.xz": xzBytes(t, "Package: x\n"),
	}
	const (
		inRel   = "/debian/dists/bookworm/InRelease"
		byName  = "/debian/dists/bookworm/main/binary-i386/Packages.xz"
		byHashP = "/debian/dists/bookworm/main/binary-i386/by-hash/SHA256/"
	)
	goodRelease := releaseText("bookworm", "Acquire-By-Hash: yes\n", listed)
	goodInRelease := key.clearsign(t, goodRelease, "SHA256")
	flipped := bytes.Replace(goodInRelease, []byte(pkgSum[:8]), []byte("deadbeef"), 1)

	type want struct {
		err      string // substring of the error; "" for success
		sig      bool   // a *SignatureError
		mismatch bool   // a *DigestMismatchError
	}
	tests := []struct {
		name  string
		files map[string][]byte
		want  want
		// byHash: the index must have been fetched by digest.
		byHash bool
	}{
		{
			name:   "good, by hash",
			files:  map[string][]byte{inRel: goodInRelease, byHashP + pkgSum: pkgXZ},
			byHash: true,
		},
		{
			name: "good, by name",
			files: map[string][]byte{
				inRel:  key.clearsign(t, releaseText("bookworm", "", listed), "SHA256"),
				byName: pkgXZ,
			},
		},
		{
			name:  "by-hash announced but missing: falls back to the name",
			files: map[string][]byte{inRel: goodInRelease, byName: pkgXZ},
		},
		{
			name:  "tampered InRelease",
			files: map[string][]byte{inRel: flipped, byName: pkgXZ},
			want:  want{sig: true, err: "signature does not verify with keyring"},
		},
		{
			name:  "signed by a key not in the keyring",
			files: map[string][]byte{inRel: other.clearsign(t, goodRelease, "SHA256"), byName: pkgXZ},
			want:  want{sig: true, err: "No public key"},
		},
		{
			name:  "unsigned",
			files: map[string][]byte{inRel: []byte(goodRelease), byName: pkgXZ},
			want:  want{sig: true, err: "not a clear-signed file"},
		},
		{
			name:  "unsigned text after the signature",
			files: map[string][]byte{inRel: append(bytes.Clone(goodInRelease), "SHA256:\n "+strings.Repeat("a", 64)+" 1 main/binary-i386/Packages.xz\n"...), byName: pkgXZ},
			want:  want{sig: true, err: "text after the signature"},
		},
		{
			name:  "weak digest",
			files: map[string][]byte{inRel: key.clearsign(t, goodRelease, "SHA1"), byName: pkgXZ},
			want:  want{sig: true, err: "weak digest"},
		},
		{
			name:  "wrong Packages.xz",
			files: map[string][]byte{inRel: goodInRelease, byHashP + pkgSum: xzBytes(t, strings.Replace(stanza, "2.10-3", "2.10-4", 1))},
			want:  want{mismatch: true, err: "but the signed InRelease lists sha256 " + pkgSum},
		},
		{
			name:  "truncated Packages.xz",
			files: map[string][]byte{inRel: goodInRelease, byHashP + pkgSum: pkgXZ[:len(pkgXZ)/2]},
			want:  want{mismatch: true, err: fmt.Sprintf("(%d bytes), but the signed InRelease lists sha256 %s (%d bytes)", len(pkgXZ)/2, pkgSum, len(pkgXZ))},
		},
		{
			name:  "over-long Packages.xz",
			files: map[string][]byte{inRel: goodInRelease, byHashP + pkgSum: append(bytes.Clone(pkgXZ), 0)},
			want:  want{mismatch: true, err: fmt.Sprintf("(%d bytes), but", len(pkgXZ)+1)},
		},
		{
			name:  "InRelease of another release",
			files: map[string][]byte{inRel: key.clearsign(t, releaseText("trixie", "", listed), "SHA256"), byName: pkgXZ},
			want:  want{err: `signed for suite "stable", codename "trixie", not for release "bookworm"`},
		},
		{
			name:  "expired",
			files: map[string][]byte{inRel: key.clearsign(t, releaseText("bookworm", "Valid-Until: Sat, 17 Jun 2023 08:52:45 UTC\n", listed), "SHA256"), byName: pkgXZ},
			want:  want{err: "Valid-Until Sat, 17 Jun 2023 08:52:45 UTC has passed"},
		},
		{
			name: "architecture not in the release",
			files: map[string][]byte{inRel: key.clearsign(t, releaseText("bookworm", "", map[string][]byte{
				"main/binary-amd64/Packages.xz": listed["main/binary-amd64/Packages.xz"],
			}), "SHA256")},
			want: want{err: "no SHA256 entry for main/binary-i386/Packages.xz"},
		},
		{
			name:  "index missing from the mirror",
			files: map[string][]byte{inRel: goodInRelease},
			want:  want{err: "Packages.xz: not found (404 Not Found)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			arch := &archive{files: tc.files}
			srv := httptest.NewServer(arch)
			defer srv.Close()
			cache := t.TempDir()
			opts := FetchIndexOptions{
				Mirror: srv.URL + "/debian/", Release: "bookworm", Arch: "i386",
				Keyring: key.keyring, CacheDir: cache, HTTPClient: srv.Client(),
			}
			p, info, err := FetchIndex(context.Background(), opts)
			if tc.want.err != "" || tc.want.sig || tc.want.mismatch {
				if err == nil {
					t.Fatalf("FetchIndex succeeded (%s); want an error containing %q", p, tc.want.err)
				}
				t.Logf("error: %v", err)
				if !strings.Contains(err.Error(), tc.want.err) {
					t.Errorf("error %q\nwant it to contain %q", err, tc.want.err)
				}
				var se *SignatureError
				if got := errors.As(err, &se); got != tc.want.sig {
					t.Errorf("error is a *SignatureError: %v, want %v (%v)", got, tc.want.sig, err)
				} else if got && (se.File != srv.URL+inRel || se.Keyring != key.keyring || !strings.Contains(err.Error(), srv.URL+inRel)) {
					t.Errorf("signature error names file %q and keyring %q, want %q and %q", se.File, se.Keyring, srv.URL+inRel, key.keyring)
				}
				var me *DigestMismatchError
				if got := errors.As(err, &me); got != tc.want.mismatch {
					t.Errorf("error is a *DigestMismatchError: %v, want %v (%v)", got, tc.want.mismatch, err)
				} else if got && (!strings.HasPrefix(me.File, srv.URL+"/debian/dists/bookworm/main/binary-i386/") || me.Want != pkgSum || me.Got == pkgSum) {
					t.Errorf("mismatch error %+v: want the index URL and both digests", me)
				}
				assertNoIndexInCache(t, cache, pkgSum)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantInfo := IndexInfo{Path: "dists/bookworm/main/binary-i386/Packages.xz", SHA256: pkgSum, Size: int64(len(pkgXZ)), InRelease: info.InRelease}
			if diff := cmp.Diff(wantInfo, info); diff != "" {
				t.Errorf("IndexInfo (-want +got):\n%s", diff)
			}
			if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, pkgXZ) {
				t.Errorf("index at %s differs from the served one (%v)", p, err)
			}
			if got, err := os.ReadFile(info.InRelease); err != nil || !bytes.Equal(got, tc.files[inRel]) {
				t.Errorf("InRelease copy at %s differs from the served one (%v)", info.InRelease, err)
			}
			ix, err := debian.OpenPackages(context.Background(), p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ix.Lookup("hello")) != 1 {
				t.Errorf("fetched index has no package hello")
			}
			if got := arch.byHashHits() == 1; got != tc.byHash {
				t.Errorf("fetched by hash: %v, want %v (requests %v)", got, tc.byHash, arch.hits)
			}

			// A second fetch reads only InRelease; the index comes from the cache.
			before := arch.indexRequests()
			p2, info2, err := FetchIndex(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if p2 != p || info2 != info || arch.indexRequests() != before {
				t.Errorf("second fetch: %s %+v, %d index requests; want the cached %s and none", p2, info2, arch.indexRequests()-before, p)
			}

			// A corrupt cache entry is noticed and replaced.
			if err := os.WriteFile(p, []byte("corrupt"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, err := FetchIndex(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(p); !bytes.Equal(got, pkgXZ) {
				t.Errorf("corrupt cache entry was not replaced")
			}
		})
	}

	t.Run("missing keyring", func(t *testing.T) {
		t.Parallel()
		kr := filepath.Join(t.TempDir(), "none.gpg")
		_, _, err := FetchIndex(context.Background(), FetchIndexOptions{Mirror: "http://127.0.0.1:1/", Release: "bookworm", Arch: "i386", Keyring: kr, CacheDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), kr) {
			t.Errorf("error %v; want one naming the keyring %s", err, kr)
		}
	})

	t.Run("file mirror", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		for p, b := range map[string][]byte{inRel: goodInRelease, byName: pkgXZ} {
			dst := filepath.Join(root, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		mirror := (&url.URL{Scheme: "file", Path: filepath.ToSlash(root) + "/debian"}).String()
		p, info, err := FetchIndex(context.Background(), FetchIndexOptions{Mirror: mirror, Release: "bookworm", Arch: "i386", Keyring: key.keyring, CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, pkgXZ) || info.SHA256 != pkgSum {
			t.Errorf("file mirror: got %s %+v", p, info)
		}
	})
}

// assertNoIndexInCache checks that a failed fetch left neither the index
// nor a partial download in the cache.
func assertNoIndexInCache(t *testing.T, cache, sum string) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(cache, "by-hash", "SHA256"))
	for _, e := range entries {
		if e.Name() == sum || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("cache holds %s after a failed fetch", e.Name())
		}
	}
}

// TestFetchIndexReal fetches the bookworm i386 index from the real mirror
// (this machine's apt sources or $RUNTIMEKIT_DEBIAN_MIRROR) and checks it
// against the Debian archive keyring.
func TestFetchIndexReal(t *testing.T) {
	testenv.RequireE2E(t)
	testenv.RequireTools(t, "gpgv")
	if _, err := os.Stat(DefaultKeyring); err != nil {
		testenv.Unavailable(t, "Debian archive keyring: %v (install debian-archive-keyring)", err)
	}
	mirror := testenv.Mirror(t, "bookworm")
	cache := filepath.Join(testenv.CacheDir(t), "fetch-index")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p, info, err := FetchIndex(ctx, FetchIndexOptions{Mirror: mirror, Release: "bookworm", Arch: "i386", CacheDir: cache})
	var ue *url.Error
	if errors.As(err, &ue) {
		testenv.Unavailable(t, "network: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if info.Path != "dists/bookworm/main/binary-i386/Packages.xz" || len(info.SHA256) != 64 {
		t.Errorf("IndexInfo %+v", info)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256Hex(b); got != info.SHA256 || int64(len(b)) != info.Size {
		t.Errorf("%s: sha256 %s size %d, IndexInfo says %s %d", p, got, len(b), info.SHA256, info.Size)
	}
	ix, err := debian.OpenPackages(ctx, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nginx-light", "runit", "python3"} {
		if len(ix.Lookup(name)) == 0 {
			t.Errorf("index has no %s", name)
		}
	}
}

// FetchIndex fetches an index along the archive's trust chain; the mirror
// comes from this machine's apt sources. It has no Output: it needs the
// network and its result changes with the archive, so go test compiles it
// without running it.
func ExampleFetchIndex() {
	ctx := context.Background()
	srcs, err := debian.ReadAptSources("/")
	if err != nil || len(srcs) == 0 || len(srcs[0].URIs) == 0 {
		fmt.Println("no apt sources:", err)
		return
	}
	path, info, err := FetchIndex(ctx, FetchIndexOptions{
		Mirror:  srcs[0].URIs[0],
		Release: "bookworm",
		Arch:    "i386",
	})
	if err != nil {
		fmt.Println(err) // a *SignatureError, a *DigestMismatchError, or a network error
		return
	}
	ix, err := debian.OpenPackages(ctx, path, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(info.Path, info.SHA256, len(ix.Packages))
}
