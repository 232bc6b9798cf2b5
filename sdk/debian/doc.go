// Package debian reads Debian package metadata: archive indexes, dpkg's
// database, .deb files, versions and relations.
//
// It covers what runtimekit needs to carry Debian packages into an offline
// VM:
//
//   - [ReadPackages] and [OpenPackages] read an archive "Packages" index
//     (plain, gzip, xz, bzip2 or zstd, told apart by magic bytes) into an
//     [Index];
//   - [ReadStatus] and [OpenStatus] read dpkg's status file into a
//     [Status]; [ReadDpkgDatabase] reads dpkg's database as dpkg itself
//     sees it, the records of its updates journal merged in;
//   - [InspectDeb] reads a .deb's control fields and the file list of its
//     data archive; a [DebReader] reads the control file or streams the
//     data of one .deb after another, in bounded memory;
//   - [ParseRelations] and [Alternative.Satisfies] read relation fields
//     (Depends, ...) and check versions against them;
//   - [ReadAptSources] finds the archive mirrors a machine's apt is set up
//     with (one-line and deb822 formats).
//
// It holds formats only: no network code and no process spawns, so that
// the in-VM executor and the planner can use it. Resolving requests into
// an installable closure is package
// [github.com/runtimekit/runtimekit/sdk/debian/resolve]; fetching signed
// indexes from a mirror is package
// [github.com/runtimekit/runtimekit/sdk/debian/archive].
//
// Versions are compared with pault.ag/go/debian/version, a port of dpkg's
// algorithm, and relations are parsed with pault.ag/go/debian/dependency.
package debian
