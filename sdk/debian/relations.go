package debian

import (
	"fmt"
	"strings"

	"pault.ag/go/debian/dependency"
	"pault.ag/go/debian/version"
)

// RelationKind names a relation field of a binary package.
type RelationKind string

// The relation fields the resolver reads.
const (
	PreDepends RelationKind = "Pre-Depends"
	Depends    RelationKind = "Depends"
	Recommends RelationKind = "Recommends"
	Conflicts  RelationKind = "Conflicts"
	Breaks     RelationKind = "Breaks"
	Provides   RelationKind = "Provides"
	Replaces   RelationKind = "Replaces"
)

// Alternative is one element of an or-group: a package name with an
// optional architecture qualifier and version restriction.
type Alternative struct {
	Name string
	// Arch is the qualifier after ':' ("any", "native", an architecture
	// name) or empty.
	Arch string
	// Op is one of "<<", "<=", "=", ">=", ">>", or empty when the
	// alternative has no version restriction.
	Op      string
	Version string

	ver version.Version // parsed Version when Op != ""
}

func (a Alternative) String() string {
	s := a.Name
	if a.Arch != "" {
		s += ":" + a.Arch
	}
	if a.Op != "" {
		s += " (" + a.Op + " " + a.Version + ")"
	}
	return s
}

// Satisfies reports whether a package at version v (a Debian version
// string) meets the alternative's version restriction, by dpkg's rules.
func (a Alternative) Satisfies(v string) bool {
	if a.Op == "" {
		return true
	}
	pv, err := version.Parse(v)
	if err != nil {
		return false
	}
	return a.SatisfiedBy(pv)
}

// SatisfiedBy is [Alternative.Satisfies] for a version parsed already, as
// a resolver comparing many versions keeps them.
func (a *Alternative) SatisfiedBy(v version.Version) bool {
	if a.Op == "" {
		return true
	}
	c := version.Compare(v, a.ver)
	switch a.Op {
	case "<<":
		return c < 0
	case "<=":
		return c <= 0
	case "=":
		return c == 0
	case ">=":
		return c >= 0
	case ">>":
		return c > 0
	}
	return false
}

// ParsedVersion returns Version as [ParseRelations] parsed it; it is the
// zero Version when Op is empty or the alternative was not made by
// ParseRelations.
func (a *Alternative) ParsedVersion() version.Version { return a.ver }

// OrGroup is one comma-separated element of a relation field: any one of
// its alternatives satisfies it.
type OrGroup []Alternative

func (g OrGroup) String() string {
	parts := make([]string, len(g))
	for i, a := range g {
		parts[i] = a.String()
	}
	return strings.Join(parts, " | ")
}

// ParseRelations parses the value of a relation field such as Depends.
// Alternatives restricted to other architectures with "[...]" lists (a
// source-package construct) are dropped unless they include arch; build
// profiles ("<...>") are ignored.
func ParseRelations(field, arch string) ([]OrGroup, error) {
	field = strings.TrimSpace(field)
	if field == "" {
		return nil, nil
	}
	dep, err := dependency.Parse(field)
	if err != nil {
		return nil, err
	}
	target, _ := dependency.ParseArch(arch)
	out := make([]OrGroup, 0, len(dep.Relations))
	for _, rel := range dep.Relations {
		var g OrGroup
		for _, p := range rel.Possibilities {
			if p.Substvar {
				return nil, fmt.Errorf("unexpanded substitution variable ${%s}", p.Name)
			}
			if p.Architectures != nil && len(p.Architectures.Architectures) > 0 && target != nil && !p.Architectures.Matches(target) {
				continue
			}
			a := Alternative{Name: p.Name}
			if p.Arch != nil {
				a.Arch = p.Arch.String()
			}
			if p.Version != nil {
				a.Op = p.Version.Operator
				a.Version = p.Version.Number
				v, err := version.Parse(a.Version)
				if err != nil {
					return nil, fmt.Errorf("%s: bad version %q: %w", p.Name, a.Version, err)
				}
				a.ver = v
			}
			g = append(g, a)
		}
		if len(g) > 0 {
			out = append(out, g)
		}
	}
	return out, nil
}

// RelationNames returns the package names of each or-group of a relation
// field, without a full parse: "a (>= 1) | b:any, c" gives [[a b] [c]].
// It is for decisions that must not fail on a field that does not parse,
// where dpkg, not the caller, is the judge of the field (the order in
// which dpkg runs are batched, tie-breaks).
func RelationNames(field string) [][]string {
	var out [][]string
	for _, group := range strings.Split(field, ",") {
		var alts []string
		for _, alt := range strings.Split(group, "|") {
			alt = strings.TrimSpace(alt)
			if i := strings.IndexAny(alt, " (:[<"); i >= 0 {
				alt = alt[:i]
			}
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
