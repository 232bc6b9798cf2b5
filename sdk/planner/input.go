package planner

import (
	"context"

	"github.com/runtimekit/runtimekit/sdk/debian"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/spec"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// Catalog gives the manifests of the runtimes that can be installed.
type Catalog interface {
	// Names lists the available runtimes.
	Names(ctx context.Context) ([]string, error)
	// Manifest evaluates a runtime's manifest with user parameters (nil
	// for the defaults).
	Manifest(ctx context.Context, name string, params map[string]any) (*spec.Manifest, error)
}

// Add asks for a runtime.
type Add struct {
	Name string
	// Constraint is a semver constraint on the runtime's version
	// ("nextjs@^15" gives "^15"); empty accepts any.
	Constraint string
	Params     map[string]any
	// Supervised says the runtime will run services it does not declare
	// (the apps deployed on it): it needs the supervisor all the same.
	Supervised bool
}

// Request is what the user wants changed.
type Request struct {
	Add    []Add
	Remove []string
	// NoAuto refuses to add required runtimes automatically.
	NoAuto bool
	// Cascade also removes the runtimes that require a removed one.
	Cascade bool
	// Params are user parameters by runtime, also for runtimes added
	// automatically; Add.Params take precedence.
	Params map[string]map[string]any
}

// Input is everything a plan depends on.
type Input struct {
	Target *spec.Target
	// Base is the target's base system (dpkg status); its packages are
	// never installed or removed.
	Base  *debian.Status
	State *state.State
	Lock  *lock.Lock
	// Catalog evaluates the manifests of runtimes to add; a plan that
	// only removes needs none (nil).
	Catalog Catalog
	// DebFiles, if set, lists the paths a locked .deb ships (from the
	// bundle), for the file-overlap check between packages.
	DebFiles func(ctx context.Context, p lock.Package) ([]string, error)
}
