package service

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// rootDir returns Root, "/" when empty.
func (r *Runit) rootDir() string {
	if r.Root == "" {
		return "/"
	}
	return r.Root
}

// absRoot returns Root as an absolute path: the chroot system call takes
// a relative one relative to the working directory at the time of the
// fork, which is not what Root means.
func (r *Runit) absRoot() (string, error) {
	return filepath.Abs(r.rootDir())
}

// supervisorRoot returns the root directory, as /proc/PID/root shows it
// to this process, that the runsvdir of r runs in: Root when chrooted
// (with its symbolic links resolved, as the kernel shows it), else this
// process's own root. It returns "" when this system does not show
// process roots, so that a runsvdir is then recognised by its arguments
// alone, as before roots could be told apart.
func (r *Runit) supervisorRoot() string {
	self, err := os.Readlink("/proc/self/root")
	if err != nil {
		return ""
	}
	if !r.Chroot {
		return self
	}
	root, err := r.absRoot()
	if err != nil {
		// No root can match: a runsvdir that cannot be told apart is not
		// taken for this one.
		return "\x00"
	}
	if ev, err := filepath.EvalSymlinks(root); err == nil {
		root = ev
	}
	return root
}

// maxLinks bounds the symbolic links resolveIn follows, as the kernel's
// limit does.
const maxLinks = 40

// resolveIn returns the path on this machine of p, an absolute path as a
// process chrooted into root sees it, resolving symbolic links as the
// kernel does for that process: an absolute target starts again at root,
// and ".." stops at root. The last element is resolved too. It fails when
// p does not exist. The result may be used to look at the file; what runs
// in the root is given p itself, which the kernel resolves after the
// chroot.
func resolveIn(root, p string) (string, error) {
	todo := strings.Split(p, "/")
	var cur []string // resolved elements below root
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) > 0 {
				cur = cur[:len(cur)-1]
			}
			continue
		}
		next := filepath.Join(root, filepath.Join(cur...), c)
		fi, err := os.Lstat(next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = append(cur, c)
			continue
		}
		if links++; links > maxLinks {
			return "", &fs.PathError{Op: "resolve", Path: p, Err: syscall.ELOOP}
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			cur = nil
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return filepath.Join(root, filepath.Join(cur...)), nil
}

// lookIn finds program name as a process chrooted into root with PATH
// DefaultPath would, and returns its path inside root. A name with a slash
// is taken as it is (relative to "/", the working directory there).
func lookIn(root, name string) (string, error) {
	if strings.Contains(name, "/") {
		p := filepath.Join("/", name)
		if err := executable(root, p); err != nil {
			return "", fmt.Errorf("%s in %s: %w", name, root, err)
		}
		return p, nil
	}
	for _, dir := range filepath.SplitList(DefaultPath) {
		p := filepath.Join(dir, name)
		if executable(root, p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in %s (PATH %s)", name, root, DefaultPath)
}

// executable checks that p inside root is an executable regular file.
func executable(root, p string) error {
	host, err := resolveIn(root, p)
	if err != nil {
		return err
	}
	fi, err := os.Stat(host)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// account is a user's entry in a root's /etc/passwd.
type account struct {
	name     string
	uid, gid uint32
	home     string
}

// lookupUser returns user name's entry in root's /etc/passwd: the
// accounts of the machine the process runs on are the root's, not this
// machine's (nor the C library's NSS sources).
func lookupUser(root, name string) (account, error) {
	p, err := resolveIn(root, "/etc/passwd")
	if err != nil {
		return account{}, fmt.Errorf("look up user %q: %w", name, err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return account{}, fmt.Errorf("look up user %q: %w", name, err)
	}
	return parsePasswd(b, name, filepath.Join(root, "etc", "passwd"))
}

// parsePasswd finds user name in the passwd(5) data b, read from file.
func parsePasswd(b []byte, name, file string) (account, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 7 || f[0] != name {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			return account{}, fmt.Errorf("%s: user %q has a bad uid or gid (%q, %q)", file, name, f[2], f[3])
		}
		return account{name: name, uid: uint32(uid), gid: uint32(gid), home: f[5]}, nil
	}
	if err := sc.Err(); err != nil {
		return account{}, fmt.Errorf("read %s: %w", file, err)
	}
	return account{}, fmt.Errorf("no user %q in %s", name, file)
}
