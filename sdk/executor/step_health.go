package executor

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/runtimekit/runtimekit/sdk/plan"
)

// wait-health: it changes nothing, so its undo has nothing to do.

func init() {
	register[*plan.WaitHealth, noUndo](waitHealth{})
}

type waitHealth struct{}

func (waitHealth) prepare(context.Context, *run, *plan.Step, *plan.WaitHealth, *noUndo) error {
	return nil
}

func (waitHealth) do(ctx context.Context, r *run, s *plan.Step, in *plan.WaitHealth, u *noUndo) error {
	r.progress("      waiting for health check %s", in.Health.Name)
	err := r.e.opts.Health(ctx, in.Health, r.e.log)
	if err != nil && in.Health.Service != "" {
		if tail := r.logTail(in.Health.Service, 10); tail != "" {
			// What the service said is most often why it does not answer.
			err = fmt.Errorf("%w\nthe last lines of service %s's log:\n%s", err, in.Health.Service, tail)
		}
	}
	return err
}

// logTail is the last n lines of a service's current log (svlogd's), or
// "" when it has none.
func (r *run) logTail(name string, n int) string {
	rel, err := filepath.Rel(orDefault(r.e.opts.Root, "/"), filepath.Join(r.e.opts.Services.LogPath(name), "current"))
	if err != nil || strings.HasPrefix(rel, "..") {
		return ""
	}
	f, err := r.fs.r.Open(rel)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return ""
	} else if fi.Size() > 8192 {
		if _, err := f.Seek(-8192, io.SeekEnd); err != nil {
			return ""
		}
	}
	b, _ := io.ReadAll(io.LimitReader(f, 8192))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.TrimRight(strings.Join(lines, "\n"), " ")
}

func (waitHealth) undo(context.Context, *run, *plan.Step, *plan.WaitHealth, *noUndo) error {
	return nil
}
