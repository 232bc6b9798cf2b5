package planner_test

import (
	"context"
	"fmt"

	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/sdk/spec"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// Plan the removal of an installed runtime from the machine's state alone,
// as `runtimectl remove` does in the VM: a removal needs no plugin, only
// the state, the target and the lock.
func Example_remove() {
	target := &spec.Target{Name: "webvm-i386", OS: "linux", Arch: "386",
		Debian: spec.DebianSuite{Release: "bookworm", Version: "12"}, Budget: spec.TargetBudget{MemoryMiB: 512, DiskMiB: 2048}}
	page := unit.File{Path: "/srv/web/index.html", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Mode: 0o644, Owner: "root", Group: "root", Kind: unit.FileManaged}
	st := &state.State{FormatVersion: state.FormatVersion, Lineage: "0123456789abcdef0123456789abcdef", Serial: 3, Target: "webvm-i386",
		Runtimes: []state.Runtime{{Name: "web", Version: "1.0.0", Files: []state.File{page},
			Services: []state.Service{{Name: "web", Argv: []string{"/usr/bin/web"}, User: "nobody", Restart: unit.RestartAlways,
				StopSignal: "TERM", StopTimeout: unit.Duration(5e9)}}}}}
	l := &lock.Lock{FormatVersion: lock.FormatVersion, Target: lock.Target{Name: "webvm-i386", Arch: "386", DebianArch: "i386", Release: "bookworm"}}

	p, err := planner.Plan(context.Background(), planner.Input{Target: target, State: st, Lock: l}, planner.Request{Remove: []string{"web"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("made against serial", p.State.Serial)
	for _, s := range p.Steps {
		fmt.Println(s.ID)
	}
	// Output:
	// made against serial 3
	// stop-service:web
	// remove-service:web
	// remove-file:/srv/web/index.html
	// record-state
}
