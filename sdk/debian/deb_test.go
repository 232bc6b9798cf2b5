package debian

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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

// TestDebReader: one reader reads the control and the data of .debs in
// every compression, one after another, its xz decoder reused; a
// restricted reader refuses the compressions it is not given.
func TestDebReader(t *testing.T) {
	const control = "Package: a\nVersion: 1.0-1\nArchitecture: i386\nPre-Depends: libc6 (>= 2.34)\nDescription: d\n"
	data := []tarEntry{{name: "./usr/bin/a", body: "a", typ: tar.TypeReg, mode: 0o755}}
	write := func(deb []byte) string {
		p := filepath.Join(t.TempDir(), "a.deb")
		if err := os.WriteFile(p, deb, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var dr DebReader
	for _, compression := range []string{"xz", "gz", "zst", "plain", "xz"} {
		path := write(fuzzDeb(t, control, compression, data))
		suffix := strings.TrimSuffix("."+compression, ".plain")
		var member string
		var names []string
		err := dr.Data(path, func(m string, r io.Reader) error {
			member = m
			tr := tar.NewReader(r)
			for {
				h, err := tr.Next()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				names = append(names, h.Name)
			}
		})
		if err != nil || member != "data.tar"+suffix || !slices.Equal(names, []string{"./usr/bin/a"}) {
			t.Errorf("%s: Data read %s %q, %v", compression, member, names, err)
		}
		d, err := dr.Control(path)
		if err != nil {
			t.Fatalf("%s: %v", compression, err)
		}
		if p := d.Package; p.Name != "a" || p.Version != "1.0-1" || p.PreDepends != "libc6 (>= 2.34)" || d.DataCompression != strings.TrimPrefix(suffix, ".") || d.Files != nil {
			t.Errorf("%s: Control = %+v", compression, d)
		}
	}

	strict := DebReader{Compressions: []string{"", "gz", "xz", "zst"}}
	path := write(arDeb("bz2", compressed(t, "gz", tarOf(t, []tarEntry{{name: "./control", body: control, typ: tar.TypeReg, mode: 0o644}})), []byte("BZh")))
	err := strict.Data(path, func(string, io.Reader) error { return nil })
	if want := `data.tar.bz2: unsupported compression "bz2" (gzip, xz, zstd or none are read)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Data of a bz2 member: %v, want an error saying %s", err, want)
	}
	if _, err := strict.Control(path); err != nil {
		t.Errorf("Control of a .deb with a gz control member and bz2 data: %v", err)
	}

	notDeb := filepath.Join(t.TempDir(), "x.deb")
	os.WriteFile(notDeb, []byte("<html>not found</html>"), 0o644)
	if _, err := dr.Control(notDeb); err == nil || !strings.Contains(err.Error(), "x.deb: not a Debian package") {
		t.Errorf("not a .deb: %v", err)
	}
}
