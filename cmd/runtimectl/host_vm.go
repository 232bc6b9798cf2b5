//go:build vm

package main

import "github.com/spf13/cobra"

// The vm build (go build -tags vm) is what runs in the VM: it applies
// plans, recovers, reports status and logs, renders plans, and plans and
// applies removals (from the state and the built-in target's lock); it
// has no plugin host, CUE evaluation or network code.
type hostState struct{}

func (a *app) addHostCommands(*cobra.Command) {}

func (a *app) closeHost() error { return nil }
