package executor

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// lookupID returns the numeric id of a user (file "etc/passwd") or group
// ("etc/group") as the root's own databases list it. The host's (and the
// C library's NSS) do not matter: the machine being changed is the root.
func (f *fsroot) lookupID(file, name string) (int, error) {
	b, err := f.r.ReadFile(file)
	if err != nil {
		return -1, fmt.Errorf("look up %q: %w", name, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 || fields[0] != name {
			continue
		}
		id, err := strconv.Atoi(fields[2])
		if err != nil {
			return -1, fmt.Errorf("%s: %q has a bad id %q", abs(file), name, fields[2])
		}
		return id, nil
	}
	if err := sc.Err(); err != nil {
		return -1, fmt.Errorf("read %s: %w", abs(file), err)
	}
	return -1, fmt.Errorf("no %s %q in %s", map[string]string{"etc/passwd": "user", "etc/group": "group"}[file], name, abs(file))
}

// owner returns the uid and gid of user and group inside the root.
func (f *fsroot) owner(user, group string) (uid, gid int, err error) {
	if uid, err = f.lookupID("etc/passwd", user); err != nil {
		return -1, -1, err
	}
	if gid, err = f.lookupID("etc/group", group); err != nil {
		return -1, -1, err
	}
	return uid, gid, nil
}
