// Package plugintest is the conformance kit for runtimectl plugins. A plugin
// author calls it from the plugin's own tests:
//
//	func TestConformance(t *testing.T) {
//		plugintest.Run(t, myRuntime{})                          // in-process
//		plugintest.RunBinary(t, plugintest.Build(t, "myrt", ".")) // as runtimectl runs it
//	}
//
// Both run the same subtests:
//
//   - Describe: the name matches ^[a-z][a-z0-9-]*$, the version is semver
//     (1.2.3), there is at least one .cue or .json manifest file, and two
//     calls give the same answer (runtimectl caches it).
//   - Manifest: the files load through manifest.LoadFiles with no error
//     diagnostics, and the manifest's name and version equal Describe's.
//   - Detect: an empty directory is not an error and is not claimed with
//     framework-level confidence.
//
// RunBinary additionally checks that the binary's name,
// runtimectl-plugin-NAME, matches the runtime's name, and exercises the
// real handshake and gRPC transport.
package plugintest
