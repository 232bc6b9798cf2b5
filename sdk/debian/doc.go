// Package debian reads Debian package metadata and resolves package
// requests into an installable closure, the way apt would.
//
// It covers what runtimekit needs to carry Debian packages into an offline
// VM:
//
//   - [ReadPackages] and [OpenPackages] read an archive "Packages" index
//     (plain, gzip or xz, told apart by magic bytes) into an [Index];
//   - [ReadStatus] and [OpenStatus] read dpkg's status file into a [Status];
//   - [InspectDeb] reads a .deb's control fields and the file list of its
//     data archive;
//   - [Resolve] computes the closure of a set of [Request]s against an
//     index and the target's installed packages, following apt's choices
//     (installed first, then the first satisfiable alternative, then the
//     candidate version), and returns the packages in an order dpkg can
//     install them in, with the dependency edges that pulled each one in.
//     A request that cannot be satisfied gives an [*UnsatisfiableError]
//     that names the failing chain of relations;
//   - [ReadAptSources] finds the archive mirrors a machine's apt is set up
//     with (one-line and deb822 formats).
//
// Versions are compared with pault.ag/go/debian/version, a port of dpkg's
// algorithm, and relations are parsed with pault.ag/go/debian/dependency.
package debian
