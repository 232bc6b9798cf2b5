package executor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Files of the executor, inside the root.
const (
	dataDir      = "var/lib/runtimekit"
	journalPath  = dataDir + "/journal.json"
	lockInfoPath = dataDir + "/lock.info"
	backupRoot   = dataDir + "/backup"
)

// journalFormat 3 has one undo record type per step kind; 2 (one record
// type for every kind) and 1 are refused: the apply they record must be
// recovered by the runtimectl that started it, or set aside.
const journalFormat = 3

// Journal modes.
const (
	modeApply    = "apply"    // steps run forward
	modeRollback = "rollback" // completed steps are being undone
)

// Step phases, as the journal records them.
const (
	phasePending = "pending"
	phaseDoing   = "doing"
	phaseDone    = "done"
	phaseUndoing = "undoing"
	phaseUndone  = "undone"
)

// journal is the record of one apply, written before and after every
// step (temporary file, fsync, rename, fsync of the directory), from
// which an interrupted apply is rolled back or finished.
type journal struct {
	FormatVersion int       `json:"formatVersion"`
	Operation     string    `json:"operation"`
	PlanDigest    string    `json:"planDigest"`
	BundleDir     string    `json:"bundleDir,omitempty"`
	PID           int       `json:"pid"`
	Started       time.Time `json:"started"`
	Mode          string    `json:"mode"`
	// Packages is the package set before the apply ("name:arch=version"),
	// when the plan changes packages: a rollback must end with it.
	Packages []string `json:"packages,omitempty"`
	// PolicyRC is set while runtimekit's policy-rc.d is in place.
	PolicyRC *savedFile `json:"policyRC,omitempty"`
	// Error is the failure that started the rollback.
	Error string       `json:"error,omitempty"`
	Steps []stepRecord `json:"steps"`
}

// savedFile is what stood at a path before the executor replaced it.
type savedFile struct {
	Existed bool   `json:"existed"`
	Backup  string `json:"backup,omitempty"`  // kept copy (hard link) of a file
	Symlink string `json:"symlink,omitempty"` // target, when it was a symbolic link
}

// stepRecord is one step in the journal, with what its undo needs: the
// undo record of the step's kind (see handler.go), set once the step is
// prepared.
type stepRecord struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Phase string `json:"phase"`
	Undo  any    `json:"undo,omitempty"`
}

// The journal is a JSON Lines file: its first line is the whole journal
// as the apply began (every step pending), and every later line is one
// change: a step's new record, or the journal's header fields (mode,
// policy-rc.d, error). A change is appended and fdatasynced, so the cost
// of journaling a plan is linear in its steps (a rewrite of the whole
// journal at every step made a 3,000-step plan take minutes). A crash
// can cut only the last line short: that line is ignored, which is the
// same as a crash just before it was written (the executor acts on a
// change only after its record is on disk). A damaged line before the
// last is a damaged journal.

// journalHead is the part of a journal that changes besides its steps.
type journalHead struct {
	Mode     string     `json:"mode"`
	PolicyRC *savedFile `json:"policyRC,omitempty"`
	Error    string     `json:"error,omitempty"`
}

// journalChange is one appended line.
type journalChange struct {
	// Step is the 1-based index of the step whose record follows.
	Step int          `json:"step,omitempty"`
	Rec  *stepRecord  `json:"rec,omitempty"`
	Head *journalHead `json:"head,omitempty"`
}

// DamagedJournalError is a journal that cannot be read: written by a
// runtimectl of another format, or corrupted (a disk error, an edit).
// Nothing is known about the apply it recorded; `runtimectl recover
// --discard-journal` sets it aside and reports how the machine differs
// from its state.
type DamagedJournalError struct {
	Path   string
	Reason string
	// Older is the format of a journal an older runtimectl wrote; 0 for
	// a journal that is damaged.
	Older int
}

func (e *DamagedJournalError) Error() string {
	if e.Older > 0 {
		return fmt.Sprintf("journal %s was written by an older runtimectl (journal format %d; this one reads %d): "+
			"recover the interrupted apply with the runtimectl that started it (`runtimectl recover`), "+
			"or run `runtimectl recover --discard-journal` to set the journal aside, repair dpkg and see how the machine differs from its state",
			e.Path, e.Older, journalFormat)
	}
	return fmt.Sprintf("journal %s is damaged (%s): the interrupted apply it recorded cannot be rolled back automatically; "+
		"run `runtimectl recover --discard-journal` to set it aside, repair dpkg and see how the machine differs from its state", e.Path, e.Reason)
}

// maxJournalSize bounds the journal read back: a journal is a few hundred
// bytes per step.
const maxJournalSize = 64 << 20

func (f *fsroot) loadJournal() (*journal, error) {
	return f.readJournal(journalPath)
}

// readJournal reads a journal (open or closed) at rel; nil when absent.
func (f *fsroot) readJournal(rel string) (*journal, error) {
	fh, err := f.r.Open(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxJournalSize+1))
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	damaged := func(format string, args ...any) error {
		return &DamagedJournalError{Path: f.host(rel), Reason: fmt.Sprintf(format, args...)}
	}
	if len(b) > maxJournalSize {
		return nil, damaged("larger than %d MiB", maxJournalSize>>20)
	}
	first, rest, _ := bytes.Cut(b, []byte("\n"))
	var version struct {
		FormatVersion int `json:"formatVersion"`
	}
	if len(b) > 0 && b[0] == '{' && len(first) == 1 {
		// Format 1: one indented object.
		first = b
	}
	if err := json.Unmarshal(first, &version); err == nil && version.FormatVersion > 0 && version.FormatVersion < journalFormat {
		return nil, &DamagedJournalError{Path: f.host(rel), Reason: fmt.Sprintf("format %d", version.FormatVersion), Older: version.FormatVersion}
	}
	var j journal
	if err := json.Unmarshal(first, &j); err != nil {
		return nil, damaged("its first line: %v", err)
	}
	if j.FormatVersion != journalFormat {
		return nil, damaged("format %d, this runtimectl reads %d", j.FormatVersion, journalFormat)
	}
	for n := 2; len(rest) > 0; n++ {
		var line []byte
		var complete bool
		line, rest, complete = bytes.Cut(rest, []byte("\n"))
		var c journalChange
		if err := json.Unmarshal(line, &c); err != nil || (c.Head == nil && c.Rec == nil) {
			if !complete {
				break // cut short by a crash: never acted upon
			}
			if err == nil {
				err = errors.New("neither a step nor a header")
			}
			return nil, damaged("line %d: %v", n, err)
		}
		if c.Head != nil {
			j.Mode, j.PolicyRC, j.Error = c.Head.Mode, c.Head.PolicyRC, c.Head.Error
		}
		if c.Rec != nil {
			if c.Step < 1 || c.Step > len(j.Steps) || j.Steps[c.Step-1].ID != c.Rec.ID {
				return nil, damaged("line %d: step %d (%s) is not a step of the journal", n, c.Step, c.Rec.ID)
			}
			j.Steps[c.Step-1] = *c.Rec
		}
	}
	return &j, nil
}

// journalWriter appends changes to the open journal.
type journalWriter struct {
	fs *fsroot
	fh *os.File
}

// createJournal writes the journal's first line (temporary file, fsync,
// rename, fsync of the directory) and opens it for appending.
func (f *fsroot) createJournal(j *journal) (*journalWriter, error) {
	b, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	if err := f.writeAtomic(journalPath, append(b, '\n'), 0o600, -1, -1); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return f.appendJournal()
}

// appendJournal opens the existing journal for appending (a recovery
// goes on writing the journal it found).
func (f *fsroot) appendJournal() (*journalWriter, error) {
	fh, err := f.r.OpenFile(journalPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &journalWriter{fs: f, fh: fh}, nil
}

// add appends one change and makes it durable before returning.
func (w *journalWriter) add(c journalChange) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if _, err := w.fh.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("journal %s: %w", w.fs.host(journalPath), err)
	}
	if err := unix.Fdatasync(int(w.fh.Fd())); err != nil {
		return fmt.Errorf("journal %s: %w", w.fs.host(journalPath), err)
	}
	return nil
}

func (w *journalWriter) close() {
	if w != nil && w.fh != nil {
		w.fh.Close()
		w.fh = nil
	}
}

// backupDir is where one plan's backups live.
func backupDir(digest string) string { return backupRoot + "/" + digest }
