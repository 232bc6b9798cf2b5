package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime/debug"
	"runtime/metrics"
	"sort"
	"strings"
	"time"
)

// Why evaluation runs in a child process.
//
// CUE's evaluator (cuelang.org/go v0.17) takes no context and has no way to
// be interrupted or limited: cue.Value's methods run to completion, and
// cancellation is an open request upstream (cue-lang/cue#1104, #3752). Some
// small manifests take exponential time and memory: each link of a chain of
// disjunctions that embed the previous one doubles the combinations CUE
// explores, and a few nested comprehensions make hundreds of thousands of
// elements. Evaluating in a goroutine and giving up on a timeout would leave
// it spinning and allocating for as long as the process lives, and a static
// pre-check cannot prove a bound for every construct that multiplies work
// (disjunctions, comprehensions, string and list builtins, references that
// double a value at each step) without rejecting real manifests: it proves
// one only for plain manifests (precheck.go), which are evaluated in place.
//
// So every other evaluation runs in a new process: this same executable, started
// again with evaluatorArg and evaluatorEnv, which init below recognises
// before the program's own main (or test main) runs. It reads one request
// on stdin, evaluates it in place, writes one response on stdout and exits.
// The parent kills it when the time budget runs out; the child stops itself
// when the memory it has mapped goes over the memory budget, with an address
// space limit behind that as a backstop (see limitAddressSpace). Re-executing
// the running binary needs nothing from the program that links this package
// and always runs the same code as the parent. It costs a process start
// (10 to 30 ms on the 2-core development machine) per evaluation.

const (
	evaluatorArg      = "-runtimekit-manifest-evaluator"
	evaluatorEnv      = "RUNTIMEKIT_MANIFEST_EVALUATOR"
	evaluatorProtocol = "1"

	// exitOverMemory is the evaluating process's exit status when it stops
	// itself for going over its memory budget.
	exitOverMemory = 3
	// memoryPoll is how often the evaluating process checks its memory.
	memoryPoll = 5 * time.Millisecond
	// stderrKept is how much of the evaluating process's stderr is kept to
	// explain a crash (a Go crash starts with its reason).
	stderrKept = 16 << 10
)

func init() {
	if len(os.Args) == 2 && os.Args[1] == evaluatorArg && os.Getenv(evaluatorEnv) == evaluatorProtocol {
		os.Exit(serveEvaluator(os.Stdin, os.Stdout, os.Stderr))
	}
}

var errOverTime = errors.New("evaluation time budget exceeded")

// evaluate runs one request in a child process under budget b. what names
// the kind of document ("manifest", "target profile") for errors.
func evaluate(ctx context.Context, what string, req *evalRequest, b Budget, log *slog.Logger) (*evalResponse, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	names := make([]string, 0, len(req.Files))
	for n := range req.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	req.Memory = b.Memory
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: encode evaluation request: %w", what, strings.Join(names, ", "), err)
	}
	exe, err := selfExecutable()
	if err != nil {
		return nil, &EvalError{What: what, Files: names, Reason: "cannot find this program's executable to evaluate in: " + err.Error()}
	}

	tctx, cancel := context.WithTimeoutCause(ctx, b.Time, errOverTime)
	defer cancel()
	cmd := exec.CommandContext(tctx, exe, evaluatorArg)
	cmd.Args[0] = os.Args[0] // shown by ps as this program, not as /proc/self/exe
	cmd.Env = append(os.Environ(), evaluatorEnv+"="+evaluatorProtocol)
	cmd.Stdin = bytes.NewReader(body)
	// The response is bounded by the same budget as the child's memory, so
	// the parent never holds more than the child could.
	stdout := &cappedBuffer{max: int(min(b.Memory, int64(maxInt)))}
	stderr := &cappedBuffer{max: stderrKept}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = time.Second
	start := time.Now()
	runErr := cmd.Run()
	log.DebugContext(ctx, "evaluated "+what, "files", names, "took", time.Since(start),
		"peakRSS", peakRSS(cmd.ProcessState), "err", runErr)

	if runErr == nil && !stdout.overflow {
		var resp evalResponse
		if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
			return nil, &EvalError{What: what, Files: names, Reason: "unreadable result: " + err.Error()}
		}
		return &resp, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if context.Cause(tctx) == errOverTime {
		return nil, &BudgetError{What: what, Files: names, Time: b.Time}
	}
	var ee *exec.ExitError
	overMemory := stdout.overflow ||
		(errors.As(runErr, &ee) && ee.ExitCode() == exitOverMemory) ||
		outOfMemory(stderr.String())
	if overMemory {
		return nil, &BudgetError{What: what, Files: names, Memory: b.Memory}
	}
	reason := firstLine(stderr.String())
	if reason == "" {
		reason = runErr.Error()
	}
	return nil, &EvalError{What: what, Files: names, Reason: reason}
}

// outOfMemory recognises the Go runtime's own death from the address space
// limit, which comes before the memory watch sees the allocation that
// caused it when one allocation is large.
func outOfMemory(stderr string) bool {
	for _, s := range []string{"out of memory", "cannot allocate memory", "failed to create new OS thread"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

const maxInt = int(^uint(0) >> 1)

// cappedBuffer keeps the first max bytes written to it and notes whether
// more came; it never fails a write, so the child is never blocked.
type cappedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.overflow = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// serveEvaluator is the evaluating process: one request from r, one
// response to w.
func serveEvaluator(r io.Reader, w, errw io.Writer) int {
	os.Unsetenv(evaluatorEnv) // not inherited by anything CUE might start
	var req evalRequest
	if err := json.NewDecoder(r).Decode(&req); err != nil {
		fmt.Fprintln(errw, "manifest evaluator: read request:", err)
		return 1
	}
	if req.Memory > 0 {
		limitAddressSpace(req.Memory)
		go watchMemory(req.Memory)
		// A short-lived process: collect garbage only once the heap
		// nears the budget, not every time it doubles. Most evaluations
		// then finish without a collection, a few milliseconds sooner.
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(req.Memory / 4 * 3)
	}
	var resp *evalResponse
	switch req.Kind {
	case kindRuntime:
		params := make(map[string]any, len(req.Params))
		for k, v := range req.Params {
			params[k] = v.v
		}
		if len(params) == 0 {
			params = nil
		}
		resp = evalRuntime(req.Files, params)
	case kindTarget:
		resp = evalTarget(req.Files)
	case kindApp:
		l, err := NewLoader()
		if err != nil {
			resp = &evalResponse{Error: err.Error()}
		} else {
			resp = l.evalApp(req.Files)
		}
	default:
		fmt.Fprintf(errw, "manifest evaluator: unknown request kind %q\n", req.Kind)
		return 1
	}
	if err := json.NewEncoder(w).Encode(resp); err != nil {
		fmt.Fprintln(errw, "manifest evaluator: write result:", err)
		return 1
	}
	return 0
}

// watchMemory ends the process when the memory the Go runtime has mapped
// and not returned to the system goes over limit. A goroutine is enough:
// the scheduler preempts the evaluating goroutine however tight its loop.
func watchMemory(limit int64) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	t := time.NewTicker(memoryPoll)
	defer t.Stop()
	for range t.C {
		metrics.Read(samples)
		used := samples[0].Value.Uint64() - samples[1].Value.Uint64()
		if used > uint64(limit) {
			fmt.Fprintf(os.Stderr, "manifest evaluator: %d bytes in use, over the budget of %d\n", used, limit)
			os.Exit(exitOverMemory)
		}
	}
}

// evalRuntime and evalTarget evaluate in this process, with no budget: the
// evaluating process calls them (and tests, on inputs known to be cheap).
func evalRuntime(files map[string][]byte, params map[string]any) *evalResponse {
	l, err := NewLoader()
	if err != nil {
		return &evalResponse{Error: err.Error()}
	}
	return l.evalRuntime(files, params)
}

func evalTarget(files map[string][]byte) *evalResponse {
	l, err := NewLoader()
	if err != nil {
		return &evalResponse{Error: err.Error()}
	}
	return l.evalTarget(files)
}
