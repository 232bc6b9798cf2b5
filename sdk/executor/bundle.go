package executor

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/runtimekit/runtimekit/schema"
)

// bundleIndexName is the index file of a bundle (sdk/bundle.IndexName).
const bundleIndexName = "bundle.json"

// bundleFile is one entry of bundle.json.
//
// The executor reads bundle.json itself rather than through sdk/bundle:
// that package also fetches bundles (net/http, a progress bar), which would
// add about 3.6 MiB to the in-VM build; moving its fetcher into a package of
// its own would let the executor use it. The format is checked against the same
// schema/bundle.schema.json, and files are checked the same way
// ([bundle.Bundle.Verify]: regular file, no symbolic link on the way,
// size, SHA-256).
type bundleFile struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Arch    string `json:"arch,omitempty"`
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	// Integrity is an npm tarball's SRI string (not used here).
	Integrity string `json:"integrity,omitempty"`
}

type bundleIndex struct {
	dir   string
	files []bundleFile
	bySum map[string]bundleFile
}

// openBundle reads and checks dir/bundle.json.
func openBundle(dir string) (*bundleIndex, error) {
	b, err := os.ReadFile(filepath.Join(dir, bundleIndexName))
	if err != nil {
		return nil, fmt.Errorf("open bundle %s: %w", dir, err)
	}
	var ix struct {
		FormatVersion int             `json:"formatVersion"`
		Target        json.RawMessage `json:"target,omitempty"`
		Files         []bundleFile    `json:"files"`
	}
	if err := schema.Decode("bundle.schema.json", b, &ix); err != nil {
		return nil, fmt.Errorf("bundle %s: %s: %w", dir, bundleIndexName, err)
	}
	bi := &bundleIndex{dir: dir, files: ix.Files, bySum: map[string]bundleFile{}}
	for _, f := range ix.Files {
		if path.Clean(f.Path) != f.Path || strings.HasPrefix(f.Path, "/") || strings.Contains(f.Path, "..") {
			return nil, fmt.Errorf("bundle %s: file %q would leave the bundle", dir, f.Path)
		}
		bi.bySum[f.SHA256] = f
	}
	return bi, nil
}

func (b *bundleIndex) lookup(sum string) (bundleFile, bool) {
	f, ok := b.bySum[sum]
	return f, ok
}

// findDeb returns the bundle's .deb of a package version, if it has one.
func (b *bundleIndex) findDeb(name, version, arch string) (bundleFile, bool) {
	for _, f := range b.files {
		if f.Kind == "deb" && f.Name == name && f.Version == version && f.Arch == arch {
			return f, true
		}
	}
	return bundleFile{}, false
}

func (b *bundleIndex) path(f bundleFile) string {
	return filepath.Join(b.dir, filepath.FromSlash(f.Path))
}

// verify checks one file: a regular file reached through no symbolic link,
// with the size and SHA-256 bundle.json gives. It returns why it is bad,
// or "".
func (b *bundleIndex) verify(f bundleFile) string {
	parts := strings.Split(f.Path, "/")
	cur := b.dir
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return "missing"
		}
		if err != nil {
			return err.Error()
		}
		last := i == len(parts)-1
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return path.Join(parts[:i+1]...) + " is a symbolic link"
		case !last && !fi.IsDir():
			return path.Join(parts[:i+1]...) + " is not a directory"
		case last && !fi.Mode().IsRegular():
			return "not a regular file"
		case last && fi.Size() != f.Size:
			return fmt.Sprintf("size is %d bytes, %s says %d", fi.Size(), bundleIndexName, f.Size)
		}
	}
	got, err := hashFile(cur)
	if err != nil {
		return err.Error()
	}
	if got != f.SHA256 {
		return fmt.Sprintf("sha256 is %s, %s says %s", got, bundleIndexName, f.SHA256)
	}
	return ""
}

func hashFile(p string) (string, error) {
	fh, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// hashRel hashes a file inside the root (not following a final link).
func (f *fsroot) hashRel(rel string) (string, error) {
	fi, err := f.r.Lstat(rel)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", abs(rel))
	}
	fh, err := f.r.Open(rel)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
