package resolve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/runtimekit/runtimekit/internal/graph"
	"github.com/runtimekit/runtimekit/sdk/debian"
)

// UnsatisfiableError reports requests that cannot be met, each with the
// chain of relations that fails.
type UnsatisfiableError struct {
	Problems []Problem
}

// Problem is one request (or installed package) that cannot be satisfied.
type Problem struct {
	// Package is the requested or installed package that cannot be
	// installed or kept.
	Package string
	// Chain follows the failing relations from Package; the last step
	// says what is missing.
	Chain []Step
}

// Step is one relation in a failing chain: Package at Version has
// relation Kind on Relation. Problem, on the last step, says why it
// cannot be met.
type Step struct {
	Package  string
	Version  string
	Kind     debian.RelationKind
	Relation string
	Problem  string
}

func (s Step) String() string {
	verb := map[debian.RelationKind]string{
		debian.PreDepends: "pre-depends on",
		debian.Depends:    "depends on",
		debian.Recommends: "recommends",
		debian.Conflicts:  "conflicts with",
		debian.Breaks:     "breaks",
	}[s.Kind]
	var b strings.Builder
	b.WriteString(s.Package)
	if s.Version != "" {
		b.WriteString(" " + s.Version)
	}
	if verb != "" {
		b.WriteString(" " + verb + " " + s.Relation)
	}
	if s.Problem != "" {
		if verb != "" {
			b.WriteString(" but")
		}
		b.WriteString(" " + s.Problem)
	}
	return b.String()
}

func (p Problem) String() string {
	parts := make([]string, len(p.Chain))
	for i, s := range p.Chain {
		parts[i] = s.String()
	}
	return "cannot install " + p.Package + ": " + strings.Join(parts, ", and ")
}

func (e *UnsatisfiableError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// failure is why markInstall gave up on a package's candidate: the
// relation that could not be met and, when one of its alternatives
// failed in turn, that alternative's state.
type failure struct {
	pkg    *debian.Package
	group  relGroup
	detail string
	next   *pkgState
}

func (r *resolver) fail(s *pkgState, g relGroup) {
	f := &failure{pkg: s.cand, group: g}
	var reasons []string
	for i := range g.alts {
		a := &g.alts[i]
		next, why := r.whyNot(a)
		if next != nil && f.next == nil {
			f.next = next
		}
		reasons = append(reasons, why)
	}
	f.detail = strings.Join(reasons, "; ")
	if f.next != nil {
		f.detail = ""
	}
	s.failure = f
}

func (r *resolver) failConflict(s *pkgState, g relGroup, t *pkgState) {
	what := "which is installed and cannot be removed"
	switch {
	case t.user:
		what = "which was requested"
	case t.cur != nil && t.cur.Essential:
		what = "which is Essential"
	case t.protect:
		what = "which is being installed"
	}
	v := t.inst()
	if v == nil {
		v = t.cand
	}
	s.failure = &failure{pkg: s.cand, group: g, detail: fmt.Sprintf("%s %s is to be installed, %s", t.name, v.Version, what)}
}

// whyNot explains why alternative a has no installable version. When a
// version exists but failed itself, that package's state is returned so
// the chain can continue there.
func (r *resolver) whyNot(a *debian.Alternative) (*pkgState, string) {
	s := r.state(a.Name)
	var all []*debian.Package
	all = append(all, s.versions...)
	if s.cur != nil && !slices.Contains(all, s.cur) {
		all = append(all, s.cur)
	}
	provs := r.prov[a.Name]
	if len(all) == 0 && len(provs) == 0 {
		if len(r.ix.Lookup(a.Name)) > 0 {
			return nil, fmt.Sprintf("%s is not available for %s", a.Name, r.opts.Arch)
		}
		return nil, fmt.Sprintf("%s is not in the index", a.Name)
	}
	var matching []*debian.Package
	for _, p := range all {
		if r.matches(a, p, nil) {
			matching = append(matching, p)
		}
	}
	for _, pv := range provs {
		if r.archOK(pv.pkg) && r.matches(a, pv.pkg, nil) {
			matching = append(matching, pv.pkg)
		}
	}
	for _, p := range matching {
		if t := r.state(p.Name); t.failure != nil {
			return t, ""
		}
	}
	if len(matching) > 0 {
		p := matching[0]
		return nil, fmt.Sprintf("%s %s cannot be installed", p.Name, p.Version)
	}
	if a.Arch == "any" && len(all) > 0 {
		return nil, fmt.Sprintf("%s is not Multi-Arch: allowed", a.Name)
	}
	var have []string
	for _, p := range all {
		have = append(have, p.Version)
	}
	for _, pv := range provs {
		if !r.archOK(pv.pkg) {
			continue
		}
		if pv.versioned {
			have = append(have, fmt.Sprintf("%s provides it at %s", pv.pkg.Name, pv.ver))
		} else {
			have = append(have, pv.pkg.Name+" provides it unversioned")
		}
	}
	if len(have) == 0 {
		return nil, fmt.Sprintf("%s is not available for %s", a.Name, r.opts.Arch)
	}
	return nil, fmt.Sprintf("the index has only %s %s", a.Name, strings.Join(have, ", "))
}

// chain follows recorded failures from s.
func (r *resolver) chain(s *pkgState) []Step {
	var steps []Step
	seen := map[*pkgState]bool{}
	for s != nil && !seen[s] {
		seen[s] = true
		f := s.failure
		if f == nil {
			steps = append(steps, Step{Package: s.name, Problem: "cannot be installed"})
			break
		}
		step := Step{Package: f.pkg.Name, Version: f.pkg.Version, Kind: f.group.kind, Relation: f.group.text, Problem: f.detail}
		steps = append(steps, step)
		s = f.next
	}
	return steps
}

func (r *resolver) run(ctx context.Context, reqs []Request) (*Resolution, error) {
	var (
		users    []*pkgState
		problems []Problem
	)
	for _, q := range reqs {
		s, prob := r.request(q)
		if prob != nil {
			problems = append(problems, *prob)
			continue
		}
		s.user = true
		users = append(users, s)
	}
	if r.opts.Required {
		for i := range r.ix.Packages {
			p := &r.ix.Packages[i]
			if (p.Essential || p.Priority == "required") && r.archOK(p) {
				if s := r.state(p.Name); s.cur == nil && !s.user {
					s.user = true
					users = append(users, s)
				}
			}
		}
	}
	if len(problems) > 0 {
		return nil, &UnsatisfiableError{Problems: problems}
	}
	// apt-get walks the requests as sets ordered by their position in
	// its cache, not in command-line order; for packages that have a
	// stanza that is close to the stanza's position in the index.
	slices.SortStableFunc(users, func(a, b *pkgState) int { return cmp.Compare(r.position(a), r.position(b)) })
	users = slices.CompactFunc(users, func(a, b *pkgState) bool { return a == b })

	// TryToInstall: mark every request without its dependencies first,
	// then let MarkInstall pull in dependencies (doAutoInstall).
	for _, s := range users {
		r.markInstall(s, false, 0, true)
	}
	for _, s := range users {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r.markInstall(s, true, 0, true)
	}
	r.repair()
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}

	for _, s := range users {
		if s.inst() == nil {
			problems = append(problems, Problem{Package: s.name, Chain: r.chain(s)})
		}
	}
	for _, s := range r.sorted() {
		if s.inst() != nil && r.broken(s, false) && !slices.Contains(users, s) {
			if s.failure == nil {
				r.explainBroken(s)
			}
			problems = append(problems, Problem{Package: s.name, Chain: r.chain(s)})
		}
	}
	for _, s := range users {
		if s.inst() != nil && r.broken(s, false) {
			if s.failure == nil {
				r.explainBroken(s)
			}
			problems = append(problems, Problem{Package: s.name, Chain: r.chain(s)})
		}
	}
	if len(problems) > 0 {
		return nil, &UnsatisfiableError{Problems: problems}
	}
	return r.result(users)
}

func (r *resolver) position(s *pkgState) int {
	if s.cand != nil && s.cand.Status == "" {
		return s.cand.Line
	}
	return math.MaxInt
}

// request finds the state for one request and sets its candidate to the
// highest version meeting the request's restriction.
func (r *resolver) request(q Request) (*pkgState, *Problem) {
	bad := func(msg string) (*pkgState, *Problem) {
		return nil, &Problem{Package: q.Name, Chain: []Step{{Package: q.String(), Problem: msg}}}
	}
	switch q.Arch {
	case "", "native", "any", "all", r.opts.Arch:
	default:
		return bad(fmt.Sprintf("architecture %s is not the target's (%s)", q.Arch, r.opts.Arch))
	}
	s := r.state(q.Name)
	if len(s.versions) == 0 && s.cur == nil {
		// apt installs the sole provider of a virtual package and
		// refuses to choose among several.
		var provs []string
		for _, pv := range r.prov[q.Name] {
			if t := r.state(pv.pkg.Name); t.cand == pv.pkg && !slices.Contains(provs, pv.pkg.Name) {
				provs = append(provs, pv.pkg.Name)
			}
		}
		switch len(provs) {
		case 0:
			if len(r.ix.Lookup(q.Name)) > 0 {
				return bad(fmt.Sprintf("is not available for %s", r.opts.Arch))
			}
			return bad("is not in the index")
		case 1:
			if q.Op != "" {
				return bad("is a virtual package; a version cannot be requested")
			}
			return r.request(Request{Name: provs[0]})
		default:
			sort.Strings(provs)
			return bad("is a virtual package provided by " + strings.Join(provs, ", ") + "; request one of them")
		}
	}
	if q.Op == "" {
		if s.cand == nil {
			return bad("has no installation candidate")
		}
		return s, nil
	}
	a := debian.Alternative{Name: q.Name, Op: q.Op, Version: q.Version}
	groups, err := debian.ParseRelations(a.String(), r.opts.Arch)
	if err != nil {
		return bad(err.Error())
	}
	a = groups[0][0]
	for _, p := range s.versions {
		if a.SatisfiedBy(r.version(p)) {
			s.cand = p
			return s, nil
		}
	}
	if s.cur != nil && a.SatisfiedBy(r.version(s.cur)) {
		s.cand = s.cur
		return s, nil
	}
	var have []string
	for _, p := range s.versions {
		have = append(have, p.Version)
	}
	if len(have) == 0 {
		return bad("has no version in the index")
	}
	return bad("cannot be met: the index has only " + q.Name + " " + strings.Join(have, ", "))
}

// repair stands in for apt's problem resolver in the cases greedy marking
// leaves behind: installed packages broken by a removal or an upgrade are
// given their dependencies again or, failing that, removed; packages
// marked for installation that ended up broken are un-marked, which
// breaks what needed them in turn until a request fails.
func (r *resolver) repair() {
	for range 100 {
		changed := false
		for _, s := range r.sorted() {
			if s.user || s.inst() == nil || !r.broken(s, false) {
				continue
			}
			if s.mode == modeKeep && s.cur != nil {
				if r.markInstall(s, true, 0, false) && !r.broken(s, false) {
					changed = true
					continue
				}
				if r.markDelete(s, s) {
					changed = true
				}
				continue
			}
			if s.mode == modeInstall {
				if s.failure == nil {
					r.explainBroken(s)
				}
				s.mode = modeKeep
				changed = true
			}
		}
		if !changed {
			return
		}
	}
}

// explainBroken records a failure for a package whose relation stopped
// holding after it was marked.
func (r *resolver) explainBroken(s *pkgState) {
	p := s.inst()
	if p == nil {
		p = s.cand
	}
	for _, g := range r.relsOf(p).groups {
		if !r.important(g) || g.kind == debian.Recommends || r.satisfiedNow(g, p) {
			continue
		}
		if g.negative() {
			t := r.targets(&g.alts[0], pickInst, p)[0]
			s.failure = &failure{pkg: p, group: g, detail: fmt.Sprintf("%s %s is to be installed", t.Name, t.Version)}
			return
		}
		saved := s.cand
		s.cand = p
		r.fail(s, g)
		s.cand = saved
		return
	}
}

// sorted returns the states touched so far, by name.
func (r *resolver) sorted() []*pkgState {
	out := make([]*pkgState, 0, len(r.st))
	for _, s := range r.st {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *pkgState) int { return cmp.Compare(a.name, b.name) })
	return out
}

func (r *resolver) result(users []*pkgState) (*Resolution, error) {
	res := &Resolution{}
	var install []*pkgState
	for _, s := range r.sorted() {
		switch {
		case s.mode == modeInstall && s.cand != nil && s.cand != s.cur:
			install = append(install, s)
		case s.mode == modeDelete && s.cur != nil:
			res.Remove = append(res.Remove, s.cur)
		}
	}
	for _, s := range users {
		res.Edges = append(res.Edges, Edge{To: s.name, Version: s.inst().Version})
	}
	deps := make(map[*pkgState][]*pkgState)
	pre := make(map[*pkgState][]*pkgState)
	for _, s := range install {
		p := s.cand
		for _, g := range r.relsOf(p).groups {
			if g.negative() || !r.important(g) {
				continue
			}
			to := r.satisfier(g)
			if to == nil {
				continue
			}
			res.Edges = append(res.Edges, Edge{From: p.Name, Kind: g.kind, Relation: g.text, To: to.Name, Version: to.Version})
			t := r.state(to.Name)
			if t.mode != modeInstall || t == s {
				continue
			}
			switch g.kind {
			case debian.PreDepends:
				pre[s] = append(pre[s], t)
				deps[s] = append(deps[s], t)
			case debian.Depends:
				deps[s] = append(deps[s], t)
			}
		}
	}
	slices.SortFunc(res.Edges, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Relation, b.Relation), cmp.Compare(a.To, b.To))
	})
	res.Edges = slices.Compact(res.Edges)
	order, err := installOrder(install, deps, pre)
	if err != nil {
		return nil, err
	}
	for _, s := range order {
		res.Install = append(res.Install, s.cand)
	}
	return res, nil
}

// satisfier returns the version that meets g once everything is
// installed: the first alternative's first match, as dpkg would look.
func (r *resolver) satisfier(g relGroup) *debian.Package {
	for i := range g.alts {
		if ts := r.targets(&g.alts[i], pickInst, nil); len(ts) > 0 {
			return ts[0]
		}
	}
	return nil
}

// installOrder sorts the packages to install so that dependencies come
// first. Depends cycles (common: libc6 and libgcc-s1) are broken
// arbitrarily but deterministically, Pre-Depends never: a Pre-Depends
// cycle is an error, since dpkg could not unpack it either.
func installOrder(nodes []*pkgState, deps, pre map[*pkgState][]*pkgState) ([]*pkgState, error) {
	// Each component of the Depends graph comes after every component it
	// depends on; nodes are sorted by name, so the order is deterministic.
	var out []*pkgState
	for _, comp := range graph.Components(nodes, func(v *pkgState) []*pkgState { return deps[v] }) {
		ordered, err := preOrder(comp, pre)
		if err != nil {
			return nil, err
		}
		out = append(out, ordered...)
	}
	return out, nil
}

// preOrder orders one dependency cycle by its Pre-Depends edges, names
// breaking ties.
func preOrder(comp []*pkgState, pre map[*pkgState][]*pkgState) ([]*pkgState, error) {
	byName := func(a, b *pkgState) int { return cmp.Compare(a.name, b.name) }
	slices.SortFunc(comp, byName)
	if len(comp) == 1 {
		return comp, nil
	}
	out, err := graph.TopoSort(comp, func(v *pkgState) []*pkgState {
		return slices.SortedFunc(slices.Values(pre[v]), byName)
	})
	if c, ok := err.(*graph.CycleError[*pkgState]); ok {
		cycle := c.Cycle()
		cycle = slices.SortedFunc(slices.Values(cycle[:len(cycle)-1]), byName)
		names := make([]string, len(cycle))
		for i, v := range cycle {
			names[i] = v.name
		}
		return nil, fmt.Errorf("resolve: Pre-Depends cycle among %s", strings.Join(names, ", "))
	}
	return out, nil
}
