package format_test

import (
	"bytes"
	"path"
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/sdk/bundle/format"
)

// FuzzParseIndex feeds ParseIndex arbitrary bytes, starting from a real
// bundle's index. An accepted index must list only paths that stay inside
// the bundle, each once, and must survive a write/read/write round trip
// unchanged.
func FuzzParseIndex(f *testing.F) {
	ix := &format.Index{Files: []format.File{
		{Kind: "deb", Name: "hello", Version: "2.10-3", Arch: "i386", Path: "debs/hello_2.10-3_i386.deb", SHA256: strings.Repeat("a", 64), Size: 3000},
		{Kind: "npm", Name: "left-pad", Version: "1.3.0", Path: "artifacts/left-pad-1.3.0.tgz", SHA256: strings.Repeat("b", 64), Size: 2000,
			Integrity: "sha512-" + strings.Repeat("A", 86) + "=="},
	}}
	b, err := ix.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"formatVersion": 1, "files": []}`))
	f.Add([]byte(`{"formatVersion": 1, "files": [{"path": "../x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := format.ParseIndex(b)
		if err != nil {
			if ix != nil {
				t.Errorf("ParseIndex returned an index with its error %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, f := range ix.Files {
			if f.Path == "" || path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == ".." || strings.HasPrefix(f.Path, "../") || strings.Contains(f.Path, "\\") {
				t.Errorf("accepted path %q can leave the bundle", f.Path)
			}
			if seen[f.Path] {
				t.Errorf("accepted path %q listed twice", f.Path)
			}
			seen[f.Path] = true
		}
		once, err := ix.Marshal()
		if err != nil {
			t.Fatalf("accepted index does not marshal: %v", err)
		}
		ix2, err := format.ParseIndex(once)
		if err != nil {
			t.Fatalf("accepted index, written back, is refused: %v\n%s", err, once)
		}
		twice, err := ix2.Marshal()
		if err != nil {
			t.Fatalf("re-read index does not marshal: %v", err)
		}
		if !bytes.Equal(once, twice) {
			t.Errorf("index changes on a write/read/write round trip:\n%s\n---\n%s", once, twice)
		}
	})
}
