package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/internal/human"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/targets"
)

// releases and rollback are in every build: they read the machine's state
// and, for a rollback, start a release that is on the machine already.

func (a *app) releasesCommand() *cobra.Command {
	var f machineFlags
	cmd := &cobra.Command{
		Use:     "releases APP",
		Short:   "List the releases of a deployed app kept on this machine",
		Example: "  runtimectl releases shop",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.machineState(f)
			if err != nil {
				return err
			}
			ap, ok := st.App(args[0])
			if !ok {
				return fmt.Errorf("no app %s is deployed here (runtimectl status lists the apps)", args[0])
			}
			if a.json {
				return a.printJSON(ap)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "app %s on %s, running as %s\n", ap.Name, ap.Runtime, ap.User)
			for _, r := range ap.Releases {
				mark := " "
				if r.Number == ap.Live {
					mark = "*"
				}
				files := 0
				var size int64
				for _, f := range r.Files {
					files++
					size += f.Size
				}
				fmt.Fprintf(&b, "%s v%-3d %-20s port %d, %d files, %s, env %s%s\n", mark, r.Number, r.Created, r.Port, files,
					human.Bytes(size), orNone(strings.Join(r.Env, " ")), secretsNote(r.Secrets))
			}
			_, err = fmt.Fprint(a.stdout, b.String())
			return err
		},
	}
	f.register(cmd, "unused")
	return cmd
}

func secretsNote(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	return ", secrets " + strings.Join(keys, " ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (a *app) rollbackCommand() *cobra.Command {
	var f machineFlags
	var to int
	cmd := &cobra.Command{
		Use:   "rollback APP [--to N]",
		Short: "Make an earlier release of an app live again, once it is healthy",
		Long: "rollback starts a release kept on this machine (the one before the live one, or --to N)\n" +
			"beside the live release, waits for its health check, switches the app to it and stops\n" +
			"the release that was live. If the release does not become healthy, nothing changes.",
		Example: "  runtimectl rollback shop\n  runtimectl rollback shop --to 1",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runRollback(cmd.Context(), f, args[0], to)
		},
	}
	f.register(cmd, "unused: a rollback needs no bundle")
	cmd.Flags().IntVar(&to, "to", 0, "the release to make live (default: the newest kept before the live one)")
	return cmd
}

func (a *app) runRollback(ctx context.Context, f machineFlags, name string, to int) error {
	st, err := a.machineState(f)
	if err != nil {
		return err
	}
	ap, ok := st.App(name)
	if !ok {
		return fmt.Errorf("no app %s is deployed here (runtimectl status lists the apps)", name)
	}
	if to == 0 {
		for _, r := range ap.Releases {
			if r.Number < ap.Live {
				to = r.Number
			}
		}
		if to == 0 {
			return fmt.Errorf("app %s keeps no release older than the live one (%d): give --to N", name, ap.Live)
		}
	}
	prof, err := targets.Load(ctx, st.Target)
	if err != nil {
		return err
	}
	p, err := planner.PlanRollback(st, planTarget(prof), name, to, prof.Target.Budget.MemoryMiB)
	if err != nil {
		return err
	}
	return a.applyPlan(ctx, f, p)
}

// planTarget is the plan's record of a target profile.
func planTarget(prof *targets.Profile) plan.Target {
	t := prof.Target
	return plan.Target{Name: prof.Name, OS: t.OS, Arch: t.Arch, DebianArch: t.DebianArch(), Release: t.Debian.Release}
}

// machineState reads the state of the machine at --root.
func (a *app) machineState(f machineFlags) (*state.State, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	path := filepath.Join(f.root, f.statePath)
	st, exists, err := state.Load(path)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("nothing is deployed: no state file %s", path)
	}
	return st, nil
}
