package planner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/runtimekit/runtimekit/sdk/diag"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/spec"
)

// check holds a built plan to the rules plan.Parse applies (plan.Problems),
// so that `runtimectl apply` never refuses a plan for a reason planning
// could have found. The rules' findings become diagnostics in the user's
// terms: at the manifest value that caused them (naming the user parameter
// it came from), or at the installed runtime whose state it is. The
// plan's shape against the schema is the planner's own construction, which
// its tests hold to (golden plans, random add and remove sequences and odd
// parameters all pass Parse); validating it here as well would double the
// time `runtimectl plan` takes.
func (p *planning) check(out *plan.Plan) error {
	probs := out.Problems()
	if len(probs) == 0 {
		return nil
	}
	var ds diag.Diagnostics
	for _, pr := range probs {
		ds = append(ds, p.diagnose(out, pr))
	}
	return ds
}

// diagnose turns a plan problem into a diagnostic about the runtime (and
// manifest value) behind it.
func (p *planning) diagnose(out *plan.Plan, pr plan.Problem) diag.Diagnostic {
	d := diag.Diagnostic{Severity: diag.SeverityError, Pos: cliPos, Summary: pr.Reason}
	if pr.Index < 1 || pr.Index > len(out.Steps) {
		return d
	}
	s := out.Steps[pr.Index-1]
	rt, field := s.Runtime, ""
	switch in := s.Inputs.(type) {
	case *plan.WriteFile:
		if f, ok := strings.CutPrefix(pr.Field, "inputs/file/"); ok {
			rt, field = s.Runtime, p.manifestIndex(s.Runtime, "files", in.File.Path, f)
		}
	case *plan.InstallService:
		if f, ok := strings.CutPrefix(pr.Field, "inputs/service/"); ok {
			field = p.manifestIndex(s.Runtime, "services", in.Service.Name, f)
		}
	case *plan.WaitHealth:
		if f, ok := strings.CutPrefix(pr.Field, "inputs/health/"); ok {
			field = p.manifestIndex(s.Runtime, "health", in.Health.Name, spec.HealthField(f))
		}
	case *plan.ExtractArchive:
		field = "/packages"
	case *plan.RecordState:
		// inputs/runtimes/K/rest: the runtime K of the state recorded.
		rest, _ := strings.CutPrefix(pr.Field, "inputs/runtimes/")
		k, rest, _ := strings.Cut(rest, "/")
		if i, err := strconv.Atoi(k); err == nil && i < len(in.Runtimes) {
			rt = in.Runtimes[i].Name
			field = "/" + rest
		}
	}
	if rt == "" {
		return d
	}
	if !strings.HasPrefix(d.Summary, "runtime "+rt+":") {
		d.Summary = rt + ": " + d.Summary
	}
	u, ok := p.desired[rt]
	if !ok || u.m == nil {
		d.Pos = diag.Pos{File: "installed runtime " + rt}
		return d
	}
	if field != "" {
		d.Path = field
		d.Pos = u.pos(field)
	} else {
		d.Pos = u.pos("/")
	}
	if note := spec.ParamNote(rt, u.params, pr.Value); note != "" {
		d.Summary += note
		d.Hint = "give the parameter another value"
	}
	return d
}

// manifestIndex is the manifest path of a runtime's list element (a file
// by path, a service or health check by name) and a field below it, or ""
// when the runtime or element is not from a manifest at hand.
func (p *planning) manifestIndex(runtime, list, key, field string) string {
	u, ok := p.desired[runtime]
	if !ok || u.m == nil {
		return ""
	}
	i := -1
	switch list {
	case "files":
		for j, f := range u.m.Files {
			if f.Path == key {
				i = j
			}
		}
		if field == "sha256" {
			field = "content"
		}
	case "services":
		for j, s := range u.m.Services {
			if s.Name == key {
				i = j
			}
		}
	case "health":
		for j, h := range u.m.Health {
			if h.Name == key {
				i = j
			}
		}
	}
	if i < 0 {
		return ""
	}
	return fmt.Sprintf("/%s/%d/%s", list, i, field)
}
