package service

import (
	"context"
	"errors"
	"math/bits"
	"net"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// The tests below run Wait on synctest's fake clock: the durations they
// compare are exact, not measured, and a 15-minute wait takes as long as
// its probes (refused connects to a closed port).

// TestWaitBoundsAndDeadline: a check far outside the bounds (a busy loop
// with a billion retries after a million-hour start period) stops at
// state.MaxHealthWait, probing no more often than every
// state.MinHealthInterval.
func TestWaitBoundsAndDeadline(t *testing.T) {
	p := closedPort(t)
	synctest.Test(t, func(t *testing.T) {
		// An interval of 1ns: zero would be the default interval.
		hc := state.HealthCheck{Name: "api", Kind: state.HealthTCP, Port: p,
			Interval: 1, Timeout: unit.Duration(time.Millisecond), Retries: 1_000_000_000, StartPeriod: unit.Duration(1_000_000 * time.Hour)}
		err := Wait(t.Context(), hc, nil)
		var he *HealthError
		if !errors.As(err, &he) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait = %v, want a *HealthError at its deadline", err)
		}
		if he.Elapsed != state.MaxHealthWait {
			t.Errorf("gave up after %s, want %s", he.Elapsed, state.MaxHealthWait)
		}
		// Besides the quick probes at the start (firstPoll, doubling up
		// to the interval).
		quick := bits.Len(uint(state.MinHealthInterval / firstPoll))
		if most := int(state.MaxHealthWait/state.MinHealthInterval) + 1 + quick; he.Attempts > most {
			t.Errorf("%d probes in %s: more than one every %s", he.Attempts, he.Elapsed, state.MinHealthInterval)
		}
		// The start period is cut to its maximum: failures after it count.
		if want := int((state.MaxHealthWait - state.MaxHealthStartPeriod) / state.MinHealthInterval); he.Failures < want-1 || he.Failures > want+1 {
			t.Errorf("%d counted failures, want about %d after the %s start period", he.Failures, want, state.MaxHealthStartPeriod)
		}
	})
}

// TestWaitCancelled: cancelling ctx stops Wait at that moment, in the start
// period and between retries alike.
func TestWaitCancelled(t *testing.T) {
	p := closedPort(t)
	for _, tc := range []struct {
		name        string
		startPeriod unit.Duration
		cancelAt    time.Duration
		failures    int
	}{
		// Half-way between probes, so that the cancel and a probe never
		// fall on the same instant.
		{"in the start period", unit.Duration(10 * time.Minute), 60*time.Second + 500*time.Millisecond, 0},
		{"between retries", 0, 30*time.Second + 500*time.Millisecond, 31},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				time.AfterFunc(tc.cancelAt, cancel)
				hc := state.HealthCheck{Name: "api", Kind: state.HealthTCP, Port: p,
					Interval: unit.Duration(time.Second), Timeout: unit.Duration(time.Second), Retries: 1000, StartPeriod: tc.startPeriod}
				err := Wait(ctx, hc, nil)
				var he *HealthError
				if !errors.As(err, &he) || !errors.Is(err, context.Canceled) {
					t.Fatalf("Wait = %v, want a cancelled *HealthError", err)
				}
				if he.Elapsed != tc.cancelAt {
					t.Errorf("returned %s after the start, want %s (when ctx was cancelled)", he.Elapsed, tc.cancelAt)
				}
				if he.Failures != tc.failures {
					t.Errorf("%d counted failures, want %d", he.Failures, tc.failures)
				}
				if he.Last == "" {
					t.Error("the error does not say why the probes failed")
				}
			})
		})
	}
}

// TestWaitPollsQuicklyAtStart: in its start period a network check probes
// again after 10, 20, 40 ms, ... up to its interval, so a service that
// starts listening at 35 ms passes at the probe of 70 ms, not at the
// 2-second interval; after the start period the interval holds.
func TestWaitPollsQuicklyAtStart(t *testing.T) {
	p := closedPort(t)
	for _, tc := range []struct {
		name        string
		startPeriod time.Duration
		want        time.Duration
	}{
		{"in the start period", 10 * time.Second, 70 * time.Millisecond},
		{"without one", 0, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				listening := make(chan net.Listener, 1)
				go func() {
					time.Sleep(35 * time.Millisecond)
					l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
					if err != nil {
						t.Error(err)
					}
					listening <- l
				}()
				hc := state.HealthCheck{Name: "web", Kind: state.HealthTCP, Port: p, Interval: unit.Duration(2 * time.Second),
					Timeout: unit.Duration(time.Second), Retries: 3, StartPeriod: unit.Duration(tc.startPeriod)}
				start := time.Now()
				if err := Wait(t.Context(), hc, nil); err != nil {
					t.Fatal(err)
				}
				if got := time.Since(start); got != tc.want {
					t.Errorf("passed after %s, want %s", got, tc.want)
				}
				if l := <-listening; l != nil {
					l.Close()
				}
			})
		})
	}
}
