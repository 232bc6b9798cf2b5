package resolve_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/debian"
	. "github.com/runtimekit/runtimekit/sdk/debian/resolve"
)

// BenchmarkResolve resolves the default runtimes' packages against the
// real index and minbase status. The first Resolve on an index also
// builds its Provides table; BenchmarkResolveCold includes that.
func BenchmarkResolve(b *testing.B) {
	ix, st := benchInputs(b)
	reqs := []Request{{Name: "nginx-light"}, {Name: "nodejs"}, {Name: "python3"}, {Name: "runit"}}
	if _, err := Resolve(context.Background(), ix, st, reqs, Options{Arch: "i386"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Resolve(context.Background(), ix, st, reqs, Options{Arch: "i386"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolveCold(b *testing.B) {
	_, st := benchInputs(b)
	data := readAll(b, realIndex(b))
	reqs := []Request{{Name: "nginx-light"}, {Name: "nodejs"}, {Name: "python3"}, {Name: "runit"}}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ix, err := debian.ReadPackages(context.Background(), bytes.NewReader(data), "Packages.xz")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := Resolve(context.Background(), ix, st, reqs, Options{Arch: "i386"}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchInputs(b *testing.B) (*debian.Index, *debian.Status) {
	b.Helper()
	ix, err := debian.OpenPackages(context.Background(), realIndex(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := debian.OpenStatus(context.Background(), testenv.MinbaseStatus(b, "bookworm", "i386"))
	if err != nil {
		b.Fatal(err)
	}
	return ix, st
}

func realIndex(b *testing.B) string {
	b.Helper()
	dir := testenv.DebianIndex(b, "bookworm", "i386")
	return testenv.IndexPackages(dir, "bookworm", "i386")
}

func readAll(b *testing.B, path string) []byte {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}
