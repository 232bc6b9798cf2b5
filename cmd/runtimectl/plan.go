//go:build !vm

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk/bundle"
	"github.com/runtimekit/runtimekit/sdk/debian"
	"github.com/runtimekit/runtimekit/sdk/host"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/targets"
)

type planFlags struct {
	add, remove, manifests, params []string
	target, statePath, lockPath    string
	bundleDir                      string
	noAuto, cascade, dot, steps    bool
	supervised                     bool // the runtimes added will run deployed apps
	out                            string
}

func (a *app) planCommand() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Plan adding and removing runtimes: validate the combination and write a step plan",
		Long: "Validate the runtimes wanted on the target as a whole (ports, files, services,\n" +
			"capabilities, conflicts, requirements, platform, memory and disk) and order the steps\n" +
			"that install and remove them. Without --state the target's base system is the start.\n" +
			"Without --lock the lock shipped for a built-in target is used.",
		Example: "  runtimectl plan --add nginx --add nextjs@^15 -o plan.json\n" +
			"  runtimectl plan --add deno --target debian12-amd64 --json\n" +
			"  runtimectl plan --remove python --state /var/lib/runtimekit/state.json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.makePlan(cmd.Context(), f)
			if err != nil {
				return err
			}
			if f.out != "" {
				b, err := p.Marshal()
				if err != nil {
					return err
				}
				// -o /dev/null discards and -o /dev/stdout prints, as in a
				// shell; only a regular file is replaced (atomically).
				if err := durable.WriteFile(cmd.Context(), f.out, b, 0o644); err != nil {
					return fmt.Errorf("write plan: %w", err)
				}
			}
			return a.printPlan(p, f.dot, f.steps)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.add, "add", nil, "runtime to add, optionally with a semver constraint: NAME or NAME@CONSTRAINT")
	fl.StringArrayVar(&f.remove, "remove", nil, "runtime to remove")
	fl.StringArrayVar(&f.manifests, "manifest", nil, "add a runtime straight from a manifest file (.cue or .json)")
	fl.StringArrayVarP(&f.params, "param", "p", nil, "set a runtime parameter: RUNTIME.NAME=VALUE (VALUE is JSON, or else a string)")
	fl.StringVar(&f.target, "target", targets.Default, "target profile: a built-in name (see `runtimectl targets`) or a CUE file")
	fl.StringVar(&f.statePath, "state", "", "the machine's state file (default: a machine with only the target's base system)")
	fl.StringVar(&f.lockPath, "lock", "", "lock file (default: the lock shipped for a built-in target)")
	fl.StringVar(&f.bundleDir, "bundle", "", "an offline bundle holding the plan's .debs: also check that no two packages ship one file")
	fl.BoolVar(&f.supervised, "for-apps", false, "the runtimes added will run deployed apps: install the supervisor (runit) with them")
	fl.BoolVar(&f.noAuto, "no-auto", false, "refuse instead of adding required runtimes automatically")
	fl.BoolVar(&f.cascade, "cascade", false, "also remove runtimes that require a removed one")
	fl.BoolVar(&f.dot, "dot", false, "print the step graph in Graphviz dot syntax")
	fl.BoolVar(&f.steps, "steps", false, "also list the steps")
	fl.StringVarP(&f.out, "output", "o", "", "write the plan (JSON) to this file")
	return cmd
}

func (a *app) makePlan(ctx context.Context, f planFlags) (*plan.Plan, error) {
	prof, err := targets.Load(ctx, f.target)
	if err != nil {
		return nil, err
	}
	var st *state.State
	if f.statePath != "" {
		s, exists, err := state.Load(f.statePath)
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, fmt.Errorf("state file %s does not exist", f.statePath)
		}
		if s.Target != "" && s.Target != prof.Name {
			return nil, fmt.Errorf("state %s is for target %s, not %s (use --target %s)", f.statePath, s.Target, prof.Name, s.Target)
		}
		st = s
	}
	l, err := loadLock(f.lockPath, prof)
	if err != nil {
		return nil, err
	}
	params, err := runtimeParams(f.params)
	if err != nil {
		return nil, err
	}
	h, err := a.getHost()
	if err != nil {
		return nil, err
	}
	cat := &host.Catalog{Host: h, Files: map[string]map[string][]byte{}}
	req := planner.Request{Remove: f.remove, NoAuto: f.noAuto, Cascade: f.cascade, Params: params}
	for _, path := range f.manifests {
		b, err := bounded.ReadFile(path, "a manifest", bounded.MaxManifest)
		if err != nil {
			return nil, fmt.Errorf("read manifest: %w", err)
		}
		files := map[string][]byte{path: b}
		m, err := manifest.LoadFiles(ctx, files, manifest.Options{})
		var ds manifest.Diagnostics
		if errors.As(err, &ds) {
			return nil, a.reportDiagnostics(ds)
		}
		if err != nil {
			return nil, err
		}
		cat.Files[m.Name] = files
		req.Add = append(req.Add, planner.Add{Name: m.Name})
	}
	for _, s := range f.add {
		name, constraint, _ := strings.Cut(s, "@")
		req.Add = append(req.Add, planner.Add{Name: name, Constraint: constraint, Supervised: f.supervised})
	}
	in := planner.Input{Target: prof.Target, Base: prof.Base, State: st, Lock: l, Catalog: cat}
	if f.bundleDir != "" {
		if in.DebFiles, err = bundleDebFiles(f.bundleDir); err != nil {
			return nil, err
		}
	}
	p, err := planner.Plan(ctx, in, req)
	var ds manifest.Diagnostics
	if errors.As(err, &ds) {
		fmt.Fprintln(a.stderr, "runtimectl: the plan is refused:")
		return nil, a.reportDiagnostics(ds)
	}
	return p, err
}

// loadLock reads --lock, or the lock shipped for a built-in target.
func loadLock(path string, prof *targets.Profile) (*lock.Lock, error) {
	if path == "" {
		// None for a profile from a file: runtimes with packages will be
		// refused with a hint to lock.
		return prof.ShippedLock()
	}
	l, err := lock.Read(path)
	if err != nil {
		return nil, err
	}
	if err := l.Fits(prof.LockTarget()); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return l, nil
}

// runtimeParams parses RUNTIME.NAME=VALUE flags.
func runtimeParams(flags []string) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for _, f := range flags {
		rt, rest, ok := strings.Cut(f, ".")
		if !ok {
			return nil, fmt.Errorf("parameter %q: want RUNTIME.NAME=VALUE", f)
		}
		p, err := parseParams([]string{rest})
		if err != nil {
			return nil, err
		}
		if out[rt] == nil {
			out[rt] = map[string]any{}
		}
		for k, v := range p {
			out[rt][k] = v
		}
	}
	return out, nil
}

// bundleDebFiles lists the paths a locked .deb ships, reading it from an
// offline bundle, for the planner's file-overlap check.
func bundleDebFiles(dir string) (func(ctx context.Context, p lock.Package) ([]string, error), error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, p lock.Package) ([]string, error) {
		f, ok := b.Lookup(p.SHA256)
		if !ok {
			return nil, fmt.Errorf("bundle %s has no %s %s (sha256 %s)", dir, p.Name, p.Version, p.SHA256)
		}
		d, err := debian.InspectDeb(ctx, b.Path(f))
		if err != nil {
			return nil, err
		}
		var paths []string
		for _, df := range d.Files {
			if !df.Mode.IsDir() {
				paths = append(paths, df.Path)
			}
		}
		return paths, nil
	}, nil
}
