// Package lock reads and writes runtimekit lock files: for one target, the
// exact closure of Debian packages each runtime needs beyond the target's base
// system (name, version, architecture, archive path, SHA-256, sizes and the
// dependency edges that pulled each one in), plus each non-Debian artifact
// with its digest. A lock is made on a connected machine by `runtimectl lock`
// and is the input of bundling and planning; the same inputs give the same
// bytes.
package lock
