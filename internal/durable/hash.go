package durable

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// Hash returns the hex SHA-256 of what r yields and its length, for a
// file the caller has open and reads further (a .deb that is hashed and
// then parsed). Errors are r's, unwrapped.
func Hash(r io.Reader) (sum string, size int64, err error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// HashFile returns the hex SHA-256 and the size of the regular file at
// path, opened with OpenRegular (so a FIFO or a device is refused, not
// waited on). It takes no context: a regular file's read does not wait,
// and callers that hash many files check theirs between files.
func HashFile(path string) (sum string, size int64, err error) {
	f, _, err := OpenRegular(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	sum, size, err = Hash(f)
	if err != nil {
		return "", size, fmt.Errorf("read %s: %w", path, err)
	}
	return sum, size, nil
}

// HashIn is HashFile for the file rel inside root, read through root so
// that no symbolic link leads it outside. A final symbolic link is not
// followed: rel must itself be a regular file, or a *NotRegularError
// (naming root's name joined with rel) says what it is.
func HashIn(root *os.Root, rel string) (sum string, size int64, err error) {
	name := filepath.Join(root.Name(), rel)
	fi, err := root.Lstat(rel)
	if err != nil {
		return "", 0, err
	}
	if !fi.Mode().IsRegular() {
		return "", 0, &NotRegularError{Path: name, Mode: fi.Mode().Type()}
	}
	// What was swapped in since the Lstat is looked at again once open:
	// O_NONBLOCK keeps a FIFO from blocking the open.
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return "", 0, err
	} else if !fi.Mode().IsRegular() {
		return "", 0, &NotRegularError{Path: name, Mode: fi.Mode().Type()}
	}
	sum, size, err = Hash(f)
	if err != nil {
		return "", size, fmt.Errorf("read %s: %w", name, err)
	}
	return sum, size, nil
}
