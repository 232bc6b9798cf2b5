package bundle_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/runtimekit/runtimekit/sdk/bundle"
	"github.com/runtimekit/runtimekit/sdk/lock"
)

// A lock's packages are fetched into a bundle: here from a local directory
// (in real use also from a Debian mirror, Mirror, and the npm registry,
// NPMRegistry), then the bundle is checked as the VM side would.
func ExampleFetch() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "bundle-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	deb := []byte("the bytes of hello_2.10-3_i386.deb")
	if err := os.WriteFile(filepath.Join(dir, "hello_2.10-3_i386.deb"), deb, 0o644); err != nil {
		log.Fatal(err)
	}
	digest := sha256.Sum256(deb)
	l := &lock.Lock{Runtimes: []lock.Runtime{{Name: "hello", Packages: []lock.Package{{
		Name: "hello", Version: "2.10-3", Arch: "i386",
		Filename: "pool/main/h/hello/hello_2.10-3_i386.deb",
		SHA256:   hex.EncodeToString(digest[:]), Size: int64(len(deb)),
	}}}}}

	items, err := bundle.ItemsFromLock(l, "hello")
	if err != nil {
		log.Fatal(err)
	}
	out := filepath.Join(dir, "bundle")
	res, err := bundle.Fetch(ctx, items, bundle.FetchOptions{Out: out, LocalDirs: []string{dir}})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range res.Files {
		fmt.Println(f.File.Path, f.Source)
	}

	b, err := bundle.Open(out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verify:", b.Verify(ctx))

	// A file that changes afterwards is reported by name.
	if err := os.WriteFile(filepath.Join(out, "debs", "hello_2.10-3_i386.deb"), []byte("tampered"), 0o644); err != nil {
		log.Fatal(err)
	}
	var ve *bundle.VerifyError
	if errors.As(b.Verify(ctx), &ve) {
		for _, p := range ve.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// debs/hello_2.10-3_i386.deb local
	// verify: <nil>
	// debs/hello_2.10-3_i386.deb: size is 8 bytes, bundle.json says 34
}
