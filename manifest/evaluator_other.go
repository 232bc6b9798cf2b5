//go:build !linux

package manifest

import (
	"os"
	"syscall"
)

// selfExecutable is the running program.
func selfExecutable() (string, error) { return os.Executable() }

func sysProcAttr() *syscall.SysProcAttr { return nil }

// limitAddressSpace does nothing here: the memory watch alone enforces the
// budget.
func limitAddressSpace(int64) {}

func peakRSS(*os.ProcessState) int64 { return 0 }
