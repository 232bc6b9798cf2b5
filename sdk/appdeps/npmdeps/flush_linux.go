package npmdeps

import (
	"os"

	"golang.org/x/sys/unix"
)

// flushFS makes what was written on dir's file system durable: one
// syncfs instead of an fsync for each of the many files and directories
// a node_modules holds.
func flushFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
