package state_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

func TestCheckPath(t *testing.T) {
	for _, tt := range []struct{ path, want string }{
		{"/srv/www/index.html", ""},
		{"/srv/my site", ""},
		{"/", ""},
		{"", "is empty"},
		{"srv/www", "not an absolute path"},
		{"/srv//www", `not clean: write "/srv/www"`},
		{"/srv/www/", `not clean: write "/srv/www"`},
		{"/srv/./www", "not clean"},
		{"/srv/../etc", `not clean: write "/etc"`},
		{"/srv/www\n}", "contains a newline"},
		{"/srv/a\x00b", "contains a NUL byte"},
		{"/srv/a\tb", "control character U+0009"},
		{"/srv/a\\b", "backslash"},
		{"/srv/\xff", "not valid UTF-8"},
		{"/" + strings.Repeat("a", 4095), "more than the 4095"},
	} {
		got := state.CheckPath(tt.path)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("CheckPath(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func goodService() state.Service {
	return state.Service{Name: "web", Argv: []string{"/usr/bin/web", "--port", "80"}, User: "www-data", Workdir: "/srv/web",
		Env: map[string]string{"PORT": "80"}, Restart: "always", StopSignal: "TERM", StopTimeout: unit.Duration(10 * time.Second)}
}

// fields lists the problems' fields, the shape a table compares.
func fields(ps state.Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Field)
	}
	return out
}

func TestCheckService(t *testing.T) {
	tests := []struct {
		name   string
		change func(*state.Service)
		want   []string
		reason string
	}{
		{"valid", func(*state.Service) {}, nil, ""},
		{"NUL in argv", func(s *state.Service) { s.Argv[2] = "8\x000" }, []string{"argv/2"}, "argv[2] contains a NUL byte"},
		{"= in argv[0]", func(s *state.Service) { s.Argv[0] = "A=1" }, []string{"argv/0"}, "contains '='"},
		{"empty command", func(s *state.Service) { s.Argv[0] = "" }, []string{"argv/0"}, "the command (argv[0]) is empty"},
		{"no argv", func(s *state.Service) { s.Argv = nil }, []string{"argv"}, "argv is empty"},
		{"NUL in env", func(s *state.Service) { s.Env["PORT"] = "8\x00" }, []string{"env/PORT"}, "PORT contains a NUL byte"},
		{"bad env name", func(s *state.Service) { s.Env["1X"] = "" }, []string{"env/1X"}, "not letters"},
		{"long user", func(s *state.Service) { s.User = strings.Repeat("u", 33) }, []string{"user"}, "longer than 32"},
		{"no user", func(s *state.Service) { s.User = "" }, []string{"user"}, "not a user name"},
		{"unclean workdir", func(s *state.Service) { s.Workdir = "/srv//web" }, []string{"workdir"}, "not clean"},
		{"zero stop timeout", func(s *state.Service) { s.StopTimeout = 0 }, []string{"stopTimeout"}, "not between 0s"},
		{"huge stop timeout", func(s *state.Service) { s.StopTimeout = unit.Duration(1_000_000 * time.Hour) }, []string{"stopTimeout"}, "not between"},
		{"long name", func(s *state.Service) { s.Name = "a" + strings.Repeat("b", 63) }, []string{"name"}, "longer than 63"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := goodService()
			s.Env = map[string]string{"PORT": "80"}
			s.Argv = append([]string(nil), s.Argv...)
			tt.change(&s)
			ps := state.CheckService(s)
			if diff := cmp.Diff(tt.want, fields(ps)); diff != "" {
				t.Errorf("fields (-want +got):\n%s\n%v", diff, ps)
			}
			if tt.reason != "" && (len(ps) == 0 || !strings.Contains(ps[0].Reason, tt.reason) || !strings.HasPrefix(ps[0].Reason, "service "+s.Name+": ")) {
				t.Errorf("reason %v, want one naming the service and saying %q", ps, tt.reason)
			}
		})
	}
}

func TestCheckHealth(t *testing.T) {
	good := state.HealthCheck{Name: "h", Kind: state.HealthHTTP, Port: 80, Path: "/healthz", Interval: unit.Duration(time.Second), Timeout: unit.Duration(5 * time.Second), Retries: 30, StartPeriod: 0}
	exec := state.HealthCheck{Name: "h", Kind: state.HealthExec, Argv: []string{"/bin/true"}, User: "nobody", Interval: unit.Duration(time.Second), Timeout: unit.Duration(5 * time.Second), Retries: 30, StartPeriod: 0}
	tests := []struct {
		name   string
		hc     state.HealthCheck
		change func(*state.HealthCheck)
		want   []string
	}{
		{"valid http", good, func(*state.HealthCheck) {}, nil},
		{"valid exec", exec, func(*state.HealthCheck) {}, nil},
		{"busy loop", good, func(h *state.HealthCheck) { h.Interval = 0; h.Retries = 1_000_000_000 }, []string{"interval", "retries"}},
		{"start period for ever", good, func(h *state.HealthCheck) { h.StartPeriod = unit.Duration(1_000_000 * time.Hour) }, []string{"startPeriod"}},
		{"timeout too short", good, func(h *state.HealthCheck) { h.Timeout = unit.Duration(time.Millisecond) }, []string{"timeout"}},
		{"timeout too long", good, func(h *state.HealthCheck) { h.Timeout = unit.Duration(6 * time.Minute) }, []string{"timeout"}},
		{"total over the maximum", good, func(h *state.HealthCheck) { h.Retries = 200 }, []string{"retries"}},
		{"negative interval", good, func(h *state.HealthCheck) { h.Interval = unit.Duration(-time.Second) }, []string{"interval"}},
		{"request path with a space", good, func(h *state.HealthCheck) { h.Path = "/a b" }, []string{"path"}},
		{"no port", good, func(h *state.HealthCheck) { h.Port = 0 }, []string{"port"}},
		{"user on an http check", good, func(h *state.HealthCheck) { h.User = "nobody" }, []string{"user"}},
		{"NUL in exec argv", exec, func(h *state.HealthCheck) { h.Argv = []string{"/bin/true", "\x00"} }, []string{"argv/1"}},
		{"bad exec user", exec, func(h *state.HealthCheck) { h.User = "Root" }, []string{"user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.hc
			tt.change(&h)
			ps := state.CheckHealth(h)
			if diff := cmp.Diff(tt.want, fields(ps)); diff != "" {
				t.Errorf("fields (-want +got):\n%s\n%v", diff, ps)
			}
		})
	}
}

func TestHealthDeadlineAndBounds(t *testing.T) {
	if got, want := state.HealthDeadline(time.Second, 5*time.Second, 30, 5*time.Second), 5*time.Second+31*6*time.Second; got != want {
		t.Errorf("deadline of the defaults with a 5s start period = %s, want %s", got, want)
	}
	if got := state.HealthDeadline(time.Hour, time.Hour, math.MaxInt, time.Hour); got != math.MaxInt64 {
		t.Errorf("an overflowing deadline = %s, want it saturated", got)
	}
	got, limit := state.HealthTiming{Interval: 0, Timeout: time.Millisecond, Retries: 1_000_000_000, StartPeriod: 1_000_000 * time.Hour}.Bounded()
	want := state.HealthTiming{Interval: state.MinHealthInterval, Timeout: state.MinHealthTimeout, Retries: state.MaxHealthRetries, StartPeriod: state.MaxHealthStartPeriod}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Bounded (-want +got):\n%s", diff)
	}
	if limit != state.MaxHealthWait {
		t.Errorf("limit = %s, want %s", limit, state.MaxHealthWait)
	}
	if _, limit := (state.HealthTiming{Interval: time.Second, Timeout: time.Second, Retries: 0}).Bounded(); limit != 4*time.Second {
		t.Errorf("limit with retries 0 (one counts) = %s, want 4s", limit)
	}
}

func TestStateHygieneRefused(t *testing.T) {
	tests := []struct {
		name   string
		change func(*state.State)
		want   string
	}{
		{"duplicate runtime", func(s *state.State) { s.Runtimes = append(s.Runtimes, s.Runtimes[0]) }, "runtime nginx: listed twice"},
		{"double slash", func(s *state.State) { s.Runtimes[0].Files[0].Path = "/etc/runtimekit//nginx.conf" }, "does not match state.schema.json"},
		{"unclean dest", func(s *state.State) {
			s.Runtimes[0].Artifacts = []state.Artifact{{Name: "a", SHA256: strings.Repeat("0", 64), Dest: "/opt/a/", Format: "tar.gz"}}
		}, "does not match state.schema.json"},
		{"duplicate file", func(s *state.State) { s.Runtimes[0].Files = append(s.Runtimes[0].Files, s.Runtimes[0].Files[0]) }, "is listed twice"},
		{"duplicate service", func(s *state.State) {
			s.Runtimes[0].Services = append(s.Runtimes[0].Services, s.Runtimes[0].Services[0])
		}, "service nginx is listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sample()
			tt.change(s)
			b, err := s.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, err := state.Load(path); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error saying %q", err, tt.want)
			}
			if err := state.Save(filepath.Join(t.TempDir(), "state.json"), s); err == nil {
				t.Error("Save wrote the state")
			}
		})
	}
}

func TestCheckRuntimesFields(t *testing.T) {
	rts := sample().Runtimes
	rts = append(rts, rts[0])
	rts[1].Files = append([]state.File(nil), rts[1].Files...)
	rts[1].Files[0].Path = "/srv//x"
	got := state.CheckRuntimes(rts)
	want := state.Problems{
		{Field: "1/name", Value: "nginx", Reason: "runtime nginx: listed twice: a runtime is installed once"},
		{Field: "1/files/0/path", Value: "/srv//x", Reason: `runtime nginx: file path "/srv//x" is not clean: write "/srv/x"`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CheckRuntimes (-want +got):\n%s", diff)
	}
}

func TestAppsHaveTheirOwnUsersAndServices(t *testing.T) {
	app := func(name, user, svc string) state.App {
		return state.App{Name: name, Runtime: "node", User: user, Ports: []int{8100, 8101}, Keep: 1,
			Services: []state.Service{{Name: svc, Argv: []string{"/bin/true"}, User: user}}}
	}
	s := state.New("webvm-i386")
	s.Apps = []state.App{app("shop", "app-shop", "shop-web-r1"), app("blog", "app-shop", "blog-web-r1")}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "each app has its own user") {
		t.Errorf("two apps with one user: %v", err)
	}
	s.Apps = []state.App{app("shop", "app-shop", "x-web-r1"), app("blog", "app-blog", "x-web-r1")}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("two apps with one service name: %v", err)
	}
}
