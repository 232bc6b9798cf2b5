// Package state records what runtimekit installed on a machine: the runtimes,
// the Debian packages each pulled in, the files it wrote with their SHA-256
// (so a user's edit is never clobbered), the services and ports. A state has
// a lineage (fixed when the machine's first state is written) and a serial
// (bumped by every apply), so a plan made against another state is refused.
//
// The files, services, health checks and ports a runtime owns are the
// resolved units of sdk/unit, as plans carry them; File, Service,
// HealthCheck and Port here are aliases of those types.
//
// The state file is checked against schema/state.schema.json and
// State.Validate (unique runtimes, clean paths) on load and
// written atomically (temp file, fsync, rename, fsync of the directory), with
// the previous version kept beside it. This package runs inside the VM: it
// imports no CUE, gRPC or plugin code.
package state
