package executor

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The archive tests extract into a directory "out" that stands for
// containDest, as extractArchive's staging directory stands for the
// destination.
const containDest = "/opt/app"

func tarDirEntry(name string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}
}
func tarFileEntry(name string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}
}
func tarSymlinkEntry(name, target string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target}
}
func tarHardlinkEntry(name, target string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target}
}

// extractEntries writes the entries as a tar.gz (every regular file
// holding its own name) and extracts it with the given strip; it returns
// the extracted tree's directory and extract's error.
func extractEntries(t *testing.T, strip int, entries ...tar.Header) (string, error) {
	t.Helper()
	content := map[string]string{}
	for _, h := range entries {
		content[h.Name] = h.Name + "\n"
	}
	return extractBytes(t, "tar.gz", tarGz(t, entries, content), strip)
}

func extractBytes(t *testing.T, format string, b []byte, strip int) (string, error) {
	t.Helper()
	tmp := t.TempDir()
	src := filepath.Join(tmp, "a."+format)
	if err := os.WriteFile(src, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenRoot(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = extract(t.Context(), r, src, format, strip, nil, containDest)
	return out, err
}

// TestExtractRefusesLinksLeadingOut builds trees whose every link is
// harmless read on its own, as a string, but which once extracted lead
// out of the destination: each must be refused, naming the link and where
// it leads.
func TestExtractRefusesLinksLeadingOut(t *testing.T) {
	tests := []struct {
		name    string
		strip   int
		entries []tar.Header
		want    []string // in the error, all of them
	}{
		{"chain of links", 1, []tar.Header{
			tarDirEntry("pkg/a/"),
			tarSymlinkEntry("pkg/a/b", ".."),
			tarSymlinkEntry("pkg/c", "a/b/.."),
			tarSymlinkEntry("pkg/d", "c/.."),
			tarSymlinkEntry("pkg/etc", "d/etc"),
		}, []string{`entry "pkg/etc"`, "to /etc (through d -> c/..", `entry "pkg/c"`, "to /opt (through a/b -> ..)", `entry "pkg/d"`, "to / (through", `".." above /opt/app`}},
		{"absolute target, then up", 0, []tar.Header{
			tarSymlinkEntry("top", containDest),
			tarSymlinkEntry("esc", "top/../etc"),
		}, []string{`entry "esc"`, "to /opt/etc (through top -> /opt/app)"}},
		{"absolute target through a link", 0, []tar.Header{
			tarDirEntry("a/"),
			tarSymlinkEntry("a/up", ".."),
			tarSymlinkEntry("x", containDest+"/a/up/../etc"),
		}, []string{`entry "x"`, "to /opt/etc (through a/up -> ..)"}},
		{"absolute target elsewhere", 0, []tar.Header{
			tarSymlinkEntry("x", "/opt/application"),
		}, []string{`entry "x"`, "to /opt/application, outside /opt/app;"}},
		{"chain through directories created later", 0, []tar.Header{
			tarSymlinkEntry("c", "a/b/../shadow"),
			tarDirEntry("a/"),
			tarSymlinkEntry("a/b", ".."),
		}, []string{`entry "c"`, "to /opt/shadow ("}},
		{"link replaced by a later entry", 0, []tar.Header{
			tarDirEntry("a/"),
			tarDirEntry("a/x/"),
			tarSymlinkEntry("a/b", "x"),
			tarSymlinkEntry("c", "a/b/../../etc"),
			tarSymlinkEntry("a/b", ".."),
		}, []string{`entry "c"`, "symbolic link /opt/app/c -> a/b/../../etc", "to /etc ("}},
		{"file replaced by a link", 0, []tar.Header{
			tarDirEntry("a/"),
			tarFileEntry("a/b"),
			tarSymlinkEntry("c", "a/b/../etc"),
			tarSymlinkEntry("a/b", ".."),
		}, []string{`entry "c"`, "to /opt/etc ("}},
		{"links to links", 0, []tar.Header{
			tarSymlinkEntry("l1", "l2/etc"),
			tarSymlinkEntry("l2", "l3"),
			tarSymlinkEntry("l3", "sub/up/.."),
			tarDirEntry("sub/"),
			tarSymlinkEntry("sub/up", ".."),
		}, []string{`entry "l1"`, "symbolic link /opt/app/l1 -> l2/etc", "to /opt/etc (through l2 -> l3, l3 -> sub/up/.., sub/up -> .."}},
		{"loop", 0, []tar.Header{
			tarSymlinkEntry("x", "y"),
			tarSymlinkEntry("y", "x"),
		}, []string{`entry "x"`, "cannot be followed: more than 40 symbolic links on the way"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := extractEntries(t, tt.strip, tt.entries...)
			if err == nil {
				t.Fatalf("extracted; want an error saying %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestExtractZipLinkChain: zip archives go through the same check.
func TestExtractZipLinkChain(t *testing.T) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	add := func(name string, mode fs.FileMode, body string) {
		h := &zip.FileHeader{Name: name}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	add("a/", fs.ModeDir|0o755, "")
	add("a/b", fs.ModeSymlink|0o777, "..")
	add("c", fs.ModeSymlink|0o777, "a/b/..")
	add("etc", fs.ModeSymlink|0o777, "c/etc")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := extractBytes(t, "zip", b.Bytes(), 0)
	if err == nil || !strings.Contains(err.Error(), `entry "etc"`) || !strings.Contains(err.Error(), "to /opt/etc (") {
		t.Errorf("want etc refused as leading to /opt/etc, got %v", err)
	}
}

// TestExtractKeepsLinksInside: links that stay inside, however they get
// there, are extracted, and work.
func TestExtractKeepsLinksInside(t *testing.T) {
	out, err := extractEntries(t, 1,
		tarDirEntry("node/usr/lib/"),
		tarSymlinkEntry("node/lib", "usr/lib"),
		// Written through lib: lands in usr/lib. (Links with absolute
		// targets are checked, not read: here they would lead to the host's
		// /opt/app.)
		tarFileEntry("node/lib/node_modules/x/bin.js"),
		tarDirEntry("node/bin/"),
		tarSymlinkEntry("node/bin/node", "../lib/node_modules/x/bin.js"),
		tarSymlinkEntry("node/bin/abs", containDest+"/usr/lib/node_modules/x/bin.js"),
		tarSymlinkEntry("node/self", "."),
		tarSymlinkEntry("node/top", containDest),
		tarSymlinkEntry("node/via", "top/bin/node"),
		tarSymlinkEntry("node/dangling", "not/there/yet"),
		tarSymlinkEntry("node/up", "bin/../lib"),
		tarHardlinkEntry("node/bin/hard", "node/usr/lib/node_modules/x/bin.js"),
		// A link that would lead out, replaced before the end.
		tarSymlinkEntry("node/x", "../../.."),
		tarFileEntry("node/x"),
	)
	if err != nil {
		t.Fatal(err)
	}
	want := "node/lib/node_modules/x/bin.js\n"
	for _, p := range []string{"usr/lib/node_modules/x/bin.js", "bin/node", "bin/hard", "up/node_modules/x/bin.js", "self/bin/node"} {
		if b, err := os.ReadFile(filepath.Join(out, p)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q", p, b, err, want)
		}
	}
	if fi, err := os.Lstat(filepath.Join(out, "x")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("x: want the regular file that replaced the link, got %v %v", fi, err)
	}
}

// TestExtractHardLinks: a hard link must name a regular file extracted
// before it.
func TestExtractHardLinks(t *testing.T) {
	tests := []struct {
		name    string
		entries []tar.Header
		want    string
	}{
		{"to outside", []tar.Header{tarHardlinkEntry("h", "../etc/shadow")}, "outside the destination"},
		{"absolute", []tar.Header{tarHardlinkEntry("h", "/etc/shadow")}, "outside the destination"},
		{"to a later entry", []tar.Header{tarHardlinkEntry("h", "f"), tarFileEntry("f")}, `entry "h": hard link to "f", which is not a file extracted before it`},
		{"to a directory", []tar.Header{tarDirEntry("d/"), tarHardlinkEntry("h", "d")}, `entry "h": hard link to "d", which is a directory`},
		// A second name of a link is a link read from another directory.
		{"to a symbolic link", []tar.Header{tarDirEntry("a/"), tarSymlinkEntry("a/l", "../x"), tarHardlinkEntry("h", "a/l")}, `entry "h": hard link to "a/l", which is a symbolic link`},
		{"to a link to a file", []tar.Header{tarFileEntry("f"), tarSymlinkEntry("l", "f"), tarHardlinkEntry("h", "l")}, `entry "h": hard link to "l", which is a symbolic link`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := extractEntries(t, 0, tt.entries...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("want an error saying %q, got %v", tt.want, err)
			}
		})
	}
}

// setArchive makes the environment's archive name hold these entries.
func (e *env) setArchive(name string, entries ...tar.Header) {
	e.t.Helper()
	content := map[string]string{}
	for _, h := range entries {
		content[h.Name] = h.Name + "\n"
	}
	b := tarGz(e.t, entries, content)
	a := e.arts[name]
	fn := filepath.Base(a.URL)
	if err := os.WriteFile(filepath.Join(e.bundle, "artifacts", fn), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
	a.SHA256, a.Size = sum(b), int64(len(b))
	e.arts[name] = a
	for i := range e.bfiles {
		if e.bfiles[i].Kind == "archive" && e.bfiles[i].Name == name {
			e.bfiles[i].SHA256, e.bfiles[i].Size = a.SHA256, a.Size
		}
	}
	e.writeIndex()
}

// TestApplyRefusesLinkChain: the whole apply fails at the extract step,
// names the link, and rolls back: the destination is not created and no
// unpacking directory is left.
func TestApplyRefusesLinkChain(t *testing.T) {
	e := newEnv(t)
	e.setArchive("app",
		tarFileEntry("app-1.0/bin/app"),
		tarDirEntry("app-1.0/a/"),
		tarSymlinkEntry("app-1.0/a/b", ".."),
		tarSymlinkEntry("app-1.0/c", "a/b/.."),
		tarSymlinkEntry("app-1.0/d", "c/.."),
		tarSymlinkEntry("app-1.0/etc", "d/etc"),
	)
	before := e.snapshot()
	res, err := e.executor(nil).Apply(t.Context(), e.planJSON(e.installPlan("", 0)))
	var se *StepError
	if !errors.As(err, &se) || se.Step != "extract-archive:app" || se.RollbackErr != nil {
		t.Fatalf("want a rolled-back failure of the extract step, got %v", err)
	}
	for _, w := range []string{`entry "app-1.0/etc"`, "to /etc ("} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not say %q:\n%v", w, err)
		}
	}
	if res.Outcome != OutcomeRolledBack {
		t.Errorf("outcome %s", res.Outcome)
	}
	if d := diffSnapshots(before, e.snapshot()); d != "" {
		t.Errorf("the root changed:\n%s", d)
	}
	e.checkClean()
}
