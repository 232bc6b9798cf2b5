package debian

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ulikunitz/xz/lzma"
)

// renderStanzas writes packages back as control paragraphs, with the
// fields the readers keep.
func renderStanzas(ps []Package) []byte {
	var b bytes.Buffer
	field := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", name, v)
		}
	}
	for _, p := range ps {
		field("Package", p.Name)
		field("Version", p.Version)
		field("Architecture", p.Architecture)
		field("Multi-Arch", p.MultiArch)
		if p.Essential {
			field("Essential", "yes")
		}
		if p.Protected {
			field("Protected", "yes")
		}
		field("Priority", p.Priority)
		field("Section", p.Section)
		field("Source", p.Source)
		field("Depends", p.Depends)
		field("Pre-Depends", p.PreDepends)
		field("Recommends", p.Recommends)
		field("Provides", p.Provides)
		field("Conflicts", p.Conflicts)
		field("Breaks", p.Breaks)
		field("Replaces", p.Replaces)
		field("Filename", p.Filename)
		if p.Size != 0 {
			field("Size", strconv.FormatInt(p.Size, 10))
		}
		field("SHA256", p.SHA256)
		if p.InstalledSize != 0 {
			field("Installed-Size", strconv.FormatInt(p.InstalledSize, 10))
		}
		field("Status", p.Status)
		b.WriteString("\n")
	}
	return b.Bytes()
}

var ignoreLine = cmpopts.IgnoreFields(Package{}, "Line")

// boundedAllocations fails t when fn, reading an input of n bytes,
// allocates more than the decompressors' windows (xz's dictionary is at
// most 64 MiB), buffers and a fixed multiple of the input: an input that
// makes a reader allocate far more than its size is a memory amplifier.
func boundedAllocations(t *testing.T, n int, fn func()) {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	fn()
	metrics.Read(s)
	if got, limit := s[0].Value.Uint64()-before, uint64(256<<20+256*n); got > limit {
		t.Errorf("reading %d bytes allocated %d bytes, more than %d", n, got, limit)
	}
}

func controlSeeds(f *testing.F) {
	f.Add([]byte(sampleIndex))
	for _, kind := range []string{"gz", "xz", "zst"} {
		f.Add(compressed(f, kind, []byte(sampleIndex)))
	}
	for _, s := range []string{"../../targets/webvm-i386.status", "../../targets/debian12-amd64.status"} {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Package: a\nVersion: 1\nDepends: b,\n c\n#comment\n\n\nPackage: b\nVersion: 2\nStatus: install ok installed\n"))
	f.Add([]byte(" continuation\n"))
	f.Add([]byte("Package: a\nPackage: b\n"))
}

// FuzzReadPackages feeds the Packages reader arbitrary (possibly
// compressed) bytes. A failure must be a *ParseError naming the file; an
// accepted index must have a name and version for every package, find
// each by name, and read back to the same packages once written out; and
// reading must allocate in proportion to the input.
func FuzzReadPackages(f *testing.F) {
	controlSeeds(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		var ix *Index
		var err error
		boundedAllocations(t, len(b), func() { ix, err = ReadPackages(ctx, bytes.NewReader(b), "Packages") })
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Name != "Packages" {
				t.Fatalf("error %v (%T) is not a ParseError naming the file", err, err)
			}
			return
		}
		for i := range ix.Packages {
			p := &ix.Packages[i]
			if p.Name == "" || p.Version == "" {
				t.Errorf("accepted package without name or version: %+v", p)
			}
			found := false
			for _, q := range ix.Lookup(p.Name) {
				found = found || q == p
			}
			if !found {
				t.Errorf("Lookup(%q) does not find the package at index %d", p.Name, i)
			}
		}
		again, err := ReadPackages(ctx, bytes.NewReader(renderStanzas(ix.Packages)), "again")
		if err != nil {
			t.Fatalf("accepted packages, written out, do not read: %v\n%s", err, renderStanzas(ix.Packages))
		}
		if diff := cmp.Diff(ix.Packages, again.Packages, ignoreLine, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("packages change when written out and read again (-first +again):\n%s", diff)
		}
	})
}

// FuzzReadStatus is FuzzReadPackages for dpkg's status file.
func FuzzReadStatus(f *testing.F) {
	controlSeeds(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		var st *Status
		var err error
		boundedAllocations(t, len(b), func() { st, err = ReadStatus(ctx, bytes.NewReader(b), "status") })
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Name != "status" {
				t.Fatalf("error %v (%T) is not a ParseError naming the file", err, err)
			}
			return
		}
		for _, p := range st.Installed() {
			if p.Name == "" || p.Version == "" {
				t.Errorf("installed package without name or version: %+v", p)
			}
		}
		again, err := ReadStatus(ctx, bytes.NewReader(renderStanzas(st.Packages)), "again")
		if err != nil {
			t.Fatalf("accepted status, written out, does not read: %v\n%s", err, renderStanzas(st.Packages))
		}
		if diff := cmp.Diff(st.Packages, again.Packages, ignoreLine, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("status changes when written out and read again (-first +again):\n%s", diff)
		}
	})
}

// FuzzReadDpkgDatabase feeds the dpkg database reader a status file and
// one updates journal record. It must never fail on what they hold (only
// its bounds may), never panic, and allocate in proportion to the input;
// every package it gives has a name, once per architecture; and a status
// file ReadStatus accepts reads as the same packages, the last record of
// each name and architecture kept, the journal's record over it.
func FuzzReadDpkgDatabase(f *testing.F) {
	for _, s := range []string{"../../targets/webvm-i386.status", "../../targets/debian12-amd64.status"} {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte("Package: dpkg\nStatus: install reinstreq half-installed\nArchitecture: i386\nVersion: 1\n#padding\n"))
	}
	f.Add([]byte("Package: a\nPackage: b\nbad line\n continued\nStatus: x\n\n \n"), []byte("x"))
	f.Add([]byte(" orphan\n:\nPackage: a\nArchitecture: i386\nProtected: yes\n"), []byte{})
	f.Add([]byte("\x1f\x8b\x08Package: a\n"), []byte("\x28\xb5\x2f\xfd\nPackage: b\n")) // compressors' magic is text here
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, status, update []byte) {
		admin := fstest.MapFS{"status": {Data: status}, "updates/0000": {Data: update}}
		var db *Status
		var err error
		boundedAllocations(t, len(status)+len(update), func() { db, err = ReadDpkgDatabase(ctx, admin, "admin") })
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "longer than") {
				t.Fatalf("error %v: only a line or paragraph past the bounds may fail the database", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, p := range db.Packages {
			k := p.Name + ":" + p.Architecture
			if p.Name == "" || seen[k] {
				t.Fatalf("package %q: no name, or twice", k)
			}
			seen[k] = true
		}
		strict, err := ReadStatus(ctx, bytes.NewReader(status), "status")
		if err != nil {
			return
		}
		journal, err := ReadDpkgDatabase(ctx, fstest.MapFS{"status": {Data: update}}, "admin")
		if err != nil {
			return
		}
		var want []Package
		at := map[string]int{}
		for _, p := range append(strict.Packages, journal.Packages...) {
			k := p.Name + ":" + p.Architecture
			if i, ok := at[k]; ok {
				want[i] = p
				continue
			}
			at[k] = len(want)
			want = append(want, p)
		}
		if diff := cmp.Diff(want, db.Packages, ignoreLine); diff != "" {
			t.Errorf("the database is not the status file with the journal over it (-want +got):\n%s", diff)
		}
	})
}

// fuzzDeb lays out a .deb from a control file and data entries.
func fuzzDeb(t testing.TB, control, compression string, data []tarEntry) []byte {
	return arDeb(compression, compressed(t, "gz", tarOf(t, []tarEntry{{name: "./control", body: control, typ: tar.TypeReg, mode: 0o644}})),
		compressed(t, compression, tarOf(t, data)))
}

func tarOf(t testing.TB, entries []tarEntry) []byte {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return raw.Bytes()
}

// arDeb lays out debian-binary, a control.tar.gz and a data.tar member
// with the given compression suffix as dpkg-deb does.
func arDeb(compression string, control, data []byte) []byte {
	name := "data.tar"
	if compression != "plain" {
		name += "." + compression
	}
	members := []struct {
		name string
		body []byte
	}{
		{"debian-binary", []byte("2.0\n")},
		{"control.tar.gz", control},
		{name, data},
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
	return b.Bytes()
}

// FuzzInspectDeb feeds InspectDeb, and a DebReader's Control and Data,
// arbitrary files, starting from .debs laid out as dpkg-deb does. They
// must return a result or an error, never panic, and allocate in
// proportion to the input; an accepted .deb has a package name, the
// file's own size and digest, and clean absolute paths for its files, and
// Control reads the same control fields from it.
func FuzzInspectDeb(f *testing.F) {
	control := "Package: runit\nVersion: 2.1.2-54\nArchitecture: i386\nMaintainer: M <m@example.org>\nPre-Depends: libc6 (>= 2.34)\nDescription: d\n more\n"
	data := []tarEntry{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		{name: "./usr/bin/sv", body: "\x7fELF", typ: tar.TypeReg, mode: 0o755},
		{name: "./usr/sbin/runsvdir", typ: tar.TypeSymlink, link: "../bin/runsvdir", mode: 0o777},
		{name: "./usr/bin/chpst", typ: tar.TypeLink, link: "./usr/bin/sv", mode: 0o755},
		{name: "../../etc/x", body: "x", typ: tar.TypeReg, mode: 0o644},
	}
	for _, c := range []string{"gz", "xz", "zst", "plain"} {
		f.Add(fuzzDeb(f, control, c, data))
	}
	f.Add(fuzzDeb(f, "Package: x\n", "gz", nil))
	for _, tt := range boundedDebs(f) {
		f.Add(tt.deb)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "p.deb")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var d, c *Deb
		var err, cerr error
		boundedAllocations(t, len(b), func() {
			d, err = InspectDeb(ctx, p)
			var dr DebReader
			c, cerr = dr.Control(p)
			_ = dr.Data(p, func(_ string, r io.Reader) error { _, err := io.Copy(io.Discard, r); return err })
		})
		if (d == nil) == (err == nil) {
			t.Fatalf("InspectDeb gave %v and %v: want a Deb or an error", d, err)
		}
		if (c == nil) == (cerr == nil) {
			t.Fatalf("Control gave %v and %v: want a Deb or an error", c, cerr)
		}
		if err != nil {
			return
		}
		if cerr != nil {
			t.Fatalf("InspectDeb reads the .deb, Control does not: %v", cerr)
		}
		want := d.Package
		want.Size, want.SHA256 = 0, ""
		if diff := cmp.Diff(want, c.Package); diff != "" || c.DataCompression != d.DataCompression || c.Files != nil {
			t.Errorf("Control reads otherwise than InspectDeb (-InspectDeb +Control):\n%s", diff)
		}
		sum := sha256.Sum256(b)
		if d.Package.Name == "" || d.Package.Size != int64(len(b)) || d.Package.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("accepted .deb: package %q, size %d, sha256 %s; the file has %d bytes, sha256 %x",
				d.Package.Name, d.Package.Size, d.Package.SHA256, len(b), sum)
		}
		for _, f := range d.Files {
			if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
				t.Errorf("file path %q is not clean and absolute", f.Path)
			}
		}
	})
}

// A field may start its value on a continuation line; the value is the
// same as written on one line.
func TestFoldedFieldStartingOnNextLine(t *testing.T) {
	tests := []struct{ name, stanza, want string }{
		{"value on the next line", "Package: a\nVersion:\n 1.0\nDepends:\n libc6,\n zlib1g\n", "1.0|libc6, zlib1g"},
		{"value on both lines", "Package: a\nVersion: 1.0\nDepends: libc6,\n zlib1g\n", "1.0|libc6, zlib1g"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := ReadPackages(context.Background(), bytes.NewReader([]byte(tt.stanza)), "Packages")
			if err != nil {
				t.Fatal(err)
			}
			p := ix.Packages[0]
			if diff := cmp.Diff(tt.want, p.Version+"|"+p.Depends); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// boundedDebs are .debs whose members ask their decompressor for more
// memory than a .deb may take, and a good one for each such compression.
func boundedDebs(t testing.TB) []struct {
	name, want string // want: a substring of the error; "" for success
	deb        []byte
} {
	control := compressed(t, "gz", tarOf(t, []tarEntry{{name: "./control", typ: tar.TypeReg, mode: 0o644,
		body: "Package: a\nVersion: 1\nArchitecture: i386\nMaintainer: M <m@example.org>\nDescription: d\n"}}))
	data := tarOf(t, []tarEntry{{name: "./usr/bin/a", body: "a", typ: tar.TypeReg, mode: 0o755}})
	var lz bytes.Buffer
	w, err := lzma.NewWriter(&lz)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// lzma: properties, a 4 GiB dictionary, unknown size, then nothing.
	hugeDict := append([]byte{0x5d, 0xff, 0xff, 0xff, 0xff}, bytes.Repeat([]byte{0xff}, 8)...)
	// zstd: magic, a frame header with no content size and a 512 MiB
	// window (exponent 19: 1 << (10+19)), then an empty last block.
	bigWindow := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 19 << 3, 0x01, 0x00, 0x00}
	return []struct {
		name, want string
		deb        []byte
	}{
		{"lzma", "", arDeb("lzma", control, lz.Bytes())},
		{"lzma with a 4 GiB dictionary", "lzma dictionary of 4294967295 bytes", arDeb("lzma", control, hugeDict)},
		{"zstd with a 512 MiB window", "window size exceeded", arDeb("zst", control, bigWindow)},
	}
}

// A .deb is read in bounded memory, whatever its members' headers ask for.
func TestInspectDebBoundedMemory(t *testing.T) {
	for _, tt := range boundedDebs(t) {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "p.deb")
			if err := os.WriteFile(p, tt.deb, 0o644); err != nil {
				t.Fatal(err)
			}
			var err error
			boundedAllocations(t, len(tt.deb), func() { _, err = InspectDeb(context.Background(), p) })
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

// A paragraph grown by folded lines past maxStanza is an error, not
// unbounded memory.
func TestStanzaBound(t *testing.T) {
	line := " " + strings.Repeat("a", 1<<20) + "\n"
	src := "Package: a\nVersion: 1\nDepends:\n" + strings.Repeat(line, maxStanza>>20+1)
	_, err := ReadPackages(context.Background(), strings.NewReader(src), "Packages")
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "longer than") {
		t.Fatalf("want a ParseError for the long paragraph, got %v", err)
	}
}
