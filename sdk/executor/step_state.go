package executor

import (
	"context"

	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// record-state.

func init() {
	register[*plan.RecordState, stateUndo](recordState{})
}

// stateUndo is what a record-state step's undo needs: the resolved state
// path, the state file and its .prev as they were, the lineage chosen for
// a first state, and the directories the step created (parents first).
type stateUndo struct {
	Path      string     `json:"path"`
	State     *savedFile `json:"state,omitempty"`
	StatePrev *savedFile `json:"statePrev,omitempty"`
	Lineage   string     `json:"lineage,omitempty"`
	Created   []string   `json:"created,omitempty"`
}

type recordState struct{}

func (recordState) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.RecordState, u *stateUndo) error {
	st, _, err := loadState(r.fs, r.stateRel)
	if err != nil {
		return err
	}
	u.Lineage = st.Lineage
	if u.Lineage == "" {
		if u.Lineage, err = state.NewLineage(); err != nil {
			return err
		}
	}
	if u.State, err = r.setAside(r.stateRel, r.backup+".state"); err != nil {
		return err
	}
	if u.StatePrev, err = r.setAside(r.stateRel+".prev", r.backup+".state.prev"); err != nil {
		return err
	}
	u.Path = r.stateRel
	u.Created, err = r.missingDirs(parentRel(r.stateRel))
	return err
}

func (recordState) do(ctx context.Context, r *run, s *plan.Step, in *plan.RecordState, u *stateUndo) error {
	st := state.New(r.plan.Target.Name)
	st.Lineage = u.Lineage
	st.Serial = r.plan.State.Serial + 1
	st.Runtimes = in.Runtimes
	st.Apps = in.Apps
	if _, err := r.fs.mkdirs(parentRel(u.Path)); err != nil {
		return err
	}
	// An earlier attempt may have saved it already: start again from
	// the state as it was, so that .prev is the state before the plan.
	if cur, _, err := loadState(r.fs, u.Path); err == nil && cur.Serial == st.Serial && cur.Lineage == st.Lineage {
		if err := r.restoreSaved(u.State, u.Path); err != nil {
			return err
		}
		if err := r.restoreSaved(u.StatePrev, u.Path+".prev"); err != nil {
			return err
		}
	}
	if err := r.fs.saveState(u.Path, st); err != nil {
		return err
	}
	r.res.Serial = st.Serial
	return nil
}

func (recordState) undo(ctx context.Context, r *run, s *plan.Step, in *plan.RecordState, u *stateUndo) error {
	if u.State == nil || u.StatePrev == nil {
		return nil
	}
	if err := r.restoreSaved(u.State, u.Path); err != nil {
		return err
	}
	if err := r.restoreSaved(u.StatePrev, u.Path+".prev"); err != nil {
		return err
	}
	_ = r.fs.remove(tmpName(u.Path))
	r.removeCreated(u.Created)
	return nil
}

func (recordState) checkUndone(ctx context.Context, r *run, s *plan.Step, in *plan.RecordState, u *stateUndo, add func(string, ...any)) {
	if u.State != nil {
		if d := r.differsFromSaved(u.State, u.Path); d != "" {
			add("%s: %s", abs(u.Path), d)
		}
	}
}

func (recordState) collect(r *run, u *stateUndo, committed bool) {
	if u.Path != "" {
		r.gc(r.fs.remove(tmpName(u.Path)))
	}
}
