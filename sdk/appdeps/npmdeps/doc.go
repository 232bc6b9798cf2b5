// Package npmdeps builds a Node.js app's node_modules on the deploying host
// for the VM: linux/ia32, production only, from the app's package-lock.json,
// without running any package's install script.
//
// The VM has Node.js but no network and must not run npm, so the whole tree
// is made here by `npm ci` (which verifies every tarball against the
// integrity the lock records) and shipped as files. That only works for
// packages that are complete as published: a package whose install script
// would build or download something is refused by name before anything is
// fetched, unless the caller allows it explicitly; see [Check].
//
// # What the lockfile tells, and what it does not
//
// [Check] decides from package-lock.json alone (lockfileVersion 2 or 3; its
// "packages" map). What npm records there, and so what is relied on:
//
//   - hasInstallScript: the package has a preinstall, install or postinstall
//     script. npm also sets it for a package with a binding.gyp and no
//     install script of its own, since npm gives such a package an implicit
//     "node-gyp rebuild" install script; so it covers node-gyp addons.
//   - gypfile: npm does not write it to a lockfile, but another tool may;
//     when present it marks an addon compiled from binding.gyp.
//   - a dependency on a build or load helper for compiled addons
//     (node-gyp-build, prebuild-install, bindings, node-addon-api, nan,
//     node-gyp, node-pre-gyp, cmake-js): a strong hint that the package is a
//     native addon even without an install script, since it loads a compiled
//     file at run time that must exist for linux/ia32.
//   - os, cpu and libc: an optional package whose fields exclude linux/ia32
//     with glibc is not installed (the platform packages of esbuild, swc,
//     rollup ...), and neither is what only it depends on; a required one
//     that excludes it cannot be installed at all.
//
// A native addon that ships its compiled files inside its tarball and
// declares none of the above is invisible in the lock; [Install] finds it
// afterwards by reading every *.node file in the built tree (see below).
//
// The lock must give every installed package its integrity. Its resolved
// URL may be absent: npm omits it when omit-lockfile-registry-resolved is
// set, and then fetches name@version from the registry it is configured
// with, still verifying the integrity. A resolved source that is not a
// registry tarball (git, a local file or directory, a workspace link) is
// refused: it cannot be fetched and verified from the lock alone.
//
// # The built tree
//
// [Install] runs npm ci in a scratch directory holding only package.json,
// package-lock.json and the app's .npmrc (for its registry and settings such
// as legacy-peer-deps), with --cpu=ia32 --os=linux --libc=glibc. npm
// honours those when it picks optional platform packages (--cpu and --os
// came with npm 10, --libc a little later; without --libc npm takes the
// host's, glibc on Debian). Checked with npm 11.19: esbuild's lock
// installs @esbuild/linux-ia32, an i386 executable, and not
// @esbuild/linux-x64. npm_config_arch is only read by node-gyp, which does
// not run here. Because an older npm would ignore them silently, Install
// checks the result instead of trusting the flags: no package the lock
// marks for another platform may be present, every *.node file must be an
// ELF for i386 (a file under prebuilds/<platform>-<arch>/ for another
// platform is skipped: node-gyp-build never loads it on linux/ia32), and
// every symbolic link (the bin links in .bin) must be relative and stay
// inside node_modules, so the tree can be moved into the VM as it is.
//
// Not checked: a package's engines field. npm compares it with the host's
// Node.js, not with the VM's, so a package needing a newer Node.js than
// the VM has is found only when the app runs there.
//
// A tree taken from the cache (Options.CacheDir) is checked again as
// above, but its files are not verified against the lock a second time:
// the cache is trusted as npm's own cache is.
package npmdeps
