package pydeps

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Requirement is one dependency of the app, as its requirements file or
// pyproject.toml states it.
type Requirement struct {
	Name      string   // as written, e.g. "Flask-SQLAlchemy"
	Specifier string   // PEP 440 specifier without spaces, e.g. ">=2.2,<4"; empty for any version
	Extras    []string // e.g. ["async"] for flask[async]
	Marker    string   // PEP 508 environment marker, e.g. `python_version < "3.12"`
	Source    string   // file:line it was read from
}

// String is the requirement in PEP 508 form.
func (r Requirement) String() string {
	s := r.Name
	if len(r.Extras) > 0 {
		s += "[" + strings.Join(r.Extras, ",") + "]"
	}
	s += r.Specifier
	if r.Marker != "" {
		s += "; " + r.Marker
	}
	return s
}

// LineError is a requirement line this package refuses: Source is
// file:line, Text the line as read and Reason why, with what to do.
type LineError struct {
	Source string
	Text   string
	Reason string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Source, e.Text, e.Reason)
}

// Reasons shared by requirements.txt and pyproject.toml.
const (
	noPip      = "there is no pip in the VM and no network: dependencies are installed from Debian's python3-* packages"
	vendorHint = "vendor the code into the app directory instead, or name a released package (e.g. flask>=2.2)"
)

// ParseRequirements reads a pip requirements file. name is the file's
// path: it is used in messages and to find files included with -r, which
// are read relative to it. Requirements whose environment marker is false
// for the VM's python3 (3.11, linux, i686) are dropped.
//
// What pip would fetch from elsewhere cannot be satisfied offline and is
// refused with the file and line: editable installs (-e), URLs, VCS
// references, local paths and archives, constraints files (-c) and pip's
// options (--index-url, --find-links, ...). --hash is accepted and
// ignored: it guards a download, and the packages come from the signed
// Debian archive instead. All refused lines are reported together, as
// *[LineError] values joined in one error, along with the requirements
// that could be read.
func ParseRequirements(r io.Reader, name string) ([]Requirement, error) {
	return parseRequirementsFile(r, name, map[string]bool{})
}

func parseRequirementsFile(r io.Reader, name string, including map[string]bool) ([]Requirement, error) {
	abs, _ := filepath.Abs(name)
	including[abs] = true
	defer delete(including, abs)

	lines, err := logicalLines(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var reqs []Requirement
	var errs []error
	for _, l := range lines {
		src := name + ":" + strconv.Itoa(l.number)
		text := strings.TrimSpace(commentRE.ReplaceAllString(l.text, ""))
		if text == "" {
			continue
		}
		refuse := func(reason string) { errs = append(errs, &LineError{Source: src, Text: text, Reason: reason}) }
		if strings.Contains(text, "${") {
			refuse("environment variables are not expanded; write the value itself")
			continue
		}
		if strings.HasPrefix(text, "-") {
			opt, arg := splitOption(text)
			switch opt {
			case "-r", "--requirement":
				if arg == "" {
					refuse("-r needs a file name")
					continue
				}
				inc := arg
				if !filepath.IsAbs(inc) {
					inc = filepath.Join(filepath.Dir(name), inc)
				}
				incAbs, _ := filepath.Abs(inc)
				if including[incAbs] {
					refuse(inc + " includes itself through -r")
					continue
				}
				f, err := os.Open(inc)
				if err != nil {
					refuse("included file: " + err.Error())
					continue
				}
				got, err := parseRequirementsFile(f, inc, including)
				f.Close()
				if err != nil {
					errs = append(errs, err)
				}
				reqs = append(reqs, got...)
			case "-e", "--editable":
				refuse("editable installs are not supported: " + noPip + "; " + vendorHint)
			case "-c", "--constraint":
				refuse("constraints files are not supported: put the version limits on the requirements themselves")
			default:
				refuse(fmt.Sprintf("pip option %s does not apply: %s; remove the line", opt, noPip))
			}
			continue
		}
		spec, opts := splitRequirementOptions(text)
		if bad := unsupportedOptions(opts); bad != "" {
			refuse(fmt.Sprintf("pip option %s does not apply: %s; remove it", bad, noPip))
			continue
		}
		req, keep, err := parseRequirement(spec, src)
		if err != nil {
			refuse(err.Error())
			continue
		}
		if keep {
			reqs = append(reqs, req)
		}
	}
	return reqs, errors.Join(errs...)
}

// commentRE is pip's: # at the start of a line or after white space.
var commentRE = regexp.MustCompile(`(^|\s+)#.*$`)

type logicalLine struct {
	number int // of the first physical line
	text   string
}

// logicalLines joins lines ending in a backslash with the next, as pip
// does; a comment line is never continued.
func logicalLines(r io.Reader) ([]logicalLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var out []logicalLine
	var cur *logicalLine
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.HasSuffix(line, `\`) && !commentRE.MatchString(line) {
			if cur == nil {
				cur = &logicalLine{number: n}
			}
			cur.text += strings.TrimSuffix(line, `\`)
			continue
		}
		if cur != nil {
			cur.text += line
			out = append(out, *cur)
			cur = nil
			continue
		}
		out = append(out, logicalLine{number: n, text: line})
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out, sc.Err()
}

// splitOption splits "-r file", "-rfile", "--requirement=file" and
// "--requirement file" into option and argument.
func splitOption(text string) (opt, arg string) {
	if strings.HasPrefix(text, "--") {
		opt, arg, _ = strings.Cut(text, "=")
		if i := strings.IndexAny(opt, " \t"); i >= 0 {
			opt, arg = opt[:i], opt[i+1:]
		}
		return opt, strings.TrimSpace(arg)
	}
	if len(text) > 2 {
		return text[:2], strings.TrimSpace(text[2:])
	}
	return text, ""
}

// splitRequirementOptions splits "flask==2.2 --hash=sha256:..." into the
// requirement and its per-requirement options, at the first word that
// starts with "-" (as pip does).
func splitRequirementOptions(text string) (req string, opts []string) {
	fields := strings.Fields(text)
	for i, f := range fields {
		if strings.HasPrefix(f, "-") {
			return strings.Join(fields[:i], " "), fields[i:]
		}
	}
	return text, nil
}

// unsupportedOptions returns the first option other than --hash.
func unsupportedOptions(opts []string) string {
	for i := 0; i < len(opts); i++ {
		o := opts[i]
		switch {
		case strings.HasPrefix(o, "--hash="):
		case o == "--hash":
			i++ // its value
		case strings.HasPrefix(o, "-"):
			opt, _, _ := strings.Cut(o, "=")
			return opt
		}
	}
	return ""
}

var (
	nameRE = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*`)
	// archiveRE matches what pip installs from a local file.
	archiveRE = regexp.MustCompile(`(?i)\.(whl|zip|tar\.gz|tgz|tar\.bz2|tar\.xz|tar)$`)
	vcsRE     = regexp.MustCompile(`(?i)^(git|hg|svn|bzr)\+`)
)

// parseRequirement reads one PEP 508 requirement. keep is false when its
// marker does not hold on the VM.
func parseRequirement(text, src string) (req Requirement, keep bool, err error) {
	head, marker, _ := strings.Cut(text, ";")
	head, marker = strings.TrimSpace(head), strings.TrimSpace(marker)
	switch {
	case vcsRE.MatchString(head):
		return req, false, fmt.Errorf("a VCS reference cannot be fetched: %s; %s", noPip, vendorHint)
	case strings.Contains(head, "://") || strings.HasPrefix(strings.ToLower(head), "file:"):
		if strings.Contains(head, "@") && !strings.HasPrefix(head, "http") {
			return req, false, fmt.Errorf("a direct reference (name @ URL) cannot be fetched: %s; %s", noPip, vendorHint)
		}
		return req, false, fmt.Errorf("a URL cannot be fetched: %s; %s", noPip, vendorHint)
	case strings.Contains(head, " @") || strings.Contains(head, "@ "):
		return req, false, fmt.Errorf("a direct reference (name @ ...) cannot be fetched: %s; %s", noPip, vendorHint)
	case strings.HasPrefix(head, ".") || strings.HasPrefix(head, "~") || strings.ContainsAny(head, `/\`) || archiveRE.MatchString(head):
		return req, false, fmt.Errorf("a local path or archive cannot be installed: %s; copy the package's code into the app directory instead", noPip)
	}
	m := nameRE.FindStringSubmatch(head)
	if m == nil {
		return req, false, fmt.Errorf("not a requirement: expected a package name such as flask or flask>=2.2")
	}
	req = Requirement{Name: m[1], Marker: marker, Source: src}
	rest := head[len(m[0]):]
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return req, false, fmt.Errorf("missing ] after the extras")
		}
		for _, e := range strings.Split(rest[1:end], ",") {
			if e = strings.TrimSpace(e); e != "" {
				if !nameRE.MatchString(e) || strings.TrimSpace(nameRE.FindString(e)) != e {
					return req, false, fmt.Errorf("%q is not an extra's name", e)
				}
				req.Extras = append(req.Extras, e)
			}
		}
		rest = strings.TrimSpace(rest[end+1:])
	}
	if strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")") {
		rest = rest[1 : len(rest)-1]
	}
	if _, err := parseSpecifier(rest); err != nil {
		return req, false, err
	}
	req.Specifier = strings.Join(strings.Fields(rest), "")
	if marker == "" {
		return req, true, nil
	}
	ok, err := evalMarker(marker)
	if err != nil {
		return req, false, err
	}
	return req, ok, nil
}

// Parse reads the dependencies of the Python app in appDir: its
// requirements.txt if there is one, else the [project] dependencies of
// its pyproject.toml, else none.
func Parse(appDir string) ([]Requirement, error) {
	path := filepath.Join(appDir, "requirements.txt")
	f, err := os.Open(path)
	if err == nil {
		defer f.Close()
		return ParseRequirements(f, path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	path = filepath.Join(appDir, "pyproject.toml")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParsePyproject(b, path)
}
