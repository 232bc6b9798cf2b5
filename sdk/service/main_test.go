package service

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the service the runit tests supervise: with
// RUNTIMEKIT_SVC_HELPER=1 in its environment it runs helperMain instead of
// the tests.
const helperEnv = "RUNTIMEKIT_SVC_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		helperMain()
		return
	}
	// Make this process the reaper of its orphaned descendants: when a
	// test's runsvdir exits, its runsv processes are reparented here (and
	// reaped by the test's cleanup) instead of to PID 1, which in some
	// containers never reaps them.
	const prSetChildSubreaper = 36
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		fmt.Fprintln(os.Stderr, "prctl(PR_SET_CHILD_SUBREAPER):", errno)
	}
	os.Exit(m.Run())
}

// helperReport is what the helper service writes to $HELPER_REPORT.
type helperReport struct {
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Cwd  string   `json:"cwd"`
	UID  int      `json:"uid"`
	GID  int      `json:"gid"`
}

// helperMain is a service, configured by its environment:
//
//	HELPER_LOG     file to append "start PID", "ready PID", "signal NAME PID" to
//	HELPER_REPORT  file to write a helperReport to
//	HELPER_PORT    serve HTTP on 127.0.0.1:PORT: /healthz answers "ok"
//	HELPER_STATUS  the status /healthz answers with (default 200)
//	HELPER_EXIT    exit with this code 300ms after starting
//	HELPER_IGNORE  "1": log stop signals and keep running
func helperMain() {
	pid := os.Getpid()
	logf := func(format string, args ...any) {
		p := os.Getenv("HELPER_LOG")
		if p == "" {
			return
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintf(f, format+"\n", args...)
		f.Close()
	}
	logf("start %d", pid)
	fmt.Printf("helper started, pid %d\n", pid) // to svlogd

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)

	if p := os.Getenv("HELPER_REPORT"); p != "" {
		cwd, _ := os.Getwd()
		b, _ := json.Marshal(helperReport{Args: os.Args, Env: os.Environ(), Cwd: cwd, UID: os.Getuid(), GID: os.Getgid()})
		if err := os.WriteFile(p, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if p := os.Getenv("HELPER_PORT"); p != "" {
		l, err := net.Listen("tcp", "127.0.0.1:"+p)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		status := http.StatusOK
		if s := os.Getenv("HELPER_STATUS"); s != "" {
			status, _ = strconv.Atoi(s)
		}
		go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(status)
			fmt.Fprintf(w, "ok from %d\n", pid)
		}))
		fmt.Printf("helper serving on 127.0.0.1:%s\n", p)
	}
	logf("ready %d", pid)

	var exit <-chan time.Time
	code := 0
	if s := os.Getenv("HELPER_EXIT"); s != "" {
		code, _ = strconv.Atoi(s)
		exit = time.After(300 * time.Millisecond)
	}
	for {
		select {
		case <-exit:
			logf("exit %d %d", code, pid)
			os.Exit(code)
		case s := <-sigs:
			logf("signal %s %d", sigName(s.(syscall.Signal)), pid)
			if os.Getenv("HELPER_IGNORE") != "1" {
				os.Exit(0)
			}
		}
	}
}

func sigName(s syscall.Signal) string {
	for _, n := range []string{"TERM", "INT", "QUIT", "HUP", "KILL", "USR1", "USR2"} {
		if sig, _ := stopSignal(n); sig == s {
			return n
		}
	}
	return s.String()
}
