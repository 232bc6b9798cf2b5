package durable_test

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

// helperName is what a copy of SyncDir or HashFile tends to be called.
var helperName = regexp.MustCompile(`(?i)^(f?sync_?dir(ectory)?(_?in)?|hash_?(file|rel|path|in)|file_?(hash|digest|sha256)|sha256_?file)$`)

// TestOneHome keeps fsyncs of directories and SHA-256s of files in this
// package: no other non-test file of the module may define them. It
// looks for what such a definition does (io.Copy into a fresh
// sha256.New, Sync of something opened with Open, which opens
// read-only: a directory) and for functions named like one. A method
// named like one may stay if it only hands its os.Root to this package
// (the executor's file system methods do).
func TestOneHome(t *testing.T) {
	root := testenv.ModuleRoot(t)
	self := filepath.Join(root, "internal", "durable")
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
		ast.Inspect(f, func(n ast.Node) bool {
			var body *ast.BlockStmt
			name := ""
			switch fn := n.(type) {
			case *ast.FuncDecl:
				body, name = fn.Body, fn.Name.Name
			case *ast.FuncLit:
				body = fn.Body
			default:
				return true
			}
			if body == nil {
				return false
			}
			where := rel + ":" + strconv.Itoa(fset.Position(n.Pos()).Line)
			if what := reimplements(body); what != "" {
				t.Errorf("%s: %s; use internal/durable", where, what)
			}
			if name != "" && helperName.MatchString(name) && !delegates(body) {
				t.Errorf("%s: %s looks like a copy of a durable helper; call internal/durable (SyncDir, SyncDirIn, Hash, HashFile, HashIn)", where, name)
			}
			return true
		})
	}
}

// reimplements says what body does that belongs in this package, or "".
// Nested function literals are looked at on their own.
func reimplements(body *ast.BlockStmt) string {
	hashes := map[string]bool{} // h := sha256.New()
	opened := map[string]bool{} // d, err := os.Open(dir) or root.Open(rel)
	var what string
	inspectShallow(body, func(n ast.Node) {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Rhs) != 1 {
				return
			}
			call, ok := n.Rhs[0].(*ast.CallExpr)
			if !ok || len(n.Lhs) == 0 {
				return
			}
			id, ok := n.Lhs[0].(*ast.Ident)
			if !ok {
				return
			}
			switch {
			case isCall(call, "sha256", "New"):
				hashes[id.Name] = true
			case selName(call.Fun) == "Open":
				opened[id.Name] = true
			}
		case *ast.CallExpr:
			switch {
			case isCall(n, "io", "Copy") && len(n.Args) == 2:
				if id, ok := n.Args[0].(*ast.Ident); ok && hashes[id.Name] && what == "" {
					what = "hashes a file with sha256.New and io.Copy"
				}
			case selName(n.Fun) == "Sync" && len(n.Args) == 0:
				if id, ok := n.Fun.(*ast.SelectorExpr).X.(*ast.Ident); ok && opened[id.Name] && what == "" {
					what = "fsyncs a directory it opened"
				}
			}
		}
	})
	return what
}

// delegates reports whether body calls into internal/durable.
func delegates(body *ast.BlockStmt) bool {
	found := false
	inspectShallow(body, func(n ast.Node) {
		if call, ok := n.(*ast.CallExpr); ok {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "durable" {
					found = true
				}
			}
		}
	})
	return found
}

// inspectShallow visits body without entering function literals.
func inspectShallow(body *ast.BlockStmt, f func(ast.Node)) {
	ast.Inspect(body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		if n != nil {
			f(n)
		}
		return true
	})
}

func isCall(call *ast.CallExpr, pkg, fn string) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != fn {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

func selName(e ast.Expr) string {
	if sel, ok := e.(*ast.SelectorExpr); ok {
		return sel.Sel.Name
	}
	return ""
}
