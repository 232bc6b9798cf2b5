package npmdeps

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runtimekit/runtimekit/internal/durable"
)

// cacheFormat changes when what is built from the same inputs changes.
const cacheFormat = "npmdeps-cache-1"

// cacheKey names the tree built from a lock by an npm version for the VM's
// platform with an allow list; npm's arguments are part of it too.
func cacheKey(lockJSON []byte, npmVersion string, allow []string) string {
	allow = slices.Clone(allow)
	slices.Sort(allow)
	allow = slices.Compact(allow)
	h := sha256.New()
	for _, part := range [][]byte{
		[]byte(cacheFormat), lockJSON, []byte(npmVersion), []byte(Platform),
		[]byte(strings.Join(allow, "\n")), []byte(strings.Join(npmArgs, " ")),
	} {
		fmt.Fprintf(h, "%d\n", len(part)) // length-prefixed: no two inputs hash alike
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cacheLoad copies the cached tree for key to dst, if there is one. A
// cache entry is a directory <key>/node_modules, complete once it exists
// under that name (see cacheStore).
func cacheLoad(cacheDir, key, dst string) (bool, error) {
	src := filepath.Join(cacheDir, key, "node_modules")
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := copyTree(src, dst); err != nil {
		return false, fmt.Errorf("copying the cached node_modules %s: %w", src, err)
	}
	return true, nil
}

// cacheStore copies the tree at src into the cache under key: into a
// temporary directory first, renamed to its name once complete and on
// disk, so a reader never sees part of one. If another build stored the same key
// meanwhile, its copy is kept.
func cacheStore(cacheDir, key, src string) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(cacheDir, ".tmp-"+key[:12]+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone after the rename; cleans up after a failure
	if err := copyTree(src, filepath.Join(tmp, "node_modules")); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	// The copy must be on disk before its name is: after a crash a
	// complete-looking entry with empty files would be shipped as it is.
	if err := flushFS(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(cacheDir, key)); err != nil {
		if _, statErr := os.Stat(filepath.Join(cacheDir, key, "node_modules")); statErr == nil {
			return nil
		}
		return err
	}
	return durable.SyncDir(cacheDir)
}

// copyTree copies the directory src to dst, which must not exist, keeping
// symbolic links as links and the permission bits of files and
// directories exactly. (os.CopyFS passes modes through the umask and
// makes every directory 0777 before it.)
func copyTree(src, dst string) error {
	type dirMode struct {
		path string
		perm fs.FileMode
	}
	var dirs []dirMode // given their modes last: a read-only one would refuse its entries
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			dirs = append(dirs, dirMode{target, mode.Perm()})
			return os.Mkdir(target, 0o700)
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case mode.IsRegular():
			return copyFile(path, target, mode.Perm())
		default:
			return fmt.Errorf("%s: %v is neither a file, a directory nor a symbolic link", path, mode.Type())
		}
	})
	if err != nil {
		return err
	}
	for _, d := range slices.Backward(dirs) {
		if err := os.Chmod(d.path, d.perm); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, perm) // exactly, whatever the umask
}
