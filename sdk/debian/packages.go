package debian

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Package is one binary package stanza of a Packages index or of dpkg's
// status file, reduced to the fields that resolving and fetching need.
// Relation fields (Depends, ...) hold the text as written in the stanza;
// [ParseRelations] turns one into a structured form.
type Package struct {
	Name         string
	Version      string
	Architecture string
	MultiArch    string // "same", "foreign", "allowed" or ""
	Essential    bool
	// Protected is dpkg's "Protected: yes": like Essential, dpkg removes
	// the package only when forced.
	Protected     bool
	Priority      string
	Section       string
	Source        string
	Depends       string
	PreDepends    string
	Recommends    string
	Provides      string
	Conflicts     string
	Breaks        string
	Replaces      string
	Filename      string // path below the mirror root; empty in dpkg status
	Size          int64  // bytes of the .deb; 0 in dpkg status
	SHA256        string
	InstalledSize int64 // KiB, as in the control field

	// Status is dpkg's "want flag status" triple; empty for index entries.
	Status string

	// Line is where the stanza starts in the file it was read from.
	Line int
}

// String returns "name version arch", as apt and dpkg print it.
func (p *Package) String() string {
	return p.Name + " " + p.Version + " " + p.Architecture
}

// Index is a parsed Packages file. Packages keep the order of the file.
type Index struct {
	// Name is the file name given to the reader, used in messages.
	Name     string
	Packages []Package

	byName map[string][]int32
}

// Lookup returns every stanza for the named package, in file order.
func (ix *Index) Lookup(name string) []*Package {
	ids := ix.byName[name]
	out := make([]*Package, len(ids))
	for i, id := range ids {
		out[i] = &ix.Packages[id]
	}
	return out
}

func (ix *Index) add(p Package) {
	if ix.byName == nil {
		ix.byName = make(map[string][]int32)
	}
	ix.byName[p.Name] = append(ix.byName[p.Name], int32(len(ix.Packages)))
	ix.Packages = append(ix.Packages, p)
}

// NewIndex builds an index from packages given in memory, for tests and
// for callers that assemble an index themselves. name is used in messages.
func NewIndex(name string, pkgs []Package) *Index {
	ix := &Index{Name: name, Packages: make([]Package, 0, len(pkgs))}
	for _, p := range pkgs {
		ix.add(p)
	}
	return ix
}

// ReadPackages reads a Packages index from r. The stream may be plain
// text or compressed with gzip, xz, bzip2 or zstd; the compression is
// recognised by its magic bytes, not by name, which is only used in
// errors. A stanza without Package or Version, a malformed line or a
// truncated compressed stream is an error naming the file and line.
// ctx is checked between stanzas.
func ReadPackages(ctx context.Context, r io.Reader, name string) (*Index, error) {
	ix := &Index{Name: name, byName: make(map[string][]int32, 1024), Packages: make([]Package, 0, 1024)}
	text, done, err := decompress(r, bufSizeFor(r))
	if err != nil {
		return nil, &ParseError{Name: name, Line: 0, Msg: "open", Err: err}
	}
	defer done()
	n := 0
	err = scanStanzas(text, name, false, func(st *stanza) error {
		if n++; n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		p, err := packageFrom(st, name, true)
		if err != nil {
			return err
		}
		ix.add(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ix, nil
}

// OpenPackages reads the Packages index at path; see [ReadPackages].
// log, if not nil, gets one debug record with the size and duration.
func OpenPackages(ctx context.Context, path string, log *slog.Logger) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open packages index: %w", err)
	}
	defer f.Close()
	start := time.Now()
	ix, err := ReadPackages(ctx, f, path)
	if err != nil {
		return nil, err
	}
	logger(log).Debug("read packages index", "path", path, "packages", len(ix.Packages), "duration", time.Since(start))
	return ix, nil
}

// packageFrom converts a scanned stanza; requireVersion is false for
// dpkg status, where packages that are not installed may lack one.
func packageFrom(st *stanza, name string, requireVersion bool) (Package, error) {
	f := st.fields()
	p := Package{
		Name:         f[fPackage],
		Version:      f[fVersion],
		Architecture: f[fArchitecture],
		MultiArch:    strings.ToLower(f[fMultiArch]),
		Essential:    strings.EqualFold(f[fEssential], "yes"),
		Protected:    strings.EqualFold(f[fProtected], "yes"),
		Priority:     f[fPriority],
		Section:      f[fSection],
		Source:       f[fSource],
		Depends:      f[fDepends],
		PreDepends:   f[fPreDepends],
		Recommends:   f[fRecommends],
		Provides:     f[fProvides],
		Conflicts:    f[fConflicts],
		Breaks:       f[fBreaks],
		Replaces:     f[fReplaces],
		Filename:     f[fFilename],
		SHA256:       f[fSHA256],
		Status:       f[fStatus],
		Line:         st.line,
	}
	if p.Name == "" {
		return p, &ParseError{Name: name, Line: st.line, Msg: "paragraph has no Package field"}
	}
	if requireVersion && p.Version == "" {
		return p, &ParseError{Name: name, Line: st.line, Msg: fmt.Sprintf("package %s has no Version field", p.Name)}
	}
	var err error
	if p.Size, err = parseSize(f[fSize]); err != nil {
		return p, &ParseError{Name: name, Line: st.line, Msg: fmt.Sprintf("package %s: bad Size %q", p.Name, f[fSize])}
	}
	if p.InstalledSize, err = parseSize(f[fInstalledSize]); err != nil {
		return p, &ParseError{Name: name, Line: st.line, Msg: fmt.Sprintf("package %s: bad Installed-Size %q", p.Name, f[fInstalledSize])}
	}
	return p, nil
}

func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// Status is the set of packages dpkg's status file records as present
// on the target (see [Status.Installed]).
type Status struct {
	Name     string
	Packages []Package
	// Journal lists the records of dpkg's updates journal
	// (updates/NNNN, by file name, in order) that [ReadDpkgDatabase]
	// merged: a dpkg cut off in the middle of its work left them, and
	// `dpkg --configure -a` finishes it.
	Journal []string
}

// Installed returns the packages whose files are on the system: every
// state except not-installed and config-files, which is what apt counts
// as having a current version.
func (s *Status) Installed() []*Package {
	var out []*Package
	for i := range s.Packages {
		if s.Packages[i].present() {
			out = append(out, &s.Packages[i])
		}
	}
	return out
}

// present reports whether dpkg has the package's files on disk.
func (p *Package) present() bool {
	_, _, state, ok := p.StatusFields()
	return ok && state != "not-installed" && state != "config-files"
}

// StatusFields splits dpkg's Status field into its three words: what is
// wanted of the package (install, hold, deinstall, purge), its flag (ok,
// or reinstreq when dpkg requires it to be unpacked again before it can
// be removed) and its state (not-installed, config-files, half-installed,
// unpacked, half-configured, triggers-awaited, triggers-pending,
// installed). ok is false unless the field has exactly three words.
func (p *Package) StatusFields() (want, flag, state string, ok bool) {
	f := strings.Fields(p.Status)
	if len(f) != 3 {
		return "", "", "", false
	}
	return f[0], f[1], f[2], true
}

// ReadStatus reads a dpkg status file (var/lib/dpkg/status). Every
// paragraph is kept, with its Status field; see [Status.Installed].
func ReadStatus(ctx context.Context, r io.Reader, name string) (*Status, error) {
	s := &Status{Name: name}
	err := scanStanzas(r, name, false, func(st *stanza) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := packageFrom(st, name, false)
		if err != nil {
			return err
		}
		if len(strings.Fields(p.Status)) != 3 {
			return &ParseError{Name: name, Line: st.line, Msg: fmt.Sprintf("package %s: Status %q is not \"want flag state\"", p.Name, p.Status)}
		}
		if p.Version == "" && p.present() {
			return &ParseError{Name: name, Line: st.line, Msg: fmt.Sprintf("installed package %s has no Version field", p.Name)}
		}
		s.Packages = append(s.Packages, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// OpenStatus reads the dpkg status file at path; see [ReadStatus].
func OpenStatus(ctx context.Context, path string) (*Status, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open dpkg status: %w", err)
	}
	defer f.Close()
	return ReadStatus(ctx, f, filepath.Clean(path))
}

// ReadDpkgDatabase reads the package database of the dpkg whose
// administrative directory (var/lib/dpkg) is admin, as dpkg itself sees
// it: the status file, then the records of dpkg's updates journal
// (updates/NNNN) that a dpkg cut off (killed, or out of disk space) had
// not merged into it yet, in order, each replacing the record of its
// package (by name and architecture). name is the directory as messages
// show it.
//
// Unlike [ReadStatus], it takes what a cut-off dpkg may leave: lines that
// do not parse are skipped, a record without Package is ignored, a
// repeated field replaces the earlier one, a Size or Installed-Size that
// is not a number is ignored, and a Status that is not three words or an
// installed package without Version are kept as they are (see
// [Package.StatusFields]). A missing status file is an empty database.
func ReadDpkgDatabase(ctx context.Context, admin fs.FS, name string) (*Status, error) {
	s := &Status{Name: name}
	at := map[string]int{} // index in s.Packages, by name:arch
	read := func(file string) error {
		b, err := fs.ReadFile(admin, file)
		if err != nil {
			return err
		}
		return scanStanzas(bytes.NewReader(b), name+"/"+file, true, func(st *stanza) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			// Not even a bad Installed-Size fails the database:
			// packageFrom still fills in the rest.
			p, _ := packageFrom(st, name+"/"+file, false)
			if p.Name == "" {
				return nil
			}
			k := p.Name + ":" + p.Architecture
			if i, ok := at[k]; ok {
				s.Packages[i] = p
				return nil
			}
			at[k] = len(s.Packages)
			s.Packages = append(s.Packages, p)
			return nil
		})
	}
	if err := read("status"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read dpkg status: %w", err)
	}
	entries, err := fs.ReadDir(admin, "updates")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read dpkg's updates journal: %w", err)
	}
	for _, e := range entries {
		if n := e.Name(); n != "" && strings.Trim(n, "0123456789") == "" {
			s.Journal = append(s.Journal, n)
		}
	}
	sort.Strings(s.Journal) // dpkg names them with a fixed number of digits
	for _, n := range s.Journal {
		if err := read("updates/" + n); err != nil {
			return nil, fmt.Errorf("read dpkg's updates journal: %w", err)
		}
	}
	return s, nil
}
