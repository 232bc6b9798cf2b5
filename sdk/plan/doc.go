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
// This package is shared by the planner (sdk/planner) and the executor: it
// holds data and checks only, and imports no CUE, gRPC or plugin code.
package plan
