package bundle

import (
	"fmt"
	"os"
	"path/filepath"
)

// replaceDirTwoSteps moves dst aside, renames tmp to dst and removes the
// old directory: for file systems without an atomic exchange. A crash
// between the renames leaves the old bundle beside dst, not lost.
func replaceDirTwoSteps(tmp, dst string) error {
	old, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".old-")
	if err != nil {
		return err
	}
	os.Remove(old)
	if err := os.Rename(dst, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		if rerr := os.Rename(old, dst); rerr != nil {
			return fmt.Errorf("%w (and the old bundle stays at %s: %v)", err, old, rerr)
		}
		return err
	}
	return os.RemoveAll(old)
}
