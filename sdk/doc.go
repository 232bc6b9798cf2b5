// Package sdk is the API a runtime plugin is written against.
//
// A runtime plugin is a small program that declares one server runtime (nginx,
// Node.js, ...) to runtimectl. It implements [Runtime] and hands it to [Serve]
// from its main function:
//
//	func main() { sdk.Serve(myRuntime{}) }
//
// The declaration itself is a CUE manifest (see the schema package) that the
// plugin returns from [Runtime.Describe]; runtimectl evaluates and caches it, so
// the plugin process is only started when its manifest may have changed or when
// its logic ([Runtime.Detect]) is needed. The manifest's file templates are
// rendered by runtimectl's planner, not by the plugin.
//
// The wire protocol (go-plugin over gRPC, with a versioned handshake) is an
// implementation detail kept in sdk/internal; nothing in this package's API
// mentions it, so plugins keep compiling when the transport changes.
package sdk
