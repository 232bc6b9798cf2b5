package executor

import (
	"context"

	"github.com/runtimekit/runtimekit/sdk/plan"
)

// wait-health: it changes nothing, so its undo has nothing to do.

func init() {
	register[*plan.WaitHealth, noUndo](waitHealth{})
}

type waitHealth struct{}

func (waitHealth) prepare(context.Context, *run, *plan.Step, *plan.WaitHealth, *noUndo) error {
	return nil
}

func (waitHealth) do(ctx context.Context, r *run, s *plan.Step, in *plan.WaitHealth, u *noUndo) error {
	r.progress("      waiting for health check %s", in.Health.Name)
	return r.e.opts.Health(ctx, in.Health, r.e.log)
}

func (waitHealth) undo(context.Context, *run, *plan.Step, *plan.WaitHealth, *noUndo) error {
	return nil
}
