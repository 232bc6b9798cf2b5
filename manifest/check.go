package manifest

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"github.com/Masterminds/semver/v3"

	"github.com/runtimekit/runtimekit/sdk/unit"
)

// check runs the rules a schema cannot express well: uniqueness, references
// between sections, clean paths, semver syntax. It works on the CUE value,
// not the decoded struct, so that it still reports its findings when other
// fields failed the schema: the author gets every problem in one run.
func check(v, src, def cue.Value) Diagnostics {
	c := checker{v: v}
	c.ds = unknownFields(src, def)
	c.version()
	c.requires()
	c.platforms()
	portNames := c.unique("ports", "name", "port name")
	c.portNumbers()
	svcNames := c.unique("services", "name", "service name")
	c.unique("health", "name", "health check name")
	c.unique("files", "path", "file path")
	c.files()
	c.services(svcNames)
	c.health(svcNames, portNames)
	return c.ds
}

type checker struct {
	v  cue.Value
	ds Diagnostics
}

func (c *checker) add(at cue.Value, p, summary, hint string) {
	c.ds = append(c.ds, Diagnostic{Severity: SeverityError, Pos: firstPos(at), Path: p, Summary: summary, Hint: hint})
}

// each calls fn for every element of the list at name, with its path.
func (c *checker) each(name string, fn func(p string, el cue.Value)) {
	// Index by index rather than List(): a list with one bad element
	// does not iterate, and the other elements still deserve checking.
	l := c.v.LookupPath(toPath(splitPath(name)))
	for i := 0; ; i++ {
		el := l.LookupPath(cue.MakePath(cue.Index(i)))
		if !el.Exists() {
			return
		}
		fn("/"+name+"/"+strconv.Itoa(i), el)
	}
}

// str returns the concrete string at field, if there is one.
func str(el cue.Value, field string) (string, cue.Value, bool) {
	f := el.LookupPath(cue.MakePath(cue.Str(field)))
	if !f.Exists() {
		return "", f, false
	}
	s, err := f.String()
	return s, f, err == nil
}

func (c *checker) unique(list, field, what string) map[string]bool {
	seen := map[string]string{}
	names := map[string]bool{}
	c.each(list, func(p string, el cue.Value) {
		s, f, ok := str(el, field)
		if !ok {
			return
		}
		names[s] = true
		if first, dup := seen[s]; dup {
			c.add(f, p+"/"+field, fmt.Sprintf("duplicate %s %q", what, s), "first declared at "+c.posOf(first))
			return
		}
		seen[s] = p + "/" + field
	})
	return names
}

func (c *checker) posOf(p string) string {
	return firstPos(c.v.LookupPath(toPath(splitPath(p)))).String()
}

func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}

func joinPath(segs []string) string  { return strings.Join(segs, "/") }
func joinComma(segs []string) string { return strings.Join(segs, ", ") }

func (c *checker) version() {
	s, f, ok := str(c.v, "version")
	if !ok {
		return
	}
	if _, err := semver.StrictNewVersion(s); err != nil {
		c.add(f, "/version", fmt.Sprintf("version %q is not a semantic version", s), "write MAJOR.MINOR.PATCH, e.g. 1.22.1")
	}
}

func (c *checker) requires() {
	c.each("requires", func(p string, el cue.Value) {
		s, f, ok := str(el, "constraint")
		if !ok {
			return
		}
		if _, err := semver.NewConstraint(s); err != nil {
			c.add(f, p+"/constraint", fmt.Sprintf("invalid semver constraint %q: %v", s, err), `write e.g. ">=18.18", "^15" or ">=1.2, <2"`)
		}
	})
}

func (c *checker) platforms() {
	supported := map[string]bool{}
	c.each("platforms", func(p string, el cue.Value) {
		os, _, ok1 := str(el, "os")
		arch, _, ok2 := str(el, "arch")
		if ok1 && ok2 {
			supported[os+"/"+arch] = true
		}
	})
	c.each("unsupported", func(p string, el cue.Value) {
		os, _, ok1 := str(el, "os")
		arch, f, ok2 := str(el, "arch")
		if ok1 && ok2 && supported[os+"/"+arch] {
			c.add(f, p, fmt.Sprintf("platform %s/%s is listed both in platforms and in unsupported", os, arch), "remove it from one of them")
		}
	})
	for _, list := range []string{"packages/archives", "packages/npm"} {
		c.each(list, func(p string, el cue.Value) {
			d, f, ok := str(el, "dest")
			switch {
			case !ok || len(d) == 0 || d[0] != '/':
			case path.Clean(d) != d:
				c.add(f, p+"/dest", fmt.Sprintf("dest %q is not clean", d), fmt.Sprintf("write %q", path.Clean(d)))
			case d == "/":
				c.add(f, p+"/dest", "dest must not be the root directory", "extract into a directory of its own, e.g. /opt/NAME")
			}
		})
		c.each(list, func(p string, el cue.Value) {
			pl := el.LookupPath(cue.ParsePath("platform"))
			os, _, ok1 := str(pl, "os")
			arch, f, ok2 := str(pl, "arch")
			if ok1 && ok2 && !supported[os+"/"+arch] {
				c.add(f, p+"/platform", fmt.Sprintf("artifact is for %s/%s, which is not in platforms", os, arch), "add the platform or drop the artifact")
			}
		})
	}
}

func (c *checker) portNumbers() {
	seen := map[string]string{}
	c.each("ports", func(p string, el cue.Value) {
		f := el.LookupPath(cue.ParsePath("number"))
		n, err := f.Int64()
		if err != nil {
			return
		}
		proto, _, _ := str(el, "protocol")
		key := fmt.Sprintf("%d/%s", n, proto)
		if first, dup := seen[key]; dup {
			c.add(f, p+"/number", fmt.Sprintf("port %s declared twice", key), "first declared at "+c.posOf(first))
			return
		}
		seen[key] = p + "/number"
	})
}

func (c *checker) files() {
	c.each("files", func(p string, el cue.Value) {
		if s, f, ok := str(el, "path"); ok && len(s) > 0 && s[0] == '/' && path.Clean(s) != s {
			c.add(f, p+"/path", fmt.Sprintf("file path %q is not clean", s), fmt.Sprintf("write %q", path.Clean(s)))
		}
		content := el.LookupPath(cue.ParsePath("content")).Exists()
		tmpl := el.LookupPath(cue.ParsePath("template")).Exists()
		if content == tmpl {
			c.add(el, p, "a file needs exactly one of content and template", "content is written as is; template is a Go text/template over .Params")
		}
	})
}

func (c *checker) services(names map[string]bool) {
	c.each("services", func(p string, el cue.Value) {
		self, _, _ := str(el, "name")
		if w, f, ok := str(el, "workdir"); ok && len(w) > 0 && path.Clean(w) != w {
			c.add(f, p+"/workdir", fmt.Sprintf("workdir %q is not clean", w), fmt.Sprintf("write %q", path.Clean(w)))
		}
		it, err := el.LookupPath(cue.ParsePath("dependsOn")).List()
		if err != nil {
			return
		}
		for i := 0; it.Next(); i++ {
			if s, err := it.Value().String(); err == nil && s == self {
				c.add(it.Value(), fmt.Sprintf("%s/dependsOn/%d", p, i), fmt.Sprintf("service %q depends on itself", s), "")
			}
		}
	})
}

func (c *checker) health(services, ports map[string]bool) {
	c.each("health", func(p string, el cue.Value) {
		kind, kf, _ := str(el, "kind")
		if s, f, ok := str(el, "service"); ok && !services[s] {
			c.add(f, p+"/service", fmt.Sprintf("health check names unknown service %q", s), "known services: "+list(services))
		}
		port, pf, hasPort := str(el, "port")
		if hasPort && !ports[port] {
			c.add(pf, p+"/port", fmt.Sprintf("health check names unknown port %q", port), "known ports: "+list(ports))
		}
		switch unit.HealthKind(kind) {
		case HealthHTTP, HealthTCP:
			if !hasPort && !pf.Exists() {
				c.add(kf, p+"/port", fmt.Sprintf("a %s health check needs a port", kind), "name one of the runtime's ports: "+list(ports))
			}
		case HealthExec:
			if !el.LookupPath(cue.ParsePath("exec")).Exists() {
				c.add(kf, p+"/exec", "an exec health check needs exec.argv", `e.g. exec: argv: ["node", "--version"]`)
			}
		}
	})
}

func list(set map[string]bool) string {
	if len(set) == 0 {
		return "(none)"
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sortStrings(names)
	return fmt.Sprint(names)
}

// unknownFields reports fields the schema does not allow. CUE reports a
// closedness error at the top level of a definition only when nothing else
// is wrong, so this walk makes the report complete and independent of other
// errors.
func unknownFields(src, def cue.Value) Diagnostics {
	var ds Diagnostics
	var walk func(segs []string, v, s cue.Value)
	walk = func(segs []string, v, s cue.Value) {
		switch v.IncompleteKind() {
		case cue.StructKind:
			if s.IncompleteKind()&cue.StructKind == 0 {
				return
			}
			it, err := v.Fields()
			if err != nil {
				return
			}
			for it.Next() {
				sel := it.Selector()
				name := sel.Unquoted()
				p := append(append([]string{}, segs...), name)
				if !s.Allows(sel) {
					d := Diagnostic{Severity: SeverityError, Pos: firstPos(it.Value()), Path: "/" + joinPath(p), Summary: "field not allowed"}
					if names := fieldNames(s); len(names) > 0 {
						d.Hint = "allowed fields here: " + joinComma(names)
					}
					ds = append(ds, d)
					continue
				}
				walk(p, it.Value(), schemaLookup(s, []string{name}))
			}
		case cue.ListKind:
			for i := 0; ; i++ {
				el := v.LookupPath(cue.MakePath(cue.Index(i)))
				if !el.Exists() {
					return
				}
				walk(append(append([]string{}, segs...), strconv.Itoa(i)), el, s.LookupPath(cue.MakePath(cue.AnyIndex)))
			}
		}
	}
	walk(nil, src, def)
	return ds
}
