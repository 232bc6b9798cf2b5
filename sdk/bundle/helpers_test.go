package bundle_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/sdk/bundle"
)

// content returns n pseudo-random bytes that depend on seed.
func content(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func sri(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(s[:])
}

// debItem returns a .deb item and its bytes.
func debItem(name, version string, seed uint64, size int) (bundle.Item, []byte) {
	b := content(seed, size)
	v := version
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	return bundle.Item{
		Kind: bundle.KindDeb, Name: name, Version: version, Arch: "i386",
		Filename: fmt.Sprintf("pool/main/%c/%s/%s_%s_i386.deb", name[0], name, name, v),
		SHA256:   sum(b), Size: int64(len(b)),
	}, b
}

// npmItem returns an npm tarball item and its bytes.
func npmItem(name, version string, seed uint64, size int) (bundle.Item, []byte) {
	b := content(seed, size)
	return bundle.Item{Kind: bundle.KindNPM, Name: name, Version: version,
		Integrity: sri(b), SHA256: sum(b), Size: int64(len(b))}, b
}

// server is a fake mirror and registry: it serves files by URL path with
// range support (http.ServeContent) and can misbehave on purpose.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	// dropAfter: serve this many bytes of the file, then break the
	// connection; once per path.
	dropAfter map[string]int
	// stallAfter: serve this many bytes, then stop sending; once per path.
	stallAfter map[string]int
	// noRange: ignore Range headers.
	noRange bool
	log     []string // "path range"
}

func newServer(t *testing.T) *server {
	s := &server{files: map[string][]byte{}, dropAfter: map[string]int{}, stallAfter: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) add(path string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = b
}

func (s *server) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.log = append(s.log, strings.TrimSpace(r.URL.Path+" "+r.Header.Get("Range")))
	b, ok := s.files[r.URL.Path]
	drop, dropping := s.dropAfter[r.URL.Path]
	delete(s.dropAfter, r.URL.Path)
	stall, stalling := s.stallAfter[r.URL.Path]
	delete(s.stallAfter, r.URL.Path)
	noRange := s.noRange
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if dropping || stalling {
		n := drop
		if stalling {
			n = stall
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b[:n])
		w.(http.Flusher).Flush()
		if stalling {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
		panic(http.ErrAbortHandler) // break the connection mid-body
	}
	if noRange {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(b)))
}

// tree lists the files below dir with their digests, to compare states.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = sum(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// leftovers lists temporary directories Fetch left beside out.
func leftovers(t *testing.T, out string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".*"))
	sort.Strings(m)
	return m
}

func assertAbsent(t *testing.T, out string) {
	t.Helper()
	if _, err := os.Lstat(out); !os.IsNotExist(err) {
		t.Errorf("%s exists after a failed fetch (err %v)", out, err)
	}
	if l := leftovers(t, out); len(l) > 0 {
		t.Errorf("temporary directories left beside %s: %v", out, l)
	}
}
