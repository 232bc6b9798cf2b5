package debian

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/xi2/xz"
)

// The stanza scanner below is written by hand rather than built on
// pault.ag/go/debian/control: that decoder fills structs through
// reflection, keeps every field of every stanza and allocates per line.
// On the plain bookworm i386 index (~49 MB, ~62,600 stanzas)
// BenchmarkReadPackagesControlDecoder takes 0.63 s, 521 MB and 4.5 M
// allocations per pass; this scanner (BenchmarkReadPackagesPlain) takes
// 0.16 s, 130 MB and 126 k allocations, because it keeps only the fields
// the resolver needs, in one string per stanza. Relation fields are kept
// as text and parsed only for the packages a resolution touches:
// parsing every Depends of the index up front would cost another 0.58 s
// (BenchmarkParseAllRelations), against about 1 ms for a typical
// resolution once the index's Provides table exists.

// field identifies one of the control fields the readers keep.
type field uint8

const (
	fNone field = iota
	fPackage
	fVersion
	fArchitecture
	fMultiArch
	fEssential
	fPriority
	fSection
	fDepends
	fPreDepends
	fRecommends
	fProvides
	fConflicts
	fBreaks
	fReplaces
	fFilename
	fSize
	fSHA256
	fInstalledSize
	fStatus
	fSource
	fProtected
	numFields
)

// fieldOf maps a lower-cased field name to the field it is kept as.
// Field names are case-insensitive in Debian control files.
func fieldOf(lower []byte) field {
	switch string(lower) {
	case "package":
		return fPackage
	case "version":
		return fVersion
	case "architecture":
		return fArchitecture
	case "multi-arch":
		return fMultiArch
	case "essential":
		return fEssential
	case "priority":
		return fPriority
	case "section":
		return fSection
	case "depends":
		return fDepends
	case "pre-depends":
		return fPreDepends
	case "recommends":
		return fRecommends
	case "provides":
		return fProvides
	case "conflicts":
		return fConflicts
	case "breaks":
		return fBreaks
	case "replaces":
		return fReplaces
	case "filename":
		return fFilename
	case "size":
		return fSize
	case "sha256":
		return fSHA256
	case "installed-size":
		return fInstalledSize
	case "status":
		return fStatus
	case "source":
		return fSource
	case "protected":
		return fProtected
	}
	return fNone
}

// stanza is one paragraph as seen by the scanner: the kept fields'
// values, as offsets into buf, and the line the paragraph starts on.
type stanza struct {
	line  int
	buf   []byte
	start [numFields]int32
	end   [numFields]int32
	seen  [numFields]bool
}

func (s *stanza) reset(line int) {
	s.line = line
	s.buf = s.buf[:0]
	s.seen = [numFields]bool{}
}

// fields returns the kept values as strings sharing one allocation.
func (s *stanza) fields() (out [numFields]string) {
	all := string(s.buf)
	for f := fPackage; f < numFields; f++ {
		if s.seen[f] {
			out[f] = all[s.start[f]:s.end[f]]
		}
	}
	return out
}

// ParseError reports a malformed or truncated control file. Name is the
// file's name as given to the reader, Line the 1-based line (of the
// decompressed text) where the problem was found.
type ParseError struct {
	Name string
	Line int
	Msg  string
	Err  error
}

func (e *ParseError) Error() string {
	s := fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ParseError) Unwrap() error { return e.Err }

// bufSizeFor is the read buffer for r: 1 MiB reads a Packages index
// fastest; a reader that says it is smaller (dpkg's database is read
// from memory, its updates journal records are a few hundred bytes each)
// gets one its size.
func bufSizeFor(r io.Reader) int {
	bufSize := 1 << 20
	if sized, ok := r.(interface{ Size() int64 }); ok && sized.Size() < int64(bufSize) {
		bufSize = max(int(sized.Size()), 512)
	}
	return bufSize
}

// decompress looks at the first bytes of r and returns a reader of the
// decompressed text: gzip, xz, bzip2 and zstd are recognised by their
// magic numbers, anything else is read as plain text.
func decompress(r io.Reader, bufSize int) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, bufSize)
	magic, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	nop := func() {}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nop, nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		// github.com/xi2/xz (a port of xz-embedded, also what
		// pault.ag/go/debian/deb uses) decodes the bookworm i386
		// Packages.xz in 0.71 s here, github.com/ulikunitz/xz in 1.06 s.
		zr, err := xz.NewReader(br, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("xz: %w", err)
		}
		return zr, nop, nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(br), nop, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		// No larger window than a .deb member may ask for (see
		// maxWindow): the decoder's default, 512 MiB, lets a few
		// hundred bytes of header take that much memory.
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxWindow))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, nop, nil
}

// maxStanza bounds the kept fields of one paragraph, which folded lines
// could otherwise grow without end (and past the int32 offsets of
// stanza); the largest paragraphs of the Debian archive are a few
// hundred KiB.
const maxStanza = 16 << 20

// maxLine bounds one line of a control file; the longest lines in the
// Debian archive (Depends of large metapackages, Tag) are a few KiB.
const maxLine = 4 << 20

// scanStanzas calls fn for each paragraph of a control file, keeping only
// the fields listed in fieldOf. r is plain text: only a Packages index
// comes compressed (see decompress); dpkg reads its status file and
// updates journal as text whatever their first bytes, so this does too.
// name is used in errors. With lax, lines
// that do not parse (a line without a field name, a continuation outside
// a paragraph) are skipped and a repeated field replaces the earlier one,
// instead of failing: for dpkg's own database, which must be read
// whatever state a cut-off dpkg left it in.
func scanStanzas(r io.Reader, name string, lax bool, fn func(*stanza) error) error {
	br, ok := r.(*bufio.Reader) // the reader decompress peeked with, for plain text
	if !ok {
		br = bufio.NewReaderSize(r, bufSizeFor(r))
	}

	var (
		st      stanza
		line    int
		inPara  bool
		cur     = fNone // field being continued by folded lines
		long    []byte
		lowered [32]byte
	)
	flush := func() error {
		if !inPara {
			return nil
		}
		inPara = false
		cur = fNone
		return fn(&st)
	}
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], b...)
			for errors.Is(err, bufio.ErrBufferFull) && len(long) <= maxLine {
				b, err = br.ReadSlice('\n')
				long = append(long, b...)
			}
			if len(long) > maxLine {
				return &ParseError{Name: name, Line: line + 1, Msg: fmt.Sprintf("line longer than %d bytes", maxLine)}
			}
			b = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return &ParseError{Name: name, Line: line + 1, Msg: "read", Err: err}
		}
		atEOF := err != nil
		if len(b) == 0 && atEOF {
			break
		}
		line++
		b = bytes.TrimRight(b, "\r\n")
		switch {
		case len(bytes.TrimSpace(b)) == 0:
			if err := flush(); err != nil {
				return err
			}
		case b[0] == '#':
			// Comments are not part of deb822 paragraphs.
		case b[0] == ' ' || b[0] == '\t':
			if !inPara {
				if lax {
					break
				}
				return &ParseError{Name: name, Line: line, Msg: "continuation line outside a paragraph"}
			}
			if cur != fNone {
				// Folded relation fields join with a space; the
				// ", " separators are on the lines themselves. A
				// field whose value starts on the next line
				// ("Depends:\n libc6") gets no leading space.
				if st.end[cur] > st.start[cur] {
					st.buf = append(st.buf, ' ')
				}
				st.buf = append(st.buf, bytes.TrimSpace(b)...)
				st.end[cur] = int32(len(st.buf))
				if len(st.buf) > maxStanza {
					return &ParseError{Name: name, Line: line, Msg: fmt.Sprintf("paragraph starting at line %d is longer than %d bytes", st.line, maxStanza)}
				}
			}
		default:
			colon := bytes.IndexByte(b, ':')
			if colon <= 0 {
				if lax {
					cur = fNone
					break
				}
				return &ParseError{Name: name, Line: line, Msg: fmt.Sprintf("malformed line %q: want \"Field: value\"", truncate(b))}
			}
			if !inPara {
				st.reset(line)
				inPara = true
			}
			key := b[:colon]
			cur = fNone
			if len(key) <= len(lowered) {
				low := lowered[:len(key)]
				for i, c := range key {
					if 'A' <= c && c <= 'Z' {
						c += 'a' - 'A'
					}
					low[i] = c
				}
				cur = fieldOf(low)
			}
			if cur != fNone {
				if st.seen[cur] && !lax {
					return &ParseError{Name: name, Line: line, Msg: fmt.Sprintf("duplicate field %s in paragraph starting at line %d", key, st.line)}
				}
				st.seen[cur] = true
				st.start[cur] = int32(len(st.buf))
				st.buf = append(st.buf, bytes.TrimSpace(b[colon+1:])...)
				st.end[cur] = int32(len(st.buf))
				if len(st.buf) > maxStanza {
					return &ParseError{Name: name, Line: line, Msg: fmt.Sprintf("paragraph starting at line %d is longer than %d bytes", st.line, maxStanza)}
				}
			}
		}
		if atEOF {
			break
		}
	}
	return flush()
}

func truncate(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}
