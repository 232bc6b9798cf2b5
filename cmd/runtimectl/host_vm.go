//go:build vm

package main

import "github.com/spf13/cobra"

// The vm build (go build -tags vm) is the executor alone, for the VM: it
// applies plans, recovers, reports status and logs, and renders plans; it
// has no plugin host, CUE evaluation, planner or network code.
type hostState struct{}

func (a *app) addHostCommands(*cobra.Command) {}

func (a *app) closeHost() error { return nil }
