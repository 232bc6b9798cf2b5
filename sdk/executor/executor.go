package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/runtimekit/runtimekit/sdk/service"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// Options configure an [Executor]. Every field is optional.
type Options struct {
	// Root is the machine's root directory; every path of a plan, the
	// state file, the journal and dpkg's database are inside it. The
	// default "/" is the expected deployment: runtimectl running inside
	// the VM (or a chroot). Another root is for tests and staging; dpkg is
	// then run with --root, and what runs on the machine runs chrooted
	// into the root: runsvdir and so the services (the default Services),
	// and exec health probes (the default Health).
	Root string
	// StatePath is the state file, inside Root; default state.DefaultPath.
	StatePath string
	// BundleDir is the offline bundle's directory (holding bundle.json),
	// as this process sees it. Needed by plans that use artifacts.
	BundleDir string
	// Progress receives one line per step ("[2/9] install-packages: 22
	// packages: ...") and per undo; nil prints nothing.
	Progress io.Writer
	// Logger receives details; nil discards them.
	Logger *slog.Logger
	// Wait makes Apply and Recover wait for another apply's lock (and
	// dpkg's) instead of failing at once.
	Wait bool
	// Resume lets Apply finish an interrupted apply of the same plan
	// instead of refusing to start.
	Resume bool
	// Dpkg is the dpkg program; default "dpkg" (found in PATH).
	Dpkg string
	// Services runs services; default a *service.Runit on Root, chrooted
	// into it when Root is not "/".
	Services Services
	// Health waits for a health check; default the Wait of a
	// service.Prober on Root, which runs exec probes chrooted into it.
	Health func(ctx context.Context, hc state.HealthCheck, log *slog.Logger) error
	// crashOptions holds CrashAt, the crash tests' fault injection, in
	// binaries built with -tags crashtest only (fault_crashtest.go). In
	// every other build it is empty: the runtimectl shipped into the VM
	// has no option, and reads no environment variable, that makes it
	// kill itself.
	crashOptions

	// hook stops Apply or Recover at a crash point in this package's
	// tests (in every build): an error it returns makes them stop on the
	// spot, as a crash would.
	hook func(step, phase string) error
}

// Services is what the executor needs from the service supervisor;
// *service.Runit implements it.
type Services interface {
	Install(ctx context.Context, svc state.Service) error
	EnsureSupervisor(ctx context.Context) (int, error)
	Enable(ctx context.Context, name string) error
	Start(ctx context.Context, name string) error
	Stop(ctx context.Context, name string) error
	Disable(ctx context.Context, name string) error
	Remove(ctx context.Context, name string) error
	Status(ctx context.Context, name string) (service.Status, error)
	// Dir is the service's directory; its runtimekit.json holds the
	// definition it was installed from.
	Dir(name string) string
	// LogPath is the directory of the service's log ("current" in it).
	LogPath(name string) string
}

// Executor applies plans on one machine. It keeps no state between calls:
// the journal, the lock and the state file are on disk.
type Executor struct {
	opts Options
	log  *slog.Logger
}

// New returns an executor. It does no I/O (a relative Root is made
// absolute, against the working directory at the call).
func New(opts Options) *Executor {
	if opts.Root == "" {
		opts.Root = "/"
	}
	// The services and probes of another root are chrooted into it, and
	// the executor relates their paths to it: one absolute path for all.
	if abs, err := filepath.Abs(opts.Root); err == nil {
		opts.Root = abs
	}
	if opts.StatePath == "" {
		opts.StatePath = state.DefaultPath
	}
	if opts.Dpkg == "" {
		opts.Dpkg = "dpkg"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Services == nil {
		opts.Services = &service.Runit{Root: opts.Root, Chroot: !isHostRoot(opts.Root), Logger: log}
	}
	if opts.Health == nil {
		opts.Health = service.Prober{Root: opts.Root}.Wait
	}
	return &Executor{opts: opts, log: log}
}

// isHostRoot reports whether root is "/", this process's own root, where
// the machine's programs run as they are; the programs of any other root
// run chrooted into it.
func isHostRoot(root string) bool {
	return filepath.Clean(root) == "/"
}

// Result is the outcome of Apply or Recover.
type Result struct {
	// PlanDigest is the SHA-256 of the plan's bytes.
	PlanDigest string       `json:"planDigest"`
	Outcome    Outcome      `json:"outcome"`
	Resumed    bool         `json:"resumed,omitempty"`
	Steps      []StepResult `json:"steps"`
	// Kept lists existing files left alone: user-config files that were
	// already there, and files to remove that the user had changed.
	Kept []KeptFile `json:"kept,omitempty"`
	// Warnings are things a rollback could not restore, and similar.
	Warnings []string      `json:"warnings,omitempty"`
	Duration time.Duration `json:"duration"`
	// Serial is the state serial after the apply.
	Serial int64 `json:"serial"`
}

// Outcome is how an Apply or Recover ended. The type is the executor's:
// these words are its result's, not the plan's or the state's.
type Outcome string

// Outcomes.
const (
	OutcomeApplied    Outcome = "applied"
	OutcomeRolledBack Outcome = "rolled-back"
	OutcomeNothing    Outcome = "nothing-to-recover"
	// OutcomeFailed is a rollback that could not finish: see the error.
	OutcomeFailed Outcome = "failed"
)

// StepStatus is what happened to one step in this run.
type StepStatus string

// Step statuses.
const (
	StepDone       StepStatus = phaseDone
	StepUndone     StepStatus = phaseUndone
	StepFailed     StepStatus = "failed"
	StepUndoFailed StepStatus = "undo-failed"
)

// StepResult is what happened to one step.
type StepResult struct {
	Index  int           `json:"index"` // 1-based
	ID     string        `json:"id"`
	Kind   string        `json:"kind"`
	Status StepStatus    `json:"status"`
	Took   time.Duration `json:"took"`
	Error  string        `json:"error,omitempty"`
}

// KeptFile is an existing file the executor did not touch.
type KeptFile struct {
	Path   string `json:"path"`
	Step   string `json:"step"`
	Reason string `json:"reason"`
}

// Problem is one reason a plan is refused before anything changes.
type Problem struct {
	Step   string `json:"step,omitempty"` // step id
	Path   string `json:"path,omitempty"` // file or bundle file concerned
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Step != "" {
		b.WriteString("step " + p.Step + ": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// RefusedError is returned when a plan is refused before anything
// changed: invalid, stale, for another architecture, with a path that
// escapes, or with a bundle file that is missing or corrupt.
type RefusedError struct {
	Problems []Problem
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	b.WriteString("plan refused, nothing was changed:")
	for _, p := range e.Problems {
		b.WriteString("\n\t" + p.String())
	}
	return b.String()
}

// StepError is returned when a step failed; the completed steps were
// undone (RollbackErr is nil) or not all of them could be (RollbackErr
// says why, and the journal remains for Recover).
type StepError struct {
	Index       int // 1-based
	Step        string
	Err         error
	RollbackErr error
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("step %d (%s) failed: %v", e.Index, e.Step, e.Err)
	var me *MismatchError
	if errors.As(e.RollbackErr, &me) {
		return msg + "\n" + me.Error()
	}
	if e.RollbackErr != nil {
		return msg + "\nrollback incomplete: " + e.RollbackErr.Error() + "\nrun `runtimectl recover` to retry it"
	}
	return msg + "\nthe completed steps were undone: the machine is as it was before"
}

func (e *StepError) Unwrap() error { return e.Err }

// InterruptedError is returned by Apply when an earlier apply was
// interrupted and has not been recovered.
type InterruptedError struct {
	PlanDigest string
	PID        int
	Started    time.Time
	Mode       string
	Step       string // the step it was at
}

func (e *InterruptedError) Error() string {
	what := "an apply"
	if e.Mode == modeRollback {
		what = "the rollback of an apply"
	}
	return fmt.Sprintf("%s of plan %s (pid %d, started %s) was interrupted at step %s: run `runtimectl recover` "+
		"(or apply that plan again with --resume) first", what, short(e.PlanDigest), e.PID, e.Started.UTC().Format(time.RFC3339), e.Step)
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
