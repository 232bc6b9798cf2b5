package graph_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

var sortName = regexp.MustCompile(`(?i)(topo_?sort|topological|tarjan|kahn|strongly_?connected)`)

// TestOneHome keeps topological sorts in this package: outside it, no
// non-test file of the module may define a function named like one, or
// walk a graph depth first on its own (a recursive function literal
// that looks up whether its node was seen before: the shape of every
// copy this package replaced).
func TestOneHome(t *testing.T) {
	root := testenv.ModuleRoot(t)
	self := filepath.Join(root, "internal", "graph")
	for _, file := range testenv.ModuleGoFiles(t, root) {
		if filepath.Dir(file) == self {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, file)
		at := func(n ast.Node) string { return rel + ":" + strconv.Itoa(fset.Position(n.Pos()).Line) }
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if sortName.MatchString(n.Name.Name) {
					t.Errorf("%s: %s looks like a topological sort; use internal/graph", at(n), n.Name.Name)
				}
			case *ast.AssignStmt:
				if name, lit := recursiveLit(n); lit != nil && guardsVisits(lit) {
					t.Errorf("%s: %s walks a graph depth first with its own visited marks; use internal/graph (TopoSort, Sorter, Components)", at(n), name)
				}
			}
			return true
		})
	}
}

// recursiveLit returns the function literal of "name = func(...) {...}"
// when its body calls name.
func recursiveLit(a *ast.AssignStmt) (string, *ast.FuncLit) {
	if len(a.Lhs) != 1 || len(a.Rhs) != 1 {
		return "", nil
	}
	id, ok := a.Lhs[0].(*ast.Ident)
	lit, ok2 := a.Rhs[0].(*ast.FuncLit)
	if !ok || !ok2 {
		return "", nil
	}
	calls := false
	ast.Inspect(lit.Body, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if f, ok := c.Fun.(*ast.Ident); ok && f.Name == id.Name {
				calls = true
			}
		}
		return true
	})
	if !calls {
		return "", nil
	}
	return id.Name, lit
}

// guardsVisits reports whether lit tests m[p], for its first parameter
// p, in an if or a switch: a visited (or on-the-path) mark.
func guardsVisits(lit *ast.FuncLit) bool {
	ps := lit.Type.Params.List
	if len(ps) == 0 || len(ps[0].Names) == 0 {
		return false
	}
	p := ps[0].Names[0].Name
	indexes := func(e ast.Node) bool {
		found := false
		ast.Inspect(e, func(n ast.Node) bool {
			if ix, ok := n.(*ast.IndexExpr); ok {
				if id, ok := ix.Index.(*ast.Ident); ok && id.Name == p {
					found = true
				}
			}
			return !found
		})
		return found
	}
	found := false
	ast.Inspect(lit.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.IfStmt:
			if (n.Init != nil && indexes(n.Init)) || indexes(n.Cond) {
				found = true
			}
		case *ast.SwitchStmt:
			if n.Tag != nil && indexes(n.Tag) {
				found = true
			}
		}
		return !found
	})
	return found
}
