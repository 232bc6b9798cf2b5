package bundle

import (
	"os"

	"golang.org/x/sys/unix"
)

// replaceDir puts the directory tmp at dst. An existing dst is swapped
// with tmp in one atomic step (renameat2 RENAME_EXCHANGE), so that dst
// always names a complete bundle, and the old one is then removed.
func replaceDir(tmp, dst string) error {
	if err := os.Rename(tmp, dst); err == nil {
		return nil // dst was absent or an empty directory
	}
	if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE); err != nil {
		return replaceDirTwoSteps(tmp, dst)
	}
	return os.RemoveAll(tmp)
}
