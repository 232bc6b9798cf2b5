// Package format is the offline bundle's format: bundle.json (the index),
// opening a bundle directory and verifying it. It has no network code, so
// that the executor inside the VM checks a bundle with exactly the checks
// `runtimectl bundle verify` makes; building bundles (fetching, pinning)
// is sdk/bundle, which re-exports these names for its users.
package format

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/schema"
	"github.com/runtimekit/runtimekit/sdk/lock"
)

// FormatVersion is the bundle.json format this package reads and writes.
const FormatVersion = 1

// IndexName is the name of the index file at the root of a bundle.
const IndexName = "bundle.json"

// File kinds.
const (
	KindDeb     = "deb"
	KindNPM     = lock.ArtifactNPM
	KindArchive = lock.ArtifactArchive
	// An app release's files (a tar) and its env file, which deploy
	// writes into the bundle itself.
	KindRelease = "release"
	KindEnv     = "env"
)

// Directories of a bundle that hold its files.
const (
	DebDir      = "debs"
	ArtifactDir = "artifacts"
)

// Index is the content of bundle.json.
type Index struct {
	FormatVersion int `json:"formatVersion"`
	// Target is the target of the lock the bundle was made from, if known.
	Target *lock.Target `json:"target,omitempty"`
	// Files lists every file of the bundle except bundle.json, sorted by
	// Path.
	Files []File `json:"files"`
}

// File is one file of a bundle.
type File struct {
	Kind    string `json:"kind"` // KindDeb, KindNPM or KindArchive
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Arch    string `json:"arch,omitempty"` // Debian architecture of a .deb
	// Path is relative to the bundle directory, with forward slashes:
	// "debs/<file>.deb" or "artifacts/<file>".
	Path      string `json:"path"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	Integrity string `json:"integrity,omitempty"` // npm SRI string
}

// Marshal returns the index's canonical bytes: files sorted by path,
// indented JSON with a final newline.
func (ix *Index) Marshal() ([]byte, error) {
	c := *ix
	c.FormatVersion = FormatVersion
	c.Files = append([]File{}, ix.Files...)
	sort.Slice(c.Files, func(i, j int) bool { return c.Files[i].Path < c.Files[j].Path })
	return schema.Encode(&c)
}

// ParseIndex decodes and checks bundle.json bytes: every path must stay
// inside the bundle and be listed once, and the document must match
// schema/bundle.schema.json.
func ParseIndex(b []byte) (*Index, error) {
	var loose struct {
		Files []struct {
			Path string `json:"path"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &loose); err != nil {
		return nil, fmt.Errorf("not a bundle index: %w", err)
	}
	// Paths are checked before the schema so that the message names the
	// offending file rather than a JSON pointer.
	seen := map[string]bool{}
	for _, f := range loose.Files {
		if err := checkRelPath(f.Path); err != nil {
			return nil, fmt.Errorf("file %q: %w", f.Path, err)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("file %q: listed twice", f.Path)
		}
		seen[f.Path] = true
	}
	var ix Index
	if err := schema.Decode("bundle.schema.json", b, &ix); err != nil {
		return nil, err
	}
	return &ix, nil
}

// checkRelPath rejects a bundle path that could name something outside
// the bundle directory or is not in the canonical form.
func checkRelPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case strings.HasPrefix(p, "/") || filepath.IsAbs(p):
		return errors.New("absolute path: it would leave the bundle")
	case strings.Contains(p, `\`):
		return errors.New("backslash in path")
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return errors.New("'..' in path: it would leave the bundle")
		}
	}
	if path.Clean(p) != p || p == "." {
		return errors.New("path is not in clean form")
	}
	if p == IndexName {
		return fmt.Errorf("%s cannot list itself", IndexName)
	}
	return nil
}

// Bundle is an opened bundle directory.
type Bundle struct {
	Dir   string
	Index Index
}

// Open reads dir/bundle.json and checks it (see ParseIndex). It does not
// read the files themselves: call Verify for that.
func Open(dir string) (*Bundle, error) {
	b, err := bounded.ReadFile(filepath.Join(dir, IndexName), "a bundle index", bounded.MaxBundleIndex)
	if err != nil {
		return nil, fmt.Errorf("open bundle %s: %w", dir, err)
	}
	ix, err := ParseIndex(b)
	if err != nil {
		return nil, fmt.Errorf("open bundle %s: %s: %w", dir, IndexName, err)
	}
	return &Bundle{Dir: dir, Index: *ix}, nil
}

// Path returns the location of f on disk.
func (b *Bundle) Path(f File) string { return filepath.Join(b.Dir, filepath.FromSlash(f.Path)) }

// Lookup returns the file with the given SHA-256, as plans name them.
func (b *Bundle) Lookup(sha256 string) (File, bool) {
	for _, f := range b.Index.Files {
		if f.SHA256 == sha256 {
			return f, true
		}
	}
	return File{}, false
}

// Problem is one bad file found by Verify.
type Problem struct {
	Path   string `json:"path"` // relative to the bundle, with forward slashes
	Reason string `json:"reason"`
}

func (p Problem) String() string { return p.Path + ": " + p.Reason }

// VerifyError lists every bad file of a bundle.
type VerifyError struct {
	Dir      string
	Problems []Problem
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bundle %s: %d bad file", e.Dir, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n\t" + p.String())
	}
	return b.String()
}

// Verify re-reads every file of the bundle and reports, in one
// *VerifyError, each listed file that is missing, is not a regular file
// (a symbolic link included), lies below a symbolic link, or has another
// size or SHA-256 than bundle.json says, and each file or directory that
// bundle.json does not list. Other failures (the context ending, an
// unreadable directory) are returned as they are.
func (b *Bundle) Verify(ctx context.Context) error {
	var probs []Problem
	for _, f := range b.Index.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if reason := b.CheckFile(f); reason != "" {
			probs = append(probs, Problem{f.Path, reason})
		}
	}
	unlisted, err := b.Unlisted()
	if err != nil {
		return err
	}
	probs = append(probs, unlisted...)
	if len(probs) == 0 {
		return nil
	}
	sort.Slice(probs, func(i, j int) bool { return probs[i].Path < probs[j].Path })
	return &VerifyError{Dir: b.Dir, Problems: probs}
}

// Unlisted reports each file, link or directory of the bundle directory
// that bundle.json does not list: what Verify reports besides bad files,
// without reading any file. A reader that checks only the files it uses
// (CheckFile) calls it to refuse the same bundles Verify refuses.
func (b *Bundle) Unlisted() ([]Problem, error) {
	var probs []Problem
	listed := map[string]bool{IndexName: true}
	dirs := map[string]bool{DebDir: true, ArtifactDir: true} // present even when empty
	for _, f := range b.Index.Files {
		listed[f.Path] = true
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	err := filepath.WalkDir(b.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, rerr := filepath.Rel(b.Dir, p)
		if rerr != nil {
			return rerr
		}
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
			return nil
		case d.IsDir() && dirs[rel]:
			return nil
		case d.IsDir():
			probs = append(probs, Problem{rel + "/", "directory not listed in " + IndexName})
			return fs.SkipDir
		case listed[rel]:
			return nil // checked by CheckFile
		case d.Type()&fs.ModeSymlink != 0:
			probs = append(probs, Problem{rel, "symbolic link not listed in " + IndexName})
		default:
			probs = append(probs, Problem{rel, "file not listed in " + IndexName})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify bundle %s: %w", b.Dir, err)
	}
	return probs, nil
}

// CheckFile returns why the listed file f is bad (missing, not a regular
// file, below a symbolic link, another size or SHA-256), or "".
func (b *Bundle) CheckFile(f File) string {
	if err := checkRelPath(f.Path); err != nil {
		return err.Error()
	}
	// Every directory on the way must be a real directory: a symbolic
	// link there could point anywhere.
	parts := strings.Split(f.Path, "/")
	cur := b.Dir
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
		case fi.Mode()&fs.ModeSymlink != 0 && last:
			return "is a symbolic link, not a regular file"
		case fi.Mode()&fs.ModeSymlink != 0:
			return "lies below " + path.Join(parts[:i+1]...) + ", a symbolic link"
		case !last && !fi.IsDir():
			return path.Join(parts[:i+1]...) + " is not a directory"
		case last && !fi.Mode().IsRegular():
			return "not a regular file"
		case last && fi.Size() != f.Size:
			return fmt.Sprintf("size is %d bytes, %s says %d", fi.Size(), IndexName, f.Size)
		}
	}
	got, _, err := durable.HashFile(cur)
	if err != nil {
		return err.Error()
	}
	if got != f.SHA256 {
		return fmt.Sprintf("sha256 is %s, %s says %s", got, IndexName, f.SHA256)
	}
	return ""
}
