//go:build !linux

package bundle

import "os"

func replaceDir(tmp, dst string) error {
	if err := os.Rename(tmp, dst); err == nil {
		return nil
	}
	return replaceDirTwoSteps(tmp, dst)
}
