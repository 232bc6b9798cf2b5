package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/sdk/diag"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/targets"
)

// remove is in every build, the vm one too: planning a removal needs the
// machine's state, its built-in target profile and the lock shipped for
// it, and no plugin or CUE.
func (a *app) removeCommand() *cobra.Command {
	var f machineFlags
	var cascade bool
	var apps []string
	cmd := &cobra.Command{
		Use:   "remove NAME... | --app APP",
		Short: "Remove runtimes from this machine: plan and apply in one",
		Long: "remove plans the removal of the named runtimes against this machine's state (with\n" +
			"the lock shipped for its target) and applies that plan at once. Packages that other\n" +
			"runtimes or the base system need stay; files the user changed are kept.",
		Example: "  runtimectl remove node\n  runtimectl remove --app shop",
		Args: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 0) == (len(apps) == 0) {
				return errors.New("give runtimes to remove, or --app APP, not both")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(apps) > 0 {
				return a.runRemoveApps(cmd.Context(), f, apps)
			}
			return a.runRemove(cmd.Context(), f, args, cascade)
		},
	}
	cmd.Flags().StringArrayVar(&apps, "app", nil, "remove a deployed app: its processes, releases and env files (repeatable)")
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
	prof, err := targets.Load(ctx, st.Target)
	if err != nil {
		return err
	}
	l, err := prof.ShippedLock()
	if err != nil {
		return err
	}
	// No catalog: a removal adds nothing.
	in := planner.Input{Target: prof.Target, Base: prof.Base, State: st, Lock: l}
	p, err := planner.Plan(ctx, in, planner.Request{Remove: names, Cascade: cascade})
	var ds diag.Diagnostics
	if errors.As(err, &ds) {
		fmt.Fprintln(a.stderr, "runtimectl: the plan is refused:")
		return a.reportDiagnostics(ds)
	}
	if err != nil {
		return err
	}
	if !a.json {
		if err := p.Render(a.stderr); err != nil {
			return err
		}
	}
	return a.applyPlan(ctx, f, p)
}

// applyPlan applies a plan made on this machine (a removal, a rollback)
// and reports the result.
func (a *app) applyPlan(ctx context.Context, f machineFlags, p *plan.Plan) error {
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	res, err := a.executor(f, false).Apply(ctx, b)
	return a.reportApply(res, err)
}

// runRemoveApps takes deployed apps offline and removes them, one plan
// each.
func (a *app) runRemoveApps(ctx context.Context, f machineFlags, names []string) error {
	for _, name := range names {
		st, err := a.machineState(f)
		if err != nil {
			return err
		}
		prof, err := targets.Load(ctx, st.Target)
		if err != nil {
			return err
		}
		var supervisor []string
		if l, err := prof.ShippedLock(); err == nil && l.Supervisor != nil {
			for _, q := range l.Supervisor.Packages {
				supervisor = append(supervisor, q.Name)
			}
		}
		p, err := planner.PlanRemoveApp(st, planTarget(prof), name, supervisor)
		if err != nil {
			return err
		}
		if err := a.applyPlan(ctx, f, p); err != nil {
			return err
		}
	}
	return nil
}

// reportDiagnostics prints diagnostics (stderr, or JSON on stdout) and
// returns the exit error to use when any is an error.
func (a *app) reportDiagnostics(ds diag.Diagnostics) error {
	if a.json {
		if err := a.printJSON(map[string]any{"ok": !ds.HasErrors(), "diagnostics": ds}); err != nil {
			return err
		}
	} else {
		for _, d := range ds {
			fmt.Fprintln(a.stderr, d.String())
		}
	}
	if ds.HasErrors() {
		return exitError{1}
	}
	return nil
}
