// Package planner turns what the user wants (runtimes to add and remove),
// the machine's current state, the target profile and the locked packages
// into a step plan (package plan) that the in-VM executor runs without
// thinking.
//
// Planning is pure: no processes, no writes, no clock; the same inputs give
// the same plan bytes. It first validates the combination of runtimes —
// ports, files, services, capabilities, conflicts, requirements, platforms
// and budgets — and reports every problem at once as a positioned
// diagnostic; only a valid combination is ordered into steps.
//
// It reads manifests and targets as sdk/spec's plain types, through a
// Catalog the caller supplies (a plan that only removes needs none), and
// reports with sdk/diag: it imports no CUE, no resolver, no network and no
// plugin code, so the runtimectl in the VM plans removals with it.
package planner
