//go:build !vm

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/targets"
)

func (a *app) targetsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "targets",
		Short: "List the built-in target profiles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ps []*targets.Profile
			for _, n := range targets.Names() {
				p, err := targets.Load(cmd.Context(), n)
				if err != nil {
					return err
				}
				ps = append(ps, p)
			}
			if a.json {
				out := make([]any, len(ps))
				for i, p := range ps {
					out[i] = map[string]any{"name": p.Name, "default": p.Name == targets.Default, "description": p.Description,
						"os": p.OS, "arch": p.Arch, "debian": p.Debian, "budget": p.Budget, "basePackages": len(p.Target.Base.Packages)}
				}
				return a.printJSON(out)
			}
			for _, p := range ps {
				def := ""
				if p.Name == targets.Default {
					def = " (default)"
				}
				fmt.Fprintf(a.stdout, "%s%s\n  %s\n  %s, Debian %s (%s), %d MiB memory, %d MiB disk, %d base packages\n",
					p.Name, def, p.Description, p.Platform(), p.Debian.Version, p.Debian.Release, p.Budget.MemoryMiB, p.Budget.DiskMiB, len(p.Target.Base.Packages))
			}
			return nil
		},
	}
}
