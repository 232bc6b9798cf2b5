// Package archive fetches Debian archive indexes from a mirror along the
// archive's trust chain: the InRelease file, its signature checked with
// gpgv against a keyring, and a Packages index checked against the
// digest and size the signed text lists, cached by digest.
//
// It is the network half of Debian support; the formats it fetches are
// read by package [github.com/runtimekit/runtimekit/sdk/debian], which has
// no network code and no process spawns, so that the in-VM executor can
// use it. The package is named after the Debian archive (dists/, pool/,
// by-hash/), the thing it is a client of.
package archive
