package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/gofrs/flock"
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

// lock takes the executor's lock (flock on /var/lib/runtimekit/lock):
// one apply, recover or remove at a time on a machine. The holder's pid
// and operation go into lock.info beside it, for the error a second
// process gets. The lock is released by the returned function, or by the
// kernel when the process dies.
func (e *Executor) lock(ctx context.Context, f *fsroot, operation string) (func(), error) {
	if _, err := f.mkdirs(dataDir); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	path := f.host(lockPath)
	l := flock.New(path, flock.SetPermissions(0o600))
	var ok bool
	var err error
	if e.opts.Wait {
		ok, err = l.TryLockContext(ctx, 200*time.Millisecond)
	} else {
		ok, err = l.TryLock()
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		le := &LockedError{Path: path}
		if b, err := f.r.ReadFile(lockInfoPath); err == nil {
			var li lockInfo
			if json.Unmarshal(b, &li) == nil {
				le.PID, le.Operation, le.Since = li.PID, li.Operation, li.Since
			}
		}
		return nil, le
	}
	b, _ := json.Marshal(lockInfo{PID: os.Getpid(), Operation: operation, Since: time.Now().UTC().Truncate(time.Second)})
	if err := f.writeAtomic(lockInfoPath, append(b, '\n'), 0o644, -1, -1); err != nil {
		l.Unlock()
		return nil, fmt.Errorf("lock: %w", err)
	}
	return func() {
		_ = f.r.Remove(lockInfoPath)
		_ = l.Unlock()
	}, nil
}
