// Package resolve computes the closure of a set of Debian package
// requests against an archive index and a target's installed packages,
// the way apt would.
//
// [Resolve] follows apt's choices (installed first, then the first
// satisfiable alternative, then the candidate version) and returns the
// packages in an order dpkg can install them in, with the dependency
// edges that pulled each one in. A request that cannot be satisfied gives
// an [*UnsatisfiableError] that names the failing chain of relations.
//
// The index and the status are read with package
// [github.com/runtimekit/runtimekit/sdk/debian], which holds the formats
// and nothing of resolution: what only makes locks (sdk/locker, `runtimectl
// resolve`) imports this package, and the planner and the in-VM executor,
// which read Debian metadata, do not carry it.
package resolve
