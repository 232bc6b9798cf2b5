// Package spec holds what runtimes and targets declare: the Manifest a
// runtime's plugin describes and the Target profile plans are made for,
// as plain Go types, and the conversions of a manifest's declarations
// into the resolved units of sdk/unit.
//
// Package manifest loads and checks these declarations from CUE (and
// aliases every type here, so code written against manifest.Manifest
// keeps compiling); this package has no CUE in it, so the planner and
// anything else that only reads manifests can import it without the
// evaluator.
package spec
