package plan

import (
	"fmt"
	"os"

	"github.com/runtimekit/runtimekit/schema"
)

// Marshal returns the plan's canonical bytes: indented JSON, HTML characters
// unescaped, a final newline. The planner builds plans in a deterministic
// order, so equal plans give equal bytes.
func (p *Plan) Marshal() ([]byte, error) {
	c := *p
	c.FormatVersion = FormatVersion
	return schema.Encode(&c)
}

// Read loads and checks a plan file.
func Read(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	p, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes plan bytes, checks them against schema/plan.schema.json and
// then with Check. Problems found by Check are returned as Problems.
func Parse(b []byte) (*Plan, error) {
	var p Plan
	if err := schema.Decode("plan.schema.json", b, &p); err != nil {
		return nil, err
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Check returns every problem of the plan that can be found without the
// machine, as Problems (nil when there is none): step ids are unique, a
// step needs only earlier steps, every artifact a step uses is listed, and
// each step's inputs follow the rules of what a plan may do (see
// ProtectedPath, CheckFile, CheckArchive, CheckHealth, CorePackage,
// state.CheckService and state.CheckRuntimes). A value found wrong twice
// (a file path in the step that writes it and in the state recorded) is
// reported once.
func (p *Plan) Check() error {
	if ps := p.Problems(); len(ps) > 0 {
		return ps
	}
	return nil
}

// Problems is Check's list.
func (p *Plan) Problems() Problems {
	var out Problems
	reported, values := map[string]bool{}, map[string]bool{}
	add := func(i int, field, value, reason string) {
		pr := Problem{Field: field, Value: value, Reason: reason}
		if i >= 0 {
			pr.Index, pr.Step = i+1, p.Steps[i].ID
		}
		out = append(out, pr)
	}
	digests := map[string]bool{}
	for _, a := range p.Artifacts {
		digests[a.SHA256] = true
	}
	seen := map[string]bool{}
	for i, s := range p.Steps {
		if seen[s.ID] {
			add(i, "id", s.ID, fmt.Sprintf("duplicate step id %s", s.ID))
		}
		for _, n := range s.Needs {
			if !seen[n] {
				add(i, "needs", n, fmt.Sprintf("needs %q, which is not an earlier step", n))
			}
		}
		seen[s.ID] = true
		uses := append([]string(nil), s.Inputs.Artifacts...)
		for j, pk := range s.Inputs.Packages {
			if s.Kind == KindInstallPackages {
				if pk.SHA256 == "" {
					add(i, fmt.Sprintf("inputs/packages/%d/sha256", j), "", fmt.Sprintf("package %s has no sha256", pk.Name))
				}
				uses = append(uses, pk.SHA256)
			}
		}
		if s.Inputs.Archive != nil && s.Kind == KindExtractArchive {
			uses = append(uses, s.Inputs.Archive.SHA256)
		}
		for _, d := range uses {
			if d != "" && !digests[d] {
				add(i, "", d, fmt.Sprintf("uses artifact sha256 %s, which the plan does not list", d))
			}
		}
		for _, pr := range stepProblems(s) {
			// The state recorded repeats what earlier steps install: a
			// value already found wrong there is not reported again.
			if reported[pr.Reason] || s.Kind == KindRecordState && pr.Value != "" && values[pr.Value] {
				continue
			}
			reported[pr.Reason] = true
			if pr.Value != "" {
				values[pr.Value] = true
			}
			add(i, pr.Field, pr.Value, pr.Reason)
		}
	}
	return out
}
