package service

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// TestShellQuote runs quoted words through sh and checks that each comes
// back byte for byte.
func TestShellQuote(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	words := []string{
		"", "plain", "two words", "it's", "'", "''", `"double"`, `back\slash`,
		"$HOME", "${PATH}", "`id`", "$(id)", "a;b&c|d", "*?[x]", "~root", "#hash",
		"new\nline", "tab\there", "-n", "--", "ünïcödé", "trailing\\", "!bang",
	}
	script := "for w in"
	for _, w := range words {
		script += " " + shellQuote(w)
	}
	script += `; do printf '%s\0' "$w"; done`
	out, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if diff := cmp.Diff(words, got); diff != "" {
		t.Errorf("words through sh (-want +got):\n%s", diff)
	}
}

func TestNormalizeRejects(t *testing.T) {
	ok := state.Service{Name: "web", Argv: []string{"/bin/true"}, User: "root"}
	for _, tc := range []struct {
		name string
		edit func(*state.Service)
		want string
	}{
		{"empty name", func(s *state.Service) { s.Name = "" }, "name"},
		{"dot name", func(s *state.Service) { s.Name = ".hidden" }, "name"},
		{"slash name", func(s *state.Service) { s.Name = "a/b" }, "name"},
		{"dotdot name", func(s *state.Service) { s.Name = ".." }, "name"},
		{"no argv", func(s *state.Service) { s.Argv = nil }, "argv is empty"},
		{"empty argv0", func(s *state.Service) { s.Argv = []string{""} }, "argv is empty"},
		{"argv0 with =", func(s *state.Service) { s.Argv = []string{"A=b"} }, "contains '='"},
		{"NUL in arg", func(s *state.Service) { s.Argv = []string{"x", "a\x00b"} }, "NUL"},
		{"bad user", func(s *state.Service) { s.User = "www:data" }, "user"},
		{"numeric user", func(s *state.Service) { s.User = "1000" }, "user"},
		{"relative workdir", func(s *state.Service) { s.Workdir = "srv" }, "workdir"},
		{"bad env name", func(s *state.Service) { s.Env = map[string]string{"A-B": "x"} }, "environment variable name"},
		{"env name digit", func(s *state.Service) { s.Env = map[string]string{"1A": "x"} }, "environment variable name"},
		{"NUL in env", func(s *state.Service) { s.Env = map[string]string{"A": "\x00"} }, "NUL"},
		{"bad restart", func(s *state.Service) { s.Restart = "sometimes" }, "restart"},
		{"bad signal", func(s *state.Service) { s.StopSignal = "SIGTERM" }, "stop signal"},
		{"negative timeout", func(s *state.Service) { s.StopTimeout = unit.Duration(-time.Second) }, "stop timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := ok
			svc.Argv = append([]string(nil), ok.Argv...)
			tc.edit(&svc)
			_, _, err := normalize(svc)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("normalize: got %v, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
	svc, timeout, err := normalize(ok)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Restart != RestartAlways || svc.StopSignal != "TERM" || timeout != DefaultStopTimeout {
		t.Errorf("defaults: restart %q, signal %q, timeout %s", svc.Restart, svc.StopSignal, timeout)
	}
}

// TestRenderGolden compares the files written for a few services with
// testdata/render/*.golden; RUNTIMEKIT_UPDATE=1 rewrites them.
func TestRenderGolden(t *testing.T) {
	for _, svc := range []state.Service{
		{Name: "nginx", Argv: []string{"nginx", "-g", "daemon off;"}, User: "root"},
		{
			Name: "app", Argv: []string{"node", "server.js", "--title", "it's \"quoted\" $HOME"},
			User: "www-data", Workdir: "/srv/app",
			Env:     map[string]string{"NODE_ENV": "production", "MSG": "a'b\nc", "PATH": "/opt/node/bin:/usr/bin"},
			Restart: RestartOnFailure, StopSignal: "INT", StopTimeout: unit.Duration(3 * time.Second),
		},
		{Name: "once", Argv: []string{"/usr/local/bin/migrate"}, Restart: RestartNever, StopSignal: "KILL"},
	} {
		t.Run(svc.Name, func(t *testing.T) {
			l, err := render(svc, "/var/log/runtimekit/"+svc.Name)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, f := range l.files {
				b.WriteString("== " + f.rel + " " + os.FileMode(f.mode).String() + "\n")
				b.Write(f.data)
			}
			for _, rel := range l.stale {
				b.WriteString("== removed " + rel + "\n")
			}
			golden := filepath.Join("testdata", "render", svc.Name+".golden")
			if os.Getenv("RUNTIMEKIT_UPDATE") == "1" {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (RUNTIMEKIT_UPDATE=1 writes it)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("render %s (-golden +got):\n%s", svc.Name, diff)
			}
		})
	}
}

func TestDecodeStatus(t *testing.T) {
	// A record as runsv writes it: TAI64N of 2024-01-02 03:04:05.5 UTC,
	// pid 0x01020304 little-endian, not paused, want up, no TERM, running.
	rec := []byte{
		0x40, 0, 0, 0, 0x65, 0x93, 0x7d, 0x2f, // 2^62 + 10 + 1704164645
		0x1d, 0xcd, 0x65, 0x00, // 500000000 ns
		0x04, 0x03, 0x02, 0x01,
		0, 'u', 0, 1,
	}
	s, err := decodeStatus(rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := "2024-01-02T03:04:05.5Z"; s.since.UTC().Format("2006-01-02T15:04:05.999999999Z07:00") != want {
		t.Errorf("since = %s, want %s", s.since.UTC(), want)
	}
	if s.pid != 0x01020304 || !s.wantUp || s.paused || s.gotTerm || s.state != StateRun {
		t.Errorf("decoded %+v", s)
	}
	rec[16], rec[17], rec[18], rec[19] = 1, 'd', 1, 2
	if s, _ = decodeStatus(rec); !s.paused || s.wantUp || !s.gotTerm || s.state != StateFinish {
		t.Errorf("decoded %+v", s)
	}
	if _, err := decodeStatus(rec[:18]); err == nil {
		t.Error("short record: want an error")
	}
	rec[19] = 7
	if _, err := decodeStatus(rec); err == nil {
		t.Error("unknown state: want an error")
	}
}
