// Package unit holds the resolved runtime units: the service, health
// check, file record and port of a runtime as plans carry them and states
// record them, with typed durations and enums.
//
// A manifest (package manifest, declared in sdk/spec) is converted into
// these once, when it is evaluated for a plan: port names resolved to
// numbers, the service's environment merged with the runtime's, probe
// settings flattened. From there on the planner, the plan format, the
// state, the executor and the runit backend (sdk/service) all use the
// same types, so a duration is parsed once, when a document is decoded,
// and two units compare with Equal.
//
// The JSON form is the one plans and states have always had: a Duration
// is a Go duration string ("5s", "250ms"), enums are their strings.
//
// This package imports only the standard library.
package unit
