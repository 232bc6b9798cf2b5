package executor

import (
	"context"
	"errors"
	"fmt"

	"github.com/runtimekit/runtimekit/sdk/plan"
)

// verify-bundle: checks, changes nothing.

func init() {
	register[*plan.VerifyBundle, noUndo](verifyBundle{})
}

type verifyBundle struct{}

func (verifyBundle) prepare(context.Context, *run, *plan.Step, *plan.VerifyBundle, *noUndo) error {
	return nil
}

func (verifyBundle) do(ctx context.Context, r *run, s *plan.Step, in *plan.VerifyBundle, u *noUndo) error {
	return r.verifyArtifacts(s.ID, in.Artifacts)
}

func (verifyBundle) undo(context.Context, *run, *plan.Step, *plan.VerifyBundle, *noUndo) error {
	return nil
}

func (verifyBundle) describe(in *plan.VerifyBundle) string {
	return fmt.Sprintf(": %d files (checked by SHA-256 before the apply began)", len(in.Artifacts))
}

// verifyArtifacts checks bundle files not yet checked by this run.
func (r *run) verifyArtifacts(step string, sums []string) error {
	var probs []Problem
	for _, sum := range sums {
		if r.verified[sum] {
			continue
		}
		if p := r.checkArtifact(step, sum); p != nil {
			probs = append(probs, *p)
			continue
		}
		r.verified[sum] = true
	}
	if len(probs) > 0 {
		return &RefusedError{Problems: probs}
	}
	return nil
}

// checkArtifact verifies one bundle file by SHA-256.
func (r *run) checkArtifact(step, sum string) *Problem {
	if r.bundle == nil {
		if r.e.opts.BundleDir == "" {
			return &Problem{Step: step, Reason: "the plan needs bundle files: give the bundle directory (--bundle DIR)"}
		}
		b, err := openBundle(r.e.opts.BundleDir)
		if err != nil {
			return &Problem{Step: step, Reason: err.Error()}
		}
		r.bundle = b
	}
	f, ok := r.bundle.lookup(sum)
	if !ok {
		name := sum
		for _, a := range r.plan.Artifacts {
			if a.SHA256 == sum {
				name = a.Kind + " " + a.Name + " " + a.Version + " (sha256 " + sum + ")"
			}
		}
		return &Problem{Step: step, Reason: name + " is not in bundle " + r.bundle.dir}
	}
	if why := r.bundle.verify(f); why != "" {
		return &Problem{Step: step, Path: r.bundle.path(f), Reason: why}
	}
	return nil
}

func (r *run) artifactPath(sum string) (string, error) {
	if r.bundle == nil {
		if r.e.opts.BundleDir == "" {
			return "", errors.New("no bundle directory given")
		}
		if _, err := r.openBundleOnce(); err != nil {
			return "", err
		}
	}
	f, ok := r.bundle.lookup(sum)
	if !ok {
		return "", fmt.Errorf("sha256 %s is not in bundle %s", sum, r.bundle.dir)
	}
	if !r.verified[sum] {
		if why := r.bundle.verify(f); why != "" {
			return "", fmt.Errorf("%s: %s", r.bundle.path(f), why)
		}
		r.verified[sum] = true
	}
	return r.bundle.path(f), nil
}
