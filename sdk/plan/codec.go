package plan

import (
	"encoding/json"
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
// then with Check. Problems found by Check are returned as Problems. A plan
// of another format version is refused before anything else, saying
// which runtimectl made it.
func Parse(b []byte) (*Plan, error) {
	if err := checkFormat(b); err != nil {
		return nil, err
	}
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
		if s.Inputs == nil {
			add(i, "inputs", "", "the step has no inputs")
			continue
		}
		uses := s.Inputs.Uses()
		for _, d := range uses {
			if d != "" && !digests[d] {
				add(i, "", d, fmt.Sprintf("uses artifact sha256 %s, which the plan does not list", d))
			}
		}
		for _, pr := range stepProblems(s) {
			// The state recorded repeats what earlier steps install: a
			// value already found wrong there is not reported again.
			if reported[pr.Reason] || s.Kind() == KindRecordState && pr.Value != "" && values[pr.Value] {
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

// VersionError is a plan of a format this package does not read.
type VersionError struct{ Found int }

func (e *VersionError) Error() string {
	if e.Found < FormatVersion {
		return fmt.Sprintf("this plan is format %d, made by an older runtimectl; this one reads format %d only: "+
			"make the plan again with this runtimectl (runtimectl plan ... -o plan.json) and bundle it again", e.Found, FormatVersion)
	}
	return fmt.Sprintf("this plan is format %d, made by a newer runtimectl; this one reads format %d only: "+
		"apply it with the runtimectl that made it, or make the plan again with this one", e.Found, FormatVersion)
}

// checkFormat reads only formatVersion: an old plan's steps have fields a
// version-2 decoder would report one by one, none of which is the point.
func checkFormat(b []byte) error {
	var v struct {
		FormatVersion *int `json:"formatVersion"`
	}
	if json.Unmarshal(b, &v) != nil || v.FormatVersion == nil || *v.FormatVersion == FormatVersion {
		return nil // the schema check says what is wrong
	}
	return &VersionError{Found: *v.FormatVersion}
}
