package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fuzzBudget keeps one fuzz input from taking the fuzzer's time: an input
// that goes over it has shown what it can (the budget holds) and is not
// evaluated again.
var fuzzBudget = Budget{Time: 2 * time.Second, Memory: 256 << 20}

// outcome is what a load gave, comparable with cmp.
type outcome struct {
	M   *Manifest
	Err string
}

func outcomeOf(m *Manifest, err error) outcome {
	o := outcome{M: m}
	if err != nil {
		o.Err = err.Error()
	}
	return o
}

// asJSONManifest writes an evaluated manifest as a JSON manifest: the
// values it declares, without the parameter descriptions.
func asJSONManifest(m *Manifest) ([]byte, error) {
	c := *m
	c.Params = nil
	return json.Marshal(&c)
}

// checkJSONRoundTrip asserts that an evaluated manifest, written as JSON,
// loads to the same manifest.
func checkJSONRoundTrip(t *testing.T, m *Manifest) {
	t.Helper()
	b, err := asJSONManifest(m)
	if err != nil {
		t.Fatalf("encode evaluated manifest: %v", err)
	}
	m2, err := loadInProcess(map[string][]byte{"again.json": b}, nil)
	if err != nil {
		t.Fatalf("evaluated manifest, written as JSON, does not load: %v\n%s", err, b)
	}
	if diff := cmp.Diff(m, m2, cmpopts.IgnoreFields(Manifest{}, "Params", "Source"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("JSON round trip changed the manifest (-first +again):\n%s", diff)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for name, src := range corpus(t) {
		if strings.Contains(name, "/bad/") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			m, err := loadInProcess(map[string][]byte{filepath.Base(name): src}, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkJSONRoundTrip(t, m)
		})
	}
}

// FuzzLoad loads CUE and JSON manifests under a budget. It asserts that
// evaluation never crashes (an error is Diagnostics or a budget error,
// never a dead evaluator or another error), that the two ways of
// evaluating agree (a plain manifest, which LoadFiles evaluates in this
// process, gives the same in a child process; any other, evaluated in the
// child, gives the same in place once it has shown it fits the budget),
// and that an accepted manifest written back as JSON loads to itself.
func FuzzLoad(f *testing.F) {
	for name, src := range corpus(f) {
		f.Add(filepath.Ext(name) == ".json", src)
	}
	for _, s := range []string{"", "{", "[]", "name: 1", `"x"`, "params: port: int", "_a: [for x in [1, 2] {x}]", "_a: *1 | 2 | 3"} {
		f.Add(false, []byte(s))
		f.Add(true, []byte(s))
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, isJSON bool, src []byte) {
		name := "m.cue"
		if isJSON {
			name = "m.json"
		}
		files := map[string][]byte{name: src}
		m, err := LoadFiles(ctx, files, Options{Budget: fuzzBudget})
		var be *BudgetError
		if errors.As(err, &be) {
			if plainManifest(files, nil) {
				t.Errorf("a plain manifest went over the budget: %v", err)
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("budget error does not name %s: %v", name, err)
			}
			return
		}
		var ee *EvalError
		if errors.As(err, &ee) {
			t.Fatalf("the evaluator died: %v", err)
		}
		var ds Diagnostics
		if err != nil && !errors.As(err, &ds) {
			t.Fatalf("an error that is not diagnostics: %v", err)
		}
		for _, d := range ds {
			if d.Summary == "" {
				t.Errorf("diagnostic without a summary: %+v", d)
			}
		}
		var other outcome
		if plainManifest(files, nil) {
			other = outcomeOf(loadInChild(ctx, files, nil, fuzzBudget))
		} else {
			// Within the budget in the child, so cheap enough to
			// evaluate in place, where the fuzzer sees the evaluator's
			// coverage.
			other = outcomeOf(loadInProcess(files, nil))
		}
		if diff := cmp.Diff(other, outcomeOf(m, err)); diff != "" {
			t.Fatalf("in-process and child evaluations differ (-other +LoadFiles):\n%s", diff)
		}
		if err == nil {
			checkJSONRoundTrip(t, m)
		}
	})
}
