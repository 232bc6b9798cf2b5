package state

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds of a health check. A check is probed every Interval, each probe
// bounded by Timeout; failures during StartPeriod do not count, and Retries
// consecutive failures after it fail the check. Unbounded, "0s" with 10⁹
// retries is a busy loop and a start period of a million hours blocks an
// apply for ever. The bounds suit an emulated i386 VM, where a Node.js app
// can take a minute to answer, while keeping every wait finite:
const (
	// MinHealthInterval keeps a failing check at ten probes a second at
	// most.
	MinHealthInterval = 100 * time.Millisecond
	// MinHealthTimeout is the least time a probe gets: below it even a
	// loopback connect can miss in emulation.
	MinHealthTimeout = 100 * time.Millisecond
	// MaxHealthTimeout bounds one probe (an exec probe may run a real
	// command, such as starting an interpreter).
	MaxHealthTimeout = 5 * time.Minute
	// MaxHealthRetries bounds the consecutive failures a check waits for.
	MaxHealthRetries = 10000
	// MaxHealthStartPeriod bounds the grace period after a service starts.
	MaxHealthStartPeriod = 10 * time.Minute
	// MaxHealthWait bounds the whole wait for one check (see
	// HealthDeadline): an apply never waits longer for a check to pass.
	MaxHealthWait = 15 * time.Minute
)

// MaxStopTimeout bounds how long a service is given to stop after its stop
// signal before it is killed; a stop waits at most that long.
const MaxStopTimeout = 10 * time.Minute

// MaxNameLength is the longest name (of a runtime, service, health check,
// port) plans and states hold; runit's directory names and chpst's user
// names stay well within their own limits.
const MaxNameLength = 63

// MaxUserLength is the longest user or group name: what chpst and the
// shadow tools accept.
const MaxUserLength = 32

// maxPathLength is PATH_MAX less its terminating NUL.
const maxPathLength = 4095

// HealthDeadline is the longest a failing check with these settings takes:
// the start period, then Retries (at least one) probes each followed by its
// interval, plus one probe and interval for the probe that was running
// when the start period ended (its failure does not count). service.Wait
// gives up at this deadline or at MaxHealthWait, whichever comes first.
// The sum saturates instead of overflowing.
func HealthDeadline(interval, timeout time.Duration, retries int, startPeriod time.Duration) time.Duration {
	n := float64(max(retries, 1)) + 1
	per := float64(max(interval, 0)) + float64(max(timeout, 0))
	total := float64(max(startPeriod, 0)) + n*per
	if total >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(total)
}

// Problem is one thing wrong with a value, said in the terms of whoever
// wrote it.
type Problem struct {
	// Field locates the value as a JSON pointer relative to what was
	// checked, e.g. "argv/0" for a service or "1/files/0/path" for a list
	// of runtimes.
	Field string `json:"field,omitempty"`
	// Value is the offending value as written, so a caller can tell which
	// user parameter produced it.
	Value string `json:"value,omitempty"`
	// Reason says what is wrong, and names the value.
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Reason
	}
	return p.Field + ": " + p.Reason
}

// Problems lists every problem of a value; as an error it names them one
// per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps as an error, or nil when there is no problem.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Under returns ps with prefix put before every field.
func (ps Problems) Under(prefix string) Problems {
	out := make(Problems, len(ps))
	for i, p := range ps {
		p.Field = joinField(prefix, p.Field)
		out[i] = p
	}
	return out
}

func joinField(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "/" + field
}

// CheckPath returns why p cannot be a path on the machine, or "": it must
// be absolute and clean (no "." or ".." component, no "//", no trailing
// "/"), valid UTF-8 without control characters (a NUL ends a path at the
// system call; a newline breaks every line-based file that lists paths)
// or backslashes, and at most 4095 bytes.
func CheckPath(p string) string {
	switch {
	case p == "":
		return "is empty"
	case p[0] != '/':
		return fmt.Sprintf("%q is not an absolute path", p)
	case len(p) > maxPathLength:
		return fmt.Sprintf("is %d bytes long, more than the %d a path may have", len(p), maxPathLength)
	}
	if why := badText(p); why != "" {
		return fmt.Sprintf("%q %s", p, why)
	}
	if strings.ContainsRune(p, '\\') {
		return fmt.Sprintf("%q contains a backslash", p)
	}
	if c := path.Clean(p); c != p {
		return fmt.Sprintf("%q is not clean: write %q", p, c)
	}
	return ""
}

// badText says why s cannot be written into a file or command line the
// executor makes, or "".
func badText(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		switch {
		case r == 0:
			return "contains a NUL byte"
		case r == '\n':
			return "contains a newline"
		case unicode.IsControl(r):
			return fmt.Sprintf("contains the control character %U", r)
		}
	}
	return ""
}

// isName reports whether s matches ^[a-z][a-z0-9-]*$.
func isName(s string) bool {
	for i, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z':
		case (c >= '0' && c <= '9') || c == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return s != ""
}

// isUser reports whether s matches ^[a-z_][a-z0-9_-]*$.
func isUser(s string) bool {
	for i, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case (c >= '0' && c <= '9') || c == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return s != ""
}

// isEnvName reports whether s matches ^[A-Za-z_][A-Za-z0-9_]*$.
func isEnvName(s string) bool {
	for i, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return s != ""
}

// CheckName returns why s cannot name a runtime, service, health check or
// port, or "": lower-case letters, digits and dashes, starting with a
// letter, at most MaxNameLength characters.
func CheckName(s string) string {
	switch {
	case !isName(s):
		return fmt.Sprintf("%q is not a name: lower-case letters, digits and '-', starting with a letter", s)
	case len(s) > MaxNameLength:
		return fmt.Sprintf("%q is longer than %d characters", s, MaxNameLength)
	}
	return ""
}

// CheckUser returns why s cannot name a user or group, or "": lower-case
// letters, digits, '_' and '-', not starting with a digit or '-', at most
// MaxUserLength characters.
func CheckUser(s string) string {
	switch {
	case !isUser(s):
		return fmt.Sprintf("%q is not a user name: lower-case letters, digits, '_' and '-', not starting with a digit or '-'", s)
	case len(s) > MaxUserLength:
		return fmt.Sprintf("%q is longer than %d characters", s, MaxUserLength)
	}
	return ""
}

// CheckService returns every reason the executor could not install and run
// svc; fields are relative to the service ("argv/0", "env/PORT").
func CheckService(svc Service) Problems {
	var ps Problems
	add := func(field, value, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Value: value, Reason: fmt.Sprintf("service %s: ", svc.Name) + fmt.Sprintf(format, args...)})
	}
	if why := CheckName(svc.Name); why != "" {
		add("name", svc.Name, "the name %s", why)
	}
	ps = append(ps, checkArgv(svc.Argv, "service "+svc.Name)...)
	if len(svc.Argv) > 0 && strings.Contains(svc.Argv[0], "=") {
		// The run script execs `env -i -- K=V... argv`: env would read
		// argv[0] as one more variable.
		add("argv/0", svc.Argv[0], "the command (argv[0]) %q contains '=', which would make it an environment assignment", svc.Argv[0])
	}
	if why := CheckUser(svc.User); why != "" {
		add("user", svc.User, "the user %s", why)
	}
	if svc.Workdir != "" {
		if why := CheckPath(svc.Workdir); why != "" {
			add("workdir", svc.Workdir, "the working directory %s", why)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(svc.Env)) {
		if !isEnvName(k) {
			add("env/"+k, k, "environment variable name %q is not letters, digits and '_' (not starting with a digit)", k)
		}
		if strings.IndexByte(svc.Env[k], 0) >= 0 {
			add("env/"+k, svc.Env[k], "environment variable %s contains a NUL byte", k)
		}
	}
	if d := svc.StopTimeout.Std(); d <= 0 || d > MaxStopTimeout {
		add("stopTimeout", svc.StopTimeout.String(), "stopTimeout %s is not between 0s (exclusive) and %s", d, MaxStopTimeout)
	}
	for i, d := range svc.DependsOn {
		if why := CheckName(d); why != "" {
			add("dependsOn/"+strconv.Itoa(i), d, "dependsOn %s", why)
		}
	}
	return ps
}

// checkArgv checks a command line: at least the command, which is not
// empty, and no NUL byte anywhere (exec cannot pass one).
func checkArgv(argv []string, who string) Problems {
	if len(argv) == 0 {
		return Problems{{Field: "argv", Reason: who + ": argv is empty: give at least the command"}}
	}
	var ps Problems
	if argv[0] == "" {
		ps = append(ps, Problem{Field: "argv/0", Reason: who + ": the command (argv[0]) is empty"})
	}
	for i, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			ps = append(ps, Problem{Field: "argv/" + strconv.Itoa(i), Value: a, Reason: fmt.Sprintf("%s: argv[%d] contains a NUL byte", who, i)})
		}
	}
	return ps
}

// HealthTiming is a health check's schedule, parsed.
type HealthTiming struct {
	Interval, Timeout, StartPeriod time.Duration
	Retries                        int
}

// Deadline is HealthDeadline of t.
func (t HealthTiming) Deadline() time.Duration {
	return HealthDeadline(t.Interval, t.Timeout, t.Retries, t.StartPeriod)
}

// Bounded returns t brought within the bounds (Retries also at least one),
// and the deadline of the result capped at MaxHealthWait: what a check
// outside the bounds that reaches a prober anyway runs as.
func (t HealthTiming) Bounded() (HealthTiming, time.Duration) {
	t.Interval = max(t.Interval, MinHealthInterval)
	t.Timeout = min(max(t.Timeout, MinHealthTimeout), MaxHealthTimeout)
	t.Retries = min(max(t.Retries, 1), MaxHealthRetries)
	t.StartPeriod = min(max(t.StartPeriod, 0), MaxHealthStartPeriod)
	return t, min(t.Deadline(), MaxHealthWait)
}

// timing is h's schedule. A negative duration is a problem: the JSON form
// cannot carry one, but a value built in Go can.
func timing(h HealthCheck) (HealthTiming, Problems) {
	t := HealthTiming{Interval: h.Interval.Std(), Timeout: h.Timeout.Std(), StartPeriod: h.StartPeriod.Std(), Retries: h.Retries}
	var ps Problems
	for _, f := range []struct {
		field string
		d     time.Duration
	}{{"interval", t.Interval}, {"timeout", t.Timeout}, {"startPeriod", t.StartPeriod}} {
		if f.d < 0 {
			ps = append(ps, Problem{Field: f.field, Value: f.d.String(), Reason: fmt.Sprintf("health check %s: %s %s is negative", h.Name, f.field, f.d)})
		}
	}
	return t, ps
}

// CheckHealthTiming returns where t is outside the bounds. name is the
// check's, for the reasons.
func CheckHealthTiming(name string, t HealthTiming) Problems {
	var ps Problems
	add := func(field string, value any, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Value: fmt.Sprint(value), Reason: fmt.Sprintf("health check %s: ", name) + fmt.Sprintf(format, args...)})
	}
	if t.Interval < MinHealthInterval {
		add("interval", t.Interval, "interval %s is below the minimum %s (a failing check would probe in a busy loop)", t.Interval, MinHealthInterval)
	}
	if t.Timeout < MinHealthTimeout || t.Timeout > MaxHealthTimeout {
		add("timeout", t.Timeout, "timeout %s is not between %s and %s", t.Timeout, MinHealthTimeout, MaxHealthTimeout)
	}
	if t.Retries < 0 || t.Retries > MaxHealthRetries {
		add("retries", t.Retries, "retries %d is not between 0 and %d", t.Retries, MaxHealthRetries)
	}
	if t.StartPeriod > MaxHealthStartPeriod {
		add("startPeriod", t.StartPeriod, "startPeriod %s is over the maximum %s", t.StartPeriod, MaxHealthStartPeriod)
	}
	if len(ps) == 0 {
		if d := t.Deadline(); d > MaxHealthWait {
			add("retries", t.Retries, "a failing check would be waited for %s (startPeriod + (retries+1) × (interval + timeout)), over the maximum %s: lower retries, interval or timeout",
				d.Round(time.Second), MaxHealthWait)
		}
	}
	return ps
}

// CheckHealth returns every reason the executor could not run h, including
// a schedule outside the bounds; fields are relative to the check.
func CheckHealth(h HealthCheck) Problems {
	var ps Problems
	add := func(field, value, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Value: value, Reason: fmt.Sprintf("health check %s: ", h.Name) + fmt.Sprintf(format, args...)})
	}
	if why := CheckName(h.Name); why != "" {
		add("name", h.Name, "the name %s", why)
	}
	switch h.Kind {
	case HealthHTTP, HealthTCP:
		if h.Port < 1 || h.Port > 65535 {
			add("port", strconv.Itoa(h.Port), "a %s check needs a port 1..65535, not %d", h.Kind, h.Port)
		}
		if h.Kind == HealthHTTP {
			if why := checkRequestPath(h.Path); why != "" {
				add("path", h.Path, "the request path %s", why)
			}
			if h.Status != 0 && (h.Status < 100 || h.Status > 599) {
				add("status", strconv.Itoa(h.Status), "status %d is not 100..599", h.Status)
			}
		}
	case HealthExec:
		ps = append(ps, checkArgv(h.Argv, "health check "+h.Name)...)
	default:
		add("kind", string(h.Kind), "kind %q is not http, tcp or exec", h.Kind)
	}
	if h.User != "" {
		if h.Kind != HealthExec {
			add("user", h.User, "only exec checks run as a user; a %s check has none", h.Kind)
		} else if why := CheckUser(h.User); why != "" {
			add("user", h.User, "the user %s", why)
		}
	}
	t, tps := timing(h)
	ps = append(ps, tps...)
	if len(tps) == 0 {
		ps = append(ps, CheckHealthTiming(h.Name, t)...)
	}
	return ps
}

// checkRequestPath says why p cannot be sent as an HTTP request path, or
// "" ("" itself means "/").
func checkRequestPath(p string) string {
	if p == "" {
		return ""
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Sprintf("%q does not start with '/'", p)
	}
	if why := badText(p); why != "" {
		return fmt.Sprintf("%q %s", p, why)
	}
	if strings.ContainsAny(p, " \t") {
		return fmt.Sprintf("%q contains a space: write it as %%20", p)
	}
	if u, err := url.ParseRequestURI(p); err != nil || u.Host != "" {
		return fmt.Sprintf("%q is not a request path such as \"/healthz\"", p)
	}
	return ""
}

// Validate checks what the state schema cannot: runtime names are unique,
// and within each runtime file paths, service, health check and port names;
// every path is clean (see CheckPath). Parse, and so Load and Save, call it.
func (s *State) Validate() error {
	ps := CheckRuntimes(s.Runtimes).Under("runtimes")
	ps = append(ps, CheckApps(s.Apps).Under("apps")...)
	seen := map[string]bool{}
	for _, svc := range s.Services() {
		if seen[svc.Name] {
			ps = append(ps, Problem{Field: "apps", Value: svc.Name, Reason: fmt.Sprintf("service %s is listed twice: a service belongs to one runtime or app", svc.Name)})
		}
		seen[svc.Name] = true
	}
	return ps.Err()
}

// CheckRuntimes returns the problems of a list of runtimes, as State.Validate
// sees them; fields are relative to the list ("0/files/1/path"). A
// record-state step's runtimes are checked with it too.
func CheckRuntimes(rts []Runtime) Problems {
	var ps Problems
	seen := map[string]bool{}
	for i, rt := range rts {
		at := strconv.Itoa(i)
		add := func(field, value, format string, args ...any) {
			ps = append(ps, Problem{Field: joinField(at, field), Value: value, Reason: fmt.Sprintf("runtime %s: ", rt.Name) + fmt.Sprintf(format, args...)})
		}
		if seen[rt.Name] {
			add("name", rt.Name, "listed twice: a runtime is installed once")
		}
		seen[rt.Name] = true
		if why := CheckName(rt.Name); why != "" {
			add("name", rt.Name, "the name %s", why)
		}
		unique := func(list, what string, keys []string) {
			first := map[string]bool{}
			for j, k := range keys {
				if first[k] {
					add(fmt.Sprintf("%s/%d", list, j), k, "%s %s is listed twice", what, k)
				}
				first[k] = true
			}
		}
		var files, svcs, checks, ports []string
		for j, f := range rt.Files {
			files = append(files, f.Path)
			if why := CheckPath(f.Path); why != "" {
				add(fmt.Sprintf("files/%d/path", j), f.Path, "file path %s", why)
			}
		}
		for j, a := range rt.Artifacts {
			if why := CheckPath(a.Dest); why != "" {
				add(fmt.Sprintf("artifacts/%d/dest", j), a.Dest, "archive destination %s", why)
			}
		}
		for j, s := range rt.Services {
			svcs = append(svcs, s.Name)
			if s.Workdir != "" {
				if why := CheckPath(s.Workdir); why != "" {
					add(fmt.Sprintf("services/%d/workdir", j), s.Workdir, "service %s: the working directory %s", s.Name, why)
				}
			}
		}
		for _, h := range rt.Health {
			checks = append(checks, h.Name)
		}
		for _, p := range rt.Ports {
			ports = append(ports, p.Name)
		}
		unique("files", "file", files)
		unique("services", "service", svcs)
		unique("health", "health check", checks)
		unique("ports", "port", ports)
	}
	return ps
}
