package planner

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
	u "github.com/runtimekit/runtimekit/sdk/unit"
)

var deployTarget = plan.Target{Name: "webvm-i386", OS: "linux", Arch: "386", DebianArch: "i386", Release: "bookworm"}

func nodeMachine() *state.State {
	st := state.New("webvm-i386")
	st.Lineage, st.Serial = strings.Repeat("a", 32), 1
	st.Runtimes = []state.Runtime{{Name: "node", Version: "18.19.0", MemoryMiB: 48,
		Ports: []state.Port{{Name: "debug", Number: 8100, Protocol: "tcp"}}}}
	return st
}

func helloDeploy(content string) Deploy {
	return Deploy{App: "hello", Runtime: "node", RuntimeVersion: "18.19.0",
		Processes: []state.Process{{Name: "web", Argv: []string{"/usr/bin/node", "server.js"}, Env: map[string]string{"NODE_ENV": "production"}}},
		Health:    state.HealthCheck{Kind: state.HealthTCP, Interval: u.Duration(time.Second), Timeout: u.Duration(time.Second), Retries: 3},
		Files: []state.ReleaseFile{
			{Path: "package.json", Mode: 0o644, Size: 2, SHA256: strings.Repeat("1", 64)},
			{Path: "server.js", Mode: 0o644, Size: int64(len(content)), SHA256: strings.Repeat(content, 64)[:64]},
		},
		Tar: strings.Repeat("f", 64), TarSize: 10240, Env: []string{"GREETING"}, Secrets: []string{"TOKEN"},
		EnvSHA256: strings.Repeat("e", 64), EnvSize: 30, MemoryMiB: 48, BudgetMiB: 512}
}

// apply records the plan's state as the machine's, as the executor would.
func applyRecord(t *testing.T, st *state.State, p *plan.Plan) *state.State {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Parse(b); err != nil {
		t.Fatalf("the plan is refused: %v\n%s", err, b)
	}
	rec := p.Steps[len(p.Steps)-1].Inputs.(*plan.RecordState)
	next := *st
	next.Serial++
	next.Runtimes, next.Apps = rec.Runtimes, rec.Apps
	if err := next.Validate(); err != nil {
		t.Fatalf("the recorded state is invalid: %v", err)
	}
	return &next
}

func ids(p *plan.Plan) []string {
	var out []string
	for _, s := range p.Steps {
		out = append(out, s.ID)
	}
	return out
}

func TestPlanDeployReleases(t *testing.T) {
	st := nodeMachine()
	p, err := PlanDeploy(st, nil, deployTarget, helloDeploy("a"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"verify-bundle", "install-release:hello/1", "install-service:hello-web-r1", "start-service:hello-web-r1",
		"wait-health:hello/hello-web-r1", "switch-release:hello/1", "record-state"}
	if got := ids(p); !slices.Equal(got, want) {
		t.Fatalf("first deploy steps:\n%v\nwant\n%v", got, want)
	}
	st = applyRecord(t, st, p)
	a, _ := st.App("hello")
	// 8100 is node's: the app's ports start above it; keep 3 gives 4.
	if !slices.Equal(a.Ports, []int{8101, 8102, 8103, 8104}) || a.Live != 1 || a.Port != 8101 || a.User != "app-hello" {
		t.Fatalf("app after the first deploy: %+v", a)
	}
	svc := a.Services[0]
	if svc.Env["PORT"] != "8101" || svc.EnvFile != "/srv/apps/hello/env/1" || svc.User != "app-hello" || svc.Workdir != "/srv/apps/hello/releases/1" {
		t.Errorf("release 1's service: %+v", svc)
	}
	if hc := a.Health[0]; hc.Port != 8101 || hc.Interval.Std() != SwitchPoll || hc.Retries != 15 {
		t.Errorf("release 1's check probes every %s, %d retries, port %d; want %s, the failure window of 3 x 1s, 8101", hc.Interval, hc.Retries, hc.Port, SwitchPoll)
	}

	// Redeploys: side by side, the old stopped after the switch, and
	// the fourth release removes the first.
	for n := 2; n <= 4; n++ {
		d := helloDeploy(string(rune('a' + n)))
		prev := Newest(st, "hello")
		linked, fresh := Link(prev, d.Files)
		if len(fresh) != 1 || fresh[0].Path != "server.js" || linked["package.json"] != "package.json" {
			t.Fatalf("release %d: linked %v, fresh %v", n, linked, fresh)
		}
		d.Linked, d.Base = linked, prev.Number
		p, err := PlanDeploy(st, nil, deployTarget, d)
		if err != nil {
			t.Fatal(err)
		}
		got := ids(p)
		at := func(id string) int { return slices.Index(got, id) }
		old := "hello-web-r" + string(rune('0'+n-1))
		sw := "switch-release:hello/" + string(rune('0'+n))
		if at("stop-service:"+old) < at(sw) || at(sw) < at("wait-health:hello/hello-web-r"+string(rune('0'+n))) {
			t.Errorf("release %d: the old release stops before the switch, or the switch comes before the health check: %v", n, got)
		}
		if (n == 4) != (at("remove-release:hello/1") > at(sw)) {
			t.Errorf("release %d: steps %v (release 1 goes with release 4 only, after the switch)", n, got)
		}
		st = applyRecord(t, st, p)
	}
	a, _ = st.App("hello")
	var kept []int
	ports := map[int]bool{}
	for _, r := range a.Releases {
		kept = append(kept, r.Number)
		ports[r.Port] = true
	}
	if !slices.Equal(kept, []int{2, 3, 4}) || a.Live != 4 || len(ports) != 3 {
		t.Errorf("after 4 deploys: kept %v, live %d, %d distinct ports; want [2 3 4], 4, 3", kept, a.Live, len(ports))
	}

	// Rollback to 2: started beside 4, switched, 4 stopped.
	p, err = PlanRollback(st, deployTarget, "hello", 2, 512)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(p); got[0] != "install-service:hello-web-r2" || !slices.Contains(got, "stop-service:hello-web-r4") {
		t.Errorf("rollback steps: %v", got)
	}
	if _, err := PlanRollback(st, deployTarget, "hello", 1, 512); err == nil || !strings.Contains(err.Error(), "kept releases are [2 3 4]") {
		t.Errorf("rollback to a collected release: %v", err)
	}
	if _, err := PlanRollback(st, deployTarget, "hello", 4, 512); err == nil || !strings.Contains(err.Error(), "live already") {
		t.Errorf("rollback to the live release: %v", err)
	}
}

func TestPlanDeployTightMemory(t *testing.T) {
	st := nodeMachine()
	p, err := PlanDeploy(st, nil, deployTarget, helloDeploy("a"))
	if err != nil {
		t.Fatal(err)
	}
	st = applyRecord(t, st, p)
	d := helloDeploy("b")
	d.BudgetMiB = 120 // node 48 + two releases of 48 do not fit
	p, err = PlanDeploy(st, nil, deployTarget, d)
	if err != nil {
		t.Fatal(err)
	}
	got := ids(p)
	if slices.Index(got, "stop-service:hello-web-r1") > slices.Index(got, "start-service:hello-web-r2") {
		t.Errorf("tight memory: the old release must stop before the new one starts: %v", got)
	}
	if notes := strings.Join(p.Summary.Notes, "\n"); !strings.Contains(notes, "cannot run releases 1 and 2 side by side") {
		t.Errorf("the plan does not say the app is down meanwhile: %q", notes)
	}
}

func TestPlanDeployKeepsSecretsOut(t *testing.T) {
	p, err := PlanDeploy(nodeMachine(), nil, deployTarget, helloDeploy("a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The plan names the variables and the env file's digest only.
	if !strings.Contains(string(b), `"secrets": [`) || !strings.Contains(string(b), `"kind": "env"`) {
		t.Errorf("the plan does not name the secrets or carry the env file:\n%s", b)
	}
	if _, err := PlanDeploy(nodeMachine(), nil, deployTarget, Deploy{App: "x", Runtime: "python", Processes: helloDeploy("a").Processes}); err == nil || !strings.Contains(err.Error(), "python is not installed") {
		t.Errorf("a deploy on a missing runtime: %v", err)
	}
}

func TestPlanRemoveApp(t *testing.T) {
	st := nodeMachine()
	d := helloDeploy("a")
	p, err := PlanDeploy(st, nil, deployTarget, d)
	if err != nil {
		t.Fatal(err)
	}
	st = applyRecord(t, st, p)
	p, err = PlanRemoveApp(st, deployTarget, "hello", []string{"runit"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"switch-release:hello/0", "stop-service:hello-web-r1", "remove-service:hello-web-r1", "remove-release:hello/1", "record-state"}
	if got := ids(p); !slices.Equal(got, want) {
		t.Errorf("remove app steps %v, want %v", got, want)
	}
	if st = applyRecord(t, st, p); len(st.Apps) != 0 || len(st.Runtimes) != 1 {
		t.Errorf("after removing the app: %+v", st)
	}
}

func TestPlanDeployRefusals(t *testing.T) {
	st := nodeMachine()
	d := helloDeploy("a")
	d.Keep = -1
	if _, err := PlanDeploy(st, nil, deployTarget, d); err == nil || !strings.Contains(err.Error(), "Keep 1 to 20") {
		t.Errorf("keep -1: %v", err)
	}
	d = helloDeploy("a")
	d.App = "shop-"
	if _, err := PlanDeploy(st, nil, deployTarget, d); err == nil || !strings.Contains(err.Error(), "single dashes") {
		t.Errorf("app name shop-: %v", err)
	}
	// A runtime's service of the name release 1's web process would take.
	st.Runtimes[0].Services = []state.Service{{Name: "hello-web-r1", Argv: []string{"/bin/true"}, User: "nobody", Restart: "always", StopSignal: "TERM"}}
	if _, err := PlanDeploy(st, nil, deployTarget, helloDeploy("a")); err == nil || !strings.Contains(err.Error(), "is runtime node's already") {
		t.Errorf("a service name clash: %v", err)
	}
	// A crafted plan with a release path out of the app is refused.
	p, err := PlanDeploy(nodeMachine(), nil, deployTarget, helloDeploy("a"))
	if err != nil {
		t.Fatal(err)
	}
	p.Steps[1].Inputs.(*plan.InstallRelease).Release.Files[0].Path = "../../../../etc/shadow"
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Parse(b); err == nil || !strings.Contains(err.Error(), "etc/shadow") {
		t.Errorf("a release path out of the app: %v", err)
	}
}
