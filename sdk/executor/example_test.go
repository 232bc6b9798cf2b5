package executor_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/runtimekit/runtimekit/sdk/executor"
)

// Apply a plan inside the VM, as `runtimectl apply plan.json --bundle
// /tmp/bundle` does, telling apart the ways it can fail. It has no
// Output: it changes the machine it runs on (dpkg, runit, the state), so
// go test compiles it without running it; the end-to-end tests run the
// same calls in i386 roots.
func Example() {
	ctx := context.TODO() // in a CLI: signal.NotifyContext(..., os.Interrupt)
	b, err := os.ReadFile("/tmp/plan.json")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	ex := executor.New(executor.Options{
		BundleDir: "/tmp/bundle",
		Progress:  os.Stderr, // [2/9] install-packages: 22 packages: ...
		Logger:    slog.Default(),
	})
	res, err := ex.Apply(ctx, b)
	var (
		refused *executor.RefusedError
		failed  *executor.StepError
		locked  *executor.LockedError
		pending *executor.InterruptedError
	)
	switch {
	case errors.As(err, &refused):
		// Nothing changed: stale plan, escaping path, corrupt bundle file...
		for _, p := range refused.Problems {
			fmt.Fprintln(os.Stderr, p)
		}
	case errors.As(err, &failed):
		// A step failed; the completed steps were undone (unless
		// failed.RollbackErr says otherwise).
		fmt.Fprintln(os.Stderr, err)
	case errors.As(err, &locked):
		fmt.Fprintf(os.Stderr, "busy: process %d is running %s\n", locked.PID, locked.Operation)
	case errors.As(err, &pending):
		// An earlier apply was cut off: roll it back first.
		if _, err := ex.Recover(ctx, false); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
	default:
		fmt.Printf("%s: %d steps, state serial %d\n", res.Outcome, len(res.Steps), res.Serial)
	}
}

// Report what is installed and whether it is healthy, as `runtimectl
// status` does. It has no Output: what it prints is this machine's state.
func ExampleExecutor_Status() {
	rep, err := executor.New(executor.Options{}).Status(context.TODO())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	for _, rt := range rep.Runtimes {
		for _, s := range rt.Services {
			fmt.Printf("%s/%s: up %v pid %d\n", rt.Name, s.Name, s.Up, s.PID)
		}
	}
}
