package resolve

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"pault.ag/go/debian/version"

	"github.com/runtimekit/runtimekit/sdk/debian"
)

// Request asks for one package to be installed.
type Request struct {
	Name string
	// Arch is an optional qualifier: "", "native", "any", "all" or the
	// target architecture. Anything else cannot be satisfied on a
	// single-architecture target.
	Arch string
	// Op and Version optionally restrict the version: Op is one of "<<",
	// "<=", "=", ">=", ">>". The highest version in the index that meets
	// the restriction is chosen, as "apt-get install name=version" does
	// for "=".
	Op      string
	Version string
}

func (r Request) String() string {
	return debian.Alternative{Name: r.Name, Arch: r.Arch, Op: r.Op, Version: r.Version}.String()
}

// ParseRequest parses "name", "name:arch", "name=version" or a relation
// such as "name (>= 1.2)".
func ParseRequest(s string) (Request, error) {
	s = strings.TrimSpace(s)
	if name, ver, ok := strings.Cut(s, "="); ok && !strings.ContainsAny(s, "( ") {
		s = name + " (= " + ver + ")"
	}
	groups, err := debian.ParseRelations(s, "")
	if err != nil {
		return Request{}, fmt.Errorf("parse request %q: %w", s, err)
	}
	if len(groups) != 1 || len(groups[0]) != 1 {
		return Request{}, fmt.Errorf("parse request %q: want one package, optionally with :arch and a version restriction", s)
	}
	a := groups[0][0]
	return Request{Name: a.Name, Arch: a.Arch, Op: a.Op, Version: a.Version}, nil
}

// Options tunes [Resolve].
type Options struct {
	// Arch is the target's dpkg architecture, e.g. "i386". Index entries
	// for other architectures (except "all") are ignored. Required.
	Arch string
	// Recommends also installs recommended packages, as apt does unless
	// told --no-install-recommends.
	Recommends bool
	// Required adds a request for every package the index marks
	// Essential or Priority: required that is not installed: what a root
	// file system built from the index alone needs.
	Required bool
	// Log, if not nil, receives debug records of the resolver's choices.
	Log *slog.Logger
}

// Resolution is the outcome of [Resolve].
type Resolution struct {
	// Install lists the packages to unpack, each once, in an order dpkg
	// can process them: every package comes after what it Pre-Depends on
	// and, outside dependency cycles, after what it Depends on.
	Install []*debian.Package
	// Remove lists installed packages that must be removed because a
	// package to install conflicts with (or breaks) them.
	Remove []*debian.Package
	// Edges records which package pulled in which: one edge per
	// satisfied relation of each package to install, and one per request
	// (From empty). Sorted.
	Edges []Edge
}

// Edge is one satisfied relation: From's field Kind (Relation is the
// or-group as written) is met by To, at version Version.
type Edge struct {
	From     string
	Kind     debian.RelationKind // "" for a request
	Relation string
	To       string
	Version  string
}

// Resolve computes what must be installed so that every request is met,
// against the index ix and the target's dpkg status (nil for an empty
// target).
//
// The choices follow apt's internal solver (pkgDepCache::MarkInstall in
// apt 2.6) so that the result is the one "apt-get install
// --no-install-recommends" computes for the same index and status:
// an installed package that satisfies a relation is kept; otherwise the
// alternatives are tried in order, installed providers before new ones
// and each ranked like apt's CompareProviders; the candidate of a package
// is its highest version in the index (never a downgrade of what is
// installed). Conflicts and Breaks against packages to install un-mark
// them, against installed packages remove them (never an Essential
// one). Where apt would call its scoring problem resolver, Resolve only
// retries the broken installed packages and otherwise fails.
//
// An unsatisfiable request gives an [*UnsatisfiableError] naming the chain
// of relations that fails.
func Resolve(ctx context.Context, ix *debian.Index, installed *debian.Status, reqs []Request, opts Options) (*Resolution, error) {
	if opts.Arch == "" {
		return nil, fmt.Errorf("resolve: Options.Arch is required")
	}
	r := newResolver(ix, installed, opts)
	return r.run(ctx, reqs)
}

type mode uint8

const (
	modeKeep mode = iota
	modeInstall
	modeDelete
)

// pkgState is apt's per-package StateCache reduced to one architecture.
type pkgState struct {
	name     string
	versions []*debian.Package // installable index versions, highest first
	cur      *debian.Package   // installed version, nil if none
	cand     *debian.Package   // candidate version, nil if none
	mode     mode
	protect  bool // on the MarkInstall stack (apt's ScopedProtected)
	user     bool // requested by the caller
	failure  *failure
}

func (s *pkgState) inst() *debian.Package {
	switch s.mode {
	case modeInstall:
		return s.cand
	case modeKeep:
		return s.cur
	}
	return nil
}

// provision is one Provides entry: pkg provides a virtual name, at ver
// when versioned.
type provision struct {
	pkg       *debian.Package
	versioned bool
	ver       version.Version
}

// rels is the parsed relations of one package version.
type rels struct {
	groups []relGroup
	err    error
}

type relGroup struct {
	kind debian.RelationKind
	alts debian.OrGroup
	text string
}

func (g relGroup) critical() bool { return g.kind == debian.PreDepends || g.kind == debian.Depends }
func (g relGroup) negative() bool { return g.kind == debian.Conflicts || g.kind == debian.Breaks }

type resolver struct {
	ix     *debian.Index
	opts   Options
	log    *slog.Logger
	st     map[string]*pkgState
	status map[string]*debian.Package // installed, by name
	prov   map[string][]provision
	rels   map[*debian.Package]*rels
	vers   map[*debian.Package]version.Version
	ids    map[string]int
	errs   []error
}

func newResolver(ix *debian.Index, status *debian.Status, opts Options) *resolver {
	r := &resolver{
		ix:     ix,
		opts:   opts,
		log:    logger(opts.Log),
		st:     make(map[string]*pkgState),
		status: make(map[string]*debian.Package),
		rels:   make(map[*debian.Package]*rels),
		vers:   make(map[*debian.Package]version.Version),
	}
	if status != nil {
		for _, p := range status.Installed() {
			if r.archOK(p) {
				r.status[p.Name] = p
			}
		}
	}
	r.prov = r.buildProvides()
	return r
}

func (r *resolver) archOK(p *debian.Package) bool {
	return p.Architecture == r.opts.Arch || p.Architecture == "all"
}

func (r *resolver) version(p *debian.Package) version.Version {
	if v, ok := r.vers[p]; ok {
		return v
	}
	v, err := version.Parse(p.Version)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: package %s has bad version %q: %w", r.where(p), p.Name, p.Version, err))
	}
	r.vers[p] = v
	return v
}

func (r *resolver) where(p *debian.Package) string {
	if p.Status != "" {
		return fmt.Sprintf("dpkg status:%d", p.Line)
	}
	return fmt.Sprintf("%s:%d", r.ix.Name, p.Line)
}

// buildProvides indexes the Provides entries of the installed packages
// that are not also index versions; the index's own are built once per
// architecture and kept on the Index.
func (r *resolver) buildProvides() map[string][]provision {
	ixProv := tablesOf(r.ix).provisions(r.ix, r.opts.Arch, r.log)
	extra := false
	m := make(map[string][]provision)
	for _, p := range r.status {
		if p.Provides == "" || r.indexTwin(p) != nil {
			continue
		}
		groups, err := debian.ParseRelations(p.Provides, r.opts.Arch)
		if err != nil {
			r.log.Warn("ignoring unparsable Provides", "where", r.where(p), "package", p.Name, "err", err)
			continue
		}
		addProvisions(m, p, groups)
		extra = true
	}
	if !extra {
		return ixProv
	}
	for name, pvs := range ixProv {
		m[name] = append(slices.Clip(pvs), m[name]...)
	}
	return m
}

func addProvisions(m map[string][]provision, p *debian.Package, groups []debian.OrGroup) {
	for _, g := range groups {
		for _, a := range g {
			pv := provision{pkg: p}
			if a.Op == "=" {
				pv.versioned, pv.ver = true, a.ParsedVersion()
			}
			m[a.Name] = append(m[a.Name], pv)
		}
	}
}

// provisions returns the index's Provides entries for packages of arch
// (and "all"), parsing them on first use. A stanza whose Provides cannot
// be parsed is left out with a warning rather than failing every
// resolution against the index.
func (t *tables) provisions(ix *debian.Index, arch string, log *slog.Logger) map[string][]provision {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m, ok := t.prov[arch]; ok {
		return m
	}
	m := make(map[string][]provision)
	for i := range ix.Packages {
		p := &ix.Packages[i]
		if p.Provides == "" || (p.Architecture != arch && p.Architecture != "all") {
			continue
		}
		groups, err := debian.ParseRelations(p.Provides, arch)
		if err != nil {
			log.Warn("ignoring unparsable Provides", "where", fmt.Sprintf("%s:%d", ix.Name, p.Line), "package", p.Name, "err", err)
			continue
		}
		addProvisions(m, p, groups)
	}
	if t.prov == nil {
		t.prov = make(map[string]map[string][]provision)
	}
	t.prov[arch] = m
	return m
}

// indexTwin returns the index stanza that is the same version as the
// installed package p, which apt merges into one version.
func (r *resolver) indexTwin(p *debian.Package) *debian.Package {
	for _, q := range r.ix.Lookup(p.Name) {
		if q.Version == p.Version && r.archOK(q) {
			return q
		}
	}
	return nil
}

func (r *resolver) state(name string) *pkgState {
	if s, ok := r.st[name]; ok {
		return s
	}
	s := &pkgState{name: name}
	for _, p := range r.ix.Lookup(name) {
		if r.archOK(p) {
			s.versions = append(s.versions, p)
		}
	}
	sort.SliceStable(s.versions, func(i, j int) bool {
		return version.Compare(r.version(s.versions[i]), r.version(s.versions[j])) > 0
	})
	if cur := r.status[name]; cur != nil {
		if twin := r.indexTwin(cur); twin != nil {
			cur = twin
		}
		s.cur = cur
	}
	if len(s.versions) > 0 {
		s.cand = s.versions[0]
	}
	// apt's policy never picks a candidate below the installed version
	// unless pinned to 1000 or more.
	if s.cur != nil && (s.cand == nil || version.Compare(r.version(s.cur), r.version(s.cand)) >= 0) {
		s.cand = s.cur
	}
	r.st[name] = s
	return s
}

func (r *resolver) relsOf(p *debian.Package) *rels {
	if rs, ok := r.rels[p]; ok {
		return rs
	}
	rs := &rels{}
	// apt's cache lists a version's relations in this order
	// (debListParser::NewVersion), and MarkInstall walks them in it.
	fields := []struct {
		kind debian.RelationKind
		text string
	}{
		{debian.PreDepends, p.PreDepends},
		{debian.Depends, p.Depends},
		{debian.Conflicts, p.Conflicts},
		{debian.Breaks, p.Breaks},
		{debian.Recommends, p.Recommends},
	}
	for _, f := range fields {
		groups, err := debian.ParseRelations(f.text, r.opts.Arch)
		if err != nil {
			rs.err = fmt.Errorf("%s: package %s %s: %s: %w", r.where(p), p.Name, p.Version, f.kind, err)
			r.errs = append(r.errs, rs.err)
			continue
		}
		for _, g := range groups {
			if f.kind == debian.Conflicts || f.kind == debian.Breaks {
				// Negative relations have no or-groups; apt treats
				// each alternative on its own.
				for _, a := range g {
					rs.groups = append(rs.groups, relGroup{kind: f.kind, alts: debian.OrGroup{a}, text: a.String()})
				}
				continue
			}
			rs.groups = append(rs.groups, relGroup{kind: f.kind, alts: g, text: g.String()})
		}
	}
	r.rels[p] = rs
	return rs
}

func (r *resolver) important(g relGroup) bool {
	return g.kind != debian.Recommends || r.opts.Recommends
}

// archMatch applies an architecture qualifier to a package that
// provides or is the target. ":any" is met only by Multi-Arch: allowed
// packages, as apt implements the multiarch spec.
func (r *resolver) archMatch(a *debian.Alternative, p *debian.Package) bool {
	switch a.Arch {
	case "", "native", r.opts.Arch:
		return true
	case "any":
		return p.MultiArch == "allowed"
	}
	return false
}

// matches reports whether version p (of any package) satisfies a, either
// as the named package or through Provides.
func (r *resolver) matches(a *debian.Alternative, p *debian.Package, self *debian.Package) bool {
	if self != nil && p.Name == self.Name {
		// apt ignores relations of a package on itself when negative
		// (Conflicts/Provides/Replaces on one virtual name).
		return false
	}
	if p.Name == a.Name {
		return r.archMatch(a, p) && a.SatisfiedBy(r.version(p))
	}
	for _, pv := range r.prov[a.Name] {
		if pv.pkg != p || !r.archMatch(a, p) {
			continue
		}
		if a.Op == "" || (pv.versioned && a.SatisfiedBy(pv.ver)) {
			return true
		}
	}
	return false
}

// targets returns the versions that could satisfy a: the named package's
// versions and every provider, current or candidate as pick selects.
func (r *resolver) targets(a *debian.Alternative, pick func(*pkgState) *debian.Package, self *debian.Package) []*debian.Package {
	var out []*debian.Package
	seen := map[*debian.Package]bool{}
	try := func(p *debian.Package) {
		if p != nil && !seen[p] && r.matches(a, p, self) {
			seen[p] = true
			out = append(out, p)
		}
	}
	try(pick(r.state(a.Name)))
	for _, pv := range r.prov[a.Name] {
		s := r.state(pv.pkg.Name)
		if p := pick(s); p == pv.pkg {
			try(p)
		}
	}
	return out
}

func pickInst(s *pkgState) *debian.Package { return s.inst() }
func pickCand(s *pkgState) *debian.Package { return s.cand }
func pickCur(s *pkgState) *debian.Package  { return s.cur }

// satisfiedNow is apt's DepInstall: the relation holds for what will be
// on the system (for a negative relation: nothing matching will be).
func (r *resolver) satisfiedNow(g relGroup, self *debian.Package) bool {
	if g.negative() {
		return len(r.targets(&g.alts[0], pickInst, self)) == 0
	}
	for i := range g.alts {
		if len(r.targets(&g.alts[i], pickInst, nil)) > 0 {
			return true
		}
	}
	return false
}

// satisfiable is apt's DepInstall|DepCVer test for a positive group.
func (r *resolver) satisfiable(g relGroup) bool {
	for i := range g.alts {
		if len(r.targets(&g.alts[i], pickInst, nil)) > 0 || len(r.targets(&g.alts[i], pickCand, nil)) > 0 {
			return true
		}
	}
	return false
}

// broken reports whether the version s will have installed has a
// Pre-Depends, Depends, Conflicts or Breaks that does not hold (apt's
// InstBroken). With policy, an unmet Recommends that Recommends are
// installed for counts too (apt's InstPolicyBroken).
func (r *resolver) broken(s *pkgState, policy bool) bool {
	p := s.inst()
	if p == nil {
		return false
	}
	for _, g := range r.relsOf(p).groups {
		if g.kind == debian.Recommends && (!policy || !r.important(g) || s.cur == p) {
			continue
		}
		if !r.satisfiedNow(g, p) {
			return true
		}
	}
	return false
}

var priorityRank = map[string]int{"required": 1, "important": 2, "standard": 3, "optional": 4, "extra": 5}

// lessProvider is apt's CompareProviders (depcache.cc): the order in
// which the versions that could satisfy one alternative are tried.
func (r *resolver) lessProvider(target string) func(a, b *debian.Package) int {
	return func(av, bv *debian.Package) int {
		A, B := r.state(av.Name), r.state(bv.Name)
		if A.protect != B.protect {
			return boolFirst(A.protect)
		}
		// Multi-Arch: same packages whose group is installed first; on
		// one architecture the group is the package itself.
		if av.MultiArch == "same" || bv.MultiArch == "same" {
			ia := av.MultiArch == "same" && A.cur != nil
			ib := bv.MultiArch == "same" && B.cur != nil
			if ia != ib {
				return boolFirst(ia)
			}
		}
		if (A.cur != nil) != (B.cur != nil) {
			return boolFirst(A.cur != nil)
		}
		if (av.Name == target) != (bv.Name == target) {
			return boolFirst(av.Name == target)
		}
		if ea, eb := r.essential(A), r.essential(B); ea != eb {
			return boolFirst(ea)
		}
		if pa, pb := priorityRank[av.Priority], priorityRank[bv.Priority]; pa != pb {
			return pa - pb
		}
		// apt's last resort is the package created later in its cache.
		return r.id(bv.Name) - r.id(av.Name)
	}
}

func boolFirst(a bool) int {
	if a {
		return -1
	}
	return 1
}

func (r *resolver) essential(s *pkgState) bool {
	for _, p := range s.versions {
		if p.Essential {
			return true
		}
	}
	return s.cur != nil && s.cur.Essential
}

// id approximates apt's package ID, the order in which its cache
// generator first meets a name: index stanzas in file order, each
// stanza's own name, then the names its relations and Provides mention.
// (apt also counts Suggests and Enhances, which the index reader does
// not keep; the order only breaks ties between otherwise equal
// providers.)
func (r *resolver) id(name string) int {
	if r.ids == nil {
		r.ids = tablesOf(r.ix).mentionOrder(r.ix)
	}
	if id, ok := r.ids[name]; ok {
		return id
	}
	return len(r.ids)
}

func (t *tables) mentionOrder(ix *debian.Index) map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ids != nil {
		return t.ids
	}
	ids := make(map[string]int, len(ix.Packages)*2)
	note := func(n string) {
		if _, ok := ids[n]; !ok {
			ids[n] = len(ids)
		}
	}
	for i := range ix.Packages {
		p := &ix.Packages[i]
		note(p.Name)
		for _, f := range []string{p.PreDepends, p.Depends, p.Conflicts, p.Breaks, p.Recommends, p.Replaces, p.Provides} {
			for _, g := range debian.RelationNames(f) {
				for _, n := range g {
					note(n)
				}
			}
		}
	}
	t.ids = ids
	return ids
}

// solutions is apt's getAllPossibleSolutions with the CANDIDATE selector,
// sorted: for each alternative in order, its candidate versions ranked by
// lessProvider, installed packages' versions before new ones.
func (r *resolver) solutions(g relGroup, self *debian.Package) []*debian.Package {
	var upgrade, fresh []*debian.Package
	for i := range g.alts {
		vs := r.targets(&g.alts[i], pickCand, self)
		slices.SortFunc(vs, r.lessProvider(g.alts[i].Name))
		for _, v := range vs {
			if r.state(v.Name).cur != nil {
				upgrade = append(upgrade, v)
			} else {
				fresh = append(fresh, v)
			}
		}
	}
	out := append(upgrade, fresh...)
	return slices.DeleteFunc(out, func(v *debian.Package) bool {
		s := r.state(v.Name)
		return s.protect && (s.mode == modeDelete || (s.mode == modeKeep && s.cur == nil))
	})
}

// markInstall ports pkgDepCache::MarkInstall: mark s's candidate for
// installation and, with autoInst, its dependencies, depth first.
func (r *resolver) markInstall(s *pkgState, autoInst bool, depth int, fromUser bool) bool {
	if depth > 3000 {
		return false
	}
	if !fromUser && s.protect && s.mode == modeDelete {
		return false
	}
	if s.cand == nil {
		return false
	}
	if !s.protect && !r.broken(s, true) {
		if s.cand == s.cur {
			if s.inst() == nil {
				s.mode = modeKeep
			}
			return true
		} else if s.mode == modeInstall {
			return true
		}
	}
	if !r.installOK(s, autoInst) {
		return false
	}
	if fromUser {
		r.stateChange(s)
	}
	failEarly := !s.protect && !fromUser
	hasFailed := false
	pv := s.cand
	var toInstall, toRemove []relGroup
	var toUpgrade, delayedRemove []*pkgState
	if autoInst {
		for _, g := range r.relsOf(pv).groups {
			if r.satisfiedNow(g, pv) || !r.important(g) {
				continue
			}
			if g.negative() {
				toRemove = append(toRemove, g)
			} else {
				toInstall = append(toInstall, g)
			}
		}
		var ok bool
		toUpgrade, delayedRemove, ok = r.removeConflicts(s, pv, toRemove, fromUser)
		if !ok {
			if failEarly {
				return false
			}
			hasFailed = true
		}
	}
	if !fromUser {
		r.stateChange(s)
	}
	if !autoInst {
		return !hasFailed
	}
	r.log.Debug("mark install", "package", pv.Name, "version", pv.Version, "depth", depth)

	already := s.protect
	s.protect = true
	defer func() { s.protect = already }()

	discard := func() bool {
		// MarkInstall_DiscardInstall: back to what is installed.
		s.mode = modeKeep
		s.cand = s.cur
		return false
	}
	for _, t := range toUpgrade {
		if t.mode != modeInstall && !r.markInstall(t, true, depth+1, false) {
			if !r.markDelete(t, s) {
				if failEarly {
					return discard()
				}
				hasFailed = true
			}
		}
	}
	for _, g := range toInstall {
		if r.satisfiedNow(g, pv) {
			continue
		}
		if g.kind == debian.Recommends && s.cur != nil && !r.newRecommends(s, g) {
			continue
		}
		found := false
		for _, v := range r.solutions(g, nil) {
			t := r.state(v.Name)
			if t.cand != v {
				continue
			}
			if r.markInstall(t, true, depth+1, false) {
				found = true
				break
			}
		}
		if !found && g.critical() {
			r.fail(s, g)
			hasFailed = true
			if !fromUser {
				break
			}
		}
	}
	if hasFailed && failEarly {
		return discard()
	}
	for _, t := range delayedRemove {
		if !r.markDelete(t, s) {
			if failEarly {
				return discard()
			}
			hasFailed = true
		}
	}
	return !hasFailed
}

// newRecommends mirrors apt's rule for upgrades: a Recommends of the new
// version is followed only if the installed version lacked it or had it
// satisfied (apt bug #470115).
func (r *resolver) newRecommends(s *pkgState, g relGroup) bool {
	for _, og := range r.relsOf(s.cur).groups {
		if og.kind != debian.Recommends || og.alts[0].Name != g.alts[0].Name {
			continue
		}
		return r.satisfiedNowAt(og)
	}
	return true
}

func (r *resolver) satisfiedNowAt(g relGroup) bool {
	for i := range g.alts {
		if len(r.targets(&g.alts[i], pickCur, nil)) > 0 {
			return true
		}
	}
	return false
}

// installOK is apt's IsInstallOkDependenciesSatisfiableByCandidates: a
// candidate with a critical relation that neither the installed set nor
// any candidate can meet is discarded before anything is marked.
func (r *resolver) installOK(s *pkgState, autoInst bool) bool {
	if !autoInst || s.cand == s.cur {
		return true
	}
	for _, g := range r.relsOf(s.cand).groups {
		if !g.critical() || r.satisfiable(g) {
			continue
		}
		r.fail(s, g)
		if !s.protect {
			s.cand = s.cur
			if s.mode != modeDelete {
				s.mode = modeKeep
			}
		}
		return false
	}
	return true
}

func (r *resolver) stateChange(s *pkgState) {
	s.mode = modeInstall
	if s.cand == s.cur {
		s.mode = modeKeep
	}
}

// removeConflicts ports MarkInstall_RemoveConflictsIfNotUpgradeable for
// the Conflicts and Breaks of pv.
func (r *resolver) removeConflicts(s *pkgState, pv *debian.Package, toRemove []relGroup, fromUser bool) (toUpgrade, delayed []*pkgState, ok bool) {
	ok = true
	bad := map[*pkgState]bool{}
	for _, g := range toRemove {
		a := &g.alts[0]
		for _, v := range r.targets(a, pickCand, pv) {
			t := r.state(v.Name)
			if t.cur != v {
				if t.mode == modeInstall {
					if t.protect || t.user {
						r.failConflict(s, g, t)
						ok = false
						continue
					}
					t.mode = modeKeep
				} else {
					bad[t] = true
				}
			} else if !r.canDelete(t) {
				r.failConflict(s, g, t)
				ok = false
			} else {
				delayed = append(delayed, t)
			}
		}
		for _, v := range r.targets(a, pickCur, pv) {
			t := r.state(v.Name)
			switch {
			case t.cand != v && t.cand != nil && !bad[t]:
				toUpgrade = append(toUpgrade, t)
			case t.cand == t.cur:
				// handled above
			case !r.canDelete(t):
				r.failConflict(s, g, t)
				ok = false
			default:
				delayed = append(delayed, t)
			}
		}
	}
	return toUpgrade, delayed, ok
}

// canDelete refuses to remove what the caller asked for, what is being
// installed further up, and Essential packages (apt would demand
// --allow-remove-essential).
func (r *resolver) canDelete(t *pkgState) bool {
	if t.mode == modeDelete {
		return true
	}
	return !t.protect && !t.user && !(t.cur != nil && t.cur.Essential)
}

func (r *resolver) markDelete(t *pkgState, by *pkgState) bool {
	if !r.canDelete(t) {
		return false
	}
	r.log.Debug("mark delete", "package", t.name, "because of", by.name)
	t.mode = modeDelete
	return true
}
