package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/runtimekit/runtimekit/sdk/state"
)

// Files of the executor, inside the root.
const (
	dataDir      = "var/lib/runtimekit"
	journalPath  = dataDir + "/journal.json"
	lockPath     = dataDir + "/lock"
	lockInfoPath = dataDir + "/lock.info"
	backupRoot   = dataDir + "/backup"
)

const journalFormat = 1

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

func (f *fsroot) loadJournal() (*journal, error) {
	b, err := f.r.ReadFile(journalPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("journal %s is damaged: %w", f.host(journalPath), err)
	}
	if j.FormatVersion != journalFormat {
		return nil, fmt.Errorf("journal %s has format %d, this runtimectl reads %d", f.host(journalPath), j.FormatVersion, journalFormat)
	}
	return &j, nil
}

func (f *fsroot) saveJournal(j *journal) error {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if err := f.writeAtomic(journalPath, append(b, '\n'), 0o600, -1, -1); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// backupDir is where one plan's backups live.
func backupDir(digest string) string { return backupRoot + "/" + digest }
