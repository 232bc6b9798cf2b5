// Package plan is the step plan format: the document `runtimectl plan`
// writes on a connected machine and `runtimectl apply` runs inside the VM.
//
// A Plan names its target, the state (lineage and serial) it was made
// against — the executor refuses a stale plan — every artifact it needs by
// SHA-256, a summary, and ordered steps, each with an id, a kind, its inputs,
// the steps it depends on, and how it is undone. Plans are checked against
// schema/plan.schema.json (unknown fields and kinds are invalid) and encode
// deterministically: the same inputs give the same bytes.
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
