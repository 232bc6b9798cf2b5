package testenv

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// Imports is a package's transitive import graph as `go list -deps`
// reports it: each package and the packages it imports directly.
type Imports struct {
	Root    string
	imports map[string][]string
}

// ListImports runs `go list -deps` on pkg (a pattern naming one package,
// such as "." or "./sdk/planner") with the build tags given. Without the go
// command the test is skipped, or fails under RUNTIMEKIT_E2E=1.
func ListImports(t testing.TB, pkg string, tags ...string) *Imports {
	t.Helper()
	RequireTools(t, "go")
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	out, err := exec.Command("go", append(args, pkg)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	g := &Imports{imports: map[string][]string{}}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		g.imports[f[0]] = f[1:]
		g.Root = f[0] // -deps lists a package after its dependencies
	}
	if g.Root == "" {
		t.Fatalf("go list -deps %s listed nothing", pkg)
	}
	return g
}

// Reach returns every package the root imports, directly or not, without
// going through the packages in cut (which are not in the result either).
func (g *Imports) Reach(cut ...string) map[string]bool {
	skip := map[string]bool{}
	for _, c := range cut {
		skip[c] = true
	}
	seen := map[string]bool{}
	var walk func(p string)
	walk = func(p string) {
		for _, q := range g.imports[p] {
			if !seen[q] && !skip[q] {
				seen[q] = true
				walk(q)
			}
		}
	}
	walk(g.Root)
	return seen
}

// Matches reports whether the import path p is pattern or below it
// ("net/http" matches net/http and net/http/httptrace); a pattern ending
// in "/" matches every path with that prefix ("cuelang.org/").
func Matches(p, pattern string) bool {
	if strings.HasSuffix(pattern, "/") {
		return strings.HasPrefix(p, pattern)
	}
	return p == pattern || strings.HasPrefix(p, pattern+"/")
}

// Found lists, sorted, the packages of deps that match pattern (see
// Matches): what a dependency rule reports.
func Found(deps map[string]bool, pattern string) []string {
	var out []string
	for dep := range deps {
		if Matches(dep, pattern) {
			out = append(out, dep)
		}
	}
	sort.Strings(out)
	return out
}

// NotStdlib lists, sorted, the packages of deps outside the standard
// library (those whose first path element has a dot): what a leaf
// package may not import.
func NotStdlib(deps map[string]bool) []string {
	var out []string
	for dep := range deps {
		if first, _, _ := strings.Cut(dep, "/"); strings.Contains(first, ".") {
			out = append(out, dep)
		}
	}
	sort.Strings(out)
	return out
}
