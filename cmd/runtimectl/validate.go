//go:build !vm

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk/planner"
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
			// Every runtime that loads, for the requires checks.
			var available []*manifest.Manifest
			plugins, err := h.Plugins(ctx)
			if err != nil {
				return err
			}
			for _, p := range plugins {
				if m, err := h.Manifest(ctx, p.Name); err == nil {
					available = append(available, m)
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
					r.Diagnostics = planner.CheckRequires(m, available)
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
