// Package host finds, verifies and runs runtimectl plugins, and caches what
// they declare.
//
// A plugin is an executable named runtimectl-plugin-NAME (see [BinaryPrefix])
// in one of the search directories ([Options.Dirs], by default
// [DefaultDirs]: runtimectl's own directory, then $RUNTIMECTL_PLUGIN_PATH).
// The first one found for a name wins; later ones are reported as shadowed.
//
// # Trust
//
// [Host.Lock] pins every plugin's SHA-256 in a JSON lock file, written
// atomically and deterministically. From then on a plugin whose binary
// differs from the lock is refused by every method that would use it, with a
// [*DigestMismatchError] naming the file and both digests; [Host.Verify]
// re-hashes and reports each plugin's [Status]. Launching always hashes the
// real file (go-plugin's SecureConfig) right before exec.
//
// # Processes
//
// Plugins are started on demand with a start timeout, speak gRPC only, and
// are stopped by [Host.Close] or when the context of the call that started
// them is done. On Linux the kernel also kills them if runtimectl dies
// (PR_SET_PDEATHSIG), so no plugin outlives runtimectl. Start failures
// (crash, hang, another protocol version) come back as errors naming the
// plugin, with the tail of its stderr.
//
// # Caching
//
// Describe responses and evaluated manifests are cached under
// [Options.CacheDir], keyed by the plugin binary's SHA-256, and digests are
// cached by file identity, so a warm [Host.Manifest] reads a few small files
// and starts no process.
//
// # For the planner and for apps
//
// [Catalog] gives the planner (package planner) the plugins' manifests,
// evaluated with the user's parameters, and manifests given as files.
// [Host.Detect] asks every plugin at once whether an app directory is
// theirs and ranks the answers; a plugin that fails is reported by name
// beside the others' matches.
package host
