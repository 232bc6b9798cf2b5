package executor

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ulikunitz/xz"
)

// FuzzExtract unpacks arbitrary archives (tar.gz, tar.xz, zip; any strip
// and include pattern) into a directory nested in a temporary one, and
// asserts containment: nothing outside that directory is created, changed
// or removed; extraction allocates in proportion to the archive; and when
// extract reports success, the tree holds only directories, regular files
// and symbolic links, no hard link has a name outside it, and no symbolic
// link, followed as the kernel will once the tree is at its destination,
// leads out of it.
func FuzzExtract(f *testing.F) {
	for _, s := range extractSeeds(f) {
		f.Add(s.data, s.format, uint8(0), "")
	}
	f.Add(extractSeeds(f)[0].data, uint8(0), uint8(1), "bin/*")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte, format, strip uint8, include string) {
		formats := []string{"tar.gz", "tar.xz", "zip"}
		var inc []string
		if include != "" {
			inc = []string{include}
		}
		base, err := filepath.EvalSymlinks(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(base, "canary"), "canary")
		mustWrite(t, filepath.Join(base, "outside", "keep"), "keep")
		src := filepath.Join(base, "src.archive")
		mustWrite(t, src, string(data))
		tree := filepath.Join(base, "a", "b", "tree")
		if err := os.MkdirAll(tree, 0o755); err != nil {
			t.Fatal(err)
		}
		before := snapshotOutside(t, base, tree)
		root, err := os.OpenRoot(tree)
		if err != nil {
			t.Fatal(err)
		}
		var xerr error
		boundedAllocations(t, len(data), func() {
			_, xerr = extract(ctx, root, src, formats[int(format)%len(formats)], int(strip%4), inc, tree)
		})
		root.Close()
		if diff := diffSnapshots(before, snapshotOutside(t, base, tree)); diff != "" {
			t.Fatalf("extract changed files outside its root (err %v):\n%s", xerr, diff)
		}
		if xerr != nil {
			return
		}
		checkTree(t, tree)
	})
}

type extractSeed struct {
	data   []byte
	format uint8 // index into FuzzExtract's formats
}

// extractSeeds are archives like the ones runtimes ship, and ones that try
// to get out.
func extractSeeds(t testing.TB) []extractSeed {
	reg := func(name string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755} }
	dir := func(name string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755} }
	sym := func(name, to string) tar.Header {
		return tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: to, Mode: 0o777}
	}
	hard := func(name, to string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: to} }
	content := map[string]string{"pkg/bin/app": "#!/bin/sh\n", "pkg/lib/x.so": "\x7fELF", "x": "x", "a/x": "a"}
	var out []extractSeed
	for _, entries := range [][]tar.Header{
		{dir("pkg/"), dir("pkg/bin/"), reg("pkg/bin/app"), dir("pkg/lib/"), reg("pkg/lib/x.so"),
			sym("pkg/bin/app2", "app"), sym("pkg/lib/abs", "/"), hard("pkg/bin/app3", "pkg/bin/app")},
		{reg("../x")},
		{reg("/x")},
		{sym("a", "../../.."), reg("a/x")},
		{sym("a", "/etc"), reg("a/x")},
		{dir("a/"), sym("a/b", ".."), sym("c", "a/b/..")},
		{sym("l", "l")},
		{hard("h", "/etc/passwd")},
		{{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}},
	} {
		tg := tarGz(t, entries, content)
		out = append(out, extractSeed{tg, 0})
		if raw, err := gunzipAll(tg); err == nil {
			var xb bytes.Buffer
			if w, err := xz.NewWriter(&xb); err == nil {
				w.Write(raw)
				w.Close()
				out = append(out, extractSeed{xb.Bytes(), 1})
			}
		}
	}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for _, e := range []struct {
		name string
		mode fs.FileMode
		body string
	}{
		{"pkg/", fs.ModeDir | 0o755, ""},
		{"pkg/bin/app", 0o755, "#!/bin/sh\n"},
		{"pkg/link", fs.ModeSymlink | 0o777, "bin/app"},
		{"pkg/out", fs.ModeSymlink | 0o777, "../../x"},
		{"../zip-slip", 0o644, "x"},
	} {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	zw.Close()
	out = append(out, extractSeed{zb.Bytes(), 2})
	return out
}

func gunzipAll(b []byte) ([]byte, error) {
	var out bytes.Buffer
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	_, err = out.ReadFrom(zr)
	return out.Bytes(), err
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshotOutside describes every file under base except the tree: kind,
// mode, and content or link target.
func snapshotOutside(t *testing.T, base, tree string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == tree {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(s[:8])
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				desc += fmt.Sprintf(" links=%d", st.Nlink)
			}
		}
		out[p] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkTree asserts what a successful extraction leaves: only
// directories, regular files and symbolic links, hard links only between
// names in the tree, and symbolic links that stay in it.
func checkTree(t *testing.T, tree string) {
	t.Helper()
	names := map[uint64]int{} // names seen in the tree, by inode
	nlink := map[uint64]uint64{}
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		m := fi.Mode()
		switch {
		case m.IsDir():
		case m.IsRegular():
			if m&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
				t.Errorf("%s: extracted with mode %v", rel, m)
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				names[st.Ino]++
				nlink[st.Ino] = uint64(st.Nlink)
			}
		case m&fs.ModeSymlink != 0:
			if out, how := linkLeavesTree(tree, filepath.ToSlash(rel)); out {
				t.Errorf("symbolic link %s leads out of the tree: %s", rel, how)
			}
		default:
			t.Errorf("%s: extracted as %v, not a directory, regular file or symbolic link", rel, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for ino, n := range names {
		if uint64(n) != nlink[ino] {
			t.Errorf("a file of the tree has %d names, %d of them in the tree: a hard link leads out", nlink[ino], n)
		}
	}
}

// linkLeavesTree follows the symbolic link at rel in the tree at dir,
// component by component as the kernel does, with the tree where it is
// (an absolute target is inside only if it names dir or below, literally).
// A component that does not exist is taken as a directory that may be
// created later. It reports whether the walk leaves the tree, and how.
func linkLeavesTree(dir, rel string) (bool, string) {
	top := strings.Split(strings.Trim(filepath.ToSlash(dir), "/"), "/")
	var cur []string
	todo := strings.Split(rel, "/")
	for links := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return true, "\"..\" above the tree at /" + strings.Join(cur, "/")
			}
			cur = cur[:len(cur)-1]
			continue
		}
		next := append(slices.Clip(cur), c)
		p := filepath.Join(append([]string{dir}, next...)...)
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > 255 {
			return false, "" // ELOOP: it leads nowhere
		}
		target, err := os.Readlink(p)
		if err != nil {
			return true, err.Error()
		}
		parts := strings.Split(target, "/")
		if strings.HasPrefix(target, "/") {
			var named []string
			for _, s := range parts {
				if s != "" && s != "." {
					named = append(named, s)
				}
			}
			if len(named) < len(top) || !slices.Equal(named[:len(top)], top) {
				return true, fmt.Sprintf("%s -> %s", strings.Join(next, "/"), target)
			}
			cur, parts = nil, named[len(top):]
		}
		todo = append(parts, todo...)
	}
	return false, ""
}

// The fuzz target's own link oracle, on trees whose answer is known.
func TestLinkLeavesTree(t *testing.T) {
	type entry struct{ name, target string } // a name ending in "/" is a directory
	tests := []struct {
		name    string
		entries []entry // made in order
		link    string
		want    bool
	}{
		{"sibling", []entry{{"a", "b"}}, "a", false},
		{"up and out", []entry{{"a", "../x"}}, "a", true},
		{"up within", []entry{{"d/", ""}, {"d/a", "../x"}}, "d/a", false},
		{"through a link to its parent", []entry{{"a/", ""}, {"a/b", ".."}, {"c", "a/b/.."}}, "c", true},
		{"absolute below the tree", []entry{{"a", "TREE/x"}}, "a", false},
		{"absolute elsewhere", []entry{{"a", "/etc"}}, "a", true},
		{"absolute via dot-dot", []entry{{"a", "TREE/../x"}}, "a", true},
		{"loop", []entry{{"a", "a"}}, "a", false},
		{"dangling within", []entry{{"a", "nowhere/yet"}}, "a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tt.entries {
				name, target := e.name, e.target
				p := filepath.Join(tree, name)
				if strings.HasSuffix(name, "/") {
					if err := os.MkdirAll(p, 0o755); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.Symlink(strings.ReplaceAll(target, "TREE", tree), p); err != nil {
					t.Fatal(err)
				}
			}
			if got, how := linkLeavesTree(tree, tt.link); got != tt.want {
				t.Errorf("linkLeavesTree = %v (%s), want %v", got, how, tt.want)
			}
		})
	}
}
