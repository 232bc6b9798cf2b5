package debian

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func tarball(t *testing.T, compression string, entries []tarEntry) []byte {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return compressed(t, compression, raw.Bytes())
}

// buildDeb writes a .deb (ar archive of debian-binary, control.tar.gz
// and data.tar.<compression>) as dpkg-deb lays it out.
func buildDeb(t *testing.T, control, compression string, data []tarEntry) string {
	t.Helper()
	members := []struct {
		name string
		body []byte
	}{
		{"debian-binary", []byte("2.0\n")},
		{"control.tar.gz", tarball(t, "gz", []tarEntry{{name: "./control", body: control, typ: tar.TypeReg, mode: 0o644}})},
		{"data.tar." + compression, tarball(t, compression, data)},
	}
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	for _, m := range members {
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.body))
		b.Write(m.body)
		if len(m.body)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	p := filepath.Join(t.TempDir(), "pkg.deb")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInspectDeb(t *testing.T) {
	const control = `Package: runit
Version: 2.1.2-54
Architecture: i386
Maintainer: Someone <someone@example.org>
Installed-Size: 362
Pre-Depends: libc6 (>= 2.34)
Depends: runit-helper (>= 2.14.0~), sysuser-helper
Provides: runit-init-compat
Conflicts: runit-systemd (<< 2.1.2-40)
Breaks: runit-init (<< 2.1.2-41)
Replaces: runit-init (<< 2.1.2-41)
Multi-Arch: foreign
Essential: no
Section: admin
Priority: optional
Description: system-wide service supervision
 runit is a collection of tools.
`
	data := []tarEntry{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		{name: "./usr/bin/", typ: tar.TypeDir, mode: 0o755},
		{name: "./usr/bin/sv", body: "\x7fELF", typ: tar.TypeReg, mode: 0o755},
		{name: "./usr/sbin/runsvdir", typ: tar.TypeSymlink, link: "../bin/runsvdir", mode: 0o777},
		{name: "./usr/bin/chpst", typ: tar.TypeLink, link: "./usr/bin/sv", mode: 0o755},
	}
	wantFiles := []DebFile{
		{Path: "/usr/bin", Mode: fs.ModeDir | 0o755},
		{Path: "/usr/bin/sv", Mode: 0o755, Size: 4},
		{Path: "/usr/sbin/runsvdir", Mode: fs.ModeSymlink | 0o777, LinkName: "../bin/runsvdir"},
		{Path: "/usr/bin/chpst", Mode: 0o755, LinkName: "/usr/bin/sv"},
	}
	for _, compression := range []string{"xz", "gz", "zst"} {
		t.Run(compression, func(t *testing.T) {
			path := buildDeb(t, control, compression, data)
			d, err := InspectDeb(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			p := d.Package
			got := []string{p.Name, p.Version, p.Architecture, p.PreDepends, p.Depends, p.Provides, p.Conflicts, p.Breaks, p.Replaces, p.MultiArch, fmt.Sprint(p.Essential, p.InstalledSize), d.DataCompression}
			want := []string{"runit", "2.1.2-54", "i386", "libc6 (>= 2.34)", "runit-helper (>= 2.14.0~), sysuser-helper", "runit-init-compat",
				"runit-systemd (<< 2.1.2-40)", "runit-init (<< 2.1.2-41)", "runit-init (<< 2.1.2-41)", "foreign", "false 362", compression}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("control (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(d.Control["Description"], "system-wide service supervision") || d.Control["Maintainer"] == "" {
				t.Errorf("Control lacks fields the resolver does not keep: %v", d.Control)
			}
			if len(p.SHA256) != 64 || p.Size == 0 {
				t.Errorf("digest %q size %d, want the .deb's", p.SHA256, p.Size)
			}
			if diff := cmp.Diff(wantFiles, d.Files); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInspectDebErrors(t *testing.T) {
	dir := t.TempDir()
	notDeb := filepath.Join(dir, "not.deb")
	os.WriteFile(notDeb, []byte("hello"), 0o644)
	for _, p := range []string{notDeb, filepath.Join(dir, "missing.deb")} {
		if _, err := InspectDeb(context.Background(), p); err == nil || !strings.Contains(err.Error(), filepath.Base(p)) {
			t.Errorf("InspectDeb(%s) err = %v, want an error naming the file", p, err)
		}
	}
}
