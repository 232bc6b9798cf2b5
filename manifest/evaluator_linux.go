package manifest

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// selfExecutable is the running program. /proc/self/exe names the file the
// process was started from even if it has since been replaced or removed
// (a rebuild while runtimectl runs), so the child runs the parent's code.
func selfExecutable() (string, error) { return "/proc/self/exe", nil }

// sysProcAttr kills the evaluating process if its parent dies first, so no
// evaluation outlives the program that asked for it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// addressSpaceHeadroom is address space granted beyond the memory budget:
// the Go runtime reserves its heap in 64 MiB arenas and maps metadata
// beside it, so mapped address space runs ahead of memory in use.
const addressSpaceHeadroom = 256 << 20

// limitAddressSpace caps the process's address space (RLIMIT_AS) at what it
// has mapped now plus budget and headroom. The memory watch stops the
// process cleanly; this limit stops it when one allocation is too large
// for the watch to see in time: the Go runtime then dies "out of memory".
func limitAddressSpace(budget int64) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return
	}
	pages, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return
	}
	limit := pages*uint64(os.Getpagesize()) + uint64(budget) + addressSpaceHeadroom
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &rl); err != nil {
		return
	}
	if limit >= rl.Cur {
		return // already as strict
	}
	rl.Cur = limit
	_ = syscall.Setrlimit(syscall.RLIMIT_AS, &rl)
}

// peakRSS is the finished process's peak resident set size in bytes.
func peakRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss) * 1024
	}
	return 0
}
