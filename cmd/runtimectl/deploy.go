//go:build !vm

package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk/host"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/sdk/release"
	"github.com/runtimekit/runtimekit/sdk/spec"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
	"github.com/runtimekit/runtimekit/targets"
)

type deployFlags struct {
	app, runtime, envFile, target, statePath, out, bundleOut string
	env, secrets, from, allow                                []string
	keep                                                     int
}

func (a *app) deployCommand() *cobra.Command {
	var f deployFlags
	cmd := &cobra.Command{
		Use:   "deploy DIR -o PLAN --bundle DIR",
		Short: "Plan a new release of an app: its files, env and secrets, and its runtime if missing",
		Long: "deploy makes release N+1 of the app in DIR: the runtime that serves it (detected, or\n" +
			"--runtime) is added to the plan when the machine (--state) lacks it; the app's files\n" +
			"(minus .gitignore and .runtimekitignore patterns) and its env file go into the bundle,\n" +
			"only the files that changed since the machine's newest release. Applied in the VM, the\n" +
			"release starts beside the live one on its own port, and becomes live once healthy.\n\n" +
			"A secret's value is read from the environment variable of that name, or from a file\n" +
			"(--secret NAME=@FILE); it travels in the bundle only, never in the plan or the state.",
		Example: "  runtimectl deploy ./shop -o plan.json --bundle bundle\n" +
			"  runtimectl deploy ./shop --state state.json -e LOG_LEVEL=debug --secret API_KEY -o plan.json --bundle bundle",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runDeploy(cmd.Context(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.app, "app", "", "the app's name (default: the directory's name)")
	fl.StringVar(&f.runtime, "runtime", "", "the runtime that serves the app (default: detected)")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "set a variable: KEY=VALUE (repeatable)")
	fl.StringVar(&f.envFile, "env-file", "", "read variables from a file of KEY=VALUE lines")
	fl.StringArrayVar(&f.secrets, "secret", nil, "a secret variable: NAME (its value from $NAME) or NAME=@FILE (repeatable)")
	fl.StringArrayVar(&f.allow, "allow-native", nil, "let this npm package through although it has an install script or a compiled part (repeatable)")
	fl.IntVar(&f.keep, "keep", 0, fmt.Sprintf("releases to keep on the machine, the live one included (default %d)", state.DefaultKeep))
	fl.StringVar(&f.target, "target", targets.Default, "target profile: a built-in name (see `runtimectl targets`) or a CUE file")
	fl.StringVar(&f.statePath, "state", "", "the machine's state file (default: a machine with only the target's base system)")
	fl.StringVarP(&f.out, "output", "o", "", "write the plan (JSON) to this file (required)")
	fl.StringVar(&f.bundleOut, "bundle", "", "write the bundle (the release, its env file, the runtime's packages) to this directory (required)")
	fl.StringArrayVar(&f.from, "from", nil, "local directory to copy packages from before downloading (repeatable)")
	_ = cmd.MarkFlagRequired("output")
	_ = cmd.MarkFlagRequired("bundle")
	return cmd
}

func (a *app) runDeploy(ctx context.Context, dir string, f deployFlags) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	af, err := a.loadAppFile(ctx, dir)
	if err != nil {
		return err
	}
	name := cmp.Or(f.app, af.Name)
	if name == "" {
		name = strings.Trim(regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(strings.ToLower(filepath.Base(dir)), "-"), "-")
	}
	if why := state.CheckAppName(name); why != "" {
		return fmt.Errorf("app name: %s (give --app NAME)", why)
	}
	vars, secretKeys, err := deployEnv(f, af.Env)
	if err != nil {
		return err
	}
	h, err := a.getHost()
	if err != nil {
		return err
	}
	// The machine.
	prof, err := targets.Load(ctx, f.target)
	if err != nil {
		return err
	}
	st := state.New(prof.Name)
	if f.statePath != "" {
		s, exists, err := state.Load(f.statePath)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("state file %s does not exist", f.statePath)
		}
		st = s
	}

	// The runtime (given, the one the app is deployed on, or detected),
	// and what it suggests for this app.
	runtime, params := cmp.Or(f.runtime, af.Runtime), map[string]any{}
	if ap, ok := st.App(name); ok && runtime == "" {
		runtime = ap.Runtime
	}
	var derr error
	if runtime != "" {
		var d *host.Detection
		d, err := h.DetectOne(ctx, runtime, dir)
		if err != nil {
			return fmt.Errorf("runtime %s: %w", runtime, err)
		}
		if d != nil {
			params = d.Params
		}
	} else {
		var found []host.Detection
		found, derr = h.Detect(ctx, dir)
		if len(found) > 0 {
			runtime, params = found[0].Runtime, found[0].Params
		}
	}
	if runtime == "" {
		if derr != nil {
			return fmt.Errorf("no runtime recognises %s (%v): give --runtime NAME", dir, derr)
		}
		return fmt.Errorf("no runtime recognises %s: give --runtime NAME (runtimectl plugins lists them)", dir)
	}
	cat := &host.Catalog{Host: h, Files: map[string]map[string][]byte{}}
	appParams := map[string]any{}
	for k, v := range params {
		appParams[k] = v
	}
	for k, v := range af.Params {
		appParams[k] = v
	}
	// App mode: the runtime's parameters app (and port, if it has one).
	m0, err := cat.Manifest(ctx, runtime, nil)
	if err != nil {
		return fmt.Errorf("runtime %s for app %s: %w", runtime, name, err)
	}
	declared := map[string]bool{}
	for _, p := range m0.Params {
		declared[p.Name] = true
	}
	if !declared["app"] {
		return fmt.Errorf("runtime %s declares no service for an app (it has no parameter app): it cannot serve deployed apps; give --runtime NAME of one that does (runtimectl manifest show NAME lists its parameters)", runtime)
	}
	appParams["app"] = state.AppDir(name) + "/current"
	if declared["port"] {
		appParams["port"] = planner.FirstAppPort
	}
	for k := range appParams {
		if !declared[k] {
			return fmt.Errorf("%s: runtime %s has no parameter %s (it has %s)", cmp.Or(appFileName(dir), "the detected parameters"), runtime, k, strings.Join(slices.Sorted(maps.Keys(declared)), ", "))
		}
	}
	m, err := cat.Manifest(ctx, runtime, appParams)
	if err != nil {
		return fmt.Errorf("runtime %s for app %s: %w", runtime, name, err)
	}
	procs, health, err := appUnits(m, appParams["app"].(string))
	if err != nil {
		return err
	}
	if pf, err := release.ReadProcfile(dir); err != nil {
		return err
	} else if len(pf) > 0 {
		if pf[0].Name != "web" {
			return fmt.Errorf("%s/Procfile has no web process, which serves $PORT", dir)
		}
		for i := range pf {
			pf[i].Env = procs[0].Env
		}
		procs = pf
	}
	if len(af.Processes) > 0 {
		if af.Processes["web"] == "" {
			return fmt.Errorf("%s: processes has no web process, which serves $PORT", appFileName(dir))
		}
		env := procs[0].Env
		procs = nil
		for _, n := range slices.Sorted(maps.Keys(af.Processes)) {
			p := state.Process{Name: n, Argv: []string{"/bin/sh", "-c", "exec " + af.Processes[n]}, Env: env}
			if n == "web" {
				procs = append([]state.Process{p}, procs...)
			} else {
				procs = append(procs, p)
			}
		}
	}
	if h := af.Health; h != nil {
		health.Kind, health.Path, health.Status = unit.HealthKind(h.Kind), h.Path, h.Status
		if health.Kind == state.HealthHTTP && health.Status == 0 {
			health.Status = 200
		}
	}

	// The runtime added when the machine lacks it.
	pf := planFlags{target: f.target, statePath: f.statePath}
	var base *plan.Plan
	if _, ok := st.Runtime(runtime); !ok {
		pf.add, pf.supervised = []string{runtime}, true
		if base, err = a.makePlan(ctx, pf); err != nil {
			return err
		}
	}

	// The release's files: the app directory, node_modules built for
	// the target when a package-lock.json says how.
	work, err := os.MkdirTemp("", "runtimekit-deploy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	tree, err := release.Walk(dir, af.Ignore)
	if err != nil {
		return err
	}
	// A secret or env file kept in the app directory is read, not shipped.
	secretFiles := []string{}
	if f.envFile != "" {
		secretFiles = append(secretFiles, f.envFile)
	}
	for _, s := range f.secrets {
		if _, file, ok := strings.Cut(s, "=@"); ok {
			secretFiles = append(secretFiles, file)
		}
	}
	if dropped := tree.Drop(secretFiles...); len(dropped) > 0 {
		fmt.Fprintf(a.stderr, "not shipped as app files: %s (read for --env-file or --secret)\n", strings.Join(dropped, ", "))
	}
	if err := buildDeps(ctx, a, dir, tree, f.allow, work); err != nil {
		return err
	}
	var pkgs []lock.Package
	if base == nil && !supervisorInstalled(st, prof) {
		// The runtime was installed without services: the app's need
		// runit, from the target's shipped lock.
		l, err := prof.ShippedLock()
		if err != nil {
			return err
		}
		if l.Supervisor == nil {
			return fmt.Errorf("target %s has no supervisor (runit) in its lock: lock the target again", prof.Name)
		}
		for _, q := range l.Supervisor.Packages {
			if !baseHas(prof, q.Name) {
				pkgs = append(pkgs, q)
			}
		}
	}
	if slices.ContainsFunc(m.Provides, func(c spec.Capability) bool { return c.Name == "python" }) {
		py, err := a.appPackages(ctx, dir, prof, st, base)
		if err != nil {
			return err
		}
		pkgs = append(pkgs, py...)
	}
	prev := planner.Newest(st, name)
	linked, fresh := planner.Link(prev, tree.Files)
	d := planner.Deploy{App: name, Runtime: runtime, RuntimeVersion: m.Version, Processes: procs, Health: health,
		Files: tree.Files, Linked: linked, Keep: cmp.Or(f.keep, af.Keep), MemoryMiB: max(m.Resources.MemoryMiB, 32),
		BudgetMiB: prof.Target.Budget.MemoryMiB, Created: time.Now(), Secrets: secretKeys, Packages: pkgs}
	if prev != nil && len(linked) > 0 {
		d.Base = prev.Number
	}
	for k := range vars {
		if !slices.Contains(secretKeys, k) {
			d.Env = append(d.Env, k)
		}
	}
	sort.Strings(d.Env)
	n := 1
	if ap, ok := st.App(name); ok && len(ap.Releases) > 0 {
		n = ap.Releases[len(ap.Releases)-1].Number + 1
	}
	version := fmt.Sprint(n)
	if len(fresh) > 0 {
		var buf bytes.Buffer
		if err := tree.WriteTar(&buf, fresh); err != nil {
			return err
		}
		d.Tar, d.TarSize = sha(buf.Bytes()), int64(buf.Len())
		if err := os.WriteFile(filepath.Join(work, "release-"+name+"-"+version+".tar"), buf.Bytes(), 0o600); err != nil {
			return err
		}
	}
	if len(vars) > 0 {
		// The file's digest is in the plan and the state, which are not
		// secret: a random first line keeps a short secret from being
		// found by hashing guesses of it.
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return err
		}
		b := append([]byte("# runtimekit env file, salt "+hex.EncodeToString(salt)+"\n"), release.EnvFileBytes(vars)...)
		d.EnvSHA256, d.EnvSize = sha(b), int64(len(b))
		if err := os.WriteFile(filepath.Join(work, "env-"+name+"-"+version), b, 0o600); err != nil {
			return err
		}
	}
	p, err := planner.PlanDeploy(st, base, planTarget(prof), d)
	if err != nil {
		return err
	}
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	if _, err := plan.Parse(b); err != nil {
		return fmt.Errorf("the deploy plan is refused: %w", err)
	}
	if err := durable.WriteFile(ctx, f.out, b, 0o644); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	if err := a.runBundle(ctx, bundleFlags{planFile: f.out, out: f.bundleOut, from: append([]string{work}, f.from...), parallel: 4}); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "release %d of %s on %s: %d files, %d in the bundle (%d linked from release %d); env %s%s\n",
		n, name, runtime, len(tree.Files), len(fresh), len(linked), d.Base, orNone(strings.Join(d.Env, " ")), secretsNote(secretKeys))
	fmt.Fprintf(a.stderr, "plan written to %s, bundle to %s. Next: copy both into the VM and run\n  runtimectl apply %s --bundle %s\n",
		f.out, f.bundleOut, filepath.Base(f.out), filepath.Base(f.bundleOut))
	return nil
}

// appFileName is the app file of dir that exists, CUE first.
func appFileName(dir string) string {
	for _, n := range []string{"runtimekit.app.cue", "runtimekit.app.json"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return filepath.Join(dir, n)
		}
	}
	return ""
}

// loadAppFile reads dir's app file (schema/app.cue's #App), if it has
// one; a mistake in it is reported as a manifest's are.
func (a *app) loadAppFile(ctx context.Context, dir string) (*spec.AppFile, error) {
	name := appFileName(dir)
	if name == "" {
		return &spec.AppFile{}, nil
	}
	b, err := bounded.ReadFile(name, "an app file", bounded.MaxManifest)
	if err != nil {
		return nil, err
	}
	af, err := manifest.LoadApp(ctx, map[string][]byte{name: b})
	var ds manifest.Diagnostics
	if errors.As(err, &ds) {
		fmt.Fprintln(a.stderr, "runtimectl: the app file is refused:")
		return nil, a.reportDiagnostics(ds)
	}
	return af, err
}

// supervisorInstalled reports whether the machine has runit: in its base
// system, or installed for a runtime or an app.
func supervisorInstalled(st *state.State, prof *targets.Profile) bool {
	if baseHas(prof, "runit") {
		return true
	}
	for _, rt := range st.Runtimes {
		if slices.ContainsFunc(rt.Packages, func(p state.Package) bool { return p.Name == "runit" }) {
			return true
		}
	}
	for _, a := range st.Apps {
		if slices.ContainsFunc(a.Packages, func(p state.Package) bool { return p.Name == "runit" }) {
			return true
		}
	}
	return false
}

func baseHas(prof *targets.Profile, name string) bool {
	if prof.Base != nil {
		for _, p := range prof.Base.Installed() {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

// appUnits are the processes and health check of the runtime's manifest
// in app mode: the services it declares with the app directory as their
// working directory, the first of them the web process.
func appUnits(m *spec.Manifest, appDir string) ([]state.Process, state.HealthCheck, error) {
	var procs []state.Process
	var health state.HealthCheck
	ports := m.PortNumbers()
	for _, s := range m.Services {
		if s.Workdir != appDir {
			continue
		}
		svc := m.ResolveService(s)
		env := map[string]string{}
		for k, v := range svc.Env {
			if k != "PORT" {
				env[k] = v
			}
		}
		pname := "web"
		if len(procs) > 0 {
			pname = strings.TrimPrefix(s.Name, m.Name+"-")
		}
		procs = append(procs, state.Process{Name: pname, Argv: svc.Argv, Env: env})
		if len(procs) == 1 {
			for _, hc := range m.Health {
				if hc.Service == s.Name {
					health = hc.Resolve(ports)
					break
				}
			}
		}
	}
	if len(procs) == 0 {
		return nil, health, fmt.Errorf("runtime %s declares no service for an app (a service whose workdir is params.app): it cannot serve deployed apps", m.Name)
	}
	if health.Kind == "" {
		health = state.HealthCheck{Kind: state.HealthTCP}
	}
	health.Interval, health.Timeout, health.Retries = nonZero(health.Interval, time.Second), nonZero(health.Timeout, 2*time.Second), max(health.Retries, 3)
	if health.StartPeriod == 0 {
		health.StartPeriod = unit.Duration(10 * time.Second)
	}
	return procs, health, nil
}

// deployEnv is the release's variables (the app file's, then --env-file,
// then -e, then the secrets) and the names of the secrets among them.
func deployEnv(f deployFlags, fromAppFile map[string]string) (map[string]string, []string, error) {
	vars := maps.Clone(fromAppFile)
	if vars == nil {
		vars = map[string]string{}
	}
	if f.envFile != "" {
		v, err := release.ReadEnvFile(f.envFile)
		if err != nil {
			return nil, nil, err
		}
		maps.Copy(vars, v)
	}
	for _, kv := range f.env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, nil, fmt.Errorf("-e %q: give KEY=VALUE (a secret goes in --secret NAME, read from $NAME)", kv)
		}
		if why := release.CheckEnvName(k); why != "" {
			return nil, nil, fmt.Errorf("-e %s: %s", kv, why)
		}
		vars[k] = v
	}
	var secrets []string
	for _, s := range f.secrets {
		k, file, fromFile := strings.Cut(s, "=@")
		if !fromFile && strings.Contains(s, "=") {
			return nil, nil, errors.New("--secret takes a NAME (its value from $NAME) or NAME=@FILE, never the value itself")
		}
		if why := release.CheckEnvName(k); why != "" {
			return nil, nil, fmt.Errorf("--secret %s: %s", k, why)
		}
		var v string
		if fromFile {
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, nil, fmt.Errorf("--secret %s: %w", k, err)
			}
			v = strings.TrimRight(string(b), "\n")
		} else {
			var ok bool
			if v, ok = os.LookupEnv(k); !ok {
				return nil, nil, fmt.Errorf("--secret %s: the environment has no variable %s to read it from (export it, or give %s=@FILE)", k, k, k)
			}
		}
		vars[k] = v
		secrets = append(secrets, k)
	}
	sort.Strings(secrets)
	return vars, secrets, nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
