package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/sdk/plan"
)

// Each step kind has one handler, in a file of its own (step_*.go), with
// the undo record the journal keeps for its steps. A new kind is its
// inputs type in sdk/plan, its branch in schema/plan.schema.json, and one
// handler file here that registers itself; the run loop, the journal and
// recovery do not change.

// stepKind is what a handler file implements for one kind: In is the
// plan's inputs type for it, U the undo record journaled for each step.
type stepKind[In plan.Inputs, U any] interface {
	// prepare records in u, before the step changes anything, what its
	// undo needs (taking backups). It changes nothing the machine uses.
	prepare(ctx context.Context, r *run, s *plan.Step, in In, u *U) error
	// do runs the step. It may run again after a crash (with the same u).
	do(ctx context.Context, r *run, s *plan.Step, in In, u *U) error
	// undo reverts the step, whether it completed or stopped half way;
	// it can be run again.
	undo(ctx context.Context, r *run, s *plan.Step, in In, u *U) error
}

// Optional parts of a stepKind.
type (
	// undoneChecker reports, after a rollback undid the step, what still
	// differs from before it (see verify.go).
	undoneChecker[In plan.Inputs, U any] interface {
		checkUndone(ctx context.Context, r *run, s *plan.Step, in In, u *U, add func(format string, args ...any))
	}
	// collector deletes what the step leaves once its apply is closed
	// (committed or rolled back): trees set aside, temporary files.
	collector[U any] interface {
		collect(r *run, u *U, committed bool)
	}
	// checker is the step's part of the preflight: what would make it
	// fail or change what runtimekit does not own, found before anything
	// changes (see preflight.go).
	checker[In plan.Inputs] interface {
		check(r *run, s *plan.Step, in In, pf *preflight)
	}
	// affecter says what the step does that the whole run must prepare
	// for (see effects).
	affecter interface {
		effects() effects
	}
	// describer is the progress note after the step's id.
	describer[In plan.Inputs] interface {
		describe(in In) string
	}
)

// effects are what a step kind does that the run around it must know of.
type effects struct {
	// runsDpkg: the run holds dpkg's frontend lock, journals the package
	// set before it and checks dpkg has no unfinished work first.
	runsDpkg bool
	// startsServices: a resumed run starts runsvdir again when the step
	// is done already (the VM may have stopped since).
	startsServices bool
}

// effectsOf is step s's kind's effects (none for an unknown kind).
func effectsOf(s *plan.Step) effects {
	if h, err := handlerFor(s); err == nil {
		if a, ok := h.(interface{ kindEffects() effects }); ok {
			return a.kindEffects()
		}
	}
	return effects{}
}

// noUndo is the undo record of a step that changes nothing to revert.
type noUndo struct{}

// handler is a stepKind with its types erased, as the run loop calls it.
type handler interface {
	newUndo() any
	prepare(ctx context.Context, r *run, s *plan.Step, u any) error
	do(ctx context.Context, r *run, s *plan.Step, u any) error
	undo(ctx context.Context, r *run, s *plan.Step, u any) error
	checkUndone(ctx context.Context, r *run, s *plan.Step, u any, add func(format string, args ...any))
	collect(r *run, u any, committed bool)
	describe(s *plan.Step) string
	check(r *run, s *plan.Step, pf *preflight)
	// accepts says whether s and u are this kind's inputs and record.
	accepts(s *plan.Step, u any) error
}

// handlers are the registered kinds, by name.
var handlers = map[string]handler{}

// register adds the handler of In's kind.
func register[In plan.Inputs, U any](k stepKind[In, U]) {
	var in In
	if _, dup := handlers[in.Kind()]; dup {
		panic("executor: two handlers for step kind " + in.Kind())
	}
	handlers[in.Kind()] = typed[In, U]{k}
}

func handlerFor(s *plan.Step) (handler, error) {
	h, ok := handlers[s.Kind()]
	if !ok {
		return nil, fmt.Errorf("step %s: this runtimectl has no handler for step kind %q", s.ID, s.Kind())
	}
	return h, nil
}

type typed[In plan.Inputs, U any] struct{ k stepKind[In, U] }

func (t typed[In, U]) newUndo() any { return new(U) }

func (t typed[In, U]) args(s *plan.Step, u any) (In, *U, error) {
	in, ok := s.Inputs.(In)
	if !ok {
		return in, nil, fmt.Errorf("step %s: its inputs are not those of a %s step", s.ID, s.Kind())
	}
	uu, ok := u.(*U)
	if !ok || uu == nil {
		return in, nil, fmt.Errorf("step %s: its journal record is not that of a %s step", s.ID, s.Kind())
	}
	return in, uu, nil
}

func (t typed[In, U]) accepts(s *plan.Step, u any) error {
	_, _, err := t.args(s, u)
	return err
}

func (t typed[In, U]) prepare(ctx context.Context, r *run, s *plan.Step, u any) error {
	in, uu, err := t.args(s, u)
	if err != nil {
		return err
	}
	return t.k.prepare(ctx, r, s, in, uu)
}

func (t typed[In, U]) do(ctx context.Context, r *run, s *plan.Step, u any) error {
	in, uu, err := t.args(s, u)
	if err != nil {
		return err
	}
	return t.k.do(ctx, r, s, in, uu)
}

func (t typed[In, U]) undo(ctx context.Context, r *run, s *plan.Step, u any) error {
	in, uu, err := t.args(s, u)
	if err != nil {
		return err
	}
	return t.k.undo(ctx, r, s, in, uu)
}

func (t typed[In, U]) checkUndone(ctx context.Context, r *run, s *plan.Step, u any, add func(string, ...any)) {
	c, ok := t.k.(undoneChecker[In, U])
	if !ok {
		return
	}
	if in, uu, err := t.args(s, u); err == nil {
		c.checkUndone(ctx, r, s, in, uu, add)
	} else {
		add("%v", err)
	}
}

func (t typed[In, U]) collect(r *run, u any, committed bool) {
	if c, ok := t.k.(collector[U]); ok {
		if uu, ok := u.(*U); ok && uu != nil {
			c.collect(r, uu, committed)
		}
	}
}

func (t typed[In, U]) check(r *run, s *plan.Step, pf *preflight) {
	c, ok := t.k.(checker[In])
	if !ok {
		return
	}
	if in, ok := s.Inputs.(In); ok {
		c.check(r, s, in, pf)
	}
}

func (t typed[In, U]) kindEffects() effects {
	if a, ok := t.k.(affecter); ok {
		return a.effects()
	}
	return effects{}
}

func (t typed[In, U]) describe(s *plan.Step) string {
	if d, ok := t.k.(describer[In]); ok {
		if in, ok := s.Inputs.(In); ok {
			return d.describe(in)
		}
	}
	return ""
}

// describe is the progress note after step s's id.
func describe(s *plan.Step) string {
	if h, err := handlerFor(s); err == nil {
		return h.describe(s)
	}
	return ""
}

// prepare starts step i's undo record and fills it in.
func (r *run) prepare(ctx context.Context, i int) error {
	s := &r.plan.Steps[i]
	h, err := handlerFor(s)
	if err != nil {
		return err
	}
	u := h.newUndo()
	r.backup = fmt.Sprintf("%s/%d", backupDir(r.digest), i+1)
	if err := h.prepare(ctx, r, s, u); err != nil {
		return err
	}
	r.j.Steps[i].Undo = u
	return nil
}

// do runs step i.
func (r *run) do(ctx context.Context, i int) error {
	s := &r.plan.Steps[i]
	h, err := handlerFor(s)
	if err != nil {
		return err
	}
	return h.do(ctx, r, s, r.j.Steps[i].Undo)
}

// undo reverts step i. A step with no undo record never got past its
// prepare and changed nothing; a kind without a handler is an error, never
// a step taken as undone.
func (r *run) undo(ctx context.Context, i int) error {
	s := &r.plan.Steps[i]
	h, err := handlerFor(s)
	if err != nil {
		return err
	}
	if r.j.Steps[i].Undo == nil {
		return nil
	}
	return h.undo(ctx, r, s, r.j.Steps[i].Undo)
}

// stepRecordJSON is a step record as the journal holds it: the undo
// record is decoded by the step kind's handler.
type stepRecordJSON struct {
	ID    string          `json:"id"`
	Kind  string          `json:"kind"`
	Phase string          `json:"phase"`
	Undo  json.RawMessage `json:"undo,omitempty"`
}

// UnmarshalJSON reads a step record, its undo record typed by its kind.
func (s *stepRecord) UnmarshalJSON(b []byte) error {
	var w stepRecordJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*s = stepRecord{ID: w.ID, Kind: w.Kind, Phase: w.Phase}
	if len(w.Undo) == 0 || string(w.Undo) == "null" {
		return nil
	}
	h, ok := handlers[w.Kind]
	if !ok {
		return fmt.Errorf("step %s has kind %q, which this runtimectl has no handler for", w.ID, w.Kind)
	}
	u := h.newUndo()
	if err := json.Unmarshal(w.Undo, u); err != nil {
		return fmt.Errorf("step %s: undo record: %w", w.ID, err)
	}
	s.Undo = u
	return nil
}

// Helpers the handlers share.

// missingDirs lists the directories of rel that do not exist, parents
// first: those a step will create and its undo removes.
func (r *run) missingDirs(rel string) ([]string, error) {
	var out []string
	parts := splitRel(rel)
	for i := range parts {
		d := joinRel(parts[:i+1])
		ok, err := r.fs.exists(d)
		if err != nil {
			return nil, err
		}
		if !ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// removeCreated removes the directories a step created, deepest first,
// when they are empty.
func (r *run) removeCreated(dirs []string) {
	for _, d := range slices.Backward(dirs) {
		if err := r.fs.remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.e.log.Debug("directory not removed", "dir", abs(d), "err", err)
		}
	}
}

func filepathBase(rel string) string {
	parts := splitRel(rel)
	return parts[len(parts)-1]
}

func (r *run) rename(from, to string) error {
	if err := r.fs.r.Rename(from, to); err != nil {
		return err
	}
	if err := durable.SyncDirIn(r.fs.r, parentRel(to)); err != nil {
		return err
	}
	if parentRel(from) != parentRel(to) {
		return durable.SyncDirIn(r.fs.r, parentRel(from))
	}
	return nil
}

// unixMode converts a plan's mode (permission bits and set-id/sticky bits
// as in chmod) to an fs.FileMode.
func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
