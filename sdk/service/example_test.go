package service_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/runtimekit/runtimekit/sdk/service"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// Install nginx as a runit service, start it, and wait for its health
// check; on failure, remove it again (what an apply's rollback does). It
// has no Output: it writes below /etc and /var/log and needs runit and
// nginx, so go test compiles it without running it.
func Example() {
	ctx := context.TODO() // in a CLI: signal.NotifyContext(..., os.Interrupt)
	log := slog.Default()
	r := &service.Runit{Logger: log} // /etc/runtimekit/sv, /etc/runtimekit/service, /var/log/runtimekit

	svc := state.Service{
		Name: "nginx", Argv: []string{"nginx", "-g", "daemon off;"}, User: "root",
		Restart: service.RestartAlways, StopSignal: "QUIT", StopTimeout: unit.Duration(10 * time.Second),
	}
	if err := r.Install(ctx, svc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	// The VM has no init: start runsvdir unless it runs already.
	if _, err := r.EnsureSupervisor(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	if err := r.Start(ctx, "nginx"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	hc := state.HealthCheck{
		Name: "nginx-http", Kind: state.HealthHTTP, Service: "nginx", Port: 80, Path: "/",
		Interval: unit.Duration(time.Second), Timeout: unit.Duration(5 * time.Second), Retries: 30, StartPeriod: unit.Duration(2 * time.Second),
	}
	if err := service.Wait(ctx, hc, log); err != nil {
		// health check "nginx-http" failed (30 consecutive failures after 3m2s,
		// 32 attempts): GET http://127.0.0.1:80/: connection refused
		fmt.Fprintln(os.Stderr, err)
		if err := r.Remove(ctx, "nginx"); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		return
	}
	st, err := r.Status(ctx, "nginx") // reads supervise/status; spawns nothing
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Printf("nginx: up %v, pid %d, since %s\n", st.Up, st.PID, st.Since.Format("15:04:05"))
}

// One attempt of an exec check: the reason carries the exit status and the
// end of stderr.
func ExampleProbe() {
	res, err := service.Probe(context.TODO(), state.HealthCheck{
		Name: "python", Kind: state.HealthExec, Timeout: unit.Duration(5 * time.Second),
		Argv: []string{"sh", "-c", "echo 'No module named encodings' >&2; exit 1"},
	})
	if err != nil {
		fmt.Println(err) // an invalid check
		return
	}
	fmt.Println(res)
	// Output: python: exec sh -c 'echo '\''No module named encodings'\'' >&2; exit 1': exit status 1: No module named encodings
}
