//go:build crashtest

package main

import (
	"os"

	"github.com/runtimekit/runtimekit/sdk/executor"
)

// envCrashAt is the executor's fault injection for the end-to-end crash
// tests, which build runtimectl with -tags crashtest (see
// executor.Options.CrashAt): "<step-id>[:<phase>]" makes runtimectl kill
// itself there.
const envCrashAt = "RUNTIMEKIT_CRASH_AT"

// setCrashAt passes RUNTIMEKIT_CRASH_AT on to the executor.
func setCrashAt(opts *executor.Options) { opts.CrashAt = os.Getenv(envCrashAt) }
