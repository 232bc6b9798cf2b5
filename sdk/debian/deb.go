package debian

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"pault.ag/go/debian/deb"
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

// InspectDeb reads the .deb at path. It uses pault.ag/go/debian/deb,
// which reads gzip, xz, zstd, bzip2 and lzma members (Debian bookworm
// ships data.tar.xz; zstd is what Ubuntu uses).
func InspectDeb(ctx context.Context, file string) (*Deb, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("inspect deb: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("inspect deb %s: %w", file, err)
	}
	d, err := deb.Load(f, file)
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
	p.SHA256 = hex.EncodeToString(h.Sum(nil))
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
			return nil, fmt.Errorf("inspect deb %s: data.tar%s entry %d: %w", file, d.DataExt, n+1, err)
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
