package manifest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// corpus is every manifest in the repository: the built-in runtimes' and
// the schema's good and bad examples.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, pat := range []string{"../plugins/*/manifest.cue", "../schema/testdata/*/*.cue", "../schema/testdata/*/*.json"} {
		names, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			out[n] = b
		}
	}
	if len(out) < 10 {
		t.Fatalf("manifest corpus has only %d files", len(out))
	}
	return out
}

// loadInProcess is LoadFiles always in this process, loadInChild always
// in a child process.
func loadInProcess(files map[string][]byte, params map[string]any) (*Manifest, error) {
	return finishRuntime(evalRuntime(files, params))
}

func loadInChild(ctx context.Context, files map[string][]byte, params map[string]any, b Budget) (*Manifest, error) {
	req := &evalRequest{Kind: kindRuntime, Files: files}
	if len(params) > 0 {
		req.Params = map[string]typedValue{}
		for k, v := range params {
			req.Params[k] = typedValue{v}
		}
	}
	resp, err := evaluate(ctx, "manifest", req, b.withDefaults(), nil)
	if err != nil {
		return nil, err
	}
	return finishRuntime(resp)
}

// Evaluating in a child process gives exactly what evaluating in place
// gives: values, parameter types, positions and diagnostics.
func TestChildMatchesInProcess(t *testing.T) {
	ctx := context.Background()
	type result struct {
		M   *Manifest
		Err string
	}
	run := func(m *Manifest, err error) result {
		r := result{M: m}
		if err != nil {
			r.Err = err.Error()
		}
		return r
	}
	for name, src := range corpus(t) {
		for _, params := range []map[string]any{nil, {"port": float64(8081)}, {"app": "/srv/app", "colour": []any{"x", 1.5, true, nil}}} {
			files := map[string][]byte{filepath.Base(name): src}
			want := run(loadInProcess(files, params))
			got := run(loadInChild(ctx, files, params, Budget{}))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s with %v: child differs from in-process (-in-process +child):\n%s", name, params, diff)
			}
		}
	}
	for _, name := range []string{"../targets/webvm-i386.cue", "../targets/debian12-amd64.cue"} {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{filepath.Base(name): src}
		want, werr := finishTarget(evalTarget(files))
		resp, gerr := evaluate(ctx, "target profile", &evalRequest{Kind: kindTarget, Files: files}, Budget{}.withDefaults(), nil)
		var got *Target
		if gerr == nil {
			got, gerr = finishTarget(resp)
		}
		if werr != nil || gerr != nil {
			t.Fatalf("%s: in-process error %v, child error %v", name, werr, gerr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: child differs from in-process (-in-process +child):\n%s", name, diff)
		}
	}
}

func TestTypedValueRoundTrip(t *testing.T) {
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	tests := []struct {
		name string
		in   any
		want any // nil: same as in
	}{
		{"nil", nil, nil},
		{"bool", true, nil},
		{"int64", int64(-8080), nil},
		{"float64 integral", float64(1), nil},
		{"float64", 0.1, nil},
		{"string", "a\x00b", nil},
		{"bytes", []byte{0, 255}, nil},
		{"big int", huge, nil},
		{"list", []any{int64(1), "x", []any{}}, nil},
		{"struct", map[string]any{"a": map[string]any{"b": 2.5}}, nil},
		{"int", 80, int64(80)},
		{"uint16", uint16(80), int64(80)},
		{"float32", float32(0.5), 0.5},
		{"[]string", []string{"a"}, []any{"a"}},
		{"map of ints", map[string]int{"a": 1}, map[string]any{"a": int64(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == nil {
				want = tt.in
			}
			b, err := typedValue{tt.in}.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var got typedValue
			if err := got.UnmarshalJSON(b); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got.v, cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Target profiles are evaluated under the same kind of budget.
func TestTargetBudget(t *testing.T) {
	var src strings.Builder
	src.WriteString("name: \"t\"\n_d0: {a: 1} | {b: 1}\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&src, "_d%d: {_d%d, x%d: %d} | {_d%d, y%d: %d}\n", i, i-1, i, i, i-1, i, i)
	}
	src.WriteString("description: \"\\(len(_d30))\"\n")
	_, err := loadTarget(context.Background(), map[string][]byte{"t.cue": []byte(src.String())}, Budget{Time: time.Second})
	var be *BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("want a budget error, got %v", err)
	}
	if diff := cmp.Diff(&BudgetError{What: "target profile", Files: []string{"t.cue"}, Time: time.Second}, be); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A real manifest fits in a quarter of the default memory budget: the
// memory watch counts what evaluation uses, not the address space the Go
// runtime reserves.
func TestChildWithinSmallBudget(t *testing.T) {
	src, err := os.ReadFile("../plugins/nginx/manifest.cue")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadInChild(context.Background(), map[string][]byte{"manifest.cue": src}, nil,
		Budget{Time: 10 * time.Second, Memory: 128 << 20}); err != nil {
		t.Fatal(err)
	}
}
