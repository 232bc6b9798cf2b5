package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"cuelang.org/go/cue"

	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// rules applies to the manifest's files, archives, services and health
// checks the rules every plan is checked against (sdk/plan and sdk/state):
// a value the executor would refuse is refused here, where the author can
// still be pointed at the line that wrote it.
// A problem a user parameter caused names it (see ParamNote).
func rules(m *Manifest, user map[string]any) Diagnostics {
	var ds Diagnostics
	add := func(base string, ps state.Problems, field func(string) string) {
		for _, p := range ps {
			f := p.Field
			if field != nil {
				f = field(f)
			}
			at := base + "/" + f
			ds = append(ds, Diagnostic{Severity: SeverityError, Pos: posNear(m, at), Path: at,
				Summary: p.Reason + ParamNote(m.Name, user, p.Value)})
		}
	}
	for i, f := range m.Files {
		// Checked as the planner writes it; a template's digest is
		// only known once rendered, so the digest check is moot here.
		pf := plan.File{Path: f.Path, Mode: f.Mode, Owner: f.Owner, Group: f.Group, Kind: f.Kind, Content: f.Content}
		sum := sha256.Sum256([]byte(pf.Content))
		pf.SHA256 = hex.EncodeToString(sum[:])
		add(fmt.Sprintf("/files/%d", i), plan.CheckFile(pf, true), nil)
	}
	for i, a := range m.Packages.Archives {
		add(fmt.Sprintf("/packages/archives/%d", i), plan.CheckArchive(plan.Archive{Name: a.Name, Format: a.Format, Dest: a.Dest, Strip: a.Strip, Include: a.Include}), nil)
	}
	for i, n := range m.Packages.NPM {
		add(fmt.Sprintf("/packages/npm/%d", i), plan.CheckArchive(plan.Archive{Name: n.Name, Dest: n.Dest}), nil)
	}
	for i, s := range m.Services {
		svc := m.ResolveService(s)
		add(fmt.Sprintf("/services/%d", i), state.CheckService(svc), func(f string) string {
			// A variable of the runtime's env, not the service's own.
			if k, ok := strings.CutPrefix(f, "env/"); ok {
				if _, own := s.Env[k]; !own {
					return "../../env/" + k
				}
			}
			return f
		})
	}
	ports := m.PortNumbers()
	for i, h := range m.Health {
		add(fmt.Sprintf("/health/%d", i), plan.CheckHealth(h.Resolve(ports)), HealthField)
	}
	for i := range ds {
		ds[i].Path = cleanPointer(ds[i].Path)
	}
	return ds
}

// cleanPointer resolves ".." segments of a JSON pointer.
func cleanPointer(p string) string {
	var out []string
	for _, s := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if s == ".." {
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			continue
		}
		out = append(out, s)
	}
	return "/" + strings.Join(out, "/")
}

// posNear is where the value at path, or its nearest ancestor, was
// written.
func posNear(m *Manifest, path string) Pos {
	for p := cleanPointer(path); ; {
		if pos, ok := m.Source[p]; ok {
			return pos
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			break
		}
		p = p[:i]
	}
	if pos, ok := m.Source["/"]; ok {
		return Pos{File: pos.File}
	}
	return Pos{File: "runtime " + m.Name}
}

// checkParamValues checks each user parameter against its own declaration
// before it is unified with the rest: a value the declaration refuses is
// one diagnostic naming runtime.param and the constraint, instead of every
// place the value would have flowed to.
func (l *Loader) checkParamValues(src cue.Value, user map[string]any) Diagnostics {
	name, _ := src.LookupPath(cue.ParsePath("name")).String()
	names := make([]string, 0, len(user))
	for n := range user {
		names = append(names, n)
	}
	sort.Strings(names)
	var ds Diagnostics
	for _, n := range names {
		decl := src.LookupPath(cue.MakePath(cue.Str("params"), cue.Str(n)))
		if !decl.Exists() {
			continue // reported by unknownParams
		}
		val := l.cue.Encode(normalizeNumbers(user[n]))
		if err := decl.Unify(val).Validate(cue.Concrete(true)); err == nil {
			continue
		}
		shown, _ := json.Marshal(user[n])
		d := Diagnostic{Severity: SeverityError, Pos: firstPos(decl), Path: "/params/" + n,
			Summary: fmt.Sprintf("parameter %s.%s: %s is not allowed", name, n, shown), Hint: docText(decl)}
		if c := constraint(decl); c != "" {
			d.Summary += ": it must be " + c
		}
		ds = append(ds, d)
	}
	return ds
}

// simplify drops what CUE adds around a value a field's constraint refuses
// when the field has a default: "2 errors in empty disjunction:" and
// "conflicting values DEFAULT and VALUE" beside the one line that says
// what is wrong ("invalid value 2541 (out of bound <=1023)").
func simplify(ds Diagnostics) Diagnostics {
	specific := map[string]bool{}
	for _, d := range ds {
		if d.Path != "" && strings.HasPrefix(d.Summary, "invalid value ") {
			specific[d.Path] = true
		}
	}
	out := ds[:0]
	for _, d := range ds {
		noise := strings.HasSuffix(d.Summary, "errors in empty disjunction:") || strings.HasPrefix(d.Summary, "conflicting values ")
		if noise && specific[d.Path] {
			continue
		}
		out = append(out, d)
	}
	return out
}

// attribute adds to each diagnostic whose value carries a user parameter's
// the note naming it (see ParamNote), and gives one without a position
// (a value computed from a parameter has none of its own) the position of
// the nearest value around it that has one.
func attribute(ds Diagnostics, v cue.Value, user map[string]any) {
	for i, d := range ds {
		if d.Pos.File == "" && d.Path != "" {
			ds[i].Pos = ancestorPos(v, splitPath(d.Path))
		}
	}
	if len(user) == 0 {
		return
	}
	name, _ := v.LookupPath(cue.ParsePath("name")).String()
	for i, d := range ds {
		if d.Path == "" || strings.HasPrefix(d.Path, "/params/") || strings.Contains(d.Summary, " (from parameter") {
			continue
		}
		s, err := v.LookupPath(toPath(splitPath(d.Path))).String()
		if err != nil {
			continue
		}
		ds[i].Summary += ParamNote(name, user, s)
	}
}
