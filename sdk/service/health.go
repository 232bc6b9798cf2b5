package service

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// Health check defaults, for durations left zero (the manifest schema's
// defaults; StartPeriod defaults to 0).
const (
	DefaultInterval   = time.Second
	DefaultTimeout    = 5 * time.Second
	DefaultHTTPStatus = 200
)

// maxBody is how much of an http response is read for the body match.
const maxBody = 64 << 10

// Result is the outcome of one probe.
type Result struct {
	Check string // the check's name
	// Target is what was probed, e.g. "GET http://127.0.0.1:8080/healthz",
	// "connect 127.0.0.1:5432" or "exec node --version".
	Target  string
	Healthy bool
	// Reason says why the probe failed, e.g. "status 503, want 200",
	// "connection refused", "exit status 1: <end of stderr>"; "" when
	// healthy.
	Reason string
	Took   time.Duration
}

func (r Result) String() string {
	if r.Healthy {
		return fmt.Sprintf("%s: %s: healthy", r.Check, r.Target)
	}
	return fmt.Sprintf("%s: %s: %s", r.Check, r.Target, r.Reason)
}

// HealthError is the error of a health check that did not pass in [Wait].
type HealthError struct {
	Check  string // the check's name
	Target string // what was probed, as in Result
	// Attempts counts the probes made; Failures the consecutive failures
	// after the start period (Retries of them make Wait give up).
	Attempts, Failures int
	Elapsed            time.Duration
	// Last is the last probe's failure.
	Last string
	// Err is the context's error when Wait was cancelled, else nil.
	Err error
}

func (e *HealthError) Error() string {
	why := fmt.Sprintf("%d consecutive failures", e.Failures)
	if e.Err != nil {
		why = e.Err.Error()
	}
	last := e.Last
	if last == "" {
		last = "no probe finished"
	}
	return fmt.Sprintf("health check %q failed (%s after %s, %d attempts): %s: %s",
		e.Check, why, e.Elapsed.Round(time.Millisecond), e.Attempts, e.Target, last)
}

func (e *HealthError) Unwrap() error { return e.Err }

// check is a validated health check.
type check struct {
	hc          unit.HealthCheck
	target      string
	path        string // http
	addr        string // http, tcp
	interval    time.Duration
	timeout     time.Duration
	startPeriod time.Duration
	retries     int
}

// firstPoll is the wait after a network check's first failure within its
// start period; each next one doubles, up to the check's interval. A
// service that starts answers within a few milliseconds of that moment
// instead of up to an interval later, and refused connections cost no
// process. Exec checks, which start a process each time, keep their
// interval (the start-interval of Docker's health checks, made adaptive).
const firstPoll = 10 * time.Millisecond

// wait is how long to wait after the attempt-th probe, begun at began.
func (c *check) wait(began, grace time.Time, attempt int) time.Duration {
	if c.hc.Kind == unit.HealthExec || !began.Before(grace) {
		return c.interval
	}
	return min(c.interval, firstPoll<<min(attempt-1, 16))
}

// duration is d, or def when d is zero; a negative d is an error.
func duration(field string, d unit.Duration, def time.Duration) (time.Duration, error) {
	switch {
	case d < 0:
		return 0, fmt.Errorf("%s %s is negative", field, d)
	case d == 0:
		return def, nil
	}
	return d.Std(), nil
}

// parseCheck validates hc and fills in its defaults.
func parseCheck(hc unit.HealthCheck) (check, error) {
	c := check{hc: hc, retries: max(hc.Retries, 1)}
	bad := func(err error) (check, error) {
		return c, fmt.Errorf("health check %q: %w", hc.Name, err)
	}
	var err error
	if c.interval, err = duration("interval", hc.Interval, DefaultInterval); err != nil {
		return bad(err)
	}
	if c.timeout, err = duration("timeout", hc.Timeout, DefaultTimeout); err != nil {
		return bad(err)
	}
	if c.startPeriod, err = duration("startPeriod", hc.StartPeriod, 0); err != nil {
		return bad(err)
	}
	switch hc.Kind {
	case unit.HealthHTTP, unit.HealthTCP:
		if hc.Port < 1 || hc.Port > 65535 {
			return bad(fmt.Errorf("port %d is not 1..65535", hc.Port))
		}
		c.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(hc.Port))
		if hc.Kind == unit.HealthTCP {
			c.target = "connect " + c.addr
			break
		}
		p := hc.Path
		if p == "" {
			p = "/"
		}
		if !strings.HasPrefix(p, "/") {
			return bad(fmt.Errorf("path %q does not start with /", hc.Path))
		}
		if hc.Status != 0 && (hc.Status < 100 || hc.Status > 599) {
			return bad(fmt.Errorf("status %d is not 100..599", hc.Status))
		}
		u, err := url.ParseRequestURI(p)
		if err != nil || u.Host != "" || strings.ContainsAny(p, " \t\r\n") {
			return bad(fmt.Errorf("path %q is not a request path", hc.Path))
		}
		c.path = p
		c.target = "GET http://" + c.addr + p
	case unit.HealthExec:
		if len(hc.Argv) == 0 || hc.Argv[0] == "" {
			return bad(errors.New("exec check has no argv"))
		}
		c.target = "exec " + displayArgv(hc.Argv)
	default:
		return bad(fmt.Errorf("kind %q is not http, tcp or exec", hc.Kind))
	}
	return c, nil
}

// displayArgv joins argv for messages, quoting only what needs it.
func displayArgv(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`;&|<>*?()[]{}#~") {
			parts[i] = shellQuote(a)
		} else {
			parts[i] = a
		}
	}
	return strings.Join(parts, " ")
}

// Probe runs one attempt of the health check, bounded by its Timeout: an
// http GET on 127.0.0.1:Port (status, by default 200, and optional body
// substring in the first 64 KiB; redirects are not followed), a tcp connect to 127.0.0.1:Port,
// or the exec of Argv (exit status 0; on timeout its process group is
// killed). A failed probe is a Result with a Reason; the error is for a
// check that cannot be run (unknown kind, bad port, duration...).
func Probe(ctx context.Context, hc unit.HealthCheck) (Result, error) {
	c, err := parseCheck(hc)
	if err != nil {
		return Result{Check: hc.Name}, err
	}
	return c.probe(ctx), nil
}

func (c check) probe(ctx context.Context) Result {
	start := time.Now()
	res := Result{Check: c.hc.Name, Target: c.target}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	switch c.hc.Kind {
	case unit.HealthHTTP:
		res.Reason = c.probeHTTP(actx)
	case unit.HealthTCP:
		res.Reason = c.probeTCP(actx)
	case unit.HealthExec:
		res.Reason = c.probeExec(actx)
	}
	if res.Reason != "" && ctx.Err() != nil {
		res.Reason = "cancelled: " + ctx.Err().Error()
	}
	res.Healthy = res.Reason == ""
	res.Took = time.Since(start)
	return res
}

// probeHTTP sends one GET over a fresh connection. It speaks the little
// HTTP/1.1 it needs (status line, headers, a body by Content-Length, by
// chunks or to EOF) instead of using net/http, which would add about
// 3.5 MB to the linux/386 executor for a request to the loopback.
func (c check) probeHTTP(ctx context.Context) string {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return netReason(ctx, err, c.timeout)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	req := "GET " + c.path + " HTTP/1.1\r\nHost: " + c.addr +
		"\r\nUser-Agent: runtimekit-health\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return netReason(ctx, err, c.timeout)
	}
	br := bufio.NewReader(conn)
	resp, err := readResponse(br)
	if err != nil {
		return netReason(ctx, err, c.timeout)
	}
	want := c.hc.Status
	if want == 0 {
		want = DefaultHTTPStatus
	}
	body, berr := resp.readBody(br, maxBody)
	if resp.status != want {
		return fmt.Sprintf("status %d, want %d%s", resp.status, want, bodyNote(body))
	}
	if c.hc.Body != "" {
		if !bytes.Contains(body, []byte(c.hc.Body)) {
			if berr != nil {
				return "read body: " + netReason(ctx, berr, c.timeout)
			}
			return fmt.Sprintf("body does not contain %q%s", c.hc.Body, bodyNote(body))
		}
	}
	return ""
}

// response is the head of an HTTP/1.x response.
type response struct {
	status        int
	contentLength int64 // -1 when absent
	chunked       bool
}

// errNoResponse is a connection closed before a complete response head.
var errNoResponse = errors.New("connection closed before a response")

// readResponse reads a response head, skipping 1xx interim responses.
func readResponse(br *bufio.Reader) (response, error) {
	for {
		line, err := readLine(br)
		if err != nil {
			return response{}, err
		}
		proto, rest, _ := strings.Cut(line, " ")
		code, _, _ := strings.Cut(rest, " ")
		status, err := strconv.Atoi(code)
		if !strings.HasPrefix(proto, "HTTP/1.") || err != nil || status < 100 || status > 999 {
			return response{}, fmt.Errorf("not an HTTP/1 response: %q", truncate(line, 60))
		}
		r := response{status: status, contentLength: -1}
		for {
			h, err := readLine(br)
			if err != nil {
				return response{}, err
			}
			if h == "" {
				break
			}
			k, v, ok := strings.Cut(h, ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "content-length":
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
					r.contentLength = n
				}
			case "transfer-encoding":
				r.chunked = strings.Contains(strings.ToLower(v), "chunked")
			}
		}
		if status >= 200 || status == 101 {
			return r, nil
		}
	}
}

// readLine reads one CRLF- (or LF-) terminated line of a response head.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			return "", errNoResponse
		}
		return "", err
	}
	if len(line) > 8<<10 {
		return "", errors.New("response header line too long")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// readBody reads up to limit bytes of the body.
func (r response) readBody(br *bufio.Reader, limit int64) ([]byte, error) {
	if r.chunked {
		return readChunked(br, limit)
	}
	n := limit
	if r.contentLength >= 0 {
		n = min(n, r.contentLength)
	}
	body, err := io.ReadAll(io.LimitReader(br, n))
	if err == nil && r.contentLength >= 0 && int64(len(body)) < n {
		err = io.ErrUnexpectedEOF
	}
	return body, err
}

// readChunked decodes a chunked body, up to limit bytes.
func readChunked(br *bufio.Reader, limit int64) ([]byte, error) {
	var body []byte
	for int64(len(body)) < limit {
		line, err := br.ReadString('\n')
		if err != nil {
			return body, err
		}
		size, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		if err != nil || n < 0 {
			return body, fmt.Errorf("bad chunk size %q", truncate(line, 20))
		}
		if n == 0 {
			return body, nil
		}
		take := min(n, limit-int64(len(body)))
		chunk := make([]byte, take)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return body, err
		}
		body = append(body, chunk...)
		if take < n {
			break
		}
		if _, err := br.Discard(2); err != nil { // CRLF after the chunk
			return body, err
		}
	}
	return body, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// bodyNote quotes the start of a response body for a failure reason.
func bodyNote(body []byte) string {
	const n = 120
	s := strings.TrimSpace(string(body))
	if s == "" {
		return " (empty body)"
	}
	if len(s) > n {
		s = s[:n] + "..."
	}
	return fmt.Sprintf(" (body %q)", s)
}

func (c check) probeTCP(ctx context.Context) string {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return netReason(ctx, err, c.timeout)
	}
	conn.Close()
	return ""
}

// netReason turns a dial or request error into a short reason.
func netReason(ctx context.Context, err error, timeout time.Duration) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no answer within %s", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

func (c check) probeExec(ctx context.Context) string {
	// In its own process group, so that a timeout kills what it started
	// too; chrooted into a Prober's root and as the check's user (see
	// execCommand).
	cmd, err := execCommand(ctx, c.hc.Argv, c.hc.User)
	if err != nil {
		return err.Error()
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	stderr := &tail{max: 1024}
	cmd.Stderr = stderr
	err = cmd.Run()
	if err == nil {
		return ""
	}
	var reason string
	var ee *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		reason = fmt.Sprintf("killed after timeout %s", c.timeout)
	case errors.As(err, &ee):
		reason = ee.ProcessState.String() // "exit status 1", "signal: killed"
	default:
		reason = err.Error()
	}
	if s := stderr.String(); s != "" {
		reason += ": " + s
	}
	return reason
}

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	buf []byte
	cut bool
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.cut = true
	}
	return len(p), nil
}

// String returns the tail on one line.
func (t *tail) String() string {
	var lines []string
	for _, l := range strings.Split(string(t.buf), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	s := strings.Join(lines, "; ")
	if t.cut && s != "" {
		s = "..." + s
	}
	return s
}

// Wait probes the health check until it passes and returns nil, or
// returns a *HealthError naming the check, what was probed and the last
// failure. Probes run every Interval (the pause after a failed probe),
// each bounded by Timeout. Failures of probes that start within
// StartPeriod (counted from the call) do not count; after it, Retries
// consecutive failures (at least one) make Wait give up.
//
// The schedule is held to the bounds of sdk/state, which plans are checked
// against, so that no check can spin or block: an interval below
// state.MinHealthInterval, a timeout outside state.MinHealthTimeout to
// state.MaxHealthTimeout, more than state.MaxHealthRetries retries or a
// start period over state.MaxHealthStartPeriod is brought within them. And
// Wait gives up at the check's deadline, state.HealthDeadline (StartPeriod
// + (Retries+1) × (Interval + Timeout)), or at state.MaxHealthWait,
// whichever comes first, cutting a probe short if need be: the error then
// wraps context.DeadlineExceeded. Cancelling ctx stops it at once, in the
// start period as between probes (the error wraps ctx's error).
func Wait(ctx context.Context, hc unit.HealthCheck, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := parseCheck(hc)
	if err != nil {
		return err
	}
	t, limit := state.HealthTiming{Interval: c.interval, Timeout: c.timeout, Retries: c.retries, StartPeriod: c.startPeriod}.Bounded()
	c.interval, c.timeout, c.retries, c.startPeriod = t.Interval, t.Timeout, t.Retries, t.StartPeriod
	start := time.Now()
	dctx, cancel := context.WithDeadline(ctx, start.Add(limit))
	defer cancel()
	grace := start.Add(c.startPeriod)
	herr := &HealthError{Check: hc.Name, Target: c.target}
	// over reports whether c is done or past its deadline: a dial that
	// times out at the deadline returns a moment before c's timer fires.
	over := func(c context.Context) bool {
		d, ok := c.Deadline()
		return c.Err() != nil || ok && !time.Now().Before(d)
	}
	stopped := func() error {
		herr.Elapsed = time.Since(start)
		switch err := ctx.Err(); {
		case err != nil:
			herr.Err = err
		case over(ctx):
			herr.Err = context.DeadlineExceeded
		default:
			herr.Err = fmt.Errorf("gave up at its time limit of %s: %w", limit, context.DeadlineExceeded)
		}
		return herr
	}
	for {
		began := time.Now()
		res := c.probe(dctx)
		herr.Attempts++
		if res.Healthy {
			log.Debug("health check passed", "check", hc.Name, "target", c.target,
				"attempts", herr.Attempts, "after", time.Since(start).Round(time.Millisecond))
			return nil
		}
		if over(dctx) {
			// A probe cut short says only that it was: the failure before
			// it says more.
			if herr.Last == "" {
				herr.Last = res.Reason
			}
			return stopped()
		}
		herr.Last = res.Reason
		herr.Elapsed = time.Since(start)
		counted := !began.Before(grace)
		if counted {
			herr.Failures++
		}
		log.Debug("health check failed", "check", hc.Name, "target", c.target,
			"reason", res.Reason, "attempt", herr.Attempts, "counted", counted)
		if herr.Failures >= c.retries {
			return herr
		}
		timer := time.NewTimer(c.wait(began, grace, herr.Attempts))
		select {
		case <-dctx.Done():
			timer.Stop()
			return stopped()
		case <-timer.C:
		}
	}
}
