package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// LockedError is returned when another process holds the executor's lock.
type LockedError struct {
	Path      string    `json:"path"`
	PID       int       `json:"pid"`       // the holder's pid, 0 when unknown
	Operation string    `json:"operation"` // what it is doing, e.g. "apply plan 1f2e3d4c5b6a"
	Since     time.Time `json:"since"`     // when it took the lock
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("process %d", e.PID)
	}
	msg := fmt.Sprintf("%s is locked by %s", e.Path, who)
	if e.Operation != "" {
		msg += " (" + e.Operation
		if !e.Since.IsZero() {
			msg += ", since " + e.Since.UTC().Format(time.RFC3339)
		}
		msg += ")"
	}
	return msg + "; wait for it to finish (or pass --wait)"
}

// lockInfo is written beside the lock by its holder.
type lockInfo struct {
	PID       int       `json:"pid"`
	Operation string    `json:"operation"`
	Since     time.Time `json:"since"`
}

// lock takes the executor's lock: one apply, recover or remove at a time
// on a machine. It is an flock on the root directory itself, so that
// taking it creates nothing (a refused plan leaves a machine exactly as it
// was) and no symbolic link can lead it elsewhere. The holder's pid and
// operation go into lock.info once the holder has a data directory to
// write it in (an apply writes it when it begins); before that a second
// process finds the holder's pid in /proc/locks. The lock is released by
// the returned function, or by the kernel when the process dies.
func (e *Executor) lock(ctx context.Context, f *fsroot, operation string) (func(), error) {
	d, err := f.r.Open(".")
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", f.dir, err)
	}
	for {
		err = unix.Flock(int(d.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			d.Close()
			return nil, fmt.Errorf("lock %s: %w", f.dir, err)
		}
		if !e.opts.Wait {
			le := &LockedError{Path: f.dir}
			if b, err := f.r.ReadFile(lockInfoPath); err == nil {
				var li lockInfo
				if json.Unmarshal(b, &li) == nil {
					le.PID, le.Operation, le.Since = li.PID, li.Operation, li.Since
				}
			}
			if le.PID == 0 {
				le.PID = flockHolder(d)
			}
			d.Close()
			return nil, le
		}
		select {
		case <-ctx.Done():
			d.Close()
			return nil, fmt.Errorf("wait for the lock on %s: %w", f.dir, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	info := lockInfo{PID: os.Getpid(), Operation: operation, Since: time.Now().UTC().Truncate(time.Second)}
	f.lockInfo = &info
	if ok, _ := f.exists(dataDir); ok {
		if err := f.writeLockInfo(); err != nil {
			d.Close()
			return nil, err
		}
	}
	return func() {
		if f.lockInfoWritten {
			_ = f.r.Remove(lockInfoPath)
		}
		d.Close() // closing the last descriptor drops the flock
	}, nil
}

// writeLockInfo writes lock.info for the lock this process holds.
func (f *fsroot) writeLockInfo() error {
	if f.lockInfo == nil || f.lockInfoWritten {
		return nil
	}
	b, _ := json.Marshal(f.lockInfo)
	if err := f.writeAtomic(lockInfoPath, append(b, '\n'), 0o644, -1, -1); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	f.lockInfoWritten = true
	return nil
}

// flockHolder returns the pid that holds an flock on d's file, from
// /proc/locks ("1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF"), or 0.
func flockHolder(d *os.File) int {
	fi, err := d.Stat()
	if err != nil {
		return 0
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0
	}
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	for _, line := range strings.Split(string(b), "\n") {
		w := strings.Fields(line)
		if len(w) >= 6 && w[1] == "FLOCK" && w[5] == want {
			pid, _ := strconv.Atoi(w[4])
			return pid
		}
	}
	return 0
}
