package lock_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/sdk/lock"
)

func sample() *lock.Lock {
	return &lock.Lock{
		Target: lock.Target{Name: "webvm-i386", Arch: "386", DebianArch: "i386", Release: "bookworm"},
		Index:  lock.Index{SHA256: strings.Repeat("a", 64), Path: "dists/bookworm/main/binary-i386/Packages.xz"},
		Runtimes: []lock.Runtime{{
			Name: "nginx", Version: "1.22.1", Requests: []string{"nginx-light (>= 1.22)"},
			Packages: []lock.Package{{Name: "nginx-light", Version: "1.22.1-9+deb12u2", Arch: "i386",
				Filename: "pool/main/n/nginx/nginx-light_1.22.1-9+deb12u2_i386.deb", SHA256: strings.Repeat("b", 64), Size: 10, InstalledSize: 20}},
			Edges: []lock.Edge{{Kind: "request", Relation: "nginx-light (>= 1.22)", To: "nginx-light"},
				{From: "nginx-light", Kind: "Depends", Relation: "libc6 (>= 2.34)", To: "libc6"}},
		}, {Name: "deno", Version: "2.9.6", Artifacts: []lock.Artifact{{Kind: "npm", Name: "@deno/linux-x64-glibc", Version: "2.9.6",
			Integrity: "sha512-AAAA", SHA256: strings.Repeat("c", 64), Size: 1, Dest: "/opt/deno", Format: "tar.gz", Strip: 1}}}},
	}
}

func TestRoundTripAndDeterminism(t *testing.T) {
	l := sample()
	a, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Shuffle inputs that Marshal sorts: the bytes must not change.
	l.Runtimes[0], l.Runtimes[1] = l.Runtimes[1], l.Runtimes[0]
	r := &l.Runtimes[1]
	r.Edges[0], r.Edges[1] = r.Edges[1], r.Edges[0]
	b, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("Marshal is not deterministic:\n%s\n---\n%s", a, b)
	}
	path := filepath.Join(t.TempDir(), "lock.json")
	if err := l.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := lock.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if rt, ok := got.Runtime("nginx"); !ok || rt.Packages[0].Name != "nginx-light" {
		t.Errorf("Runtime(nginx) = %+v, %v", rt, ok)
	}
	c, _ := got.Marshal()
	if diff := cmp.Diff(string(a), string(c)); diff != "" {
		t.Errorf("read-back differs (-want +got):\n%s", diff)
	}
}

func TestParseRejects(t *testing.T) {
	good, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, from, to, want string }{
		{"dotdot filename", "pool/main/n/nginx/", "pool/../../etc/", "filename"},
		{"absolute filename", `"filename": "pool`, `"filename": "/pool`, "filename"},
		{"bad digest", strings.Repeat("b", 64), strings.Repeat("B", 64), "sha256"},
		{"unknown field", `"installedSize": 20`, `"installedSize": 20, "colour": "red"`, "colour"},
		{"format version", `"formatVersion": 1`, `"formatVersion": 2`, "formatVersion"},
		{"not json", `{`, `[`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tt.from, tt.to, 1)
			if bad == string(good) {
				t.Fatalf("replacement %q did not apply", tt.from)
			}
			_, err := lock.Parse([]byte(bad))
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}
