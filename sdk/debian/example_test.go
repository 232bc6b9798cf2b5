package debian_test

import (
	"context"
	"fmt"
	"strings"
	"testing/fstest"

	"github.com/runtimekit/runtimekit/sdk/debian"
)

// Read an index, look a package up and check installed versions against
// its relations.
func Example() {
	ctx := context.Background()
	ix, err := debian.ReadPackages(ctx, strings.NewReader(`Package: runit
Version: 2.1.2-54
Architecture: i386
Depends: runit-helper (>= 2.14.0~), libc6 (>= 2.34)
Filename: pool/main/r/runit/runit_2.1.2-54_i386.deb
`), "Packages")
	if err != nil {
		fmt.Println(err)
		return
	}
	runit := ix.Lookup("runit")[0]
	groups, err := debian.ParseRelations(runit.Depends, "i386")
	if err != nil {
		fmt.Println(err)
		return
	}
	installed := map[string]string{"runit-helper": "2.13", "libc6": "2.36-9+deb12u9"}
	for _, g := range groups {
		a := g[0]
		fmt.Printf("%s: %s %s: %v\n", a, a.Name, installed[a.Name], a.Satisfies(installed[a.Name]))
	}
	// Output:
	// runit-helper (>= 2.14.0~): runit-helper 2.13: false
	// libc6 (>= 2.34): libc6 2.36-9+deb12u9: true
}

// A dpkg cut off in the middle of an unpack leaves its real state in the
// updates journal; ReadDpkgDatabase reads it as dpkg will.
func ExampleReadDpkgDatabase() {
	admin := fstest.MapFS{
		"status":       {Data: []byte("Package: hello\nStatus: install ok installed\nVersion: 2.10-3\nArchitecture: i386\n")},
		"updates/0000": {Data: []byte("Package: hello\nStatus: install reinstreq half-installed\nVersion: 2.10-4\nArchitecture: i386\n")},
	}
	db, err := debian.ReadDpkgDatabase(context.Background(), admin, "/var/lib/dpkg")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range db.Packages {
		_, flag, state, _ := p.StatusFields()
		fmt.Println(p.Name, p.Version, flag, state)
	}
	fmt.Println("unmerged journal records:", db.Journal)
	// Output:
	// hello 2.10-4 reinstreq half-installed
	// unmerged journal records: [0000]
}
