package debian_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ulikunitz/xz"
	"pault.ag/go/debian/control"

	"github.com/runtimekit/runtimekit/internal/testenv"
	. "github.com/runtimekit/runtimekit/sdk/debian"
)

// TestInspectRealDebs reads the .debs debootstrap downloaded for the
// minbase root: every one must give its control fields and file list.
func TestInspectRealDebs(t *testing.T) {
	testenv.RequireE2E(t)
	root := testenv.Rootfs(t, "bookworm", "i386", "minbase")
	debs, _ := filepath.Glob(filepath.Join(root, "var/cache/apt/archives/*.deb"))
	if len(debs) == 0 {
		t.Fatalf("no .debs in %s/var/cache/apt/archives", root)
	}
	for _, p := range debs {
		d, err := InspectDeb(context.Background(), p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if d.Package.Name == "" || d.Package.Version == "" || len(d.Files) == 0 {
			t.Errorf("%s: name %q version %q, %d files", p, d.Package.Name, d.Package.Version, len(d.Files))
		}
		if d.DataCompression != "xz" {
			t.Logf("%s: data.tar.%s", filepath.Base(p), d.DataCompression)
		}
		if d.Package.Name == "dpkg" && d.Package.PreDepends == "" {
			t.Errorf("dpkg: Pre-Depends missing")
		}
	}
}

func realIndex(b *testing.B) string {
	b.Helper()
	dir := testenv.DebianIndex(b, "bookworm", "i386")
	return testenv.IndexPackages(dir, "bookworm", "i386")
}

func plainIndex(b *testing.B) []byte {
	b.Helper()
	zr, err := xz.NewReader(bytes.NewReader(readAll(b, realIndex(b))))
	if err != nil {
		b.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	return plain
}

func readAll(b *testing.B, path string) []byte {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkReadPackagesPlain parses the decompressed bookworm i386
// Packages (~49 MB) from memory.
func BenchmarkReadPackagesPlain(b *testing.B) {
	plain := plainIndex(b)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadPackages(context.Background(), bytes.NewReader(plain), "Packages"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadPackagesXz includes xz decompression of Packages.xz.
func BenchmarkReadPackagesXz(b *testing.B) {
	data := readAll(b, realIndex(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadPackages(context.Background(), bytes.NewReader(data), "Packages.xz"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadPackagesControlDecoder is the figure the hand-written
// scanner is measured against: pault.ag/go/debian/control's reflection
// based decoder on the same plain index.
func BenchmarkReadPackagesControlDecoder(b *testing.B) {
	plain := plainIndex(b)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		var pkgs []control.BinaryIndex
		if err := control.Unmarshal(&pkgs, bytes.NewReader(plain)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseAllRelations measures parsing every Depends field of the
// index up front, which the resolver avoids by parsing lazily.
func BenchmarkParseAllRelations(b *testing.B) {
	ix, err := OpenPackages(context.Background(), realIndex(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range ix.Packages {
			if _, err := ParseRelations(ix.Packages[i].Depends, "i386"); err != nil {
				b.Fatal(err)
			}
		}
	}
}
