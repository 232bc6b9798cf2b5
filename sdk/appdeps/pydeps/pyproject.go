package pydeps

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// ParsePyproject reads the PEP 621 [project] dependencies of a
// pyproject.toml; name is used in messages. Only the dependencies are
// installed: [project.optional-dependencies] are extras nobody asked for
// (put one in requirements.txt to have it), and build-system requirements
// are not needed to run the app. Requirements are refused as in
// [ParseRequirements], and so is a requires-python the VM's python3 3.11
// does not meet, and dependencies listed as dynamic, which only a build
// backend can compute.
func ParsePyproject(b []byte, name string) ([]Requirement, error) {
	var doc struct {
		Project *struct {
			Dependencies   []string `toml:"dependencies"`
			Dynamic        []string `toml:"dynamic"`
			RequiresPython string   `toml:"requires-python"`
		} `toml:"project"`
		Tool struct {
			Poetry *struct {
				Dependencies map[string]any `toml:"dependencies"`
			} `toml:"poetry"`
		} `toml:"tool"`
	}
	if err := toml.Unmarshal(b, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: %s", name, row, col, de.Error())
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := doc.Project
	if p == nil {
		if doc.Tool.Poetry != nil && len(doc.Tool.Poetry.Dependencies) > 0 {
			return nil, fmt.Errorf("%s: [tool.poetry.dependencies] is not read: list the dependencies under [project] dependencies (PEP 621) or in requirements.txt", name)
		}
		return nil, nil
	}
	if slices.Contains(p.Dynamic, "dependencies") {
		return nil, fmt.Errorf("%s: [project] dynamic lists \"dependencies\": they are computed by a build backend, which does not run here; list them in [project] dependencies or in requirements.txt", name)
	}
	if p.RequiresPython != "" {
		spec, err := parseSpecifier(p.RequiresPython)
		if err != nil {
			return nil, fmt.Errorf("%s: requires-python: %w", name, err)
		}
		py, _ := parseVersion(targetEnv["python_full_version"])
		if !spec.allows(py, true) {
			return nil, fmt.Errorf("%s: requires-python %q: the VM has Debian bookworm's python3 %s", name, p.RequiresPython, targetEnv["python_full_version"])
		}
	}
	lines := dependencyLines(b)
	var reqs []Requirement
	var errs []error
	for i, text := range p.Dependencies {
		src := name + ":project.dependencies[" + strconv.Itoa(i) + "]"
		if i < len(lines) {
			src = name + ":" + strconv.Itoa(lines[i])
		}
		req, keep, err := parseRequirement(text, src)
		if err != nil {
			errs = append(errs, &LineError{Source: src, Text: text, Reason: err.Error()})
			continue
		}
		if keep {
			reqs = append(reqs, req)
		}
	}
	return reqs, errors.Join(errs...)
}

// dependencyLines returns the line of each string of project.dependencies,
// in order, found with go-toml's parser, which keeps positions that the
// decoder drops. Forms it does not follow (an inline project table) give
// nil, and messages then name the array index instead.
func dependencyLines(b []byte) []int {
	var p unstable.Parser
	p.Reset(b)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = keyOf(e.Key())
		case unstable.KeyValue:
			key := append(slices.Clip(table), keyOf(e.Key())...)
			if !slices.Equal(key, []string{"project", "dependencies"}) || e.Value().Kind != unstable.Array {
				continue
			}
			var lines []int
			for it := e.Value().Children(); it.Next(); {
				if n := it.Node(); n.Kind == unstable.String {
					lines = append(lines, p.Shape(n.Raw).Start.Line)
				}
			}
			return lines
		}
	}
	return nil
}

func keyOf(it unstable.Iterator) []string {
	var k []string
	for it.Next() {
		k = append(k, string(it.Node().Data))
	}
	return k
}
