package durable

import "syscall"

// procSuperMagic is the file system type of /proc (linux/magic.h).
const procSuperMagic = 0x9fa0

// onProcFS reports whether dir lies on a proc file system, whose links
// (/proc/self/fd/N, /proc/PID/cwd, ...) name open files and processes'
// directories rather than paths.
func onProcFS(dir string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	return int64(st.Type) == procSuperMagic
}
