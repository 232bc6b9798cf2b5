package executor

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/runtimekit/runtimekit/sdk/bundle/format"
)

// The executor reads bundles with sdk/bundle/format, the very code
// `runtimectl bundle verify` uses (bundle.json's schema, each path listed
// once and inside the bundle, nothing unlisted in the directory, each file
// a regular file reached through no symbolic link with its size and
// SHA-256), but hashes only the files the plan uses.

const bundleIndexName = format.IndexName

type bundleFile = format.File

type bundleIndex struct {
	b     *format.Bundle
	dir   string
	bySum map[string]bundleFile
}

// openBundle reads and checks dir/bundle.json, and refuses a bundle
// directory holding anything bundle.json does not list.
func openBundle(dir string) (*bundleIndex, error) {
	b, err := format.Open(dir)
	if err != nil {
		return nil, err
	}
	unlisted, err := b.Unlisted()
	if err != nil {
		return nil, err
	}
	if len(unlisted) > 0 {
		return nil, &format.VerifyError{Dir: dir, Problems: unlisted}
	}
	bi := &bundleIndex{b: b, dir: dir, bySum: map[string]bundleFile{}}
	for _, f := range b.Index.Files {
		bi.bySum[f.SHA256] = f
	}
	return bi, nil
}

func (b *bundleIndex) lookup(sum string) (bundleFile, bool) {
	f, ok := b.bySum[sum]
	return f, ok
}

func (b *bundleIndex) path(f bundleFile) string { return b.b.Path(f) }

// verify checks one file, and returns why it is bad, or "".
func (b *bundleIndex) verify(f bundleFile) string { return b.b.CheckFile(f) }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
