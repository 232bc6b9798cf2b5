//go:build !crashtest

package executor

import "os"

// crashOptions is empty outside crashtest builds: Options has no CrashAt,
// and nothing, neither an option nor the environment, can make the
// process kill itself. See fault_crashtest.go.
type crashOptions struct{}

// crashPoint does nothing outside crashtest builds.
func (r *run) crashPoint(step, phase string) {}

// dpkgCrash leaves dpkg alone outside crashtest builds.
func (r *run) dpkgCrash(step, phase string) func(*os.Process) { return nil }
