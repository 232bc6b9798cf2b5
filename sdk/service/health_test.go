package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// port returns the port of a listener's address.
func port(t *testing.T, addr net.Addr) int {
	t.Helper()
	return addr.(*net.TCPAddr).Port
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := port(t, l.Addr())
	l.Close()
	return p
}

func TestProbe(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "status: ready\n") })
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := range 50 {
			fmt.Fprintf(w, "line %d %s\n", i, strings.Repeat("x", 100))
			w.(http.Flusher).Flush() // one chunk each
		}
		fmt.Fprint(w, "the end\n")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	hp := port(t, srv.Listener.Addr())

	// A server that hangs up without answering.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 4096)) // the request, so that Close sends FIN, not RST
			c.Close()
		}
	}()
	refused := closedPort(t)

	http := func(path string, status int, body string) state.HealthCheck {
		return state.HealthCheck{Name: "web", Kind: state.HealthHTTP, Port: hp, Path: path, Status: status, Body: body, Timeout: unit.Duration(300 * time.Millisecond)}
	}
	for _, tc := range []struct {
		name    string
		check   state.HealthCheck
		target  string // "" = don't check
		healthy bool
		reason  string // substring of Reason
		maxTook time.Duration
	}{
		{name: "http ok", check: http("/ok", 0, ""), target: fmt.Sprintf("GET http://127.0.0.1:%d/ok", hp), healthy: true},
		{name: "http body", check: http("/ok", 200, "ready"), healthy: true},
		{name: "http body mismatch", check: http("/ok", 0, "green"), reason: `body does not contain "green" (body "status: ready")`},
		{name: "http status", check: http("/busy", 0, ""), reason: `status 503, want 200 (body "overloaded")`},
		{name: "http custom status", check: http("/empty", 204, ""), healthy: true},
		{name: "http custom status mismatch", check: http("/ok", 204, ""), reason: "status 200, want 204"},
		{name: "http redirect not followed", check: http("/moved", 0, ""), reason: "status 302, want 200"},
		{name: "http chunked body", check: http("/chunked", 0, "the end"), healthy: true},
		{name: "http 404", check: http("/nothing", 0, ""), reason: "status 404, want 200"},
		{name: "http timeout", check: http("/slow", 0, ""), reason: "no answer within 300ms", maxTook: 2 * time.Second},
		{name: "http refused", check: state.HealthCheck{Name: "web", Kind: state.HealthHTTP, Port: refused},
			target: fmt.Sprintf("GET http://127.0.0.1:%d/", refused), reason: "connection refused"},
		{name: "http hang-up", check: state.HealthCheck{Name: "web", Kind: state.HealthHTTP, Port: port(t, hang.Addr())},
			reason: "connection closed before a response"},
		{name: "tcp ok", check: state.HealthCheck{Name: "db", Kind: state.HealthTCP, Port: hp},
			target: fmt.Sprintf("connect 127.0.0.1:%d", hp), healthy: true},
		{name: "tcp refused", check: state.HealthCheck{Name: "db", Kind: state.HealthTCP, Port: refused}, reason: "connection refused"},
		{name: "exec true", check: state.HealthCheck{Name: "x", Kind: state.HealthExec, Argv: []string{"true"}},
			target: "exec true", healthy: true},
		{name: "exec false", check: state.HealthCheck{Name: "x", Kind: state.HealthExec, Argv: []string{"false"}}, reason: "exit status 1"},
		{name: "exec stderr tail", check: state.HealthCheck{Name: "x", Kind: state.HealthExec,
			Argv: []string{"sh", "-c", "echo starting; echo first >&2; echo 'no such module: fs' >&2; exit 3"}},
			target: `exec sh -c 'echo starting; echo first >&2; echo '\''no such module: fs'\'' >&2; exit 3'`,
			reason: "exit status 3: first; no such module: fs"},
		{name: "exec timeout kills", check: state.HealthCheck{Name: "x", Kind: state.HealthExec, Timeout: unit.Duration(200 * time.Millisecond),
			Argv: []string{"sh", "-c", "sleep 30 & sleep 30"}}, reason: "killed after timeout 200ms", maxTook: 2 * time.Second},
		{name: "exec missing", check: state.HealthCheck{Name: "x", Kind: state.HealthExec, Argv: []string{"/nonexistent/probe"}},
			reason: "no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Probe(t.Context(), tc.check)
			if err != nil {
				t.Fatal(err)
			}
			if res.Healthy != tc.healthy || !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("Probe = %s; want healthy=%v, reason containing %q", res, tc.healthy, tc.reason)
			}
			if tc.target != "" && res.Target != tc.target {
				t.Errorf("Target = %q, want %q", res.Target, tc.target)
			}
			if tc.maxTook > 0 && res.Took > tc.maxTook {
				t.Errorf("took %s, want at most %s", res.Took, tc.maxTook)
			}
		})
	}
}

func TestProbeInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check state.HealthCheck
		want  string
	}{
		{"kind", state.HealthCheck{Name: "c", Kind: "grpc"}, "kind"},
		{"no port", state.HealthCheck{Name: "c", Kind: state.HealthHTTP}, "port 0"},
		{"big port", state.HealthCheck{Name: "c", Kind: state.HealthTCP, Port: 70000}, "port"},
		{"path", state.HealthCheck{Name: "c", Kind: state.HealthHTTP, Port: 80, Path: "healthz"}, "path"},
		{"path space", state.HealthCheck{Name: "c", Kind: state.HealthHTTP, Port: 80, Path: "/a b"}, "path"},
		{"status", state.HealthCheck{Name: "c", Kind: state.HealthHTTP, Port: 80, Status: 42}, "status"},
		{"no argv", state.HealthCheck{Name: "c", Kind: state.HealthExec}, "argv"},
		{"interval", state.HealthCheck{Name: "c", Kind: state.HealthTCP, Port: 80, Interval: -1}, "interval"},
		{"timeout", state.HealthCheck{Name: "c", Kind: state.HealthTCP, Port: 80, Timeout: unit.Duration(-time.Second)}, "timeout"},
		{"start period", state.HealthCheck{Name: "c", Kind: state.HealthTCP, Port: 80, StartPeriod: unit.Duration(-time.Second)}, "startPeriod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Probe(t.Context(), tc.check); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Probe: got %v, want an error mentioning %q", err, tc.want)
			}
			if err := Wait(t.Context(), tc.check, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Wait: got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestWait(t *testing.T) {
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/warming", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 3 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	hp := port(t, srv.Listener.Addr())

	t.Run("passes after failures", func(t *testing.T) {
		hc := state.HealthCheck{Name: "web", Kind: state.HealthHTTP, Port: hp, Path: "/warming",
			Interval: unit.Duration(20 * time.Millisecond), Timeout: unit.Duration(time.Second), Retries: 5}
		if err := Wait(t.Context(), hc, nil); err != nil {
			t.Fatal(err)
		}
		if n := calls.Load(); n != 4 {
			t.Errorf("%d probes, want 4", n)
		}
	})

	t.Run("start period does not count", func(t *testing.T) {
		hc := state.HealthCheck{Name: "web-health", Kind: state.HealthHTTP, Port: hp, Path: "/healthz",
			Interval: unit.Duration(50 * time.Millisecond), Timeout: unit.Duration(time.Second), Retries: 2, StartPeriod: unit.Duration(400 * time.Millisecond)}
		start := time.Now()
		err := Wait(t.Context(), hc, nil)
		took := time.Since(start)
		var he *HealthError
		if !errors.As(err, &he) {
			t.Fatalf("Wait = %v, want a *HealthError", err)
		}
		if took < 400*time.Millisecond || took > 3*time.Second {
			t.Errorf("gave up after %s, want after the 400ms start period and soon after", took)
		}
		if he.Failures != 2 || he.Attempts <= he.Failures {
			t.Errorf("attempts %d, failures %d: want 2 counted failures after uncounted ones", he.Attempts, he.Failures)
		}
		for _, want := range []string{`"web-health"`, fmt.Sprintf("GET http://127.0.0.1:%d/healthz", hp),
			`status 503, want 200 (body "database unreachable")`, "2 consecutive failures"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})

	t.Run("refused within budget", func(t *testing.T) {
		p := closedPort(t)
		hc := state.HealthCheck{Name: "api", Kind: state.HealthTCP, Port: p, Interval: unit.Duration(100 * time.Millisecond), Timeout: unit.Duration(500 * time.Millisecond), Retries: 3}
		start := time.Now()
		err := Wait(t.Context(), hc, nil)
		// Budget: StartPeriod + Retries × (Timeout + Interval) = 1.8s.
		if took := time.Since(start); took > 1800*time.Millisecond {
			t.Errorf("took %s, over its budget", took)
		}
		if err == nil || !strings.Contains(err.Error(), `health check "api" failed (3 consecutive failures`) ||
			!strings.Contains(err.Error(), fmt.Sprintf("connect 127.0.0.1:%d: connection refused", p)) {
			t.Errorf("Wait = %v", err)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		hc := state.HealthCheck{Name: "api", Kind: state.HealthTCP, Port: closedPort(t), Interval: unit.Duration(20 * time.Millisecond), Retries: 1000}
		err := Wait(ctx, hc, nil)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("Wait = %v, want a deadline error with the last failure", err)
		}
	})
}
