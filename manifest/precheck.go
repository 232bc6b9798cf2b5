package manifest

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
	cuejson "cuelang.org/go/encoding/json"
)

// Why a pre-check decides where to evaluate.
//
// Evaluating in a child process (evaluator.go) costs a process start, tens
// of milliseconds, on every evaluation, more than evaluating a real
// manifest costs. plainManifest recognises, from the syntax alone, the
// manifests whose evaluation is bounded by their size, and those are
// evaluated in this process; any other goes to the child and its budget.
//
// What makes CUE's work outgrow its input is a disjunction combined with
// others (the arms' product), a comprehension's iterations, a reference
// that copies a value to another place (a chain of them doubles a string,
// a struct or a number's digits at each link), and builtin calls
// (strings.Repeat, list.Range). A plain manifest has none of them: no `for`, `let`, import, call, alias, embedding,
// hidden field or definition; disjunctions only in the declarations of
// params, at most maxPlainArms `|` in all and never under a conjunction
// (where CUE would multiply them); references only as params.NAME, whose
// declarations hold no references and no structs or lists, at most
// maxPlainRefs of them; `if` guards comparing params with literals. Its
// value is then the source's tree, with each reference replaced by one
// scalar parameter, and unifying that with the fixed schema is a bounded
// number of passes over it, which maxPlainSource and maxPlainParams bound.
// The built-in runtimes' manifests and the built-in target profiles are
// plain, and so is a JSON manifest of up to maxPlainSource bytes.
const (
	maxPlainSource = 32 << 10 // bytes of source, all files
	maxPlainParams = 4 << 10  // bytes of the user's parameters, as JSON
	maxPlainRefs   = 512
	maxPlainArms   = 64
	maxPlainIfs    = 64
)

// predeclared reports whether name is one of CUE's predeclared
// identifiers, which the declarations of params may use as types; no
// field in their scope (at the top, or in params) may take such a name,
// or the identifier would refer to that field.
func predeclared(name string) bool {
	switch name {
	case "_", "bool", "bytes", "float", "int", "null", "number", "string", "uint", "true", "false",
		"top", "len", "close", "and", "or", "div", "mod", "quo", "rem":
		return true
	}
	return false
}

// plainManifest reports whether the files and user parameters make a plain
// manifest (see above), one that is evaluated in this process.
func plainManifest(files map[string][]byte, user map[string]any) bool {
	size := 0
	for _, b := range files {
		size += len(b)
	}
	if size > maxPlainSource {
		return false
	}
	if len(user) > 0 {
		b, err := json.Marshal(user)
		if err != nil || len(b) > maxPlainParams {
			return false
		}
	}
	p := &plainCheck{}
	for name, src := range files {
		switch filepath.Ext(name) {
		case ".cue":
			f, err := parser.ParseFile(name, src)
			if err != nil {
				return false // the child reports it
			}
			if !p.file(f) {
				return false
			}
		case ".json":
			expr, err := cuejson.Extract(name, src)
			if err != nil {
				return false
			}
			s, ok := expr.(*ast.StructLit)
			if !ok || !p.top(s.Elts) {
				return false
			}
		default:
			return false
		}
	}
	return p.refs <= maxPlainRefs && p.arms <= maxPlainArms && p.ifs <= maxPlainIfs
}

type plainCheck struct {
	refs, arms, ifs int
}

func (p *plainCheck) file(f *ast.File) bool { return p.top(f.Decls) }

// top checks the declarations at the top of a file.
func (p *plainCheck) top(ds []ast.Decl) bool {
	for _, d := range ds {
		switch d := d.(type) {
		case *ast.Package, *ast.CommentGroup, *ast.Attribute:
		case *ast.Field:
			// At the top, where the declarations of params are in
			// its scope, no field may take a predeclared name.
			if predeclared(labelName(d)) {
				return false
			}
			if labelName(d) == "params" && d.Alias == nil {
				if !p.params(d.Value) {
					return false
				}
				continue
			}
			if !p.field(d) {
				return false
			}
		case *ast.Comprehension:
			if !p.guard(d) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// labelName is a field's name if it is a plain one: an identifier or a
// string, not hidden, not a definition.
func labelName(f *ast.Field) string {
	var name string
	switch l := f.Label.(type) {
	case *ast.Ident:
		name = l.Name
	case *ast.BasicLit:
		if l.Kind != token.STRING {
			return ""
		}
		s, err := strconv.Unquote(l.Value)
		if err != nil {
			return ""
		}
		name = s
	default:
		return ""
	}
	if strings.HasPrefix(name, "_") || strings.HasPrefix(name, "#") {
		return ""
	}
	return name
}

// field checks a field outside params: a plain name, no alias, data.
func (p *plainCheck) field(f *ast.Field) bool {
	name := labelName(f)
	if name == "" || name == "params" || f.Alias != nil {
		return false
	}
	return p.data(f.Value)
}

func (p *plainCheck) decls(ds []ast.Decl) bool {
	for _, d := range ds {
		switch d := d.(type) {
		case *ast.CommentGroup, *ast.Attribute:
		case *ast.Field:
			if !p.field(d) {
				return false
			}
		case *ast.Comprehension:
			if !p.guard(d) {
				return false
			}
		case *ast.Ellipsis:
			if d.Type != nil && !p.data(d.Type) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// data checks a value outside params: literals, structs, lists, bounds
// on literals, and params.NAME references, alone or interpolated. It has
// no other identifier, so a field named like a predeclared one ("number")
// shadows nothing it uses.
func (p *plainCheck) data(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.SelectorExpr:
		return p.ref(e)
	case *ast.Interpolation:
		for _, x := range e.Elts {
			if _, lit := x.(*ast.BasicLit); !lit && !p.ref(x) {
				return false
			}
		}
		return true
	case *ast.StructLit:
		return p.decls(e.Elts)
	case *ast.ListLit:
		for _, x := range e.Elts {
			switch x := x.(type) {
			case *ast.Ellipsis:
				if x.Type != nil && !p.data(x.Type) {
					return false
				}
			case *ast.Comprehension:
				if !p.guard(x) {
					return false
				}
			default:
				if !p.data(x) {
					return false
				}
			}
		}
		return true
	case *ast.ParenExpr:
		return p.data(e.X)
	case *ast.UnaryExpr:
		_, lit := e.X.(*ast.BasicLit)
		return lit && e.Op != token.MUL
	}
	return false
}

// ref accepts params.NAME.
func (p *plainCheck) ref(e ast.Expr) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := s.X.(*ast.Ident)
	if !ok || x.Name != "params" {
		return false
	}
	sel, ok := s.Sel.(*ast.Ident)
	if !ok || sel.Name == "" || strings.HasPrefix(sel.Name, "_") || strings.HasPrefix(sel.Name, "#") {
		return false
	}
	p.refs++
	return true
}

// guard accepts `if COND {...}`: one if clause comparing params with
// literals, over a plain struct.
func (p *plainCheck) guard(c *ast.Comprehension) bool {
	if len(c.Clauses) != 1 || c.Fallback != nil {
		return false
	}
	ic, ok := c.Clauses[0].(*ast.IfClause)
	if !ok || !p.cond(ic.Condition) {
		return false
	}
	s, ok := c.Value.(*ast.StructLit)
	if !ok {
		return false
	}
	p.ifs++
	return p.decls(s.Elts)
}

func (p *plainCheck) cond(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.SelectorExpr:
		return p.ref(e)
	case *ast.ParenExpr:
		return p.cond(e.X)
	case *ast.UnaryExpr:
		return e.Op == token.NOT && p.cond(e.X)
	case *ast.BinaryExpr:
		switch e.Op {
		case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ,
			token.MAT, token.NMAT, token.LAND, token.LOR:
			return p.cond(e.X) && p.cond(e.Y)
		}
	}
	return false
}

// params checks the params block: a struct of scalar declarations.
func (p *plainCheck) params(e ast.Expr) bool {
	s, ok := e.(*ast.StructLit)
	if !ok {
		return false
	}
	for _, d := range s.Elts {
		switch d := d.(type) {
		case *ast.CommentGroup, *ast.Attribute:
		case *ast.Field:
			if name := labelName(d); name == "" || predeclared(name) || d.Alias != nil || !p.decl(d.Value, false) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// decl checks a parameter's declaration: a disjunction of conjunctions of
// literals, basic types and bounds, a default marked with `*`. underAnd
// is set below a conjunction, where a disjunction is refused.
func (p *plainCheck) decl(e ast.Expr, underAnd bool) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return predeclared(e.Name)
	case *ast.ParenExpr:
		return p.decl(e.X, underAnd)
	case *ast.UnaryExpr:
		switch e.Op {
		case token.MUL: // a default
			return p.decl(e.X, true)
		case token.SUB, token.ADD, token.GEQ, token.LEQ, token.GTR, token.LSS, token.NEQ, token.MAT, token.NMAT:
			_, lit := e.X.(*ast.BasicLit)
			return lit
		}
	case *ast.BinaryExpr:
		switch e.Op {
		case token.OR:
			if underAnd {
				return false
			}
			p.arms++
			return p.decl(e.X, false) && p.decl(e.Y, false)
		case token.AND:
			return p.decl(e.X, true) && p.decl(e.Y, true)
		}
	}
	return false
}
