// Package bundle makes and checks runtimekit's offline bundles: a directory
// holding every file a set of runtimes needs inside a VM that has no
// network, each one pinned by SHA-256.
//
// A bundle directory looks like this:
//
//	bundle.json                                  the index (schema/bundle.schema.json)
//	debs/nginx-light_1.22.1-9+deb12u2_i386.deb   Debian packages, by their archive file name
//	artifacts/deno-linux-x64-glibc-2.9.6.tgz     npm tarballs and other archives
//
// bundle.json lists every file with its kind (deb, npm or archive), name,
// version, architecture, path inside the bundle, SHA-256 and size, sorted by
// path; the same files give the same bytes. Nothing else may be in the
// directory: [Bundle.Verify] reports a missing, changed or unlisted file, a
// symbolic link, and a path that would leave the bundle.
//
// [Fetch] builds a bundle on a connected machine from lock entries or a
// plan's artifacts (see [ItemsFromLock], [ItemsFromPlan]): each file is
// copied from a local directory (a flat directory of .debs, the apt cache, a
// mirror copy, or the previous bundle) when one there has the pinned digest,
// and downloaded otherwise, from a Debian mirror or an npm registry
// ([AptMirror] and [NPMRegistry] find the ones this machine uses). Downloads are hashed as they stream,
// are resumed with HTTP range requests from partial files kept in a cache
// directory, and the bundle is assembled in a temporary directory beside the
// destination that is renamed into place only once every file has been
// verified: a failed fetch leaves the destination as it was.
package bundle
