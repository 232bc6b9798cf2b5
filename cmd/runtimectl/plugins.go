//go:build !vm

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/sdk/host"
)

func (a *app) pluginsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List, pin and verify runtime plugins",
		Long: "Plugins are executables named runtimectl-plugin-NAME, found beside runtimectl and then\n" +
			"in the directories of $RUNTIMECTL_PLUGIN_PATH. runtimectl runs only plugins pinned by\n" +
			"SHA-256 in the plugins lock; `plugins lock` pins the ones found now.",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the plugins found, with version, path and SHA-256",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := a.getHost()
			if err != nil {
				return err
			}
			ps, err := h.Plugins(cmd.Context())
			if err != nil {
				return err
			}
			// The version comes from the manifest cache; fill it in for
			// plugins never described (a launch, once).
			for i := range ps {
				if ps[i].Version == "" && ps[i].Locked {
					if d, err := h.Describe(cmd.Context(), ps[i].Name); err == nil {
						ps[i].Version = d.Version
					}
				}
			}
			if a.json {
				if ps == nil {
					ps = []host.Plugin{}
				}
				return a.printJSON(ps)
			}
			if len(ps) == 0 {
				fmt.Fprintln(a.stderr, "no plugins found (looked beside runtimectl and in $RUNTIMECTL_PLUGIN_PATH)")
			}
			for _, p := range ps {
				lock := "locked"
				if !p.Locked {
					lock = "NOT LOCKED"
				}
				fmt.Fprintf(a.stdout, "%-8s %-8s %s  %s  %s\n", p.Name, p.Version, p.SHA256[:12], lock, p.Path)
				for _, s := range p.Shadowed {
					fmt.Fprintf(a.stdout, "  (shadows %s)\n", s)
				}
			}
			return nil
		},
	}
	lock := &cobra.Command{
		Use:   "lock",
		Short: "Pin every plugin found now by its SHA-256 in the plugins lock",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := a.getHost()
			if err != nil {
				return err
			}
			ps, err := h.Lock(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(ps)
			}
			for _, p := range ps {
				fmt.Fprintf(a.stdout, "locked %s %s sha256:%s\n", p.Name, p.Version, p.SHA256)
			}
			return nil
		},
	}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check every plugin binary against the plugins lock",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := a.getHost()
			if err != nil {
				return err
			}
			checks, err := h.Verify(cmd.Context())
			if err != nil {
				return err
			}
			failed := false
			for _, c := range checks {
				if c.Status != host.StatusOK {
					failed = true
				}
			}
			if a.json {
				if err := a.printJSON(checks); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					if err := c.Err(); err != nil {
						fmt.Fprintln(a.stderr, "runtimectl:", err)
					} else {
						fmt.Fprintf(a.stdout, "ok %s sha256:%s\n", c.Name, c.Actual)
					}
				}
			}
			if failed {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.AddCommand(list, lock, verify)
	return cmd
}
