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

	"github.com/runtimekit/runtimekit/sdk/state"
)

// Files of the executor, inside the root.
const (
	dataDir      = "var/lib/runtimekit"
	journalPath  = dataDir + "/journal.json"
	lockInfoPath = dataDir + "/lock.info"
	backupRoot   = dataDir + "/backup"
)

const journalFormat = 2

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

// stepRecord is one step in the journal, with what its undo needs.
type stepRecord struct {
	ID    string    `json:"id"`
	Kind  string    `json:"kind"`
	Phase string    `json:"phase"`
	Undo  *undoData `json:"undo,omitempty"`
}

// undoData is what a step recorded before it changed anything.
type undoData struct {
	// install-packages: packages not on disk before (purged on undo) and
	// packages replaced by another version (reinstalled on undo).
	New      []pkgState `json:"new,omitempty"`
	Replaced []pkgState `json:"replaced,omitempty"`
	// remove-packages: the packages as they were.
	Removed []pkgState `json:"removed,omitempty"`
	// install-packages: the account databases, to which maintainer
	// scripts add system users.
	Accounts []accountFile `json:"accounts,omitempty"`
	// install-packages: the listing of the directories maintainer
	// scripts write to, taken before (see leftovers.go).
	Tree string `json:"tree,omitempty"`

	// write-file, remove-file: the resolved path, what was there, the
	// directories the step created (parents first; also for archives,
	// services and the state), and whether the existing file was kept.
	Path    string     `json:"path,omitempty"`
	Saved   *savedFile `json:"saved,omitempty"`
	Created []string   `json:"created,omitempty"`
	Kept    string     `json:"kept,omitempty"`

	// extract-archive, remove-archive: the resolved destination, the
	// directory the archive is unpacked in first, and where a previous
	// destination was moved aside.
	Dest    string `json:"dest,omitempty"`
	Staging string `json:"staging,omitempty"`
	Aside   string `json:"aside,omitempty"`
	HadDest bool   `json:"hadDest,omitempty"`

	// services: the definition installed before, and whether the service
	// was enabled and up.
	Service    *state.Service `json:"service,omitempty"`
	WasEnabled bool           `json:"wasEnabled,omitempty"`
	WasUp      bool           `json:"wasUp,omitempty"`
	// start-service, remove-service: no runsvdir ran before the step.
	SupervisorDown bool `json:"supervisorDown,omitempty"`

	// record-state: the state file and its .prev as they were, and the
	// lineage chosen for a first state.
	State     *savedFile `json:"state,omitempty"`
	StatePrev *savedFile `json:"statePrev,omitempty"`
	Lineage   string     `json:"lineage,omitempty"`
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
//
// Format 1 (one indented JSON object, rewritten whole) is still read:
// it is exactly a format 2 journal's first line.

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
}

func (e *DamagedJournalError) Error() string {
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
	var j journal
	if len(b) > 0 && b[0] == '{' && len(first) == 1 {
		// Format 1: one indented object.
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, damaged("%v", err)
		}
		if j.FormatVersion != 1 {
			return nil, damaged("format %d, this runtimectl reads 1 and %d", j.FormatVersion, journalFormat)
		}
		j.FormatVersion = journalFormat
		return &j, nil
	}
	if err := json.Unmarshal(first, &j); err != nil {
		return nil, damaged("its first line: %v", err)
	}
	if j.FormatVersion != journalFormat {
		return nil, damaged("format %d, this runtimectl reads 1 and %d", j.FormatVersion, journalFormat)
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
