//go:build !crashtest

package main

import "github.com/runtimekit/runtimekit/sdk/executor"

// setCrashAt does nothing: only a runtimectl built with -tags crashtest,
// for the end-to-end crash tests, reads RUNTIMEKIT_CRASH_AT
// (crashat_crashtest.go). The builds that ship, `make build-vm` among
// them, ignore it.
func setCrashAt(*executor.Options) {}
