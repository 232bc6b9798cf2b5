package planner_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/targets"
)

// TestOddParamsPlanOrRefuse gives every parameter of the five built-in
// runtimes odd values, each of which the parameter's own constraint may
// or may not allow: a newline and nginx directives, NULs, '=', a leading
// '-', unclean and reserved paths, ports at and beyond the edges. Every
// plan made must pass plan.Parse (so apply cannot refuse it for a reason
// planning could have found), and every refusal must name the runtime and
// the parameter, not a step.
func TestOddParamsPlanOrRefuse(t *testing.T) {
	if testing.Short() {
		t.Skip("plans a few hundred combinations")
	}
	ctx := context.Background()
	cat := builtins(t)
	odd := []any{
		"", "/", "relative", "/srv//app", "/srv/app/", "/srv/app\n}\nserver { listen 9; }", "/srv/my app", "/srv/a;b",
		"/srv/a\x00b", "A=1", "-e", "/var/lib/dpkg", "/etc", "/etc/passwd", "/usr/local/bin", "/proc/self", "/srv/Upper",
		"/" + strings.Repeat("x", 5000), -1, 0, 80, 1023, 1024, 65535, 65536, 3.5, true,
	}
	profiles := map[string]*targets.Profile{}
	locks := map[string]*lock.Lock{}
	for _, name := range []string{"webvm-i386", "debian12-amd64"} {
		prof, err := targets.Load(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := targets.Lock(name)
		l, err := lock.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		profiles[name], locks[name] = prof, l
	}
	planned, refused := 0, 0
	for _, rt := range []string{"nginx", "node", "python", "nextjs", "deno"} {
		target := "webvm-i386"
		if rt == "deno" {
			target = "debian12-amd64" // no i386 build
		}
		in := planner.Input{Target: profiles[target].Target, Base: profiles[target].Base, Lock: locks[target], Catalog: cat}
		m, err := cat.Manifest(ctx, rt, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, param := range m.Params {
			for _, v := range odd {
				name := fmt.Sprintf("%s.%s=%q", rt, param.Name, fmt.Sprint(v))
				if len(name) > 80 {
					name = name[:80]
				}
				p, err := planner.Plan(ctx, in, planner.Request{Add: []planner.Add{{Name: rt, Params: map[string]any{param.Name: v}}}})
				var ds manifest.Diagnostics
				switch {
				case errors.As(err, &ds):
					refused++
					if want := rt + "." + param.Name; !strings.Contains(ds.Error(), want) {
						t.Errorf("%s: refused without naming %s:\n%v", name, want, ds)
					}
				case err != nil:
					t.Errorf("%s: %v", name, err)
				default:
					planned++
					b, err := p.Marshal()
					if err != nil {
						t.Fatal(err)
					}
					if _, err := plan.Parse(b); err != nil {
						t.Errorf("%s: the plan made does not parse: %v", name, err)
					}
				}
			}
		}
	}
	t.Logf("%d plans made, %d refused", planned, refused)
	if planned == 0 || refused == 0 {
		t.Errorf("%d planned, %d refused: want some of each", planned, refused)
	}
}

// TestParamCausesNamed: a value a parameter's constraint allows but the
// rules refuse (here a working directory with a newline) is reported at
// the manifest value, naming the parameter; one its constraint refuses is
// one diagnostic about the parameter, and no other.
func TestParamCausesNamed(t *testing.T) {
	prof, l := webvm(t)
	in := planner.Input{Target: prof.Target, Base: prof.Base, Lock: l, Catalog: builtins(t)}
	ctx := context.Background()

	_, err := planner.Plan(ctx, in, planner.Request{Add: []planner.Add{{Name: "node", Params: map[string]any{"app": "/srv/app\n"}}}})
	ds := wantDiag(t, err, `service node-app: the working directory "/srv/app\n" contains a newline (from parameter node.app)`)
	if len(ds) != 1 || ds[0].Path != "/services/0/workdir" || !strings.HasSuffix(ds[0].Pos.File, "manifest.cue") {
		t.Errorf("want one diagnostic at the service's workdir in the manifest, got:\n%v", ds)
	}

	_, err = planner.Plan(ctx, in, planner.Request{Add: []planner.Add{{Name: "nginx", Params: map[string]any{"root": "/srv/www\n}\nserver { listen 9; }"}}}})
	ds = wantDiag(t, err, `parameter nginx.root: "/srv/www\n}\nserver { listen 9; }" is not allowed: it must be`)
	if len(ds) != 1 || ds[0].Path != "/params/root" {
		t.Errorf("want the parameter's diagnostic alone, got:\n%v", ds)
	}

	_, err = planner.Plan(ctx, in, planner.Request{Add: []planner.Add{{Name: "nginx", Params: map[string]any{"root": "/var/lib/dpkg"}}}})
	wantDiag(t, err, "/var/lib/dpkg/index.html lies in /var/lib/dpkg (dpkg's database), where plans may not write (from parameter nginx.root)")

	_, err = planner.Plan(ctx, in, planner.Request{Add: []planner.Add{{Name: "node", Params: map[string]any{"app": "/srv/app", "port": 80}}}})
	wantDiag(t, err, "parameter node.port: 80 is not allowed")
}

// TestStateCannotWidenThePlan: what a hand-written state claims does not
// let a plan remove base-system packages or files that are not runtimes'
// to remove.
func TestStateCannotWidenThePlan(t *testing.T) {
	prof, l := webvm(t)
	in := planner.Input{Target: prof.Target, Base: prof.Base, Lock: l, Catalog: builtins(t)}
	ctx := context.Background()
	claims := &state.State{FormatVersion: 1, Lineage: strings.Repeat("c", 32), Serial: 3, Target: prof.Name, Runtimes: []state.Runtime{{
		Name: "evil", Version: "1.0.0", MemoryMiB: 1,
		Packages: []state.Package{{Name: "dpkg", Version: "1.21.22", Arch: "i386"}, {Name: "libc6", Version: "2.36-9+deb12u7", Arch: "i386"},
			{Name: "base-files", Version: "12.4+deb12u5", Arch: "i386"}, {Name: "perl-base", Version: "5.36.0-7+deb12u1", Arch: "i386"},
			{Name: "tool", Version: "1.0", Arch: "i386"}},
	}}}
	in.State = claims
	p, err := planner.Plan(ctx, in, planner.Request{Remove: []string{"evil"}})
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, s := range p.Steps {
		if in, ok := s.Inputs.(*plan.RemovePackages); ok {
			for _, q := range in.Packages {
				removed = append(removed, q.Name)
			}
		}
	}
	if strings.Join(removed, " ") != "tool" {
		t.Errorf("removed %v, want only tool", removed)
	}
	notes := strings.Join(p.Summary.Notes, "\n")
	for _, n := range []string{"base-files", "dpkg", "libc6", "perl-base"} {
		if !strings.Contains(notes, "package "+n+" stays: it is Essential or part of the base system (the state lists it for evil)") {
			t.Errorf("no note that %s stays:\n%s", n, notes)
		}
	}

	// A state claiming an account file: removing the runtime is refused,
	// naming the installed runtime.
	claims.Runtimes[0].Packages = nil
	claims.Runtimes[0].Files = []state.File{{Path: "/etc/passwd", SHA256: strings.Repeat("d", 64), Mode: 0o644, Owner: "root", Group: "root", Kind: "managed"}}
	_, err = planner.Plan(ctx, in, planner.Request{Remove: []string{"evil"}})
	ds := wantDiag(t, err, "evil: /etc/passwd is one of the system's account files, which plans may not write or remove")
	if ds[0].Pos.File != "installed runtime evil" {
		t.Errorf("diagnostic at %s, want the installed runtime", ds[0].Pos)
	}
}

// TestRootMustBeExplicit: a service without a user is refused (there is
// no default), and one that says root plans, marked in the summary.
func TestRootMustBeExplicit(t *testing.T) {
	sv := &lock.Lock{Target: lock.Target{Name: "t"}, Supervisor: &lock.Runtime{Name: "supervisor"}}
	cat := mapCatalog{
		"implicit": rt("implicit", `services: [{name: "implicit", argv: ["/bin/true"]}]`),
		"explicit": rt("explicit", `services: [{name: "explicit", argv: ["/bin/true"], user: "root"}]
health: [{name: "probe", kind: "exec", exec: {argv: ["/bin/true"], user: "root"}}, {name: "plain", kind: "exec", exec: argv: ["/bin/true"]}]`),
	}
	in := planner.Input{Target: smallTarget(), Lock: sv, Catalog: cat}
	_, err := planner.Plan(context.Background(), in, planner.Request{Add: adds("implicit")})
	wantDiag(t, err, "missing required value services.0.user")

	p, err := planner.Plan(context.Background(), in, planner.Request{Add: adds("explicit")})
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{}
	for _, s := range p.Steps {
		if in, ok := s.Inputs.(*plan.WaitHealth); ok {
			users[in.Health.Name] = in.Health.User
		}
	}
	if users["probe"] != "root" || users["plain"] != "nobody" {
		t.Errorf("exec check users %v, want probe as root and plain as nobody (the default)", users)
	}
	var out strings.Builder
	if err := p.Render(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Services: explicit (as root)", "As root: health check explicit/probe"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}
