package pydeps

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"pault.ag/go/debian/version"

	"github.com/runtimekit/runtimekit/sdk/debian"
)

// Match is a requirement and the Debian package that satisfies it.
type Match struct {
	Requirement
	Package  string // Debian binary package, e.g. "python3-flask"
	Version  string // its Debian version, e.g. "2.2.2-3"
	Upstream string // the Python release it packages, as PEP 440, e.g. "2.2.2"
}

// Problem is a requirement that no Debian package satisfies.
type Problem struct {
	Requirement
	Reason string
	// Package and Version name the Debian package that was found when
	// its version is what fails; both are empty when Debian has none.
	Package, Version string
}

// MissingError lists every requirement that the Debian index cannot
// satisfy, so that all of them can be fixed at once.
type MissingError struct {
	Index   string // the index's name, as given to debian.ReadPackages
	Arch    string
	Missing []Problem
}

func (e *MissingError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d Python requirement(s) cannot be installed from the Debian packages of %s (%s):", len(e.Missing), e.Index, e.Arch)
	for _, p := range e.Missing {
		fmt.Fprintf(&b, "\n  %s: %s: %s", p.Source, p.Requirement, p.Reason)
	}
	b.WriteString("\nThere is no pip in the VM: pin each to a version the target's Debian release has (as listed), or vendor the package's code into the app directory and drop it from the requirements.")
	return b.String()
}

// debianNames is a table of Python distributions whose Debian package is
// not python3-<name>. Debian names a package after the module it installs
// (import yaml, import bs4), PyPI after the distribution (PyYAML,
// beautifulsoup4), and where the two differ no rule derives one from the
// other. Debian's complete table is dh-python's pydist data, which is not
// in the archive index; this holds the well-known cases. Keys are
// normalised names (see [NormalizeName]).
var debianNames = map[string]string{
	"pyyaml":                   "python3-yaml",
	"beautifulsoup4":           "python3-bs4",
	"pillow":                   "python3-pil",
	"scikit-learn":             "python3-sklearn",
	"opencv-python":            "python3-opencv",
	"opencv-python-headless":   "python3-opencv",
	"opencv-contrib-python":    "python3-opencv",
	"psycopg2-binary":          "python3-psycopg2",
	"attrs":                    "python3-attr",
	"pyjwt":                    "python3-jwt",
	"msgpack-python":           "python3-msgpack",
	"pyserial":                 "python3-serial",
	"pygobject":                "python3-gi",
	"mysqlclient":              "python3-mysqldb",
	"websocket-client":         "python3-websocket",
	"google-api-python-client": "python3-googleapi",
}

var (
	separatorsRE = regexp.MustCompile(`[-_.]+`)
	dashesRE     = regexp.MustCompile(`[-_]+`)
)

// NormalizeName is a distribution name as PEP 503 compares them: lower
// case, each run of "-", "_" and "." replaced by one "-".
func NormalizeName(name string) string {
	return strings.ToLower(separatorsRE.ReplaceAllString(name, "-"))
}

// candidates lists the Debian package names that may hold a
// distribution, in the order they are tried: the table's entry,
// python3-<normalised name>, the name with its dots kept (Debian's
// python3-zope.interface, python3-ruamel.yaml), and without a
// "python-" prefix (python-dotenv is python3-dotenv).
func candidates(name string) []string {
	n := NormalizeName(name)
	var c []string
	if d, ok := debianNames[n]; ok {
		c = append(c, d)
	}
	c = append(c, "python3-"+n)
	if dotted := strings.ToLower(dashesRE.ReplaceAllString(name, "-")); strings.Contains(dotted, ".") {
		c = append(c, "python3-"+dotted)
	}
	if rest, ok := strings.CutPrefix(n, "python-"); ok {
		c = append(c, "python3-"+rest)
	}
	return slices.Compact(c)
}

// Map finds the Debian package of arch (or "all") in ix that satisfies
// each requirement: the package named as [candidates] describes, or else
// one whose Provides names such a package. The specifier is checked
// against the Python release the Debian version packages (see
// [upstreamVersion]); of several versions the highest that satisfies it
// is taken, a pre-release only if no final release does, as pip chooses.
// Extras are not looked at: Debian packages have none, so the packages an
// extra pulls in must be requirements of their own.
//
// Requirements that cannot be met are all reported in one
// *[MissingError]; the matches found are returned with it, one per
// requirement, in order.
func Map(reqs []Requirement, ix *debian.Index, arch string) ([]Match, error) {
	m := mapper{ix: ix, arch: arch}
	var matches []Match
	var missing []Problem
	for _, r := range reqs {
		match, prob := m.match(r)
		if prob != nil {
			missing = append(missing, *prob)
			continue
		}
		matches = append(matches, match)
	}
	if len(missing) > 0 {
		return matches, &MissingError{Index: ix.Name, Arch: arch, Missing: missing}
	}
	return matches, nil
}

type mapper struct {
	ix        *debian.Index
	arch      string
	providers map[string][]offer // built on first need
}

// offer is a Debian version of a package name, real or provided.
type offer struct {
	pkg, version string // the package that carries it and its version
	// compared is the version the specifier is checked against: the
	// package's own, or that of a versioned Provides.
	compared string
}

func (m *mapper) archOK(p *debian.Package) bool {
	return m.arch == "" || p.Architecture == m.arch || p.Architecture == "all"
}

func (m *mapper) offers(names []string) []offer {
	for _, n := range names {
		var got []offer
		for _, p := range m.ix.Lookup(n) {
			if m.archOK(p) {
				got = append(got, offer{p.Name, p.Version, p.Version})
			}
		}
		if len(got) > 0 {
			return got
		}
	}
	if m.providers == nil {
		m.providers = map[string][]offer{}
		for i := range m.ix.Packages {
			p := &m.ix.Packages[i]
			if p.Provides == "" || !m.archOK(p) || !strings.Contains(p.Provides, "python3-") {
				continue
			}
			groups, err := debian.ParseRelations(p.Provides, m.arch)
			if err != nil {
				continue // a package with a broken Provides provides nothing
			}
			for _, g := range groups {
				for _, a := range g {
					v := p.Version // an unversioned Provides: the provider's own release
					if a.Op == "=" {
						v = a.Version
					}
					m.providers[a.Name] = append(m.providers[a.Name], offer{p.Name, p.Version, v})
				}
			}
		}
	}
	for _, n := range names {
		if got := m.providers[n]; len(got) > 0 {
			return got
		}
	}
	return nil
}

func (m *mapper) match(r Requirement) (Match, *Problem) {
	spec, err := parseSpecifier(r.Specifier)
	if err != nil {
		return Match{}, &Problem{Requirement: r, Reason: err.Error()}
	}
	names := candidates(r.Name)
	offers := m.offers(names)
	if len(offers) == 0 {
		return Match{}, &Problem{Requirement: r, Reason: fmt.Sprintf("Debian has no package for it (looked for %s)", strings.Join(names, ", "))}
	}
	slices.SortStableFunc(offers, func(a, b offer) int { return compareDebian(b.compared, a.compared) })
	for _, allowPre := range []bool{false, true} {
		for _, o := range offers {
			up, text, err := upstreamVersion(o.compared)
			if err == nil && spec.allows(up, allowPre) {
				return Match{Requirement: r, Package: o.pkg, Version: o.version, Upstream: text}, nil
			}
		}
	}
	best := offers[0]
	_, text, err := upstreamVersion(best.compared)
	reason := fmt.Sprintf("Debian has %s %s (release %s), which does not satisfy %s", best.pkg, best.version, text, r.Specifier)
	if err != nil {
		reason = fmt.Sprintf("Debian has %s %s, whose release cannot be compared with %s: %v", best.pkg, best.version, r.Specifier, err)
	}
	return Match{}, &Problem{Requirement: r, Reason: reason, Package: best.pkg, Version: best.version}
}

func compareDebian(a, b string) int {
	va, errA := version.Parse(a)
	vb, errB := version.Parse(b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	return version.Compare(va, vb)
}

var leadingReleaseRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*`)

// upstreamVersion is the Python release a Debian version packages, as a
// PEP 440 version and its normalised text:
//
//   - the epoch ("1:") and the Debian revision ("-3", "-1+deb12u1") are
//     Debian's own and go;
//   - a "+" suffix of the upstream part ("+dfsg", "+ds1", "+repack",
//     "+git20230102") marks Debian's repacking of that release and goes,
//     but "A+reallyB" packages release B;
//   - "~" sorts before, in Debian as pre-releases do in PEP 440: 4.0~rc1
//     is 4.0rc1 and 2.0~b2 is 2.0b2; anything else after a "~"
//     (4.0~git123) is taken as 4.0.dev0, a version before 4.0.
//
// An upstream part that is still not a PEP 440 version is read up to the
// end of its leading release numbers.
func upstreamVersion(deb string) (pyVersion, string, error) {
	v, err := version.Parse(deb)
	if err != nil {
		return pyVersion{}, "", fmt.Errorf("Debian version %q: %w", deb, err)
	}
	up := v.Version
	if _, after, ok := strings.Cut(up, "+really"); ok {
		up = after
	}
	up, _, _ = strings.Cut(up, "+")
	if before, after, ok := strings.Cut(up, "~"); ok {
		if pv, err := parseVersion(before + after); err == nil && pv.isPre() {
			return pv, pv.String(), nil
		}
		up = before + ".dev0"
	}
	pv, err := parseVersion(up)
	if err != nil {
		lead := leadingReleaseRE.FindString(up)
		if lead == "" {
			return pyVersion{}, "", fmt.Errorf("Debian version %q names no release", deb)
		}
		pv, _ = parseVersion(lead)
	}
	return pv, pv.String(), nil
}
