package manifest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/manifest"
)

// disjunctionChain is a manifest whose evaluation doubles with each link:
// every link embeds the previous one in both arms of a disjunction, and CUE
// explores every combination (2^n) to find that they are all ambiguous.
func disjunctionChain(n int) string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("_d0: {a: 1} | {b: 1}\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "_d%d: {_d%d, x%d: %d} | {_d%d, y%d: %d}\n", i, i-1, i, i, i-1, i, i)
	}
	fmt.Fprintf(&b, "description: \"\\(len(_d%d))\"\n", n)
	return b.String()
}

// bigComprehension is a manifest declaring 10^depth files through nested
// comprehensions over a ten-element list.
func bigComprehension(depth int) string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("_ds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\nfiles: [")
	var path strings.Builder
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "for d%d in _ds ", i)
		fmt.Fprintf(&path, `\(d%d)`, i)
	}
	fmt.Fprintf(&b, "{path: \"/f/%s\", content: \"x\"}]\n", path.String())
	return b.String()
}

func TestBudget(t *testing.T) {
	small := manifest.Budget{Time: 2 * time.Second, Memory: 128 << 20}
	tests := []struct {
		name   string
		file   string
		src    string
		budget manifest.Budget
		want   string // "time", "memory", or "" for either
	}{
		{"disjunction chain of 30", "chain.cue", disjunctionChain(30), small, ""},
		{"comprehension of 100000 elements", "many.cue", bigComprehension(5), small, ""},
		// Each limit on its own: the other one is far out of reach.
		{"time limit", "chain.cue", disjunctionChain(30), manifest.Budget{Time: time.Second, Memory: 4 << 30}, "time"},
		{"memory limit", "many.cue", bigComprehension(5), manifest.Budget{Time: 10 * time.Minute, Memory: 64 << 20}, "memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.LoadFiles(context.Background(), map[string][]byte{tt.file: []byte(tt.src)},
				manifest.Options{Budget: tt.budget})
			var be *manifest.BudgetError
			if !errors.As(err, &be) {
				t.Fatalf("want a budget error, got %v", err)
			}
			if diff := cmp.Diff([]string{tt.file}, be.Files); diff != "" {
				t.Errorf("files named (-want +got):\n%s", diff)
			}
			got := "time"
			if be.Memory > 0 {
				got = "memory"
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("exceeded the %s limit, want the %s limit: %v", got, tt.want, err)
			}
			msg := err.Error()
			for _, want := range []string{"manifest " + tt.file + ": evaluation exceeded ", "(the limit for a manifest)", "simplify"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

func TestBudgetErrorText(t *testing.T) {
	tests := []struct {
		err  manifest.BudgetError
		want string
	}{
		{manifest.BudgetError{What: "manifest", Files: []string{"x.cue"}, Time: 10 * time.Second},
			"manifest x.cue: evaluation exceeded 10s (the limit for a manifest); simplify its disjunctions and comprehensions"},
		{manifest.BudgetError{What: "manifest", Files: []string{"a.cue", "b.cue"}, Memory: 512 << 20},
			"manifest a.cue, b.cue: evaluation exceeded 512 MiB of memory (the limit for a manifest); simplify its disjunctions and comprehensions"},
		{manifest.BudgetError{What: "target profile", Files: []string{"t.cue"}, Memory: 2 << 30},
			"target profile t.cue: evaluation exceeded 2 GiB of memory (the limit for a target profile); simplify its disjunctions and comprehensions"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}

// A caller's cancellation ends the evaluation with the context's error, not
// a budget error.
func TestLoadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := manifest.LoadFiles(ctx, map[string][]byte{"chain.cue": []byte(disjunctionChain(30))}, manifest.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}
