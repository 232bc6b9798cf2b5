//go:build !vm

package main

import (
	"fmt"
	"sort"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/manifest"
)

type validateResult struct {
	Runtime     string               `json:"runtime"`
	Version     string               `json:"version,omitempty"`
	OK          bool                 `json:"ok"`
	Diagnostics manifest.Diagnostics `json:"diagnostics"`
}

func (a *app) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate NAME...",
		Short: "Validate installed plugins' manifests and their requirements on each other",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := a.getHost()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			// Versions of every available runtime, for requires checks.
			available := map[string]*semver.Version{}
			plugins, err := h.Plugins(ctx)
			if err != nil {
				return err
			}
			for _, p := range plugins {
				if m, err := h.Manifest(ctx, p.Name); err == nil {
					if v, err := semver.NewVersion(m.Version); err == nil {
						available[m.Name] = v
					}
				}
			}
			var results []validateResult
			failed := false
			for _, name := range args {
				r := validateResult{Runtime: name}
				m, err := h.Manifest(ctx, name)
				var ds manifest.Diagnostics
				switch {
				case asDiagnostics(err, &ds):
					r.Diagnostics = ds
				case err != nil:
					r.Diagnostics = manifest.Diagnostics{{Severity: manifest.SeverityError, Summary: err.Error()}}
				default:
					r.Version = m.Version
					r.Diagnostics = requirementDiagnostics(m, available)
				}
				r.OK = !r.Diagnostics.HasErrors()
				failed = failed || !r.OK
				results = append(results, r)
			}
			if a.json {
				if err := a.printJSON(results); err != nil {
					return err
				}
			} else {
				for _, r := range results {
					if r.OK {
						fmt.Fprintf(a.stdout, "%s %s: ok\n", r.Runtime, r.Version)
					} else {
						fmt.Fprintf(a.stdout, "%s: invalid\n", r.Runtime)
					}
					for _, d := range r.Diagnostics {
						fmt.Fprintln(a.stderr, d.String())
					}
				}
			}
			if failed {
				return exitError{1}
			}
			return nil
		},
	}
}

// requirementDiagnostics checks that each runtime m requires is available at
// a version meeting the constraint.
func requirementDiagnostics(m *manifest.Manifest, available map[string]*semver.Version) manifest.Diagnostics {
	var ds manifest.Diagnostics
	for i, r := range m.Requires {
		path := fmt.Sprintf("/requires/%d", i)
		pos := m.Source[path]
		v, ok := available[r.Runtime]
		if !ok {
			names := make([]string, 0, len(available))
			for n := range available {
				names = append(names, n)
			}
			sort.Strings(names)
			ds = append(ds, manifest.Diagnostic{Severity: manifest.SeverityError, Pos: pos, Path: path,
				Summary: fmt.Sprintf("%s requires runtime %q, which no plugin provides", m.Name, r.Runtime),
				Hint:    fmt.Sprintf("available runtimes: %v", names)})
			continue
		}
		if r.Constraint == "" {
			continue
		}
		c, err := semver.NewConstraint(r.Constraint)
		if err != nil {
			continue // reported by the manifest loader
		}
		if !c.Check(v) {
			ds = append(ds, manifest.Diagnostic{Severity: manifest.SeverityError, Pos: pos, Path: path,
				Summary: fmt.Sprintf("%s requires %s %s, but the available %s is %s", m.Name, r.Runtime, r.Constraint, r.Runtime, v)})
		}
	}
	return ds
}
