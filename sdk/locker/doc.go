// Package locker makes locks (package lock): it resolves each runtime's
// Debian package requests against an index and the target's base system and
// pins the closure and the artifacts. It runs on a connected machine; the
// lock format itself lives in package lock, which imports no CUE, so that
// bundling and planning code can read locks without the resolver.
package locker
