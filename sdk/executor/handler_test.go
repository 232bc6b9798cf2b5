package executor

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/sdk/plan"
)

// TestEveryKindHasAHandler: each kind of plan.Kinds has a handler, taking
// that kind's inputs, and its undo record survives the journal.
func TestEveryKindHasAHandler(t *testing.T) {
	if len(handlers) != len(plan.Kinds) {
		t.Errorf("%d handlers for %d step kinds", len(handlers), len(plan.Kinds))
	}
	for _, k := range plan.Kinds {
		h, ok := handlers[k]
		if !ok {
			t.Errorf("step kind %s has no handler", k)
			continue
		}
		in, _ := plan.NewInputs(k)
		if err := h.accepts(&plan.Step{ID: "x", Inputs: in}, h.newUndo()); err != nil {
			t.Errorf("%s: %v", k, err)
		}
		b, err := json.Marshal(stepRecord{ID: "x", Kind: k, Phase: phaseDoing, Undo: h.newUndo()})
		if err != nil {
			t.Fatal(err)
		}
		var back stepRecord
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("%s: journal record %s: %v", k, b, err)
		}
	}
}

// TestUndoOfUnknownKindIsAnError: a step no handler knows is never taken
// as undone.
func TestUndoOfUnknownKindIsAnError(t *testing.T) {
	r := &run{plan: &plan.Plan{Steps: []plan.Step{{ID: "mystery"}}}, j: &journal{Steps: []stepRecord{{ID: "mystery", Undo: &noUndo{}}}}}
	err := r.undo(t.Context(), 0)
	if err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Errorf("undo of a step without a known kind: %v", err)
	}
	// Nor is a journal record of such a kind read.
	var rec stepRecord
	err = json.Unmarshal([]byte(`{"id":"z","kind":"format-disk","phase":"done","undo":{}}`), &rec)
	if err == nil || !strings.Contains(err.Error(), "format-disk") {
		t.Errorf("journal record of an unknown kind: %v", err)
	}
}
