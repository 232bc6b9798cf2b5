package plan

import (
	"errors"
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
// then checks what a schema cannot: step ids are unique, a step needs only
// earlier steps, and every artifact a step uses is listed.
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

// Check verifies the plan's internal references.
func (p *Plan) Check() error {
	var errs []error
	digests := map[string]bool{}
	for _, a := range p.Artifacts {
		digests[a.SHA256] = true
	}
	seen := map[string]bool{}
	for i, s := range p.Steps {
		where := fmt.Sprintf("step %d (%s)", i+1, s.ID)
		if seen[s.ID] {
			errs = append(errs, fmt.Errorf("%s: duplicate step id", where))
		}
		for _, n := range s.Needs {
			if !seen[n] {
				errs = append(errs, fmt.Errorf("%s: needs %q, which is not an earlier step", where, n))
			}
		}
		seen[s.ID] = true
		uses := append([]string(nil), s.Inputs.Artifacts...)
		for _, pk := range s.Inputs.Packages {
			if s.Kind == KindInstallPackages {
				if pk.SHA256 == "" {
					errs = append(errs, fmt.Errorf("%s: package %s has no sha256", where, pk.Name))
				}
				uses = append(uses, pk.SHA256)
			}
		}
		if s.Inputs.Archive != nil && s.Kind == KindExtractArchive {
			uses = append(uses, s.Inputs.Archive.SHA256)
		}
		for _, d := range uses {
			if d != "" && !digests[d] {
				errs = append(errs, fmt.Errorf("%s: uses artifact sha256 %s, which the plan does not list", where, d))
			}
		}
	}
	return errors.Join(errs...)
}
