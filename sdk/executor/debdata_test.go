package executor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// compressMember compresses b as a .deb member with that suffix ("", ".gz",
// ".xz", ".zst").
func compressMember(t *testing.T, suffix string, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	switch suffix {
	case "":
		return b
	case ".gz":
		w := gzip.NewWriter(&out)
		w.Write(b)
		w.Close()
	case ".xz":
		w, err := xz.NewWriter(&out)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		w.Close()
	case ".zst":
		w, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		return w.EncodeAll(b, nil)
	default:
		t.Fatalf("no compressor for %q", suffix)
	}
	return out.Bytes()
}

func tarOf(t *testing.T, entries []tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range entries {
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = h.Name + "\n"
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// debWithData writes a .deb as dpkg-deb lays it out (debian-binary,
// control.tar.xz, then the data member, named dataMember and compressed
// by its suffix) and returns its path.
func debWithData(t *testing.T, dataMember string, entries ...tar.Header) string {
	t.Helper()
	control := "Package: evil\nVersion: 1.0\nArchitecture: i386\nMaintainer: Test <t@example.org>\nDescription: test package\n"
	// (tarOf writes each file's name as its content: the control file
	// needs its own.)
	var cb bytes.Buffer
	tw := tar.NewWriter(&cb)
	tw.WriteHeader(&tar.Header{Name: "./control", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(control))})
	tw.Write([]byte(control))
	tw.Close()
	ctl := compressMember(t, ".xz", cb.Bytes())
	var data []byte
	if dataMember != "" {
		suffix := strings.TrimPrefix(dataMember, "data.tar")
		if suffix == ".lzma" {
			data = []byte("not read")
		} else {
			data = compressMember(t, suffix, tarOf(t, entries))
		}
	}
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	member := func(n string, d []byte) {
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", n, 0, 0, 0, 0o644, len(d))
		b.Write(d)
		if len(d)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	member("debian-binary", []byte("2.0\n"))
	member("control.tar.xz", ctl)
	if dataMember != "" {
		member(dataMember, data)
	}
	p := filepath.Join(t.TempDir(), "evil_1.0_i386.deb")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func debDir(name string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}
}
func debFile(name string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}
}

var dataMembers = []string{"data.tar.xz", "data.tar.zst", "data.tar.gz", "data.tar"}

// TestCheckDebDataAccepts: what Debian packages hold passes, in every
// compression dpkg-deb builds; one reader checks them all (its xz
// decoder is reused).
func TestCheckDebDataAccepts(t *testing.T) {
	d := &debReader{}
	for _, m := range dataMembers {
		t.Run(m, func(t *testing.T) {
			p := debWithData(t, m,
				debDir("./"), debDir("./usr/"), debDir("./usr/bin/"),
				debFile("./usr/bin/python3.11"),
				// Hard links to an earlier file, named either way.
				tar.Header{Name: "./usr/bin/python3.11-x", Typeflag: tar.TypeLink, Linkname: "./usr/bin/python3.11"},
				tar.Header{Name: "./usr/bin/python3.11-y", Typeflag: tar.TypeLink, Linkname: "usr/bin/python3.11-x"},
				// Symbolic links may point anywhere: dpkg creates them, it
				// does not write through them.
				tar.Header{Name: "./usr/bin/editor", Typeflag: tar.TypeSymlink, Linkname: "/etc/alternatives/editor"},
				tar.Header{Name: "./usr/bin/up", Typeflag: tar.TypeSymlink, Linkname: "../../.."},
			)
			if err := d.checkData(p); err != nil {
				t.Error(err)
			}
			if c, err := d.control(p); err != nil || c.Package != "evil" {
				t.Errorf("control read after the data: %+v %v", c, err)
			}
		})
	}
	// The .debs the other tests use: an empty data.tar.gz.
	p := filepath.Join(t.TempDir(), "x.deb")
	os.WriteFile(p, makeDeb(t, "x", "1", "i386", ""), 0o644)
	if err := checkDebData(p); err != nil {
		t.Errorf("an empty package: %v", err)
	}
}

// TestCheckDebDataRefuses: hard links that dpkg would make to files on
// the machine, and device files, are refused before dpkg sees the .deb.
func TestCheckDebDataRefuses(t *testing.T) {
	link := func(name, to string) tar.Header {
		return tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: to, Mode: 0o644}
	}
	tests := []struct {
		name    string
		entries []tar.Header
		want    string
	}{
		{"hard link to a file of the machine", []tar.Header{debDir("./"), debDir("./etc/"), link("./etc/x", "./etc/shadow")},
			`entry "./etc/x" is a hard link to "./etc/shadow", which is not a regular file earlier in the package`},
		{"hard link to a later file", []tar.Header{link("./usr/a", "./usr/b"), debFile("./usr/b")},
			`entry "./usr/a" is a hard link to "./usr/b", which is not a regular file earlier`},
		{"hard link to a directory", []tar.Header{debDir("./usr/"), link("./usr/a", "./usr/")},
			`entry "./usr/a" is a hard link to "./usr/"`},
		{"hard link to a symbolic link", []tar.Header{{Name: "./usr/l", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}, link("./usr/a", "./usr/l")},
			`entry "./usr/a" is a hard link to "./usr/l"`},
		{"hard link to a file replaced by a link", []tar.Header{debFile("./usr/f"), {Name: "./usr/f", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}, link("./usr/a", "./usr/f")},
			`entry "./usr/a" is a hard link to "./usr/f"`},
		{"hard link through ..", []tar.Header{debFile("./usr/lib/x"), link("./usr/a", "./usr/share/../lib/x")},
			`entry "./usr/a" is a hard link to "./usr/share/../lib/x"`},
		{"name with ..", []tar.Header{debFile("./usr/../etc/cron.d/x")}, `entry "./usr/../etc/cron.d/x" has a '..' component`},
		{"character device", []tar.Header{{Name: "./dev/mem2", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 1, Mode: 0o666}},
			`entry "./dev/mem2" is a character device (1, 1)`},
		{"block device", []tar.Header{{Name: "./var/sda", Typeflag: tar.TypeBlock, Devmajor: 8, Mode: 0o666}},
			`entry "./var/sda" is a block device (8, 0)`},
		{"fifo", []tar.Header{{Name: "./run/p", Typeflag: tar.TypeFifo, Mode: 0o666}}, `entry "./run/p" is a FIFO`},
	}
	for _, m := range dataMembers {
		for _, tt := range tests {
			t.Run(m+"/"+tt.name, func(t *testing.T) {
				err := checkDebData(debWithData(t, m, tt.entries...))
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), m+": ") {
					t.Errorf("want an error about %s saying %q, got %v", m, tt.want, err)
				}
			})
		}
	}
}

// TestCheckDebDataUnreadable: a .deb whose data cannot be read is
// refused, not passed unchecked.
func TestCheckDebDataUnreadable(t *testing.T) {
	tests := []struct{ member, want string }{
		{"data.tar.lzma", `unsupported compression "lzma"`},
		{"", "no data member"},
	}
	for _, tt := range tests {
		if err := checkDebData(debWithData(t, tt.member)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: want an error saying %q, got %v", tt.member, tt.want, err)
		}
	}
	p := filepath.Join(t.TempDir(), "x.deb")
	os.WriteFile(p, []byte("<html>not found</html>"), 0o644)
	if err := checkDebData(p); err == nil || !strings.Contains(err.Error(), "not a Debian package") {
		t.Errorf("not a .deb: %v", err)
	}
}

// rawHeader is a tar header block as a hand-made archive may have it:
// magic and prefix as given, the checksum right.
func rawHeader(name string, typ byte, linkname string, size int64, magic, prefix string) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typ
	copy(b[157:257], linkname)
	copy(b[257:265], magic)
	copy(b[345:], prefix)
	copy(b[148:], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

const (
	magicUSTAR = "ustar\x0000"
	magicGNU   = "ustar  \x00"
)

// debWithRawData is debWithData with a data.tar.xz of these blocks (and
// the two zero blocks that end an archive).
func debWithRawData(t *testing.T, blocks ...[]byte) string {
	t.Helper()
	tarball := bytes.Join(append(blocks, make([]byte, 1024)), nil)
	p := debWithData(t, "")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data := compressMember(t, ".xz", tarball)
	var m bytes.Buffer
	fmt.Fprintf(&m, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", "data.tar.xz", 0, 0, 0, 0o644, len(data))
	m.Write(data)
	if len(data)%2 == 1 {
		m.WriteByte('\n')
	}
	if err := os.WriteFile(p, append(b, m.Bytes()...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckDebDataReadsAsDpkg: headers that archive/tar reads otherwise
// than dpkg must be checked as dpkg will unpack them, not as they look
// to archive/tar.
func TestCheckDebDataReadsAsDpkg(t *testing.T) {
	shadowLink := rawHeader("./h", '1', "./etc/shadow", 0, magicUSTAR, "")
	// 131 bytes of prefix, all that star headers have ("etc" once the
	// "./" are dropped), then what star reads as atime and ctime.
	starPrefix := strings.Repeat("./", 64) + "etc"
	star := rawHeader("shadow", '0', "", 0, magicUSTAR, starPrefix+strings.Repeat("0", 24))
	copy(star[508:], "tar\x00")
	copy(star[148:], "        ")
	sum := 0
	for _, c := range star {
		sum += int(c)
	}
	copy(star[148:], fmt.Sprintf("%06o\x00 ", sum))

	tests := []struct {
		name   string
		blocks [][]byte
		want   string
	}{
		// archive/tar makes a type '\0' entry named "x/" a directory
		// and reads its data as headers: here, a file whose data hides
		// the next header. dpkg reads a regular file, and the hard link.
		{"a header hidden from archive/tar", [][]byte{
			rawHeader("./x/", 0, "", 512, magicUSTAR, ""),
			rawHeader("./y", '0', "", 512, magicUSTAR, ""),
			shadowLink,
		}, `entry "./h" is a hard link to "./etc/shadow"`},
		// archive/tar reads "etc/shadow" (the unparseable atime and
		// ctime of a GNU header taken as a prefix); dpkg, "shadow".
		{"GNU header with a prefix", [][]byte{
			rawHeader("shadow", '0', "", 0, magicGNU, "etc"),
			shadowLink,
		}, `entry "./h" is a hard link to "./etc/shadow"`},
		// archive/tar reads a star header's 131-byte prefix; dpkg, 155
		// bytes.
		{"star header", [][]byte{star, shadowLink}, `entry "./h" is a hard link to "./etc/shadow"`},
		{"PAX header", [][]byte{rawHeader("./PaxHeaders/x", 'x', "", 0, magicUSTAR, "")}, "which dpkg does not unpack"},
		{"bad checksum", [][]byte{func() []byte {
			b := rawHeader("./x", '0', "", 0, magicUSTAR, "")
			b[0] = 'y'
			return b
		}()}, `entry "y/x": invalid tar header`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkDebData(debWithRawData(t, tt.blocks...))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("want an error saying %q, got %v", tt.want, err)
			}
		})
	}
	// The same reader accepts what it must: a hard link to the file
	// named exactly as the header gives it, prefix and all.
	p := debWithRawData(t,
		rawHeader("python3.11", '0', "", 0, magicUSTAR, "./usr/bin"),
		rawHeader("./usr/bin/python3", '1', "./usr/bin/python3.11", 0, magicUSTAR, ""),
		rawHeader("./usr/lib/", '5', "", 0, magicGNU, ""),
	)
	if err := checkDebData(p); err != nil {
		t.Errorf("a ustar prefix: %v", err)
	}
}
