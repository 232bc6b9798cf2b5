package executor

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/xi2/xz"
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

// debReader reads .deb control files. It keeps one xz decoder: each
// allocates the dictionary the stream asks for (8 MiB for Debian's
// control.tar.xz, however small the data), which is too much to allocate
// per package on a machine with little memory.
type debReader struct {
	xz *xz.Reader
}

// readDebControl reads the control file of a .deb without running
// dpkg-deb (a process spawn costs seconds under emulation): the ar
// archive's control.tar member, compressed with gzip, xz or nothing
// (what Debian uses). A .deb with another compression is reported as an
// error, and the caller assumes the worst.
func readDebControl(p string) (*debControl, error) {
	return (&debReader{}).control(p)
}

func (d *debReader) control(p string) (*debControl, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	br := bufio.NewReader(fh)
	magic := make([]byte, 8)
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != "!<arch>\n" {
		return nil, fmt.Errorf("%s: not a Debian package (no ar header)", p)
	}
	for {
		hdr := make([]byte, 60)
		if _, err := io.ReadFull(br, hdr); err != nil {
			return nil, fmt.Errorf("%s: no control member", p)
		}
		name := strings.TrimRight(strings.TrimSpace(string(hdr[0:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("%s: bad ar member header", p)
		}
		member := io.LimitReader(br, size)
		if strings.HasPrefix(name, "control.tar") {
			var r io.Reader
			switch name {
			case "control.tar":
				r = member
			case "control.tar.gz":
				zr, err := gzip.NewReader(member)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", p, name, err)
				}
				r = zr
			case "control.tar.xz":
				var err error
				if d.xz == nil {
					d.xz, err = xz.NewReader(member, 0)
				} else {
					err = d.xz.Reset(member)
				}
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", p, name, err)
				}
				r = d.xz
			default:
				return nil, fmt.Errorf("%s: %s: unsupported compression", p, name)
			}
			return controlFromTar(p, r)
		}
		skip := size + size%2 // members are 2-byte aligned
		if _, err := io.CopyN(io.Discard, br, skip); err != nil {
			return nil, fmt.Errorf("%s: truncated", p)
		}
	}
}

func controlFromTar(p string, r io.Reader) (*debControl, error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: control.tar has no control file", p)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: control.tar: %w", p, err)
		}
		if strings.TrimPrefix(h.Name, "./") != "control" {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return nil, fmt.Errorf("%s: control: %w", p, err)
		}
		return parseControl(b), nil
	}
}

// parseControl reads the fields of one control paragraph.
func parseControl(b []byte) *debControl {
	fields := map[string]string{}
	var last string
	for _, line := range strings.Split(string(bytes.TrimSpace(b)), "\n") {
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != "" {
				fields[last] += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.ToLower(strings.TrimSpace(k))
		fields[last] = strings.TrimSpace(v)
	}
	c := &debControl{Package: fields["package"], Version: fields["version"], Architecture: fields["architecture"]}
	for _, group := range splitRelations(fields["pre-depends"]) {
		c.PreDepends = append(c.PreDepends, group)
	}
	for _, group := range splitRelations(fields["provides"]) {
		c.Provides = append(c.Provides, group...)
	}
	return c
}

// splitRelations turns "a (>= 1) | b:any, c" into [[a b] [c]]: names only.
func splitRelations(s string) [][]string {
	var out [][]string
	for _, group := range strings.Split(s, ",") {
		var alts []string
		for _, alt := range strings.Split(group, "|") {
			alt = strings.TrimSpace(alt)
			if i := strings.IndexAny(alt, " (["); i >= 0 {
				alt = alt[:i]
			}
			alt, _, _ = strings.Cut(alt, ":")
			if alt != "" {
				alts = append(alts, alt)
			}
		}
		if len(alts) > 0 {
			out = append(out, alts)
		}
	}
	return out
}
