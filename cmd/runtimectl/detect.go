//go:build !vm

package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/sdk/host"
)

func (a *app) detectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "detect DIR",
		Short: "Tell which runtimes can serve an app directory, best first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			h, err := a.getHost()
			if err != nil {
				return err
			}
			found, err := h.Detect(cmd.Context(), dir)
			var failed *host.DetectError
			if err != nil && !errors.As(err, &failed) {
				return err
			}
			if failed != nil {
				for _, err := range failed.Errs {
					fmt.Fprintln(a.stderr, "runtimectl:", err)
				}
			}
			if a.json {
				if found == nil {
					found = []host.Detection{}
				}
				if err := a.printJSON(found); err != nil {
					return err
				}
			} else {
				if len(found) == 0 {
					fmt.Fprintf(a.stdout, "no runtime recognises %s\n", dir)
				}
				for _, d := range found {
					fmt.Fprintf(a.stdout, "%-8s %3d  %s\n", d.Runtime, d.Confidence, d.Reason)
				}
			}
			if failed != nil {
				return exitError{1}
			}
			return nil
		},
	}
}
