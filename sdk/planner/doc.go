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
package planner
