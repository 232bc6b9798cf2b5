package executor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/runtimekit/runtimekit/sdk/debian"
)

// debControl is what the executor needs from a .deb's control file.
type debControl struct {
	Package      string
	Version      string
	Architecture string
	// PreDepends lists, per Pre-Depends group, the package names that
	// would satisfy it.
	PreDepends [][]string
	Provides   []string
}

// debReader reads .debs with sdk/debian's reader, bounded as it is, in
// the compressions dpkg-deb reads but bzip2 and lzma, which it no longer
// builds and no current Debian package uses. It keeps one xz decoder for
// every .deb it reads (see debian.DebReader).
type debReader struct {
	d *debian.DebReader
}

func (r *debReader) reader() *debian.DebReader {
	if r.d == nil {
		r.d = &debian.DebReader{Compressions: []string{"", "gz", "xz", "zst"}}
	}
	return r.d
}

// readDebControl reads the control file of a .deb without running
// dpkg-deb (a process spawn costs seconds under emulation). A .deb whose
// control does not read is an error, and the caller assumes the worst.
func readDebControl(p string) (*debControl, error) {
	return (&debReader{}).control(p)
}

func (r *debReader) control(p string) (*debControl, error) {
	d, err := r.reader().Control(p)
	if err != nil {
		return nil, err
	}
	c := &debControl{Package: d.Package.Name, Version: d.Package.Version, Architecture: d.Package.Architecture}
	// Names only: the batching of dpkg runs must not fail on a relation
	// dpkg will judge.
	c.PreDepends = debian.RelationNames(d.Package.PreDepends)
	for _, group := range debian.RelationNames(d.Package.Provides) {
		c.Provides = append(c.Provides, group...)
	}
	return c, nil
}

// checkDebData refuses a .deb whose data archive (what dpkg unpacks onto
// the machine) holds what no Debian package holds and what would let
// dpkg change files that are not the package's own:
//
//   - a hard link whose target is not a regular file earlier in the same
//     data.tar, named exactly as there: dpkg links to that path on the
//     machine, whatever is there (/etc/shadow), and then gives it the
//     entry's mode and owner;
//   - a character or block device, or a FIFO: Debian Policy (10.6) says
//     packages must not include device files or named pipes, and dpkg
//     would create them;
//   - a name or hard link target with a ".." component, which dpkg-deb
//     never writes and the kernel resolves through the machine's links
//     (with --root, out of the root).
//
// The data archive is read as dpkg reads it (see scanDpkgTar), once,
// decompressed as it streams; nothing is written. It must run before
// dpkg sees the .deb: dpkg checks none of this.
func checkDebData(p string) error {
	return (&debReader{}).checkData(p)
}

func (r *debReader) checkData(p string) error {
	return r.reader().Data(p, func(member string, data io.Reader) error {
		regular := map[string]bool{} // regular files so far, by dpkgName
		var refused error
		err := scanDpkgTar(data, func(e *dpkgTarEntry) error {
			refused = checkDebEntry(e, regular)
			return refused
		})
		switch {
		case refused != nil:
			return fmt.Errorf("%s: %s: %w; no Debian package holds this, and dpkg would not refuse it: refusing the package (rebuild the bundle from the Debian archive)",
				p, member, refused)
		case err != nil:
			return fmt.Errorf("%s: %s: %w; dpkg-deb does not build this: refusing the package (rebuild the bundle from the Debian archive)", p, member, err)
		}
		return nil
	})
}

// checkDebEntry checks one data.tar entry; regular holds the package's
// regular files so far, by dpkgName, and is kept up to date.
func checkDebEntry(e *dpkgTarEntry, regular map[string]bool) error {
	if hasDotDot(e.name) {
		return fmt.Errorf("entry %q has a '..' component", e.name)
	}
	at := dpkgName(e.name)
	switch e.typ {
	case tarFile:
		regular[at] = true
		return nil
	case tarHardLink:
		if hasDotDot(e.linkname) || !regular[dpkgName(e.linkname)] {
			return fmt.Errorf("entry %q is a hard link to %q, which is not a regular file earlier in the package (dpkg would link the machine's file and give it this entry's mode and owner)",
				e.name, e.linkname)
		}
		// Another name of a regular file of the package.
		regular[at] = true
		return nil
	case tarCharDev:
		return fmt.Errorf("entry %q is a character device (%d, %d)%s", e.name, e.devmajor, e.devminor, policyDevices)
	case tarBlockDev:
		return fmt.Errorf("entry %q is a block device (%d, %d)%s", e.name, e.devmajor, e.devminor, policyDevices)
	case tarFIFO:
		return fmt.Errorf("entry %q is a FIFO%s", e.name, policyDevices)
	}
	// A directory or symbolic link: no longer a file to link to.
	delete(regular, at)
	return nil
}

const policyDevices = " (Debian Policy 10.6: packages must not include device files or named pipes)"

// dpkgName is the name dpkg files a data.tar entry under (fsys_hash_find_node):
// leading "/" and "./" dropped, nothing else, so "./usr/./bin/x" is not
// "./usr/bin/x" to dpkg, and a hard link to the one does not find the
// other.
func dpkgName(name string) string {
	for {
		switch {
		case strings.HasPrefix(name, "/"):
			name = name[1:]
		case strings.HasPrefix(name, "./"):
			name = name[2:]
		default:
			return "/" + name
		}
	}
}

func hasDotDot(name string) bool {
	return slices.Contains(strings.Split(name, "/"), "..")
}

// Tar entry types, as dpkg's tar reader knows them.
const (
	tarFile      = '0'
	tarHardLink  = '1'
	tarSymlink   = '2'
	tarCharDev   = '3'
	tarBlockDev  = '4'
	tarDir       = '5'
	tarFIFO      = '6'
	tarLongLink  = 'K'
	tarLongName  = 'L'
	maxLongNames = 1 << 20
)

// dpkgTarEntry is a data.tar entry as dpkg decodes it.
type dpkgTarEntry struct {
	name, linkname     string
	typ                byte
	size               int64
	devmajor, devminor uint64
}

// scanDpkgTar calls visit with each entry of the tar stream r that dpkg
// would act on, decoded as dpkg's own reader does (lib/dpkg/tarfn.c,
// tar_extractor, and src/main/archives.c, tarobject), up to where dpkg
// would stop. archive/tar reads some headers otherwise, and a check
// built on it can be shown one archive while dpkg unpacks another: it
// honours PAX records (dpkg refuses them), takes a GNU header's atime
// and ctime for a name prefix when they do not parse (dpkg uses no
// prefix there), reads a 131-byte prefix from star headers (dpkg, 155
// bytes), and makes a type '\0' entry whose name ends in "/" a directory
// without data (dpkg, a regular file whose data it reads, so that the
// two see different headers from there on).
//
// Like dpkg: a header block that does not decode (checksum, size) ends
// the archive when its name is empty, and is an error otherwise; GNU
// long names and links apply to the next entry; types '\0' and '0' are
// a regular file, with one trailing "/" dropped from the name; types
// dpkg does not know are an error. Where dpkg decodes more fields than
// this (mtime, owner), it may stop earlier than scanDpkgTar, never later.
func scanDpkgTar(r io.Reader, visit func(*dpkgTarEntry) error) error {
	var blk [512]byte
	var longName, longLink *string
	for {
		if n, err := io.ReadFull(r, blk[:]); err != nil {
			if n == 0 && errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("truncated tar header: %w", err)
		}
		e, ok := decodeDpkgTarHeader(&blk)
		if !ok {
			if e.name == "" {
				return nil // the end, as dpkg reads it
			}
			return fmt.Errorf("entry %q: invalid tar header", e.name)
		}
		if e.typ != tarLongName && e.typ != tarLongLink {
			if longName != nil {
				e.name = *longName
			}
			if longLink != nil {
				e.linkname = *longLink
			}
			longName, longLink = nil, nil
		}
		if e.name == "" {
			return errors.New("a tar header with an empty name")
		}
		switch e.typ {
		case tarLongName, tarLongLink:
			if e.size > maxLongNames {
				return fmt.Errorf("entry %q: a GNU long name of %d bytes", e.name, e.size)
			}
			b := make([]byte, (e.size+511)&^511)
			if _, err := io.ReadFull(r, b); err != nil {
				return fmt.Errorf("entry %q: truncated GNU long name: %w", e.name, err)
			}
			s := cString(b[:e.size])
			if e.typ == tarLongName {
				longName = &s
			} else {
				longLink = &s
			}
			continue
		case tarFile:
			// A regular file, whatever its name ends with: tarobject
			// acts on the type, and reads the data.
			e.name = strings.TrimSuffix(e.name, "/")
			if err := visit(e); err != nil {
				return err
			}
			if _, err := io.CopyN(io.Discard, r, (e.size+511)&^511); err != nil {
				return fmt.Errorf("entry %q: truncated data: %w", e.name, err)
			}
			continue
		case tarDir:
			e.name = strings.TrimSuffix(e.name, "/")
		case tarHardLink, tarSymlink, tarCharDev, tarBlockDev, tarFIFO:
		default:
			return fmt.Errorf("entry %q: tar entry type %q, which dpkg does not unpack", e.name, e.typ)
		}
		if err := visit(e); err != nil {
			return err
		}
	}
}

// decodeDpkgTarHeader decodes a header block as tar_header_decode does;
// ok is false when its size or checksum does not decode or match. The
// name is the ustar prefix, "/" and the name when the magic is ustar's
// and the prefix is not empty, else the name.
func decodeDpkgTarHeader(b *[512]byte) (e *dpkgTarEntry, ok bool) {
	e = &dpkgTarEntry{name: cString(b[0:100]), linkname: cString(b[157:257]), typ: b[156]}
	if string(b[257:263]) == "ustar\x00" && b[345] != 0 {
		e.name = cString(b[345:500]) + "/" + e.name
	}
	if e.typ == 0 {
		e.typ = tarFile
	}
	e.devmajor, _ = tarNumber(b[329:337])
	e.devminor, _ = tarNumber(b[337:345])
	size, okSize := tarNumber(b[124:136])
	sum, okSum := tarOctal(b[148:156])
	if !okSize || size > math.MaxInt64 || !okSum {
		return e, false
	}
	e.size = int64(size)
	computed := uint64(8 * ' ')
	for i, c := range b {
		if i < 148 || i >= 156 {
			computed += uint64(c)
		}
	}
	return e, computed == sum
}

// tarNumber decodes a numeric field as tar_atoul does: octal, or a
// positive base-256 number (first byte 0x80) that fits in 63 bits.
func tarNumber(f []byte) (uint64, bool) {
	switch f[0] {
	case 0xff:
		return 0, false // negative
	case 0x80:
		// Big-endian, the marker cleared; what does not fit in 64
		// bits must be zeros, and the top bit clear.
		g := append([]byte{0}, f[1:]...)
		for ; len(g) > 8; g = g[1:] {
			if g[0] != 0 {
				return 0, false
			}
		}
		if g[0]&0x80 != 0 {
			return 0, false
		}
		var n uint64
		for _, c := range g {
			n = n<<8 | uint64(c)
		}
		return n, true
	}
	return tarOctal(f)
}

// tarOctal decodes an octal field as tar_atol8 does: leading spaces,
// octal digits, then only NULs and spaces.
func tarOctal(f []byte) (uint64, bool) {
	i := 0
	for i < len(f) && f[i] == ' ' {
		i++
	}
	if i == len(f) {
		return 0, false
	}
	var n uint64
	for ; i < len(f) && f[i] != 0 && f[i] != ' '; i++ {
		if f[i] < '0' || f[i] > '7' {
			return 0, false
		}
		n = n<<3 | uint64(f[i]-'0')
	}
	for ; i < len(f); i++ {
		if f[i] != 0 && f[i] != ' ' {
			return 0, false
		}
	}
	return n, true
}

// cString is b up to its first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
