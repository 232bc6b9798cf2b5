package debian

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// AptSource is one entry of apt's sources: a "deb" line of sources.list
// or one type of a deb822 paragraph in sources.list.d/*.sources.
type AptSource struct {
	Type       string // "deb" or "deb-src"
	URIs       []string
	Suites     []string
	Components []string
	// Options holds "[key=value]" options of the one-line format, or the
	// other fields of a deb822 paragraph (Signed-By, Architectures, ...),
	// with lower-cased keys.
	Options map[string]string
	File    string
	Line    int
}

// ReadAptSources reads the apt sources configured below root ("/" for
// this machine): etc/apt/sources.list and the *.list and *.sources files
// of etc/apt/sources.list.d, in the order apt reads them. Paragraphs with
// "Enabled: no" are skipped; files with other suffixes are ignored, as
// apt does.
func ReadAptSources(root string) ([]AptSource, error) {
	var out []AptSource
	main := filepath.Join(root, "etc/apt/sources.list")
	if f, err := os.Open(main); err == nil {
		srcs, err := ParseSourcesList(f, main)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, srcs...)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read apt sources: %w", err)
	}
	dir := filepath.Join(root, "etc/apt/sources.list.d")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read apt sources: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		var parse func(io.Reader, string) ([]AptSource, error)
		switch filepath.Ext(n) {
		case ".list":
			parse = ParseSourcesList
		case ".sources":
			parse = ParseDeb822Sources
		default:
			continue
		}
		p := filepath.Join(dir, n)
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read apt sources: %w", err)
		}
		srcs, err := parse(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, srcs...)
	}
	return out, nil
}

// ParseSourcesList parses the one-line format:
// "deb [opt=value ...] uri suite [component ...]".
func ParseSourcesList(r io.Reader, name string) ([]AptSource, error) {
	var out []AptSource
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		src := AptSource{Type: fields[0], Options: map[string]string{}, File: name, Line: line}
		if src.Type != "deb" && src.Type != "deb-src" {
			return nil, fmt.Errorf("%s:%d: unknown source type %q", name, line, src.Type)
		}
		rest := fields[1:]
		if len(rest) > 0 && strings.HasPrefix(rest[0], "[") {
			var opts []string
			for len(rest) > 0 {
				w := rest[0]
				rest = rest[1:]
				opts = append(opts, strings.Trim(w, "[]"))
				if strings.HasSuffix(w, "]") {
					break
				}
			}
			for _, o := range opts {
				if k, v, ok := strings.Cut(o, "="); ok {
					src.Options[strings.ToLower(k)] = v
				}
			}
		}
		if len(rest) < 2 {
			return nil, fmt.Errorf("%s:%d: want \"%s uri suite [component...]\"", name, line, src.Type)
		}
		src.URIs = []string{rest[0]}
		src.Suites = []string{rest[1]}
		src.Components = rest[2:]
		out = append(out, src)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// ParseDeb822Sources parses the deb822 format of *.sources files. A
// paragraph with several Types gives one AptSource per type.
func ParseDeb822Sources(r io.Reader, name string) ([]AptSource, error) {
	var out []AptSource
	sc := bufio.NewScanner(r)
	line, start := 0, 0
	para := map[string]string{}
	var last string
	flush := func() error {
		if len(para) == 0 {
			return nil
		}
		defer func() { para = map[string]string{}; last = "" }()
		if strings.EqualFold(para["enabled"], "no") {
			return nil
		}
		types := strings.Fields(para["types"])
		if len(types) == 0 || para["uris"] == "" || para["suites"] == "" {
			return fmt.Errorf("%s:%d: paragraph needs Types, URIs and Suites", name, start)
		}
		opts := map[string]string{}
		for k, v := range para {
			switch k {
			case "types", "uris", "suites", "components":
			default:
				opts[k] = v
			}
		}
		for _, t := range types {
			out = append(out, AptSource{
				Type: t, URIs: strings.Fields(para["uris"]), Suites: strings.Fields(para["suites"]),
				Components: strings.Fields(para["components"]), Options: opts, File: name, Line: start,
			})
		}
		return nil
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		switch {
		case strings.TrimSpace(text) == "":
			if err := flush(); err != nil {
				return nil, err
			}
		case strings.HasPrefix(text, "#"):
		case text[0] == ' ' || text[0] == '\t':
			if last == "" {
				return nil, fmt.Errorf("%s:%d: continuation line outside a field", name, line)
			}
			para[last] += "\n" + strings.TrimSpace(text)
		default:
			k, v, ok := strings.Cut(text, ":")
			if !ok {
				return nil, fmt.Errorf("%s:%d: malformed line %q: want \"Field: value\"", name, line, text)
			}
			if len(para) == 0 {
				start = line
			}
			last = strings.ToLower(strings.TrimSpace(k))
			para[last] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}
