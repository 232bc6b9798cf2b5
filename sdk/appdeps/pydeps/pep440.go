package pydeps

// PEP 440 versions and specifiers, hand-written: no Go module for them is
// available to this repository, and the part needed (parse, order, the
// eight operators) is small and fixed by the PEP.

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// pyVersion is a parsed PEP 440 version. Absent parts are -1 (pre, post,
// dev) or nil (local).
type pyVersion struct {
	epoch   int
	release []int
	preKind int // 0 a, 1 b, 2 rc; -1 when not a pre-release
	preNum  int
	post    int
	dev     int
	local   []string
}

// versionRE is the regular expression of PEP 440's appendix B.
var versionRE = regexp.MustCompile(`(?i)^\s*v?(?:(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?` +
	`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?` +
	`(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?)` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$`)

var versionGroup = func() map[string]int {
	m := map[string]int{}
	for i, n := range versionRE.SubexpNames() {
		if n != "" {
			m[n] = i
		}
	}
	return m
}()

func parseVersion(s string) (pyVersion, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return pyVersion{}, fmt.Errorf("%q is not a PEP 440 version", s)
	}
	g := func(name string) string { return m[versionGroup[name]] }
	num := func(t string) (int, error) {
		if t == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(t)
		if err != nil {
			return 0, fmt.Errorf("%q: number %s is too large", s, t)
		}
		return n, nil
	}
	v := pyVersion{preKind: -1, post: -1, dev: -1}
	var err error
	if v.epoch, err = num(g("epoch")); err != nil {
		return v, err
	}
	for _, p := range strings.Split(g("release"), ".") {
		n, err := num(p)
		if err != nil {
			return v, err
		}
		v.release = append(v.release, n)
	}
	if g("pre") != "" {
		switch strings.ToLower(g("pre_l")) {
		case "a", "alpha":
			v.preKind = 0
		case "b", "beta":
			v.preKind = 1
		default: // c, rc, pre, preview
			v.preKind = 2
		}
		if v.preNum, err = num(g("pre_n")); err != nil {
			return v, err
		}
	}
	if g("post") != "" {
		if v.post, err = num(g("post_n1") + g("post_n2")); err != nil {
			return v, err
		}
	}
	if g("dev") != "" {
		if v.dev, err = num(g("dev_n")); err != nil {
			return v, err
		}
	}
	if l := g("local"); l != "" {
		v.local = strings.FieldsFunc(strings.ToLower(l), func(r rune) bool { return r == '.' || r == '-' || r == '_' })
	}
	return v, nil
}

// String is the normalised form of the version.
func (v pyVersion) String() string {
	var b strings.Builder
	if v.epoch != 0 {
		fmt.Fprintf(&b, "%d!", v.epoch)
	}
	for i, n := range v.release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	if v.preKind >= 0 {
		fmt.Fprintf(&b, "%s%d", [...]string{"a", "b", "rc"}[v.preKind], v.preNum)
	}
	if v.post >= 0 {
		fmt.Fprintf(&b, ".post%d", v.post)
	}
	if v.dev >= 0 {
		fmt.Fprintf(&b, ".dev%d", v.dev)
	}
	if v.local != nil {
		b.WriteString("+" + strings.Join(v.local, "."))
	}
	return b.String()
}

func (v pyVersion) isPre() bool  { return v.preKind >= 0 || v.dev >= 0 }
func (v pyVersion) isPost() bool { return v.post >= 0 }

// public is v without its local label.
func (v pyVersion) public() pyVersion { v.local = nil; return v }

// base is epoch and release only.
func (v pyVersion) base() pyVersion {
	return pyVersion{epoch: v.epoch, release: v.release, preKind: -1, post: -1, dev: -1}
}

// compareVersions orders versions as PEP 440 (and pip's packaging) does:
// epoch, release with trailing zeros ignored, then pre-release (a dev
// release of a final version sorts before its pre-releases), post
// release, dev release, local label.
func compareVersions(a, b pyVersion) int {
	if c := cmp.Compare(a.epoch, b.epoch); c != 0 {
		return c
	}
	if c := slices.Compare(trimZeros(a.release), trimZeros(b.release)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.preKey(), b.preKey()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.post, b.post); c != 0 { // -1: no post release sorts first
		return c
	}
	if c := cmp.Compare(devKey(a.dev), devKey(b.dev)); c != 0 {
		return c
	}
	return compareLocal(a.local, b.local)
}

func trimZeros(r []int) []int {
	for len(r) > 0 && r[len(r)-1] == 0 {
		r = r[:len(r)-1]
	}
	return r
}

// preKey maps the pre-release to one ordered number: 1.0.dev0 < 1.0a1 <
// 1.0b1 < 1.0rc1 < 1.0.
func (v pyVersion) preKey() int64 {
	switch {
	case v.preKind < 0 && v.post < 0 && v.dev >= 0:
		return -1
	case v.preKind < 0:
		return 1 << 62
	}
	return int64(v.preKind)<<32 | int64(v.preNum)
}

func devKey(d int) int {
	if d < 0 {
		return int(^uint(0) >> 1)
	}
	return d
}

// compareLocal: no label sorts first; numeric segments sort after
// alphanumeric ones and compare as numbers.
func compareLocal(a, b []string) int {
	if a == nil || b == nil {
		return cmp.Compare(len(a), len(b))
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		an, aErr := strconv.Atoi(a[i])
		bn, bErr := strconv.Atoi(b[i])
		var c int
		switch {
		case aErr == nil && bErr == nil:
			c = cmp.Compare(an, bn)
		case aErr == nil:
			c = 1
		case bErr == nil:
			c = -1
		default:
			c = strings.Compare(a[i], b[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// clause is one comparison of a specifier, e.g. ">=2.2".
type clause struct {
	op       string
	raw      string // the version as written
	ver      pyVersion
	wildcard bool // "==2.2.*" or "!=2.2.*"
}

// specifier is a comma-separated list of clauses, all of which must hold.
type specifier []clause

var clauseRE = regexp.MustCompile(`^\s*(~=|===|==|!=|<=|>=|<|>)\s*(\S+)\s*$`)

// parseSpecifier reads a PEP 440 specifier such as ">=2.2, <4"; the empty
// string allows every version.
func parseSpecifier(s string) (specifier, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var spec specifier
	for _, part := range strings.Split(s, ",") {
		m := clauseRE.FindStringSubmatch(part)
		if m == nil {
			p := strings.TrimSpace(part)
			if _, err := parseVersion(p); err == nil {
				return nil, fmt.Errorf("%q needs an operator, e.g. ==%s or >=%s", p, p, p)
			}
			return nil, fmt.Errorf("%q is not a version specifier (operators: == != <= >= < > ~= ===)", p)
		}
		c := clause{op: m[1], raw: m[2]}
		if c.op == "===" {
			spec = append(spec, c)
			continue
		}
		text := c.raw
		if strings.HasSuffix(text, ".*") {
			if c.op != "==" && c.op != "!=" {
				return nil, fmt.Errorf("%q: a .* wildcard is allowed only with == and !=", strings.TrimSpace(part))
			}
			c.wildcard, text = true, strings.TrimSuffix(text, ".*")
		}
		v, err := parseVersion(text)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", strings.TrimSpace(part), err)
		}
		switch {
		case c.wildcard && (v.isPre() || v.isPost() || v.local != nil):
			return nil, fmt.Errorf("%q: a .* wildcard follows release numbers only", strings.TrimSpace(part))
		case c.op == "~=" && len(v.release) < 2:
			return nil, fmt.Errorf("%q: ~= needs at least two release numbers, e.g. ~=%d.0", strings.TrimSpace(part), v.release[0])
		case v.local != nil && c.op != "==" && c.op != "!=":
			return nil, fmt.Errorf("%q: a local version label (+...) is allowed only with == and !=", strings.TrimSpace(part))
		}
		c.ver = v
		spec = append(spec, c)
	}
	return spec, nil
}

// mentionsPre reports whether a clause names a pre-release, which makes
// pre-releases acceptable, as pip decides.
func (s specifier) mentionsPre() bool {
	for _, c := range s {
		if c.op != "!=" && c.op != "===" && c.ver.isPre() {
			return true
		}
	}
	return false
}

// allows reports whether v meets every clause. A pre-release is refused
// unless allowPre or the specifier names one.
func (s specifier) allows(v pyVersion, allowPre bool) bool {
	if v.isPre() && !allowPre && !s.mentionsPre() {
		return false
	}
	for _, c := range s {
		if !c.holds(v) {
			return false
		}
	}
	return true
}

func (c clause) holds(v pyVersion) bool {
	switch c.op {
	case "===":
		return strings.EqualFold(v.String(), c.raw) // as packaging: the normalised form
	case "==":
		return c.equal(v)
	case "!=":
		return !c.equal(v)
	case "~=":
		prefix := clause{op: "==", wildcard: true, ver: c.ver.base()}
		prefix.ver.release = c.ver.release[:len(c.ver.release)-1]
		return compareVersions(v.public(), c.ver) >= 0 && prefix.equal(v)
	case "<=":
		return compareVersions(v.public(), c.ver) <= 0
	case ">=":
		return compareVersions(v.public(), c.ver) >= 0
	case "<":
		// "<3" does not admit 3.0rc1, though it sorts before 3.
		if !c.ver.isPre() && v.isPre() && compareVersions(v.base(), c.ver.base()) == 0 {
			return false
		}
		return compareVersions(v.public(), c.ver) < 0
	case ">":
		// ">2.2" does not admit 2.2.post1 or 2.2+local.
		if compareVersions(v.base(), c.ver.base()) == 0 && (v.local != nil || (!c.ver.isPost() && v.isPost())) {
			return false
		}
		return compareVersions(v.public(), c.ver) > 0
	}
	return false
}

func (c clause) equal(v pyVersion) bool {
	if c.wildcard {
		if v.epoch != c.ver.epoch {
			return false
		}
		r := v.release
		for len(r) < len(c.ver.release) {
			r = append(slices.Clip(r), 0)
		}
		return slices.Equal(r[:len(c.ver.release)], c.ver.release)
	}
	if c.ver.local == nil {
		v = v.public()
	}
	return compareVersions(v, c.ver) == 0
}
