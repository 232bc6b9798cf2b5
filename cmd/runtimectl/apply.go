package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/sdk/executor"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// machineFlags are the flags of the commands that act on the machine.
type machineFlags struct {
	root, statePath, bundle string
	wait                    bool
}

func (f *machineFlags) register(cmd *cobra.Command, bundleHelp string) {
	fl := cmd.Flags()
	fl.StringVar(&f.root, "root", "/", "the machine's root directory (paths of the plan, the state and dpkg's database are inside it)")
	fl.StringVar(&f.statePath, "state", state.DefaultPath, "state file, inside --root")
	fl.StringVar(&f.bundle, "bundle", "", bundleHelp)
	fl.BoolVar(&f.wait, "wait", false, "wait for another apply (or apt) to finish instead of failing")
}

func (a *app) executor(f machineFlags, resume bool) *executor.Executor {
	opts := executor.Options{
		Root: f.root, StatePath: f.statePath, BundleDir: f.bundle, Wait: f.wait, Resume: resume,
		Progress: a.stderr, Logger: a.logger(),
	}
	setCrashAt(&opts)
	return executor.New(opts)
}

func (a *app) applyCommand() *cobra.Command {
	var f machineFlags
	var resume bool
	cmd := &cobra.Command{
		Use:   "apply PLAN --bundle DIR",
		Short: "Apply a plan to this machine, offline, with rollback on failure",
		Long: "apply runs a plan made by `runtimectl plan` on this machine (inside the VM), taking\n" +
			"packages and archives from the offline bundle. Before changing anything it checks the\n" +
			"plan (schema, state serial, architecture, paths) and every bundle file's SHA-256.\n" +
			"Each step is journaled; when one fails (a health check included), the completed\n" +
			"steps are undone and the machine is left as it was. After an interruption (the VM\n" +
			"stopped), run `runtimectl recover`, or apply the same plan again with --resume.\n" +
			"Progress goes to stderr; the result to stdout (--json for JSON).",
		Example: "  runtimectl apply plan.json --bundle /tmp/bundle\n" +
			"  runtimectl apply plan.json --bundle /tmp/bundle --resume",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			b, err := readPlanFile(args[0])
			if err != nil {
				return err
			}
			res, err := a.executor(f, resume).Apply(cmd.Context(), b)
			return a.reportApply(res, err)
		},
	}
	f.register(cmd, "the offline bundle directory (holding bundle.json)")
	cmd.Flags().BoolVar(&resume, "resume", false, "finish an interrupted apply of this plan instead of refusing")
	return cmd
}

func (a *app) recoverCommand() *cobra.Command {
	var f machineFlags
	var resume, discard bool
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Roll back (or, with --resume, finish) an interrupted apply",
		Long: "recover picks up an apply that was interrupted (the VM stopped, runtimectl was\n" +
			"killed): it runs `dpkg --configure -a` if dpkg was interrupted, then undoes the\n" +
			"steps that had run, leaving the machine as before the apply. With --resume it runs\n" +
			"the remaining steps instead (the bundle must still be there). With nothing to\n" +
			"recover it does nothing. A journal that cannot be read is never guessed at:\n" +
			"--discard-journal sets it aside, lets dpkg finish, and reports how the machine\n" +
			"differs from its state.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if discard {
				res, err := a.executor(f, false).DiscardJournal(cmd.Context())
				return a.reportApply(res, err)
			}
			res, err := a.executor(f, resume).Recover(cmd.Context(), resume)
			return a.reportApply(res, err)
		},
	}
	f.register(cmd, "the bundle directory, when not the one the apply used")
	cmd.Flags().BoolVar(&resume, "resume", false, "finish the apply instead of rolling it back")
	cmd.Flags().BoolVar(&discard, "discard-journal", false, "set aside a journal that cannot be read (damaged, or an older runtimectl's), let dpkg finish, and report how the machine differs from its state (rolls nothing back)")
	cmd.MarkFlagsMutuallyExclusive("resume", "discard-journal")
	return cmd
}

// applyReport is the --json output of apply, recover and remove.
type applyReport struct {
	OK       bool                  `json:"ok"`
	Result   *executor.Result      `json:"result,omitempty"`
	Error    string                `json:"error,omitempty"`
	Problems []executor.Problem    `json:"problems,omitempty"`
	Locked   *executor.LockedError `json:"locked,omitempty"`
}

// reportApply prints an apply's result and turns its error into the exit
// status: 1 for a refused or failed plan, 2 for a rollback that could not
// finish, 3 when another apply holds the lock.
func (a *app) reportApply(res *executor.Result, err error) error {
	var (
		refused *executor.RefusedError
		failed  *executor.StepError
		locked  *executor.LockedError
	)
	code := 1
	switch {
	case err == nil:
	case errors.As(err, &refused):
	case errors.As(err, &failed):
		if failed.RollbackErr != nil {
			code = 2
		}
	case errors.As(err, &locked):
		code = 3
	case res != nil && res.Outcome == executor.OutcomeFailed:
		code = 2
	}
	if a.json {
		rep := applyReport{OK: err == nil, Result: res, Locked: locked}
		if err != nil {
			rep.Error = err.Error()
		}
		if refused != nil {
			rep.Problems = refused.Problems
		}
		if perr := a.printJSON(rep); perr != nil {
			return perr
		}
		if err != nil {
			return exitError{code}
		}
		return nil
	}
	if res != nil {
		for _, k := range res.Kept {
			fmt.Fprintf(a.stderr, "runtimectl: kept %s: %s\n", k.Path, k.Reason)
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(a.stderr, "runtimectl: warning: %s\n", w)
		}
	}
	if err != nil {
		fmt.Fprintln(a.stderr, "runtimectl:", err)
		return exitError{code}
	}
	switch res.Outcome {
	case executor.OutcomeNothing:
		fmt.Fprintln(a.stdout, "nothing to recover")
	case executor.OutcomeRolledBack:
		fmt.Fprintf(a.stdout, "plan %s rolled back: the machine is as it was before (%s)\n", short(res.PlanDigest), res.Duration.Round(time.Millisecond))
	default:
		fmt.Fprintf(a.stdout, "plan %s %s: %d steps, state serial %d (%s)\n", short(res.PlanDigest), res.Outcome,
			len(res.Steps), res.Serial, res.Duration.Round(time.Millisecond))
	}
	return nil
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
