package executor

import (
	"context"
	"errors"
	"strings"
)

// errCrash is what the tests' fault hook returns to stop an operation on
// the spot, as a crash would (no rollback, no cleanup).
var errCrash = errors.New("simulated crash")

// The crash points are always called; what happens there is decided by
// the build. In this package's tests Options.hook answers. In a binary
// built with -tags crashtest, Options.CrashAt may name a point at which
// the process kills itself (fault_crashtest.go); in every other build,
// the one shipped into the VM among them, the points do nothing and the
// killing code is not compiled in (fault_off.go), so no environment
// variable or option can make a shipped runtimectl kill itself.

// crashPhases are the points a CrashAt spec can name.
var crashPhases = map[string]bool{
	"before": true, "after": true, "done": true,
	"unpack": true, "unpacked": true, "configure": true, "purge": true,
	"undo": true, "undone": true,
}

// crashAt reports whether spec ("<step-id>[:<phase>]") names step and
// phase. Step ids contain colons ("write-file:/etc/x"), so the phase is
// the part after the last colon only when it is a known phase. It is
// here, outside the build tag, so that its unit test runs in every build;
// without crashtest nothing calls it and the linker leaves it out.
func crashAt(spec, step, phase string) bool {
	if spec == "" {
		return false
	}
	id, ph := spec, "before"
	if i := strings.LastIndex(spec, ":"); i >= 0 && crashPhases[spec[i+1:]] {
		id, ph = spec[:i], spec[i+1:]
	}
	return id == step && ph == phase
}

// fault is called at every crash point.
func (r *run) fault(step, phase string) error {
	if r.e.opts.hook != nil {
		return r.e.opts.hook(step, phase)
	}
	r.crashPoint(step, phase)
	return nil
}

// dpkgRun runs dpkg for step; phase (unpack, configure, purge) names the
// run for fault injection, which (in crashtest builds) kills dpkg and
// what it started, and then the executor, once dpkg has begun changing
// its database.
func (r *run) dpkgRun(ctx context.Context, step, phase string, args ...string) (string, error) {
	if r.e.opts.hook != nil {
		if err := r.e.opts.hook(step, phase); err != nil {
			return "", err
		}
	}
	r.dpkg.during = r.dpkgCrash(step, phase)
	defer func() { r.dpkg.during = nil }()
	return r.dpkg.run(ctx, args...)
}
