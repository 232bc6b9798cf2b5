package executor

import (
	"os"
	"path/filepath"
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
