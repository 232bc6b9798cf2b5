package executor

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The tests must leave the host as they found it: they run dpkg, runit
// and services in roots of their own, as root, and a mistake there (an
// atomic write renamed over /dev/null, a runsvdir that outlives its root)
// damages the machine the tests run on. hostProblems is checked after
// every run of this package's tests (TestMain).

// hostProblems lists what is wrong with the host after the tests: a
// device node of /dev that is no longer one, and processes still running
// in a root below tmp, the directory all of this test binary's temporary
// directories are made in (TestMain points TMPDIR at it), such as a
// runsvdir that outlived its root.
func hostProblems(tmp string) []string {
	var out []string
	for _, dev := range []string{"/dev/null", "/dev/zero", "/dev/urandom"} {
		fi, err := os.Lstat(dev)
		if err != nil || fi.Mode().Type() != fs.ModeDevice|fs.ModeCharDevice {
			out = append(out, fmt.Sprintf("%s is no longer a character device (%v, %v)", dev, fi.Mode(), err))
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		root, err := os.Readlink(filepath.Join("/proc", e.Name(), "root"))
		if err != nil || !strings.HasPrefix(root, tmp+"/") {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		out = append(out, fmt.Sprintf("process %s (%s) still runs in %s", e.Name(), strings.TrimSpace(string(comm)), root))
	}
	return out
}
