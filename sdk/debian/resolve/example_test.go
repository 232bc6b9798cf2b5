package resolve_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runtimekit/runtimekit/sdk/debian"
	"github.com/runtimekit/runtimekit/sdk/debian/resolve"
)

// Resolve a request against an index and the target's dpkg status, and
// print what to install, in install order.
func Example() {
	ctx := context.Background()
	index := `Package: runit
Version: 2.1.2-54
Architecture: i386
Depends: runit-helper (>= 2.14.0~), libc6 (>= 2.34)
Filename: pool/main/r/runit/runit_2.1.2-54_i386.deb

Package: runit-helper
Version: 2.15.2
Architecture: all
Filename: pool/main/r/runit-helper/runit-helper_2.15.2_all.deb

Package: libc6
Version: 2.36-9+deb12u9
Architecture: i386
`
	status := `Package: libc6
Status: install ok installed
Version: 2.36-9+deb12u9
Architecture: i386
`
	ix, err := debian.ReadPackages(ctx, strings.NewReader(index), "Packages")
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := debian.ReadStatus(ctx, strings.NewReader(status), "status")
	if err != nil {
		fmt.Println(err)
		return
	}
	req, _ := resolve.ParseRequest("runit")
	res, err := resolve.Resolve(ctx, ix, st, []resolve.Request{req}, resolve.Options{Arch: "i386"})
	var unsat *resolve.UnsatisfiableError
	if errors.As(err, &unsat) {
		fmt.Println(unsat)
		return
	}
	for _, p := range res.Install {
		fmt.Println(p.Name, p.Version, p.Filename)
	}
	// Output:
	// runit-helper 2.15.2 pool/main/r/runit-helper/runit-helper_2.15.2_all.deb
	// runit 2.1.2-54 pool/main/r/runit/runit_2.1.2-54_i386.deb
}

// An unsatisfiable request names the chain that fails.
func ExampleUnsatisfiableError() {
	ix, _ := debian.ReadPackages(context.Background(), strings.NewReader(`Package: nodejs
Version: 18.19.0+dfsg-6~deb12u2
Architecture: i386
Depends: libnode108 (= 18.19.0+dfsg-6~deb12u2)

Package: libnode108
Version: 18.19.0+dfsg-6~deb12u1
Architecture: i386
`), "Packages")
	_, err := resolve.Resolve(context.Background(), ix, nil, []resolve.Request{{Name: "nodejs"}}, resolve.Options{Arch: "i386"})
	fmt.Println(err)
	// Output:
	// cannot install nodejs: nodejs 18.19.0+dfsg-6~deb12u2 depends on libnode108 (= 18.19.0+dfsg-6~deb12u2) but the index has only libnode108 18.19.0+dfsg-6~deb12u1
}
