package executor

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"testing"

	"github.com/runtimekit/runtimekit/sdk/debian"
)

// FuzzReadDebControl feeds the executor's .deb readers (the control
// reader, sdk/debian's DebReader as the executor sets it up, and the data
// check that runs before dpkg) arbitrary files, starting from packages
// built like Debian's. They must return a result or an error, never
// panic, and allocate in proportion to the input; and when both the
// executor and InspectDeb (which the host uses to inspect bundles) read a
// control file, they must agree on the package's name, version and
// architecture, which is what the executor checks a .deb against its plan
// with.
func FuzzReadDebControl(f *testing.F) {
	f.Add(makeDeb(f, "hello", "2.10-3", "i386", ""))
	f.Add(makeDeb(f, "libc6", "2.36-9+deb12u4", "i386", "libgcc-s1, libcrypt1 (>= 1:4.4.10-10~)"))
	f.Add(makeDeb(f, "x", "1:1.0~rc1", "all", "a | b:any (>= 1) [i386], c"))
	// A data archive that tries to leave the package, and members in
	// another order or compression.
	control := tarGz(f, []tar.Header{{Name: "./control", Typeflag: tar.TypeReg, Mode: 0o644}},
		map[string]string{"./control": "Package: evil\nVersion: 1.0\nArchitecture: i386\n"})
	data := tarGz(f, []tar.Header{{Name: "./../etc/x", Typeflag: tar.TypeReg, Mode: 0o644}}, map[string]string{"./../etc/x": "x"})
	f.Add(arArchive("debian-binary", []byte("2.0\n"), "control.tar.gz", control, "data.tar.gz", data))
	f.Add(arArchive("debian-binary", []byte("2.0\n"), "data.tar.gz", data, "control.tar.gz", control))
	f.Add(arArchive("debian-binary", []byte("2.0\n"), "control.tar", gunzipOrNil(control), "data.tar.zst", []byte{0x28, 0xb5, 0x2f, 0xfd}))
	f.Add([]byte("!<arch>\n"))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "p.deb")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var c *debControl
		var err error
		boundedAllocations(t, len(b), func() {
			c, err = readDebControl(p)
			_ = checkDebData(p) // an error or nil; a panic fails the target
		})
		if (c == nil) == (err == nil) {
			t.Fatalf("readDebControl gave %v and %v: want a control or an error", c, err)
		}
		if err != nil {
			return
		}
		d, derr := debian.InspectDeb(ctx, p)
		if derr != nil {
			return
		}
		got := [3]string{c.Package, c.Version, c.Architecture}
		want := [3]string{d.Package.Name, d.Package.Version, d.Package.Architecture}
		if got != want {
			t.Errorf("the executor reads the control as %q, sdk/debian as %q", got, want)
		}
	})
}

// boundedAllocations fails t when fn, reading an input of n bytes,
// allocates more than the decompressors' windows (xz's dictionary is at
// most 64 MiB, zstd's window at most 128 MiB), buffers and a fixed
// multiple of the input: an input that makes a reader allocate far more
// than its size is a memory amplifier, and the VM has little memory.
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

// arArchive lays out name, body pairs as a .deb's ar archive.
func arArchive(members ...any) []byte {
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	for i := 0; i+1 < len(members); i += 2 {
		name, body := members[i].(string), members[i+1].([]byte)
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", name, 0, 0, 0, 0o644, len(body))
		b.Write(body)
		if len(body)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func gunzipOrNil(b []byte) []byte {
	raw, _ := gunzipAll(b)
	return raw
}
