package host

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/manifest"
)

// builtDir holds the test plugins, built once by TestMain and named
// runtimectl-plugin-{good,crash,hang,badproto,oldproto}.
var builtDir string

const helperEnv = "RUNTIMEKIT_HOST_TEST_HELPER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		helperMain(dir)
		return
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "host-test-plugins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	names := []string{"good", "crash", "hang", "badproto", "oldproto"}
	args := []string{"build", "-o", dir}
	for _, n := range names {
		args = append(args, "./testdata/plugins/"+n)
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintf(os.Stderr, "build test plugins: %v\n", err)
		return 1
	}
	cmd := exec.Command(gotool, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build test plugins: %v\n", err)
		return 1
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(dir, n), filepath.Join(dir, BinaryPrefix+n)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	builtDir = dir
	return m.Run()
}

// helperMain plays a runtimectl that starts the good plugin and then is
// killed by the test (see TestPluginDiesWithHost).
func helperMain(dir string) {
	h := New(Options{Dirs: []string{dir}})
	if _, err := h.Runtime(context.TODO(), "good"); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	time.Sleep(time.Hour)
}

// installPlugins copies built test plugins into a new directory, under the
// given names (name -> which build), and returns the directory.
func installPlugins(t *testing.T, plugins map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, build := range plugins {
		copyFile(t, filepath.Join(builtDir, BinaryPrefix+build), filepath.Join(dir, BinaryPrefix+name))
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// flipLastByte changes one byte of a file in place.
func flipLastByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// appendByte grows a binary by one byte; an ELF file still runs after it.
func appendByte(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// startsFile makes the good plugin record its starts in a new file.
func startsFile(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "starts")
	t.Setenv("RUNTIMEKIT_TEST_STARTS", f)
	return f
}

// starts returns the pids recorded by the good plugin.
func starts(t *testing.T, file string) []int {
	t.Helper()
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// fakeEvaluate decodes the plugin's manifest.json (which the host names
// NAME/manifest.json) as plain JSON, so these tests do not depend on the CUE
// schema, and counts its calls.
func fakeEvaluate(calls *atomic.Int32) func(context.Context, map[string][]byte) (*manifest.Manifest, error) {
	return func(_ context.Context, files map[string][]byte) (*manifest.Manifest, error) {
		calls.Add(1)
		var src []byte
		for name, b := range files {
			if path.Base(name) == "manifest.json" {
				src = b
			}
		}
		var m manifest.Manifest
		if err := json.Unmarshal(src, &m); err != nil {
			return nil, err
		}
		m.Source = manifest.Positions{"/name": {File: "manifest.json", Line: 1, Column: 2}}
		return &m, nil
	}
}

// children lists the processes whose parent is this test process, zombies
// included: an unreaped plugin is a leak too.
func children(t *testing.T) []string {
	t.Helper()
	self := os.Getpid()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces.
		s := string(b)
		rest := s[strings.LastIndexByte(s, ')')+2:]
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == strconv.Itoa(self) {
			out = append(out, e.Name()+" "+s[strings.IndexByte(s, '(')+1:strings.LastIndexByte(s, ')')]+" "+f[0])
		}
	}
	return out
}

// noChildren fails if a child process is left, allowing a moment for
// processes that are already exiting.
func noChildren(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		c := children(t)
		if len(c) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("child processes left behind: %q", c)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dead reports whether pid is gone or a zombie.
func dead(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	rest := s[strings.LastIndexByte(s, ')')+2:]
	return strings.HasPrefix(rest, "Z") || strings.HasPrefix(rest, "X")
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !dead(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readLine reads one line from r with a timeout.
func readLine(t *testing.T, r io.Reader, timeout time.Duration) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		ch <- strings.TrimSpace(line)
	}()
	select {
	case l := <-ch:
		return l
	case <-time.After(timeout):
		t.Fatal("timed out waiting for helper")
		return ""
	}
}
