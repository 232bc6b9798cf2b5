package executor

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// dirFDs makes directories and links within its tree and follows no
// symbolic link on the way: a link to a directory outside, planted in the
// tree, is not a way out.
func TestDirFDsStayInside(t *testing.T) {
	top := t.TempDir()
	outside := t.TempDir()
	for _, d := range []string{"base/lib", "stage"} {
		if err := os.MkdirAll(filepath.Join(top, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(top, "base/lib/a.js"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(top, "stage/out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(top, "base/lib/pw")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(top)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	base, err := openDirFDs(root, "base")
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	stage, err := openDirFDs(root, "stage")
	if err != nil {
		t.Fatal(err)
	}
	defer stage.Close()

	if err := stage.linkFrom(base, "lib/a.js", "deep/er/a.js"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(top, "stage/deep/er/a.js")); err != nil || string(b) != "a" {
		t.Errorf("linked file: %q %v", b, err)
	}
	if ok, err := stage.fixRegular("deep/er/a.js", 1, 0o444); err != nil || !ok {
		t.Errorf("fixRegular of the 1-byte file: %v %v", ok, err)
	}
	if fi, _ := os.Stat(filepath.Join(top, "base/lib/a.js")); fi.Mode().Perm() != 0o444 {
		t.Errorf("mode %v, want 0444 on the shared inode", fi.Mode().Perm())
	}
	if ok, _ := stage.fixRegular("deep/er/a.js", 2, 0o444); ok {
		t.Error("fixRegular accepted the wrong size")
	}
	// Through the planted link: refused, nothing written outside.
	if err := stage.linkFrom(base, "lib/a.js", "out/a.js"); err == nil {
		t.Error("a link through stage/out (a symbolic link to a directory outside) was made")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("%d entries written outside the tree", len(ents))
	}
	// A symbolic link is linked as itself, and is not a regular file.
	if err := stage.linkFrom(base, "lib/pw", "pw"); err != nil {
		t.Fatal(err)
	}
	if target, err := stage.readlink("pw"); err != nil || target != "/etc/passwd" {
		t.Errorf("readlink pw: %q %v", target, err)
	}
	if ok, err := stage.fixRegular("pw", 0, 0o444); ok || err != nil {
		t.Errorf("fixRegular of a symbolic link: %v %v, want false", ok, err)
	}
	for _, p := range []string{"../base/lib/a.js", "deep/../../x", "."} {
		if err := stage.linkFrom(base, "lib/a.js", p); err == nil {
			t.Errorf("linkFrom to %q succeeded", p)
		}
	}
}

// A release's tar is unpacked only as the plan lists it: each listed file
// once, nothing through a symbolic link, no other entry type.
func TestExtractReleaseRefuses(t *testing.T) {
	want := func() map[string]bool { return map[string]bool{"a.js": true, "lib/b.js": true, "l": true} }
	for _, tc := range []struct {
		name string
		ents []tarEnt
		err  string
	}{
		{"good", []tarEnt{{"lib/", "", tar.TypeDir}, {"lib/b.js", "", tar.TypeReg}, {"a.js", "", tar.TypeReg}, {"l", "lib", tar.TypeSymlink}}, ""},
		{"escape", []tarEnt{{"../a.js", "", tar.TypeReg}}, "not a clean relative path"},
		{"unlisted", []tarEnt{{"c.js", "", tar.TypeReg}}, "not a file of the release"},
		{"twice", []tarEnt{{"a.js", "", tar.TypeReg}, {"a.js", "", tar.TypeReg}}, "not a file of the release"},
		{"through a link", []tarEnt{{"lib", "/etc", tar.TypeSymlink}, {"lib/b.js", "", tar.TypeReg}}, "not a file of the release"},
		{"through a link dir", []tarEnt{{"l", "/tmp", tar.TypeSymlink}, {"l/x/", "", tar.TypeDir}}, "not a directory"},
		{"hard link", []tarEnt{{"a.js", "l", tar.TypeLink}}, "only directories, files and symbolic links"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			root, err := os.OpenRoot(top)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			d, err := openDirFDs(root, ".")
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			err = d.extractRelease(t.Context(), writeTar(t, tc.ents), want())
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b, err := os.ReadFile(filepath.Join(top, "l", "b.js")); err != nil || string(b) != "x" {
					t.Errorf("l/b.js: %q %v", b, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

// More directories than maxOpenDirs: the cache is emptied and refilled,
// and every file still lands where it should.
func TestDirFDsManyDirs(t *testing.T) {
	top := t.TempDir()
	root, err := os.OpenRoot(top)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	d, err := openDirFDs(root, ".")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	want := map[string]bool{}
	for i := 0; i < 3*maxOpenDirs; i++ {
		p := filepath.Join("m", strconv.Itoa(i%7), strconv.Itoa(i), "f")
		want[filepath.ToSlash(p)] = true
	}
	var ents []tarEnt
	for p := range want {
		ents = append(ents, tarEnt{p, "", tar.TypeReg})
	}
	if err := d.extractRelease(t.Context(), writeTar(t, ents), want); err != nil {
		t.Fatal(err)
	}
	if len(d.open) > maxOpenDirs {
		t.Errorf("%d directories open, more than %d", len(d.open), maxOpenDirs)
	}
	for p := range map[string]bool{"m/0/0/f": true, "m/4/767/f": true} {
		if _, err := os.Stat(filepath.Join(top, p)); err != nil {
			t.Error(err)
		}
	}
}

// A release's link that leads out of it, alone or through another, is
// refused by the link check the install runs over the unpacked tree.
func TestReleaseLinksStayInside(t *testing.T) {
	for _, tc := range []struct {
		name string
		ents []tarEnt
		ok   bool
	}{
		{"inside", []tarEnt{{"a/", "", tar.TypeDir}, {"a/f", "", tar.TypeReg}, {"l", "a/f", tar.TypeSymlink}}, true},
		{"absolute", []tarEnt{{"l", "/", tar.TypeSymlink}}, false},
		{"up", []tarEnt{{"l", "../../etc", tar.TypeSymlink}}, false},
		{"through another", []tarEnt{{"a/", "", tar.TypeDir}, {"a/b", "..", tar.TypeSymlink}, {"c", "a/b/..", tar.TypeSymlink}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			root, err := os.OpenRoot(top)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			d, err := openDirFDs(root, ".")
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			want := map[string]bool{}
			for _, e := range tc.ents {
				if e.kind != tar.TypeDir {
					want[e.name] = true
				}
			}
			if err := d.extractRelease(t.Context(), writeTar(t, tc.ents), want); err != nil {
				t.Fatal(err)
			}
			err = (&extractor{root: root, dest: "/srv/apps/x/releases/1"}).checkLinks()
			if tc.ok != (err == nil) {
				t.Errorf("checkLinks: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

type tarEnt struct {
	name, link string
	kind       byte
}

func writeTar(t *testing.T, ents []tarEnt) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "r.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Typeflag: e.kind, Linkname: e.link, Mode: 0o644}
		if e.kind == tar.TypeReg {
			h.Size = 1
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.kind == tar.TypeReg {
			tw.Write([]byte("x"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}
