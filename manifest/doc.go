// Package manifest loads runtime manifests and target profiles (CUE or JSON),
// unifies them with the embedded schema and the user's parameters, checks
// the rules the schema cannot express, and reports every problem at once as
// Diagnostics with file:line:col and a hint.
//
// The types it decodes into are sdk/spec's (Manifest, Target and their
// parts) and sdk/diag's (Diagnostic), aliased here; code that only reads
// manifests can import those packages without CUE. The conversion of a
// manifest's declarations into the resolved units plans carry (sdk/unit)
// is sdk/spec's too.
//
// # Budgets
//
// A small CUE file can make the evaluator work for hours: a chain of
// disjunctions whose combinations multiply, or nested comprehensions of
// hundreds of thousands of elements. CUE's evaluator cannot be interrupted,
// so LoadFiles and LoadTarget evaluate a manifest in a child process (this
// same executable, started again; see evaluator.go) that is killed when it
// goes over its time budget and stops itself when it goes over its memory
// budget: by default 10 seconds (DefaultTimeBudget) and 512 MiB
// (DefaultMemoryBudget) per manifest, or what Options.Budget says. Going
// over is a *BudgetError naming the manifest's files and the limit. A
// plain manifest (data and params only: no `for`, import, call, reference
// other than params.NAME or disjunction outside params; see precheck.go),
// whose syntax bounds its evaluation, is evaluated in this process, without
// the child's start-up cost; the built-in runtimes' manifests are plain.
package manifest
