//go:build !vm

package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/sdk/state"
)

func (a *app) removeCommand() *cobra.Command {
	var f machineFlags
	var cascade bool
	cmd := &cobra.Command{
		Use:   "remove NAME...",
		Short: "Remove runtimes from this machine: plan and apply in one",
		Long: "remove plans the removal of the named runtimes against this machine's state (with\n" +
			"the lock shipped for its target) and applies that plan at once. Packages that other\n" +
			"runtimes or the base system need stay; files the user changed are kept.",
		Example: "  runtimectl remove node",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runRemove(cmd.Context(), f, args, cascade)
		},
	}
	f.register(cmd, "a bundle to reinstall removed packages from should the removal be rolled back")
	cmd.Flags().BoolVar(&cascade, "cascade", false, "also remove runtimes that require a removed one")
	return cmd
}

func (a *app) runRemove(ctx context.Context, f machineFlags, names []string, cascade bool) error {
	if err := f.check(); err != nil {
		return err
	}
	statePath := filepath.Join(f.root, f.statePath)
	st, exists, err := state.Load(statePath)
	if err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("nothing is installed: no state file %s", statePath)
	}
	pf := planFlags{remove: names, statePath: statePath, target: st.Target, cascade: cascade}
	p, err := a.makePlan(ctx, pf)
	if err != nil {
		return err
	}
	if !a.json {
		if err := p.Render(a.stderr); err != nil {
			return err
		}
	}
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	res, err := a.executor(f, false).Apply(ctx, b)
	return a.reportApply(res, err)
}
