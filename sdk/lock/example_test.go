package lock_test

import (
	"fmt"

	"github.com/runtimekit/runtimekit/sdk/lock"
)

// A lock pins, for one target, every .deb a runtime needs beyond the
// target's base system, in the order dpkg unpacks them, with the archive
// path and digest a bundle is fetched and checked by, and the edges that
// say why each one is there. (The digests here are placeholders.)
func ExampleParse() {
	l, err := lock.Parse([]byte(`{
  "formatVersion": 1,
  "target": {"name": "webvm-i386", "arch": "386", "debianArch": "i386", "release": "bookworm"},
  "index": {"sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "path": "dists/bookworm/main/binary-i386/Packages.xz"},
  "runtimes": [{
    "name": "nginx", "version": "1.22.1",
    "requests": ["nginx-light"],
    "packages": [
      {"name": "libpcre2-8-0", "version": "10.42-1", "arch": "i386",
       "filename": "pool/main/p/pcre2/libpcre2-8-0_10.42-1_i386.deb",
       "sha256": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "size": 270260, "installedSize": 676},
      {"name": "nginx-light", "version": "1.22.1-9+deb12u2", "arch": "i386",
       "filename": "pool/main/n/nginx/nginx-light_1.22.1-9+deb12u2_i386.deb",
       "sha256": "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", "size": 352000, "installedSize": 1090}
    ],
    "edges": [
      {"kind": "", "relation": "nginx-light", "to": "nginx-light"},
      {"from": "nginx-light", "kind": "Depends", "relation": "libpcre2-8-0 (>= 10.22)", "to": "libpcre2-8-0"}
    ],
    "artifacts": []
  }]
}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Target.Name, l.Target.Release, l.Target.DebianArch)
	rt, _ := l.Runtime("nginx")
	for _, p := range rt.Packages {
		fmt.Printf("%s %s (%d bytes, sha256 %s...)\n", p.Name, p.Version, p.Size, p.SHA256[:12])
	}
	for _, e := range rt.Edges {
		if e.From != "" {
			fmt.Printf("%s %s %s\n", e.From, e.Kind, e.Relation)
		}
	}
	// Output:
	// webvm-i386 bookworm i386
	// libpcre2-8-0 10.42-1 (270260 bytes, sha256 bbbbbbbbbbbb...)
	// nginx-light 1.22.1-9+deb12u2 (352000 bytes, sha256 cccccccccccc...)
	// nginx-light Depends libpcre2-8-0 (>= 10.22)
}

// Parse refuses a lock that breaks its schema, naming the field.
func ExampleParse_invalid() {
	_, err := lock.Parse([]byte(`{"formatVersion": 1, "target": {"name": "webvm-i386", "arch": "386", "debianArch": "i386", "release": "bookworm"},
  "index": {"sha256": "not a digest"}, "runtimes": []}`))
	fmt.Println(err)
	// Output:
	// does not match lock.schema.json: /index/sha256 = "not a digest": does not match pattern '^[0-9a-f]{64}$'
}
