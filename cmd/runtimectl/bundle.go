package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func (a *app) bundleCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "bundle",
		Short: "Fetch a lock's packages and artifacts into an offline bundle",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("bundle: not implemented yet")
		},
	}
}
