package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/runtimekit/runtimekit/sdk/unit"
)

// Restart policies, the values of unit.Service.Restart ("" means always).
const (
	RestartAlways    = unit.RestartAlways
	RestartOnFailure = unit.RestartOnFailure
	RestartNever     = unit.RestartNever
)

// DefaultStopTimeout is used when a service's StopTimeout is zero.
const DefaultStopTimeout = 10 * time.Second

// DefaultPath is the PATH of a service whose Env does not set one, and of
// the runsvdir that [Runit.EnsureSupervisor] starts.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ErrInvalid is wrapped by the errors for a service definition that cannot
// be installed.
var ErrInvalid = errors.New("invalid service definition")

// Files of a service directory, relative to it.
const (
	fileRun     = "run"
	fileLogRun  = "log/run"
	fileFinish  = "finish"
	fileDown    = "down"
	fileControl = "control/t"
	fileDef     = "runtimekit.json"
)

// script is one file of a service directory.
type script struct {
	rel  string // relative to the service directory
	data []byte
	mode uint32
}

// layout is what Install writes for one service.
type layout struct {
	svc   unit.Service // with defaults filled in
	files []script     // in write order; run is last
	stale []string     // files a previous definition may have left
}

// stopSignal maps a unit.Service StopSignal to the signal.
func stopSignal(name string) (syscall.Signal, bool) {
	switch name {
	case "", "TERM":
		return syscall.SIGTERM, true
	case "INT":
		return syscall.SIGINT, true
	case "QUIT":
		return syscall.SIGQUIT, true
	case "HUP":
		return syscall.SIGHUP, true
	case "KILL":
		return syscall.SIGKILL, true
	case "USR1":
		return syscall.SIGUSR1, true
	case "USR2":
		return syscall.SIGUSR2, true
	}
	return 0, false
}

// NameRule says which service names [ValidName] accepts, for messages.
const NameRule = "a service name is 1 to 128 letters, digits and -_.@, not starting with . or -"

// ValidName reports whether name can name a service (see [NameRule]): it
// names a service directory, which runsvdir skips when it starts with a
// dot, and it must be one path element, so that no name leads out of the
// service, scan or log directory. Commands that take a service name check
// it with ValidName before they touch any path made from it.
func ValidName(name string) bool {
	if name == "" || len(name) > 128 || name[0] == '.' || name[0] == '-' {
		return false
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == '@':
		default:
			return false
		}
	}
	return true
}

// validEnvName reports whether k is a portable environment variable name.
func validEnvName(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// validUser reports whether u is a user name chpst -u takes as a name
// (chpst reads ':' as a group separator and a leading ':' as numeric ids).
func validUser(u string) bool {
	if u == "" || len(u) > 32 {
		return false
	}
	for i, c := range u {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case (c >= '0' && c <= '9') || c == '-' || c == '.':
			if i == 0 {
				return false
			}
		case c == '$' && i == len(u)-1:
		default:
			return false
		}
	}
	return true
}

// normalize checks svc and fills in its defaults.
func normalize(svc unit.Service) (unit.Service, time.Duration, error) {
	bad := func(format string, args ...any) (unit.Service, time.Duration, error) {
		return svc, 0, fmt.Errorf("%w %q: %s", ErrInvalid, svc.Name, fmt.Sprintf(format, args...))
	}
	if !ValidName(svc.Name) {
		return bad("%s", NameRule)
	}
	if len(svc.Argv) == 0 || svc.Argv[0] == "" {
		return bad("argv is empty")
	}
	if strings.Contains(svc.Argv[0], "=") {
		return bad("argv[0] %q contains '=' (env would take it for a variable)", svc.Argv[0])
	}
	for i, a := range svc.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return bad("argv[%d] contains a NUL byte", i)
		}
	}
	if svc.User == "" {
		svc.User = "root"
	}
	if !validUser(svc.User) {
		return bad("user %q is not a valid user name", svc.User)
	}
	if svc.Workdir != "" && (!path.IsAbs(svc.Workdir) || strings.IndexByte(svc.Workdir, 0) >= 0) {
		return bad("workdir %q is not an absolute path", svc.Workdir)
	}
	if svc.EnvFile != "" && (!path.IsAbs(svc.EnvFile) || strings.IndexByte(svc.EnvFile, 0) >= 0) {
		return bad("env file %q is not an absolute path", svc.EnvFile)
	}
	for k, v := range svc.Env {
		if !validEnvName(k) {
			return bad("environment variable name %q is not valid", k)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return bad("environment variable %s contains a NUL byte", k)
		}
	}
	switch svc.Restart {
	case "":
		svc.Restart = RestartAlways
	case RestartAlways, RestartOnFailure, RestartNever:
	default:
		return bad("restart %q is not always, on-failure or never", svc.Restart)
	}
	if svc.StopSignal == "" {
		svc.StopSignal = "TERM"
	}
	if _, ok := stopSignal(svc.StopSignal); !ok {
		return bad("stop signal %q is not TERM, INT, QUIT, HUP, KILL, USR1 or USR2", svc.StopSignal)
	}
	timeout := svc.StopTimeout.Std()
	switch {
	case timeout < 0:
		return bad("stop timeout %s is not a positive duration", timeout)
	case timeout == 0:
		timeout = DefaultStopTimeout
		svc.StopTimeout = unit.Duration(timeout)
	}
	return svc, timeout, nil
}

// shellQuote quotes s for sh as one word: single quotes keep every byte
// literal except the single quote itself, which is written as a closing
// quote, a backslash-escaped quote and an opening quote.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

const scriptHeader = "#!/bin/sh\n# Written by runtimekit; changes are overwritten.\n"

// render returns the files of svc's service directory; logDir is the
// directory svlogd writes, as the supervisor sees it.
func render(svc unit.Service, logDir string) (layout, error) {
	svc, _, err := normalize(svc)
	if err != nil {
		return layout{}, err
	}
	var l layout
	l.svc = svc

	// log/run: svlogd reads the service's stdout (and stderr, see run) from
	// runsv's log pipe; -tt prefixes each line with a UTC timestamp.
	l.files = append(l.files, script{rel: fileLogRun, mode: 0o755, data: []byte(scriptHeader +
		"PATH=" + DefaultPath + "\n" +
		"exec svlogd -tt " + shellQuote(logDir) + "\n")})

	// control/t: runsv runs it instead of sending SIGTERM (see doc.go).
	if sig := svc.StopSignal; sig != "TERM" {
		l.files = append(l.files, script{rel: fileControl, mode: 0o755, data: []byte(scriptHeader +
			"# runsv runs this to stop the service; exit status 0 tells runsv the\n" +
			"# signal was sent, so it does not send SIGTERM. Newer runsv passes the\n" +
			"# service's pid as $1; 2.1.2 passes nothing, but keeps it in supervise/pid.\n" +
			"pid=$1\n" +
			"[ -n \"$pid\" ] || read -r pid <supervise/pid || exit 1\n" +
			"[ -n \"$pid\" ] || exit 1\n" +
			"kill -s " + sig + " \"$pid\"\n")})
	} else {
		l.stale = append(l.stale, fileControl)
	}

	switch svc.Restart {
	case RestartOnFailure:
		l.files = append(l.files, script{rel: fileFinish, mode: 0o755, data: []byte(scriptHeader +
			"# runsv runs this after ./run exits: $1 is the exit code (-1 after a\n" +
			"# signal). A clean exit marks the service down, so runsv leaves it down.\n" +
			"if [ \"$1\" = 0 ]; then printf d >supervise/control; fi\n" +
			"exit 0\n")})
		l.stale = append(l.stale, fileDown)
	case RestartNever:
		l.files = append(l.files, script{rel: fileDown, mode: 0o644, data: []byte{}})
		l.stale = append(l.stale, fileFinish)
	default:
		l.stale = append(l.stale, fileFinish, fileDown)
	}

	def, err := json.MarshalIndent(svc, "", "  ")
	if err != nil {
		return layout{}, fmt.Errorf("encode service %s: %w", svc.Name, err)
	}
	l.files = append(l.files, script{rel: fileDef, mode: 0o644, data: append(def, '\n')})

	// run goes last: a supervised directory never has a new run beside old
	// companions.
	l.files = append(l.files, script{rel: fileRun, mode: 0o755, data: []byte(runScript(svc))})
	return l, nil
}

// runScript renders ./run for a normalized service.
func runScript(svc unit.Service) string {
	var b strings.Builder
	b.WriteString(scriptHeader)
	b.WriteString("PATH=" + DefaultPath + "\n")
	b.WriteString("exec 2>&1\n")
	dir := svc.Workdir
	if dir == "" {
		dir = "/"
	}
	b.WriteString("cd " + shellQuote(dir) + " || exit 111\n")
	b.WriteString("exec")
	if svc.User != "root" {
		b.WriteString(" chpst -u " + shellQuote(svc.User))
	}
	b.WriteString(" env -i --")
	keys := make([]string, 0, len(svc.Env)+1)
	for k := range svc.Env {
		keys = append(keys, k)
	}
	env := svc.Env
	if _, ok := env["PATH"]; !ok {
		keys = append(keys, "PATH")
		env = map[string]string{"PATH": DefaultPath}
		for k, v := range svc.Env {
			env[k] = v
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString(" \\\n  " + shellQuote(k+"="+env[k]))
	}
	if svc.EnvFile != "" {
		// Read as the service's user, so that the file (the app's, mode
		// 0600) can only ever set the environment of that user's process.
		b.WriteString(" \\\n  /bin/sh -c 'set -a && . \"$0\" && set +a && exec \"$@\"' " + shellQuote(svc.EnvFile))
	}
	b.WriteString(" \\\n ")
	for _, a := range svc.Argv {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString("\n")
	return b.String()
}
