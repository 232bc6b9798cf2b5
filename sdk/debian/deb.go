package debian

import (
	"archive/tar"
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
	"sort"
	"strings"

	"github.com/kjk/lzma"
	"github.com/klauspost/compress/zstd"
	"github.com/xi2/xz"
	"pault.ag/go/debian/control"
	"pault.ag/go/debian/deb"

	"github.com/runtimekit/runtimekit/internal/durable"
)

// Deb describes a .deb file: its control fields and the files its data
// archive would install.
type Deb struct {
	Path string
	// Package holds the control fields the resolver uses; Size and
	// SHA256 are those of the .deb file itself, Filename is empty.
	Package Package
	// Control has every field of the control file, by its name as
	// written (Description included).
	Control map[string]string
	// DataCompression is the data member's compression suffix: "xz",
	// "gz", "zst", "bz2" or "" for an uncompressed data.tar.
	DataCompression string
	// Files lists the data archive's entries in archive order, with
	// paths cleaned to absolute form ("/usr/bin/sv").
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
// zstd is what Ubuntu uses), under the limits in openMember: a .deb is
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
	d, err := loadDeb(f)
	if err != nil {
		return nil, fmt.Errorf("inspect deb %s: %w", file, err)
	}
	defer d.Close()

	out := &Deb{Path: file, Control: d.Control.Values, DataCompression: strings.TrimPrefix(strings.TrimPrefix(d.DataExt, "tar"), ".")}
	var st stanza
	st.reset(1)
	keys := make([]string, 0, len(d.Control.Values))
	for k := range d.Control.Values {
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
		st.buf = append(st.buf, strings.Join(strings.Fields(d.Control.Values[k]), " ")...)
		st.end[fld] = int32(len(st.buf))
	}
	p, err := packageFrom(&st, file+" control", true)
	if err != nil {
		return nil, fmt.Errorf("inspect deb: %w", err)
	}
	p.Line = 0
	p.Size = size
	p.SHA256 = sum
	out.Package = p

	for n := 0; ; n++ {
		if n&255 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		hdr, err := d.Data.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("inspect deb %s: data.%s entry %d: %w", file, d.DataExt, n+1, err)
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

// loadDeb finds the members InspectDeb reads, as pault.ag/go/debian/deb's
// Load does but with the bounded decompressors of openMember: Load's own
// take a window or dictionary of whatever size the member's header asks
// for (a 400-byte .deb with a data.tar.lzma can ask for 4 GiB).
func loadDeb(in io.ReaderAt) (*deb.Deb, error) {
	ar, err := deb.LoadAr(in)
	if err != nil {
		return nil, err
	}
	var version, ctl, data *deb.ArEntry
	for {
		m, err := ar.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch {
		case m.Name == "debian-binary" && version == nil:
			version = m
		case strings.HasPrefix(m.Name, "control.tar") && ctl == nil:
			ctl = m
		case strings.HasPrefix(m.Name, "data.tar") && data == nil:
			data = m
		}
	}
	if version == nil {
		return nil, errors.New("no debian-binary member: not a Debian package")
	}
	v, err := io.ReadAll(io.LimitReader(version.Data, 16))
	if err != nil {
		return nil, err
	}
	if string(v) != "2.0\n" {
		return nil, fmt.Errorf("unknown .deb format version %q", v)
	}
	if ctl == nil || data == nil {
		return nil, errors.New("no control.tar or no data.tar member")
	}
	d := &deb.Deb{ControlExt: strings.TrimPrefix(ctl.Name, "control."), DataExt: strings.TrimPrefix(data.Name, "data.")}
	cr, closeCtl, err := openMember(ctl)
	if err != nil {
		return nil, err
	}
	defer closeCtl()
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s has no control file", ctl.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ctl.Name, err)
		}
		if path.Clean(hdr.Name) != "control" {
			continue
		}
		if hdr.Size > maxControlFile {
			return nil, fmt.Errorf("%s: control file of %d bytes, more than %d", ctl.Name, hdr.Size, maxControlFile)
		}
		if err := control.Unmarshal(&d.Control, io.LimitReader(tr, maxControlFile)); err != nil {
			return nil, fmt.Errorf("%s: control: %w", ctl.Name, err)
		}
		break
	}
	dr, closeData, err := openMember(data)
	if err != nil {
		return nil, err
	}
	d.Data = tar.NewReader(dr)
	d.Closer = closerFunc(closeData)
	return d, nil
}

type closerFunc func()

func (f closerFunc) Close() error { f(); return nil }

// Limits of what reading one .deb may allocate: maxWindow is the largest
// zstd window a member may ask for (libzstd's default limit, so what
// dpkg's zstd accepts), maxDict the largest xz or lzma dictionary (xz -9's
// and lzma -9's, the largest they write), and maxControlFile the largest
// control file (real ones are a few KiB; the executor reads as much).
const (
	maxWindow      = 128 << 20
	maxDict        = 64 << 20
	maxControlFile = 1 << 20
)

// openMember returns the decompressed content of a control.tar* or
// data.tar* member, chosen by its name's suffix, and a function that
// releases the decompressor.
func openMember(m *deb.ArEntry) (io.Reader, func(), error) {
	suffix := m.Name[strings.Index(m.Name, ".tar")+len(".tar"):]
	nothing := func() {}
	var r io.Reader = m.Data
	switch suffix {
	case "":
		return r, nothing, nil
	case ".gz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", m.Name, err)
		}
		return zr, nothing, nil
	case ".xz":
		zr, err := xz.NewReader(r, maxDict)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", m.Name, err)
		}
		return zr, nothing, nil
	case ".zst":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxWindow))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", m.Name, err)
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
			return nil, nil, fmt.Errorf("%s: lzma header: %w", m.Name, err)
		}
		if dict := binary.LittleEndian.Uint32(hdr[1:5]); dict > maxDict {
			return nil, nil, fmt.Errorf("%s: lzma dictionary of %d bytes, more than %d", m.Name, dict, maxDict)
		}
		zr := lzma.NewReader(io.MultiReader(bytes.NewReader(hdr[:]), r))
		return zr, func() { zr.Close() }, nil
	}
	return nil, nil, fmt.Errorf("%s: unsupported compression %q (gzip, xz, zstd, bzip2, lzma or none are read)", m.Name, strings.TrimPrefix(suffix, "."))
}
