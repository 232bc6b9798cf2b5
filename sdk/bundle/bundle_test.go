package bundle_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/sdk/bundle"
)

// makeBundle fetches two files into a fresh bundle from a local directory.
func makeBundle(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	deb, b1 := debItem("hello", "2.10-3", 1, 3000)
	npm, b2 := npmItem("left-pad", "1.3.0", 2, 2000)
	src := filepath.Join(dir, "src")
	write(t, filepath.Join(src, "hello_2.10-3_i386.deb"), b1)
	write(t, filepath.Join(src, "left-pad-1.3.0.tgz"), b2)
	out := filepath.Join(dir, "bundle")
	if _, err := bundle.Fetch(context.Background(), []bundle.Item{deb, npm},
		bundle.FetchOptions{Out: out, LocalDirs: []string{src}}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, dir string)
		want  []string // "path: reason" prefixes, in order
	}{
		{"intact", func(*testing.T, string) {}, nil},
		{"corrupt deb", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "debs/hello_2.10-3_i386.deb")
			b, _ := os.ReadFile(p)
			b[10] ^= 1
			write(t, p, b)
		}, []string{"debs/hello_2.10-3_i386.deb: sha256 is "}},
		{"truncated", func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(dir, "artifacts/left-pad-1.3.0.tgz"), 100); err != nil {
				t.Fatal(err)
			}
		}, []string{"artifacts/left-pad-1.3.0.tgz: size is 100 bytes, bundle.json says 2000"}},
		{"missing", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "debs/hello_2.10-3_i386.deb")); err != nil {
				t.Fatal(err)
			}
		}, []string{"debs/hello_2.10-3_i386.deb: missing"}},
		{"extra file", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "debs/evil_1.0_i386.deb"), []byte("x"))
		}, []string{"debs/evil_1.0_i386.deb: file not listed in bundle.json"}},
		{"extra dir", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "more/x"), []byte("x"))
		}, []string{"more/: directory not listed in bundle.json"}},
		{"symlink file", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "debs/hello_2.10-3_i386.deb")
			os.Rename(p, filepath.Join(t.TempDir(), "moved"))
			if err := os.Symlink("/etc/passwd", p); err != nil {
				t.Fatal(err)
			}
		}, []string{"debs/hello_2.10-3_i386.deb: is a symbolic link"}},
		{"symlink dir", func(t *testing.T, dir string) {
			// debs/ points elsewhere, holding the right bytes: still refused.
			elsewhere := filepath.Join(t.TempDir(), "debs")
			if err := os.Rename(filepath.Join(dir, "debs"), elsewhere); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, filepath.Join(dir, "debs")); err != nil {
				t.Fatal(err)
			}
		}, []string{"debs: symbolic link not listed", "debs/hello_2.10-3_i386.deb: lies below debs, a symbolic link"}},
		{"extra symlink", func(t *testing.T, dir string) {
			if err := os.Symlink("../bundle.json", filepath.Join(dir, "artifacts/link")); err != nil {
				t.Fatal(err)
			}
		}, []string{"artifacts/link: symbolic link not listed in bundle.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := makeBundle(t)
			tt.spoil(t, dir)
			b, err := bundle.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			err = b.Verify(context.Background())
			var got []string
			var ve *bundle.VerifyError
			if errors.As(err, &ve) {
				for _, p := range ve.Problems {
					got = append(got, p.String())
				}
			} else if err != nil {
				t.Fatalf("Verify: %v (not a *VerifyError)", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d = %q, want prefix %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	tests := []struct{ name, from, to, want string }{
		{"dotdot path", `"path": "debs/hello`, `"path": "debs/../../hello`, `"debs/../../hello_2.10-3_i386.deb": '..' in path`},
		{"absolute path", `"path": "debs/hello`, `"path": "/debs/hello`, `"/debs/hello_2.10-3_i386.deb": absolute path`},
		{"unclean path", `"path": "debs/hello`, `"path": "debs//hello`, `not in clean form`},
		{"lists itself", `"path": "debs/hello_2.10-3_i386.deb"`, `"path": "bundle.json"`, `cannot list itself`},
		{"outside dirs", `"path": "debs/hello`, `"path": "other/hello`, `bundle.schema.json`},
		{"bad digest", `"sha256": "`, `"sha256": "X`, `bundle.schema.json`},
		{"unknown field", `"size": 3000`, `"size": 3000, "colour": "red"`, `colour`},
		{"format version", `"formatVersion": 1`, `"formatVersion": 2`, `formatVersion`},
		{"npm without integrity", `"integrity": "sha512-`, `"x": "sha512-`, `integrity`},
		{"deb without arch", `"arch": "i386",`, ``, `arch`},
		{"bad target", `"formatVersion": 1,`, `"formatVersion": 1, "target": {"name": "x", "arch": "386", "debianArch": "sparc", "release": "bookworm"},`, `debianArch`},
		{"not json", `{`, `[`, `not a bundle index`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := makeBundle(t)
			p := filepath.Join(dir, bundle.IndexName)
			good, _ := os.ReadFile(p)
			bad := strings.Replace(string(good), tt.from, tt.to, 1)
			if bad == string(good) {
				t.Fatalf("replacement %q did not apply to:\n%s", tt.from, good)
			}
			write(t, p, []byte(bad))
			_, err := bundle.Open(dir)
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	if _, err := bundle.Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "bundle.json") {
		t.Errorf("no bundle.json: err = %v", err)
	}
}

func TestIndexRoundTrip(t *testing.T) {
	dir := makeBundle(t)
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Index.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, bundle.IndexName))
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("Marshal(Open(x)) != x (-want +got):\n%s", diff)
	}
}
