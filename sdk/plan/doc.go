// Package plan is the step plan format: the document `runtimectl plan`
// writes on a connected machine and `runtimectl apply` runs inside the VM.
//
// A Plan names its target, the state (lineage and serial) it was made
// against — the executor refuses a stale plan — every artifact it needs by
// SHA-256, a summary, and ordered steps, each with an id, the steps it
// depends on, and its inputs: one type per step kind (WriteFile,
// InstallPackages, StartService, ...), whose kind is the step's. A step
// cannot carry another kind's fields: decoding refuses them. How a step is
// undone is the executor's business, not the plan's. Plans are checked
// against schema/plan.schema.json (unknown fields and kinds are invalid)
// and encode deterministically: the same inputs give the same bytes. A plan
// of another format version (FormatVersion) is refused with a
// *VersionError that says which runtimectl made it.
//
// What a plan may do is one set of rules (policy.go), checked by Parse, by
// the planner before it returns a plan and by the manifest loader on each
// runtime's values: no writing, removing or extracting into runtimekit's own
// files, dpkg's database, kernel file systems or the system's account and
// sudo files; no setuid or setgid modes; no removal of Debian's base
// system; services and exec health checks the executor can run, within the
// health-check bounds of sdk/state. A plan the planner writes therefore
// passes Parse, and the executor refuses nothing planning could have.
//
// This package is shared by the planner (sdk/planner) and the executor: it
// holds data and checks only, and imports no CUE, gRPC or plugin code.
package plan
