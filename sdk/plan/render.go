package plan

import (
	"fmt"
	"io"
	"strings"

	"github.com/runtimekit/runtimekit/internal/human"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// Render writes a human summary of the plan, in the spirit of `terraform
// plan`: what is added and removed, package counts, ports, services (those
// running as root marked), exec health checks run as root, and memory and
// disk before and after against the target's budget.
func (p *Plan) Render(w io.Writer) error {
	s := p.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "Plan for target %s (%s/%s, Debian %s), state serial %d\n\n", p.Target.Name, p.Target.OS, p.Target.Arch, p.Target.Release, p.State.Serial)
	if len(s.Add)+len(s.Remove) == 0 {
		b.WriteString("No changes: the machine already has what was asked for.\n")
	}
	for _, c := range s.Add {
		line := fmt.Sprintf("  + %s %s", c.Name, c.Version)
		if c.Reason != "" {
			line += " (" + c.Reason + ")"
		}
		b.WriteString(line + "\n")
	}
	for _, c := range s.Remove {
		fmt.Fprintf(&b, "  - %s %s\n", c.Name, c.Version)
	}
	for _, c := range s.Keep {
		fmt.Fprintf(&b, "    %s %s (unchanged)\n", c.Name, c.Version)
	}
	fmt.Fprintf(&b, "\nPackages: %d to install, %d to remove\n", len(s.Packages.Install), len(s.Packages.Remove))
	if n := len(s.Packages.Install); n > 0 {
		fmt.Fprintf(&b, "  install: %s\n", packageList(s.Packages.Install))
	}
	if n := len(s.Packages.Remove); n > 0 {
		fmt.Fprintf(&b, "  remove:  %s\n", packageList(s.Packages.Remove))
	}
	if len(s.Ports) > 0 {
		var ports []string
		for _, pu := range s.Ports {
			ports = append(ports, fmt.Sprintf("%d/%s (%s)", pu.Number, pu.Protocol, pu.Runtime))
		}
		fmt.Fprintf(&b, "Ports: %s\n", strings.Join(ports, ", "))
	}
	root := map[string]bool{}
	var rootChecks []string
	for _, r := range p.RunsAsRoot() {
		if r.Check != "" {
			rootChecks = append(rootChecks, r.String())
		} else {
			root[r.Service] = true
		}
	}
	if len(s.Services) > 0 {
		names := make([]string, len(s.Services))
		for i, n := range s.Services {
			names[i] = n
			if root[n] {
				names[i] += " (as root)"
			}
		}
		fmt.Fprintf(&b, "Services: %s\n", strings.Join(names, ", "))
	}
	if len(rootChecks) > 0 {
		fmt.Fprintf(&b, "As root: %s\n", strings.Join(rootChecks, ", "))
	}
	fmt.Fprintf(&b, "Memory: %d MiB -> %d MiB of %d MiB\n", s.MemoryMiB.Before, s.MemoryMiB.After, s.MemoryMiB.Budget)
	fmt.Fprintf(&b, "Disk:   %d MiB -> %d MiB of %d MiB\n", s.DiskMiB.Before, s.DiskMiB.After, s.DiskMiB.Budget)
	for _, n := range s.Notes {
		fmt.Fprintf(&b, "Note: %s\n", n)
	}
	fmt.Fprintf(&b, "\n%d steps, %d artifacts (%s)\n", len(p.Steps), len(p.Artifacts), human.Bytes(p.artifactBytes()))
	_, err := io.WriteString(w, b.String())
	return err
}

// RenderSteps writes one line per step.
func (p *Plan) RenderSteps(w io.Writer) error {
	var b strings.Builder
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "%3d. %s", i+1, s.ID)
		switch in := s.Inputs.(type) {
		case *InstallPackages:
			fmt.Fprintf(&b, " (%d packages)", len(in.Packages))
		case *RemovePackages:
			fmt.Fprintf(&b, " (%d packages)", len(in.Packages))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Dot writes the step graph in Graphviz dot syntax.
func (p *Plan) Dot(w io.Writer) error {
	var b strings.Builder
	b.WriteString("digraph plan {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n")
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "  %q [label=%q];\n", s.ID, s.ID)
	}
	for _, s := range p.Steps {
		for _, n := range s.Needs {
			fmt.Fprintf(&b, "  %q -> %q;\n", n, s.ID)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (p *Plan) artifactBytes() int64 {
	var n int64
	for _, a := range p.Artifacts {
		n += a.Size
	}
	return n
}

func packageList(ps []state.Package) string {
	names := make([]string, len(ps))
	for i, q := range ps {
		names[i] = q.Name
	}
	return strings.Join(names, " ")
}
