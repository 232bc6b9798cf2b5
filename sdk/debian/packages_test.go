package debian

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

const sampleIndex = `Package: nodejs
Version: 18.20.4+dfsg-1~deb12u2
Installed-Size: 3921
Maintainer: Debian Javascript Maintainers <pkg-javascript-devel@alioth-lists.debian.net>
Architecture: i386
Replaces: libnode72 (<< 13), nodejs-legacy
Provides: node-types-node (= 18.18.14~18.20.4+dfsg-1~deb12u2)
Depends: libc6 (>= 2.34),
 libnode108 (= 18.20.4+dfsg-1~deb12u2), sse2-support
Recommends: ca-certificates, nodejs-doc
Conflicts: nodejs-legacy
Breaks: node-babel-runtime (<< 7)
Description: evented I/O for V8 javascript - runtime executable
 Node.js is a platform built on Chrome's JavaScript runtime.
 .
 More text.
Multi-Arch: allowed
section: web
Priority: optional
Filename: pool/main/n/nodejs/nodejs_18.20.4+dfsg-1~deb12u2_i386.deb
Size: 321228
SHA256: f7b6dc1fd554ad9c7d447ee311893f1dc1c0abdcf6e7637eedd393783bf452d8

Package: base-files
Essential: yes
Version: 12.4+deb12u15
Architecture: i386
Pre-Depends: awk
Priority: required
`

func TestReadPackages(t *testing.T) {
	ix, err := ReadPackages(context.Background(), strings.NewReader(sampleIndex), "Packages")
	if err != nil {
		t.Fatal(err)
	}
	want := []Package{
		{
			Name: "nodejs", Version: "18.20.4+dfsg-1~deb12u2", Architecture: "i386", MultiArch: "allowed",
			Priority: "optional", Section: "web",
			Depends:    "libc6 (>= 2.34), libnode108 (= 18.20.4+dfsg-1~deb12u2), sse2-support",
			Recommends: "ca-certificates, nodejs-doc",
			Provides:   "node-types-node (= 18.18.14~18.20.4+dfsg-1~deb12u2)",
			Conflicts:  "nodejs-legacy", Breaks: "node-babel-runtime (<< 7)",
			Replaces: "libnode72 (<< 13), nodejs-legacy",
			Filename: "pool/main/n/nodejs/nodejs_18.20.4+dfsg-1~deb12u2_i386.deb", Size: 321228,
			SHA256:        "f7b6dc1fd554ad9c7d447ee311893f1dc1c0abdcf6e7637eedd393783bf452d8",
			InstalledSize: 3921, Line: 1,
		},
		{
			Name: "base-files", Version: "12.4+deb12u15", Architecture: "i386", Essential: true,
			PreDepends: "awk", Priority: "required", Line: 24,
		},
	}
	if diff := cmp.Diff(want, ix.Packages, cmpopts.IgnoreUnexported(Package{})); diff != "" {
		t.Errorf("packages (-want +got):\n%s", diff)
	}
	if got := ix.Lookup("base-files"); len(got) != 1 || got[0].Version != "12.4+deb12u15" {
		t.Errorf("Lookup(base-files) = %v", got)
	}
	if got := ix.Lookup("nosuch"); len(got) != 0 {
		t.Errorf("Lookup(nosuch) = %v, want none", got)
	}
}

func compressed(t testing.TB, kind string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	switch kind {
	case "plain":
		return data
	case "gz":
		w = gzip.NewWriter(&b)
	case "xz":
		w, err = xz.NewWriter(&b)
	case "zst":
		w, err = zstd.NewWriter(&b)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The compression is told by magic bytes: the names here lie on purpose.
func TestReadPackagesCompressed(t *testing.T) {
	for _, kind := range []string{"plain", "gz", "xz", "zst"} {
		t.Run(kind, func(t *testing.T) {
			data := compressed(t, kind, []byte(sampleIndex))
			ix, err := ReadPackages(context.Background(), bytes.NewReader(data), "Packages.bin")
			if err != nil {
				t.Fatal(err)
			}
			if len(ix.Packages) != 2 || ix.Packages[1].Name != "base-files" {
				t.Errorf("got %d packages, want nodejs and base-files", len(ix.Packages))
			}
		})
	}
}

func TestReadPackagesErrors(t *testing.T) {
	full := []byte(strings.Repeat(sampleIndex+"\n", 200))
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"no version", []byte("Package: a\nArchitecture: all\n\nPackage: b\nVersion: 1\n"), "Packages:1: package a has no Version field"},
		{"no package", []byte("Package: a\nVersion: 1\n\nVersion: 2\nArchitecture: all\n"), "Packages:4: paragraph has no Package field"},
		{"malformed line", []byte("Package: a\nVersion 1\n"), `Packages:2: malformed line "Version 1"`},
		{"continuation first", []byte(" Package: a\n"), "Packages:1: continuation line outside a paragraph"},
		{"bad size", []byte("Package: a\nVersion: 1\nSize: big\n"), `Packages:1: package a: bad Size "big"`},
		{"duplicate field", []byte("Package: a\nVersion: 1\nVersion: 2\n"), "Packages:3: duplicate field Version"},
		{"truncated xz", truncated(compressed(t, "xz", full)), "Packages:"},
		{"truncated gz", truncated(compressed(t, "gz", full)), "unexpected EOF"},
		{"truncated stanza", []byte("Package: a\nVersion: 1\n\nPackage: b\nArchit"), `Packages:5: malformed line "Archit"`},
		{"truncated before version", []byte("Package: a\nVersion: 1\n\nPackage: b\n"), "Packages:4: package b has no Version field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadPackages(context.Background(), bytes.NewReader(tc.data), "Packages")
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
			if pe.Name != "Packages" || pe.Line < 1 {
				t.Errorf("error names %s:%d, want the file and a line", pe.Name, pe.Line)
			}
		})
	}
}

func truncated(b []byte) []byte { return b[:len(b)*2/3] }

func TestReadStatus(t *testing.T) {
	const text = `Package: bash
Essential: yes
Status: install ok installed
Priority: required
Version: 5.2.15-2+b13
Architecture: i386
Pre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6)
Conffiles:
 /etc/bash.bashrc 89269e1298235f1b12b4c16e4065ad0d

Package: oldconf
Status: deinstall ok config-files
Version: 1
Architecture: all

Package: gone
Status: purge ok not-installed
Architecture: i386
`
	st, err := ReadStatus(context.Background(), strings.NewReader(text), "status")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range st.Installed() {
		names = append(names, p.Name+" "+p.Version+" "+p.Status)
	}
	if diff := cmp.Diff([]string{"bash 5.2.15-2+b13 install ok installed"}, names); diff != "" {
		t.Errorf("Installed (-want +got):\n%s", diff)
	}
	if !st.Installed()[0].Essential || st.Installed()[0].PreDepends != "libc6 (>= 2.36), libtinfo6 (>= 6)" {
		t.Errorf("bash = %+v, want Essential and its Pre-Depends", st.Installed()[0])
	}

	_, err = ReadStatus(context.Background(), strings.NewReader("Package: x\nStatus: installed\nVersion: 1\n"), "status")
	if err == nil || !strings.Contains(err.Error(), `status:1: package x: Status "installed" is not "want flag state"`) {
		t.Errorf("bad Status: err = %v", err)
	}
}

func TestParseRelations(t *testing.T) {
	got, err := ParseRelations("libc6 (>= 2.34), python3:any, a | b (<< 2) | c [amd64]", "i386")
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, g := range got {
		s = append(s, g.String())
	}
	want := []string{"libc6 (>= 2.34)", "python3:any", "a | b (<< 2)"}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ParseRelations("a (>= 1:)", "i386"); err == nil {
		t.Error("bad version: want an error")
	}
}

// FuzzScanStanzas checks that the scanner never panics, fails only with
// a *ParseError, and never accepts a package without name and version or
// a kept value spanning lines.
func FuzzScanStanzas(f *testing.F) {
	f.Add([]byte(sampleIndex))
	f.Add([]byte("Package: a\nVersion: 1\n\n\n\nPackage: b\r\nVersion: 2\r\n"))
	f.Add([]byte("Package: a\nVersion: 1\nDepends: b,\n c\n#comment\n"))
	f.Add(compressed(f, "gz", []byte(sampleIndex)))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := ReadPackages(context.Background(), bytes.NewReader(data), "fuzz")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			return
		}
		for _, p := range ix.Packages {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("accepted a package without name or version: %+v", p)
			}
			if strings.ContainsAny(p.Name+p.Version+p.Depends, "\n") {
				t.Fatalf("field value contains a newline: %+v", p)
			}
		}
	})
}

// TestReadDpkgDatabase: the status file with the records of the updates
// journal merged over it, in order, as dpkg reads its database after a
// dpkg was cut off; what a cut-off dpkg may leave does not fail it.
func TestReadDpkgDatabase(t *testing.T) {
	admin := fstest.MapFS{
		"status": {Data: []byte(`Package: libc6
Status: install ok installed
Priority: required
Version: 2.36-9
Architecture: i386

Package: base-files
Protected: yes
Status: install ok installed
Version: 12.4
Architecture: i386

Package: foo
Status: install ok installed
Version: 1.0-1
Architecture: i386
`)},
		// dpkg pads a record it has not finished writing with comment
		// lines; a cut-off one may be left with them.
		"updates/0000":  {Data: []byte("Package: foo\nStatus: install reinstreq half-installed\nVersion: 1.1-1\nArchitecture: i386\n#padding\n#padding\n")},
		"updates/0002":  {Data: []byte("x")},
		"updates/0001":  {Data: []byte("Package: bar\nStatus: install ok unpacked\nArchitecture: i386\nVersion: 2\nVersion: 3\nnot a field\n")},
		"updates/tmp.i": {Data: []byte("Package: foo\nStatus: purge ok not-installed\nArchitecture: i386\n")},
	}
	db, err := ReadDpkgDatabase(context.Background(), admin, "/var/lib/dpkg")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range db.Packages {
		want, flag, state, _ := p.StatusFields()
		got = append(got, fmt.Sprintf("%s:%s %s %s/%s/%s essential=%v protected=%v %s", p.Name, p.Architecture, p.Version, want, flag, state, p.Essential, p.Protected, p.Priority))
	}
	want := []string{
		"libc6:i386 2.36-9 install/ok/installed essential=false protected=false required",
		"base-files:i386 12.4 install/ok/installed essential=false protected=true ",
		"foo:i386 1.1-1 install/reinstreq/half-installed essential=false protected=false ",
		"bar:i386 3 install/ok/unpacked essential=false protected=false ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"0000", "0001", "0002"}, db.Journal); diff != "" {
		t.Errorf("Journal (-want +got):\n%s", diff)
	}

	empty, err := ReadDpkgDatabase(context.Background(), fstest.MapFS{}, "/var/lib/dpkg")
	if err != nil || len(empty.Packages) != 0 || len(empty.Journal) != 0 {
		t.Errorf("no database: %+v, %v; want an empty one", empty, err)
	}
	// dpkg reads its database as text: a record cut off after bytes that
	// happen to be gzip's magic is a record, not a broken gzip stream.
	cut, err := ReadDpkgDatabase(context.Background(), fstest.MapFS{
		"updates/0000": {Data: []byte("\x1f\x8b\nPackage: foo\nStatus: install ok unpacked\nVersion: 1\n")},
	}, "/var/lib/dpkg")
	if err != nil || len(cut.Packages) != 1 || cut.Packages[0].Name != "foo" {
		t.Errorf("a journal record starting with gzip's magic: %+v, %v; want package foo read as text", cut, err)
	}
	_, err = ReadDpkgDatabase(context.Background(), fstest.MapFS{"updates/0001/x": {}}, "/var/lib/dpkg")
	if err == nil || !strings.Contains(err.Error(), "updates journal") {
		t.Errorf("an unreadable journal record: %v, want an error", err)
	}
}
