package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/sdk/plan"
)

// readPlanFile reads a plan file the user names: only a regular file of at
// most bounded.MaxPlan bytes (a FIFO would block, /dev/zero would exhaust
// the VM's memory).
func readPlanFile(path string) ([]byte, error) {
	b, err := bounded.ReadFile(path, "a plan", bounded.MaxPlan)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	return b, nil
}

// readPlan reads and checks a plan file.
func readPlan(path string) (*plan.Plan, error) {
	b, err := readPlanFile(path)
	if err != nil {
		return nil, err
	}
	p, err := plan.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return p, nil
}

func (a *app) printPlan(p *plan.Plan, dot, steps bool) error {
	switch {
	case a.json:
		b, err := p.Marshal()
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(b)
		return err
	case dot:
		return p.Dot(a.stdout)
	default:
		if err := p.Render(a.stdout); err != nil {
			return err
		}
		if steps {
			return p.RenderSteps(a.stdout)
		}
		return nil
	}
}

func (a *app) showCommand() *cobra.Command {
	var dot, steps bool
	cmd := &cobra.Command{
		Use:   "show PLAN",
		Short: "Render a saved plan",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := readPlan(args[0])
			if err != nil {
				return err
			}
			return a.printPlan(p, dot, steps)
		},
	}
	cmd.Flags().BoolVar(&dot, "dot", false, "print the step graph in Graphviz dot syntax")
	cmd.Flags().BoolVar(&steps, "steps", false, "also list the steps")
	return cmd
}
