package manifest

import (
	"fmt"
	"strings"
	"time"
)

// The budgets a manifest or target profile is evaluated under when Options
// leave them unset. The built-in runtimes' manifests evaluate in tens of
// milliseconds and a few tens of MiB, so these leave two orders of magnitude
// of room for real manifests while still stopping a pathological one (a
// chain of disjunctions whose combinations multiply, a comprehension of
// hundreds of thousands of elements) quickly.
const (
	DefaultTimeBudget   = 10 * time.Second
	DefaultMemoryBudget = 512 << 20 // bytes
)

// Budget bounds one evaluation. Zero fields take the defaults above.
type Budget struct {
	// Time is the wall-clock time the evaluation may take, start-up of the
	// evaluating process included.
	Time time.Duration
	// Memory is the memory, in bytes, the evaluating process may map.
	Memory int64
}

func (b Budget) withDefaults() Budget {
	if b.Time <= 0 {
		b.Time = DefaultTimeBudget
	}
	if b.Memory <= 0 {
		b.Memory = DefaultMemoryBudget
	}
	return b
}

// BudgetError reports an evaluation stopped because it went over its time or
// memory budget. Exactly one of Time and Memory is set: the limit exceeded.
type BudgetError struct {
	What   string   // "manifest" or "target profile"
	Files  []string // the source files, as the caller named them
	Time   time.Duration
	Memory int64
}

func (e *BudgetError) Error() string {
	limit := e.Time.String()
	if e.Memory > 0 {
		limit = formatBytes(e.Memory) + " of memory"
	}
	return fmt.Sprintf("%s %s: evaluation exceeded %s (the limit for a %s); simplify its disjunctions and comprehensions",
		e.What, strings.Join(e.Files, ", "), limit, e.What)
}

// EvalError reports an evaluation that failed without a diagnosis: the
// evaluating process crashed (a bug in the evaluator, not in the manifest)
// or could not be started.
type EvalError struct {
	What   string
	Files  []string
	Reason string
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("%s %s: evaluation failed: %s", e.What, strings.Join(e.Files, ", "), e.Reason)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
