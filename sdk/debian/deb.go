package debian

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/kjk/lzma"
	"github.com/klauspost/compress/zstd"
	"github.com/xi2/xz"
	"pault.ag/go/debian/dependency"
	"pault.ag/go/debian/version"

	"github.com/runtimekit/runtimekit/internal/durable"
)

// Deb describes a .deb file: its control fields and the files its data
// archive would install.
type Deb struct {
	Path string
	// Package holds the control fields the resolver uses; Size and
	// SHA256 are those of the .deb file itself (empty when read by
	// [DebReader.Control]), Filename is empty.
	Package Package
	// Control has every field of the control file, by its name as
	// written (Description included).
	Control map[string]string
	// DataCompression is the data member's compression suffix: "xz",
	// "gz", "zst", "bz2" or "" for an uncompressed data.tar.
	DataCompression string
	// Files lists the data archive's entries in archive order, with
	// paths cleaned to absolute form ("/usr/bin/sv"); nil when read by
	// [DebReader.Control].
	Files []DebFile
}

// DebFile is one entry of a .deb's data archive.
type DebFile struct {
	Path     string
	Mode     fs.FileMode
	Size     int64
	LinkName string // target of a symlink or hard link
}

// InspectDeb reads the .deb at path: the control file of its first
// control.tar member and the entries of its first data.tar member, in the
// ar archive's order, as dpkg-deb takes them. Members may be compressed
// with gzip, xz, zstd, bzip2 or lzma (Debian bookworm ships data.tar.xz;
// zstd is what Ubuntu uses), under the limits in decompress: a .deb is
// read in bounded memory whatever its headers claim.
func InspectDeb(ctx context.Context, file string) (*Deb, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("inspect deb: %w", err)
	}
	defer f.Close()
	sum, size, err := durable.Hash(f)
	if err != nil {
		return nil, fmt.Errorf("inspect deb %s: %w", file, err)
	}
	var dr DebReader
	out, data, err := dr.control(f, file)
	if err != nil {
		return nil, fmt.Errorf("inspect deb %s: %w", file, err)
	}
	out.Package.Size = size
	out.Package.SHA256 = sum

	r, done, err := dr.open(f, data)
	if err != nil {
		return nil, fmt.Errorf("inspect deb %s: %w", file, err)
	}
	defer done()
	tr := tar.NewReader(r)
	for n := 0; ; n++ {
		if n&255 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("inspect deb %s: %s entry %d: %w", file, data.name, n+1, err)
		}
		name := path.Clean("/" + hdr.Name)
		if name == "/" {
			continue
		}
		out.Files = append(out.Files, DebFile{
			Path:     name,
			Mode:     hdr.FileInfo().Mode(),
			Size:     hdr.Size,
			LinkName: linkName(hdr),
		})
	}
	return out, nil
}

func linkName(h *tar.Header) string {
	switch h.Typeflag {
	case tar.TypeSymlink:
		return h.Linkname
	case tar.TypeLink:
		return path.Clean("/" + h.Linkname)
	}
	return ""
}

// A DebReader reads .deb files one after another in bounded memory, as
// [InspectDeb] does, and keeps one xz decoder for all of them: each
// allocates the dictionary its stream asks for (8 MiB for Debian's
// control.tar.xz and data.tar.xz, however small the data), too much to
// allocate again for every package on a machine with little memory. The
// zero DebReader reads every compression InspectDeb reads. A DebReader is
// not for concurrent use.
type DebReader struct {
	// Compressions, if not nil, are the only member compressions read,
	// by suffix: "" (none), "gz", "xz", "zst", "bz2", "lzma". A member
	// compressed otherwise is an error.
	Compressions []string

	xz *xz.Reader
}

// Control reads the control file of the .deb at file, as [InspectDeb]
// does, without reading its data: the Deb it returns has no Files, and
// its Package no Size or SHA256.
func (d *DebReader) Control(file string) (*Deb, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, _, err := d.control(f, file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

// Data calls fn with the decompressed content of the data member of the
// .deb at file (the first data.tar member, as [InspectDeb] takes it) and
// the member's name, and returns what fn returns. The content is read as
// it streams; fn must not keep r.
func (d *DebReader) Data(file string, fn func(member string, r io.Reader) error) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, data, err := d.members(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	r, done, err := d.open(f, data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	defer done()
	return fn(data.name, r)
}

// arMember is one member of a .deb's ar archive.
type arMember struct {
	name         string
	offset, size int64 // of the content
}

// members finds the first control.tar and the first data.tar member of
// the ar archive in, in archive order, and checks its debian-binary
// member. An ar header that is cut short ends the archive.
func (d *DebReader) members(in io.ReaderAt) (ctl, data arMember, err error) {
	var magic [8]byte
	if _, err := in.ReadAt(magic[:], 0); err != nil || string(magic[:]) != "!<arch>\n" {
		return ctl, data, errors.New("not a Debian package (no ar header)")
	}
	var version *arMember
	var hdr [60]byte
	for off := int64(len(magic)); ; {
		if _, err := in.ReadAt(hdr[:], off); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return ctl, data, err
		}
		if hdr[58] != '`' || hdr[59] != '\n' {
			return ctl, data, errors.New("bad ar member header")
		}
		m := arMember{name: strings.TrimSuffix(strings.TrimSpace(string(hdr[0:16])), "/"), offset: off + int64(len(hdr))}
		if s := strings.TrimSpace(string(hdr[48:58])); s != "" {
			if m.size, err = strconv.ParseInt(s, 10, 64); err != nil || m.size < 0 {
				return ctl, data, fmt.Errorf("bad size %q in the ar header of %q", s, m.name)
			}
		}
		switch {
		case m.name == "debian-binary" && version == nil:
			version = &m
		case strings.HasPrefix(m.name, "control.tar") && ctl.name == "":
			ctl = m
		case strings.HasPrefix(m.name, "data.tar") && data.name == "":
			data = m
		}
		off = m.offset + m.size + m.size%2 // members are 2-byte aligned
	}
	if version == nil {
		return ctl, data, errors.New("no debian-binary member: not a Debian package")
	}
	v, err := io.ReadAll(io.NewSectionReader(in, version.offset, min(version.size, 16)))
	if err != nil {
		return ctl, data, err
	}
	if string(v) != "2.0\n" {
		return ctl, data, fmt.Errorf("unknown .deb format version %q", v)
	}
	switch {
	case ctl.name == "":
		return ctl, data, errors.New("no control member")
	case data.name == "":
		return ctl, data, errors.New("no data member")
	}
	return ctl, data, nil
}

// control reads the control file of the .deb in (named file in
// messages) and returns it with the data member.
func (d *DebReader) control(in io.ReaderAt, file string) (*Deb, arMember, error) {
	ctl, data, err := d.members(in)
	if err != nil {
		return nil, data, err
	}
	r, done, err := d.open(in, ctl)
	if err != nil {
		return nil, data, err
	}
	defer done()
	tr := tar.NewReader(r)
	var fields map[string]string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, data, fmt.Errorf("%s has no control file", ctl.name)
		}
		if err != nil {
			return nil, data, fmt.Errorf("%s: %w", ctl.name, err)
		}
		if path.Clean(hdr.Name) != "control" {
			continue
		}
		if hdr.Size > maxControlFile {
			return nil, data, fmt.Errorf("%s: control file of %d bytes, more than %d", ctl.name, hdr.Size, maxControlFile)
		}
		if fields, err = parseControlFile(io.LimitReader(tr, maxControlFile)); err != nil {
			return nil, data, fmt.Errorf("%s: control: %w", ctl.name, err)
		}
		break
	}
	suffix := strings.TrimPrefix(data.name, "data.tar")
	out := &Deb{Path: file, Control: fields, DataCompression: strings.TrimPrefix(suffix, ".")}
	var st stanza
	st.reset(1)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fld := fieldOf([]byte(strings.ToLower(k)))
		if fld == fNone {
			continue
		}
		st.seen[fld] = true
		st.start[fld] = int32(len(st.buf))
		st.buf = append(st.buf, strings.Join(strings.Fields(fields[k]), " ")...)
		st.end[fld] = int32(len(st.buf))
	}
	p, err := packageFrom(&st, file+" control", true)
	if err != nil {
		return nil, data, err
	}
	p.Line = 0
	out.Package = p
	return out, data, nil
}

// parseControlFile reads the first paragraph of a .deb's control file
// into its fields, by name as written, and checks them as dpkg-deb's
// control format wants them (see checkControl). Continuation lines join
// their field's value with "\n" (a line of " ." is an empty one);
// comments are skipped; a line that is neither a field nor a continuation
// is an error. This is what pault.ag/go/debian/deb reads a control file
// as; its decoder is not used, because it links an OpenPGP
// implementation (for signed files) into every program that reads a
// .deb, the in-VM executor among them.
func parseControlFile(r io.Reader) (map[string]string, error) {
	br := bufio.NewReader(r)
	fields := map[string]string{}
	var last string
	n := 0 // field lines seen
	for {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if line == "" && err != nil {
			if n == 0 {
				return nil, io.EOF
			}
			break
		}
		if !strings.HasSuffix(line, "\n") {
			line += "\n"
		}
		switch {
		case line == "\n" || line == "\r\n":
			if n > 0 {
				return checkControl(fields)
			}
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t"):
			line = strings.TrimRightFunc(line[1:], unicode.IsSpace)
			if line == "." {
				line = ""
			}
			v := fields[last]
			if v != "" && !strings.HasSuffix(v, "\n") {
				v += "\n"
			}
			fields[last] = v + line + "\n"
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("bad line %q: want \"Field: value\"", truncate([]byte(strings.TrimRight(line, "\r\n"))))
			}
			last = strings.TrimSpace(k)
			fields[last] = strings.TrimSpace(v)
			n++
		}
	}
	return checkControl(fields)
}

// checkControl checks the fields of a binary package's control file that
// have a syntax: Package, Version and Architecture must be there, Version
// and Architecture must parse, and so must the relation fields that
// pault.ag/go/debian/deb decodes. (Installed-Size, like Size, is checked
// as the Package is made.)
func checkControl(fields map[string]string) (map[string]string, error) {
	for _, k := range []string{"Package", "Version", "Architecture"} {
		if _, ok := fields[k]; !ok {
			return nil, fmt.Errorf("no %s field", k)
		}
	}
	if _, err := version.Parse(fields["Version"]); err != nil {
		return nil, fmt.Errorf("Version %q: %w", fields["Version"], err)
	}
	if _, err := dependency.ParseArch(fields["Architecture"]); err != nil {
		return nil, fmt.Errorf("Architecture %q: %w", fields["Architecture"], err)
	}
	for _, k := range []string{"Depends", "Recommends", "Suggests", "Breaks", "Replaces", "Built-Using"} {
		if v, ok := fields[k]; ok {
			if _, err := dependency.Parse(v); err != nil {
				return nil, fmt.Errorf("%s %q: %w", k, v, err)
			}
		}
	}
	return fields, nil
}

// Limits of what reading one .deb may allocate: maxWindow is the largest
// zstd window a member may ask for (libzstd's default limit, so what
// dpkg's zstd accepts), maxDict the largest xz or lzma dictionary (xz -9's
// and lzma -9's, the largest they write), and maxControlFile the largest
// control file (real ones are a few KiB).
const (
	maxWindow      = 128 << 20
	maxDict        = 64 << 20
	maxControlFile = 1 << 20
)

// compressions names each member compression suffix InspectDeb reads.
var compressions = []struct{ suffix, name string }{
	{".gz", "gzip"}, {".xz", "xz"}, {".zst", "zstd"}, {".bz2", "bzip2"}, {".lzma", "lzma"}, {"", "none"},
}

// open returns the decompressed content of member m of in, by its name's
// suffix, and a function that releases the decompressor.
func (d *DebReader) open(in io.ReaderAt, m arMember) (io.Reader, func(), error) {
	suffix := m.name[strings.Index(m.name, ".tar")+len(".tar"):]
	if d.Compressions != nil && !slices.Contains(d.Compressions, strings.TrimPrefix(suffix, ".")) {
		return nil, nil, fmt.Errorf("%s: unsupported compression %q (%s are read)", m.name, strings.TrimPrefix(suffix, "."), d.readable())
	}
	r, done, err := d.decompress(suffix, bufio.NewReaderSize(io.NewSectionReader(in, m.offset, m.size), 64<<10))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", m.name, err)
	}
	return r, done, nil
}

// readable lists the compressions d reads, for messages.
func (d *DebReader) readable() string {
	var names []string
	for _, c := range compressions {
		if d.Compressions == nil || slices.Contains(d.Compressions, strings.TrimPrefix(c.suffix, ".")) {
			names = append(names, c.name)
		}
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// decompress returns a reader of the content of a member with that
// compression suffix, and a function that releases the decompressor.
func (d *DebReader) decompress(suffix string, r io.Reader) (io.Reader, func(), error) {
	nothing := func() {}
	switch suffix {
	case "":
		return r, nothing, nil
	case ".gz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, nothing, nil
	case ".xz":
		var err error
		if d.xz == nil {
			d.xz, err = xz.NewReader(r, maxDict)
		} else {
			err = d.xz.Reset(r)
		}
		if err != nil {
			return nil, nil, err
		}
		return d.xz, nothing, nil
	case ".zst":
		// One goroutine-free decoder, and no larger window than
		// libzstd (and so dpkg) accepts by default.
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxWindow))
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	case ".bz2":
		return bzip2.NewReader(r), nothing, nil
	case ".lzma":
		// The header is 1 byte of properties, the dictionary size (4
		// bytes, little-endian) and the uncompressed size (8 bytes);
		// the decoder allocates the dictionary before reading on.
		var hdr [13]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, nil, fmt.Errorf("lzma header: %w", err)
		}
		if dict := binary.LittleEndian.Uint32(hdr[1:5]); dict > maxDict {
			return nil, nil, fmt.Errorf("lzma dictionary of %d bytes, more than %d", dict, maxDict)
		}
		zr := lzma.NewReader(io.MultiReader(bytes.NewReader(hdr[:]), r))
		return zr, func() { zr.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unsupported compression %q (%s are read)", strings.TrimPrefix(suffix, "."), d.readable())
}
