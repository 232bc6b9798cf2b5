package executor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/sdk/bundle"
)

// FuzzOpenBundle feeds the executor's bundle opening (bundle.json read
// with sdk/bundle/format, unlisted files refused, files indexed by digest)
// arbitrary bytes, starting from an index sdk/bundle writes. An index it
// accepts must name only files inside the bundle, each findable by its
// digest; and it must accept every index sdk/bundle accepts in a
// directory holding nothing else, since that is what makes the bundles it
// is given.
func FuzzOpenBundle(f *testing.F) {
	ix := &bundle.Index{Files: []bundle.File{
		{Kind: "deb", Name: "hello", Version: "2.10-3", Arch: "i386", Path: "debs/hello_2.10-3_i386.deb", SHA256: strings.Repeat("a", 64), Size: 3000},
		{Kind: "archive", Name: "app", Path: "artifacts/app.tar.gz", SHA256: strings.Repeat("b", 64), Size: 20},
	}}
	b, err := ix.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"formatVersion": 1, "files": []}`))
	f.Add([]byte(strings.Replace(string(b), "debs/hello", "../hello", 1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, bundleIndexName), b, 0o644); err != nil {
			t.Fatal(err)
		}
		bi, err := openBundle(dir)
		_, perr := bundle.ParseIndex(b)
		if perr == nil && err != nil {
			t.Fatalf("the executor refuses an index sdk/bundle accepts: %v", err)
		}
		if err != nil {
			return
		}
		for _, f := range bi.b.Index.Files {
			rel, rerr := filepath.Rel(dir, bi.path(f))
			if rerr != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
				t.Errorf("accepted file %q is at %s, outside the bundle", f.Path, bi.path(f))
			}
			if g, ok := bi.lookup(f.SHA256); !ok || g.SHA256 != f.SHA256 {
				t.Errorf("file %q is not found by its digest %s", f.Path, f.SHA256)
			}
		}
	})
}
