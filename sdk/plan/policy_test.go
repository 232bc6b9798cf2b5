package plan_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
	"github.com/runtimekit/runtimekit/targets"
)

func golden(t *testing.T, name string) *plan.Plan {
	t.Helper()
	b, err := os.ReadFile("../planner/testdata/golden/webvm-i386-" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func step(t *testing.T, p *plan.Plan, id string) *plan.Step {
	t.Helper()
	for i := range p.Steps {
		if p.Steps[i].ID == id {
			return &p.Steps[i]
		}
	}
	t.Fatalf("no step %s", id)
	return nil
}

// writeFile makes the write-file step s write path instead, renamed (and
// so needed) accordingly.
func writeFile(p *plan.Plan, s *plan.Step, path string) {
	s.Inputs.(*plan.WriteFile).File.Path = path
	rename(p, s, "write-file:"+path)
}

// file is the file a write-file step writes.
func file(s *plan.Step) *plan.File { return &s.Inputs.(*plan.WriteFile).File }

// svc is the service an install-service step installs.
func svc(s *plan.Step) *state.Service { return &s.Inputs.(*plan.InstallService).Service }

// health is the check a wait-health step waits for.
func health(s *plan.Step) *state.HealthCheck { return &s.Inputs.(*plan.WaitHealth).Health }

func rename(p *plan.Plan, s *plan.Step, id string) {
	for i := range p.Steps {
		for j, n := range p.Steps[i].Needs {
			if n == s.ID {
				p.Steps[i].Needs[j] = id
			}
		}
	}
	s.ID = id
}

type found struct{ Step, Field, Reason string }

// TestPolicy changes one value of a valid plan and wants exactly the
// problems listed, each naming the step and the field; the reason is
// matched by substring.
func TestPolicy(t *testing.T) {
	const conf = "write-file:/etc/runtimekit/nginx/nginx.conf"
	tests := []struct {
		name   string
		plan   string
		change func(t *testing.T, p *plan.Plan)
		want   []found
	}{
		{"account file", "nginx", func(t *testing.T, p *plan.Plan) { writeFile(p, step(t, p, conf), "/etc/passwd") },
			[]found{{"write-file:/etc/passwd", "inputs/file/path", "/etc/passwd is one of the system's account files, which plans may not write or remove"}}},
		{"account backup", "nginx", func(t *testing.T, p *plan.Plan) { writeFile(p, step(t, p, conf), "/etc/shadow-") },
			[]found{{"write-file:/etc/shadow-", "inputs/file/path", "account files"}}},
		{"sudoers.d", "nginx", func(t *testing.T, p *plan.Plan) { writeFile(p, step(t, p, conf), "/etc/sudoers.d/web") },
			[]found{{"write-file:/etc/sudoers.d/web", "inputs/file/path", "lies in /etc/sudoers.d (sudo's policy)"}}},
		{"runtimectl", "nginx", func(t *testing.T, p *plan.Plan) { writeFile(p, step(t, p, conf), "/usr/local/bin/runtimectl") },
			[]found{{"write-file:/usr/local/bin/runtimectl", "inputs/file/path", "/usr/local/bin/runtimectl is runtimectl itself"}}},
		{"runtimectl through /bin", "nginx", func(t *testing.T, p *plan.Plan) { writeFile(p, step(t, p, conf), "/bin/runtimectl") },
			[]found{{"write-file:/bin/runtimectl", "inputs/file/path", "/bin/runtimectl is runtimectl itself"}}},
		{"policy-rc.d", "nginx", func(t *testing.T, p *plan.Plan) { writeFile(p, step(t, p, conf), "/usr/sbin/policy-rc.d") },
			[]found{{"write-file:/usr/sbin/policy-rc.d", "inputs/file/path", "is the policy-rc.d runtimekit puts in place while dpkg runs"}}},
		{"service directory", "nginx", func(t *testing.T, p *plan.Plan) { writeFile(p, step(t, p, conf), "/etc/runtimekit/sv/nginx/run") },
			[]found{{"write-file:/etc/runtimekit/sv/nginx/run", "inputs/file/path", "lies in /etc/runtimekit/sv"}}},
		{"pid directory through /var/run", "nginx", func(t *testing.T, p *plan.Plan) { writeFile(p, step(t, p, conf), "/var/run/runtimekit/runsvdir.pid") },
			[]found{{"write-file:/var/run/runtimekit/runsvdir.pid", "inputs/file/path", "lies in /run/runtimekit"}}},
		{"dpkg database", "nginx", func(t *testing.T, p *plan.Plan) { writeFile(p, step(t, p, conf), "/var/lib/dpkg/info/x.list") },
			[]found{{"write-file:/var/lib/dpkg/info/x.list", "inputs/file/path", "where plans may not write"}}},
		{"file holding a protected directory", "nginx", func(t *testing.T, p *plan.Plan) { writeFile(p, step(t, p, conf), "/var/lib") },
			[]found{{"write-file:/var/lib", "inputs/file/path", "/var/lib holds /var/lib/runtimekit"}}},
		{"unclean path", "nginx", func(t *testing.T, p *plan.Plan) { writeFile(p, step(t, p, conf), "/srv/www/") },
			[]found{{"write-file:/srv/www/", "inputs/file/path", `is not clean: write "/srv/www"`}}},
		{"setuid", "nginx", func(t *testing.T, p *plan.Plan) { file(step(t, p, conf)).Mode = 0o4777 },
			[]found{{conf, "inputs/file/mode", "sets setuid or setgid"}}},
		{"setgid", "nginx", func(t *testing.T, p *plan.Plan) { file(step(t, p, conf)).Mode = 0o2755 },
			[]found{{conf, "inputs/file/mode", "sets setuid or setgid"}}},
		{"content digest", "nginx", func(t *testing.T, p *plan.Plan) { file(step(t, p, conf)).Content = "tampered" },
			[]found{{conf, "inputs/file/sha256", "does not have the sha256"}}},
		{"remove an account file", "nginx", func(t *testing.T, p *plan.Plan) {
			s := step(t, p, conf)
			f := *file(s)
			f.Path, f.Content = "/etc/group", ""
			s.Inputs = &plan.RemoveFile{File: f}
			rename(p, s, "remove-file:/etc/group")
		}, []found{{"remove-file:/etc/group", "inputs/file/path", "account files"}}},
		{"NUL in argv", "nginx", func(t *testing.T, p *plan.Plan) {
			s := step(t, p, "install-service:nginx")
			svc(s).Argv = []string{"/usr/sbin/nginx", "-g", "daemon off;\x00"}
		}, []found{{"install-service:nginx", "inputs/service/argv/2", "service nginx: argv[2] contains a NUL byte"}}},
		{"= in argv[0]", "nginx", func(t *testing.T, p *plan.Plan) {
			s := step(t, p, "install-service:nginx")
			svc(s).Argv = []string{"NGINX=1", "/usr/sbin/nginx"}
		}, []found{{"install-service:nginx", "inputs/service/argv/0", "contains '='"}}},
		{"NUL in env", "nginx", func(t *testing.T, p *plan.Plan) {
			s := step(t, p, "install-service:nginx")
			svc(s).Env = map[string]string{"A": "x\x00"}
		}, []found{{"install-service:nginx", "inputs/service/env/A", "A contains a NUL byte"}}},
		{"health busy loop", "nginx", func(t *testing.T, p *plan.Plan) {
			s := step(t, p, "wait-health:nginx/nginx-http")
			h := health(s)
			h.Interval, h.StartPeriod = 0, unit.Duration(1_000_000*time.Hour)
		}, []found{
			{"wait-health:nginx/nginx-http", "inputs/health/interval", "below the minimum 100ms"},
			{"wait-health:nginx/nginx-http", "inputs/health/startPeriod", "over the maximum 10m0s"},
		}},
		{"exec check without a user", "node", func(t *testing.T, p *plan.Plan) {
			s := step(t, p, "wait-health:node/node-runs")
			health(s).User = ""
		}, []found{{"wait-health:node/node-runs", "inputs/health/user", "must name the user it runs as"}}},
		{"Essential package removed", "nginx", func(t *testing.T, p *plan.Plan) {
			p.Steps = append(p.Steps, plan.Step{ID: "remove-packages", Needs: []string{},
				Inputs: &plan.RemovePackages{Packages: []plan.PackageRef{{Name: "nginx-light", Version: "1.22.1-9", Arch: "i386"}, {Name: "dpkg", Version: "1.21.22", Arch: "i386"}, {Name: "libc6", Version: "2.36-9", Arch: "i386"}}}})
		}, []found{
			{"remove-packages", "inputs/packages/1/name", "package dpkg is part of Debian's base system"},
			{"remove-packages", "inputs/packages/2/name", "package libc6 is part of Debian's base system"},
		}},
		{"duplicate runtime recorded", "nginx", func(t *testing.T, p *plan.Plan) {
			s := step(t, p, "record-state")
			in := s.Inputs.(*plan.RecordState)
			in.Runtimes = append(in.Runtimes, in.Runtimes[0])
		}, []found{{"record-state", "inputs/runtimes/1/name", "runtime nginx: listed twice"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := golden(t, tt.plan)
			tt.change(t, p)
			err := p.Check()
			var ps plan.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Check = %v, want Problems", err)
			}
			var got []found
			for _, pr := range ps {
				got = append(got, found{pr.Step, pr.Field, pr.Reason})
			}
			for i := range got {
				if i < len(tt.want) && strings.Contains(got[i].Reason, tt.want[i].Reason) {
					got[i].Reason = tt.want[i].Reason
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			// Parse refuses the same, before anything is applied.
			b, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := plan.Parse(b); err == nil {
				t.Error("Parse accepts the plan")
			}
		})
	}
}

func TestArchiveDestinations(t *testing.T) {
	for _, tt := range []struct{ dest, want string }{
		{"/opt/deno", ""},
		{"/srv/app", ""},
		{"/usr/lib/node_modules/x", ""},
		{"/", "cannot be the root directory"},
		{"/var/lib", "/var/lib holds /var/lib/runtimekit"},
		{"/usr", "/usr holds /usr/sbin/policy-rc.d"},
		{"/usr/local", "holds /usr/local/bin/runtimectl"},
		{"/etc", "holds /etc/runtimekit/sv"},
		{"/var/run", "/var/run holds /run/runtimekit"},
		{"/lib", ""},
		{"/sbin", "/sbin holds /usr/sbin/policy-rc.d"},
		{"/dev/shm/x", "lies in /dev"},
		{"/opt/x/", "not clean"},
	} {
		ps := plan.CheckArchive(plan.Archive{Name: "a", Dest: tt.dest})
		got := ""
		if len(ps) > 0 {
			got = ps[0].Reason
		}
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("dest %s: %q, want %q", tt.dest, got, tt.want)
		}
	}
	if ps := plan.CheckArchive(plan.Archive{Name: "a", Dest: "/opt/a", Include: []string{"[", "*.js"}}); len(ps) != 1 || ps[0].Field != "include/0" {
		t.Errorf("a bad include pattern: %v", ps)
	}
}

// TestCorePackagesCoverTargets keeps CorePackage in step with the built-in
// targets: every base package, and every Essential one of their status
// files, is never removed.
func TestCorePackagesCoverTargets(t *testing.T) {
	for _, name := range targets.Names() {
		prof, err := targets.Load(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range prof.Target.Base.Packages {
			if !plan.CorePackage(n) {
				t.Errorf("%s: base package %s is not a CorePackage", name, n)
			}
		}
		for _, q := range prof.Base.Installed() {
			if q.Essential && !plan.CorePackage(q.Name) {
				t.Errorf("%s: Essential package %s is not a CorePackage", name, q.Name)
			}
		}
	}
	for _, n := range []string{"nginx-light", "nodejs", "runit"} {
		if plan.CorePackage(n) {
			t.Errorf("%s is a CorePackage", n)
		}
	}
}

func TestRunsAsRoot(t *testing.T) {
	p := golden(t, "nginx+node+python")
	want := []plan.RootProcess{{Runtime: "nginx", Service: "nginx"}}
	if diff := cmp.Diff(want, p.RunsAsRoot()); diff != "" {
		t.Errorf("RunsAsRoot (-want +got):\n%s", diff)
	}
	// An exec check as root is listed and shown.
	s := step(t, p, "wait-health:node/node-runs")
	health(s).User = "root"
	var out bytes.Buffer
	if err := p.Render(&out); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"Services: nginx (as root)\n", "As root: health check node/node-runs\n"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("summary lacks %q:\n%s", line, out.String())
		}
	}
}

func TestProblemsReportedOnce(t *testing.T) {
	p := golden(t, "nginx")
	// A record-state runtime with an unclean path beside the same file
	// written: the path's problem is the file step's, shown once.
	path := "/srv//www/index.html"
	s := step(t, p, "write-file:/srv/www/index.html")
	writeFile(p, s, path)
	sum := sha256.Sum256([]byte(file(s).Content))
	file(s).SHA256 = hex.EncodeToString(sum[:])
	rs := step(t, p, "record-state")
	rts := append([]state.Runtime(nil), rs.Inputs.(*plan.RecordState).Runtimes...)
	rts[0].Files = append([]state.File(nil), rts[0].Files...)
	for i := range rts[0].Files {
		if rts[0].Files[i].Path == "/srv/www/index.html" {
			rts[0].Files[i].Path = path
		}
	}
	rs.Inputs.(*plan.RecordState).Runtimes = rts
	var ps plan.Problems
	if !errors.As(p.Check(), &ps) {
		t.Fatal("Check accepts an unclean path")
	}
	var steps []string
	for _, pr := range ps {
		steps = append(steps, pr.Step)
	}
	if diff := cmp.Diff([]string{"write-file:/srv//www/index.html"}, steps); diff != "" {
		t.Errorf("steps with problems (-want +got):\n%s\n%v", diff, ps)
	}
}

// TestRemovalsTakeWhatIsThere: what a plan removes is on the machine
// already; a mode or service definition a new plan could not write does
// not keep it from being removed.
func TestRemovalsTakeWhatIsThere(t *testing.T) {
	p := golden(t, "nginx")
	s := step(t, p, "write-file:/etc/runtimekit/nginx/nginx.conf")
	f := *file(s)
	f.Mode, f.Content = 0o4755, ""
	s.Inputs = &plan.RemoveFile{File: f}
	rename(p, s, "remove-file:/etc/runtimekit/nginx/nginx.conf")
	sv := step(t, p, "install-service:nginx")
	def := *svc(sv)
	def.StopTimeout = unit.Duration(time.Hour)
	sv.Inputs = &plan.RemoveService{Service: def}
	rename(p, sv, "remove-service:nginx")
	if err := p.Check(); err != nil {
		t.Errorf("Check = %v", err)
	}
}
