package plan_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/runtimekit/runtimekit/sdk/plan"
)

// FuzzParse feeds Parse arbitrary bytes, starting from the planner's golden
// plans. A plan Parse accepts must write (Marshal) to bytes that Parse
// accepts again and that write to the same bytes: the executor reads what
// the planner writes, and a plan saved and reloaded is the same plan.
func FuzzParse(f *testing.F) {
	golden, err := filepath.Glob("../planner/testdata/golden/*.json")
	if err != nil || len(golden) == 0 {
		f.Fatalf("no golden plans: %v", err)
	}
	for _, g := range golden {
		b, err := os.ReadFile(g)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"formatVersion": 1, "steps": []}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := plan.Parse(b)
		if err != nil {
			if p != nil {
				t.Errorf("Parse returned a plan with its error %v", err)
			}
			return
		}
		once, err := p.Marshal()
		if err != nil {
			t.Fatalf("accepted plan does not marshal: %v", err)
		}
		p2, err := plan.Parse(once)
		if err != nil {
			t.Fatalf("accepted plan, written back, is refused: %v\n%s", err, once)
		}
		twice, err := p2.Marshal()
		if err != nil {
			t.Fatalf("re-read plan does not marshal: %v", err)
		}
		if !bytes.Equal(once, twice) {
			t.Errorf("plan changes on a write/read/write round trip:\n%s\n---\n%s", once, twice)
		}
	})
}
