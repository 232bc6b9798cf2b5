package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/internal/pluginrpc"
)

func TestDiscovery(t *testing.T) {
	type file struct {
		dir, name string
		mode      os.FileMode
	}
	tests := []struct {
		name  string
		files []file
		dirs  []string // relative to the test's root; "missing" does not exist
		want  []Plugin // paths relative to the root
	}{
		{
			name:  "first directory wins and shadows later ones",
			files: []file{{"a", "runtimectl-plugin-nginx", 0o755}, {"b", "runtimectl-plugin-nginx", 0o755}, {"b", "runtimectl-plugin-node", 0o755}},
			dirs:  []string{"a", "b"},
			want: []Plugin{
				{Name: "nginx", Path: "a/runtimectl-plugin-nginx", Shadowed: []string{"b/runtimectl-plugin-nginx"}},
				{Name: "node", Path: "b/runtimectl-plugin-node"},
			},
		},
		{
			name:  "order of directories decides",
			files: []file{{"a", "runtimectl-plugin-nginx", 0o755}, {"b", "runtimectl-plugin-nginx", 0o755}},
			dirs:  []string{"b", "a"},
			want:  []Plugin{{Name: "nginx", Path: "b/runtimectl-plugin-nginx", Shadowed: []string{"a/runtimectl-plugin-nginx"}}},
		},
		{
			name: "non-executables, bad names and other files are ignored",
			files: []file{
				{"a", "runtimectl-plugin-python", 0o644},
				{"a", "runtimectl-plugin-Bad", 0o755},
				{"a", "runtimectl-plugin-deno.bak", 0o755},
				{"a", "runtimectl-plugin-", 0o755},
				{"a", "runtimectl", 0o755},
				{"a", "runtimectl-plugin-deno", 0o755},
			},
			dirs: []string{"a"},
			want: []Plugin{{Name: "deno", Path: "a/runtimectl-plugin-deno"}},
		},
		{
			name:  "missing directories are skipped and a repeated one shadows nothing",
			files: []file{{"a", "runtimectl-plugin-nextjs", 0o755}},
			dirs:  []string{"missing", "a", "a/"},
			want:  []Plugin{{Name: "nextjs", Path: "a/runtimectl-plugin-nextjs"}},
		},
		{
			name: "no directories",
			dirs: []string{},
			want: []Plugin{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tt.files {
				if err := os.MkdirAll(filepath.Join(root, f.dir), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, f.dir, f.name), []byte(f.name), f.mode); err != nil {
					t.Fatal(err)
				}
			}
			dirs := []string{}
			for _, d := range tt.dirs {
				dirs = append(dirs, filepath.Join(root, d))
			}
			h := New(Options{Dirs: dirs})
			defer h.Close()
			got, err := h.Plugins(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i].Path = rel(t, root, got[i].Path)
				for j := range got[i].Shadowed {
					got[i].Shadowed[j] = rel(t, root, got[i].Shadowed[j])
				}
				if len(got[i].SHA256) != 64 {
					t.Errorf("%s: sha256 %q", got[i].Name, got[i].SHA256)
				}
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Plugin{}, "SHA256"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Plugins() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// hashFile hashes a file, bypassing the digest cache.
func hashFile(path string) (string, error) {
	sum, _, _, err := hashIdentified(path)
	return sum, err
}

func rel(t *testing.T, root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(r)
}

func TestDefaultDirs(t *testing.T) {
	t.Setenv(PathEnv, "/opt/one::relative/two:/opt/three")
	got, err := DefaultDirs()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	cwd, _ := os.Getwd()
	want := []string{filepath.Dir(exe), "/opt/one", filepath.Join(cwd, "relative/two"), "/opt/three"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DefaultDirs() mismatch (-want +got):\n%s", diff)
	}
}

func TestLockIsDeterministic(t *testing.T) {
	dir := installPlugins(t, map[string]string{"beta": "good", "alpha": "good"})
	cfg := t.TempDir()
	lockPath := filepath.Join(cfg, "sub", "plugins.lock.json")
	var evals atomic.Int32

	lockOnce := func(cacheDir string) []byte {
		h := New(Options{Dirs: []string{dir}, LockFile: lockPath, CacheDir: cacheDir, Evaluate: fakeEvaluate(&evals)})
		defer h.Close()
		got, err := h.Lock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !got[0].Locked || got[0].Version != "1.2.3" || got[0].Name != "alpha" {
			t.Errorf("Lock() = %+v", got)
		}
		b, err := os.ReadFile(lockPath)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cache := t.TempDir()
	first := lockOnce(cache)
	second := lockOnce(cache)      // from the manifest cache
	third := lockOnce(t.TempDir()) // launching again
	if !(string(first) == string(second) && string(second) == string(third)) {
		t.Errorf("lock bytes differ:\n%s\n%s\n%s", first, second, third)
	}
	sum := func(name string) string {
		s, err := hashFile(filepath.Join(dir, BinaryPrefix+name))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := `{
  "formatVersion": 1,
  "plugins": [
    {
      "name": "alpha",
      "path": "` + filepath.Join(dir, BinaryPrefix+"alpha") + `",
      "sha256": "` + sum("alpha") + `",
      "version": "1.2.3"
    },
    {
      "name": "beta",
      "path": "` + filepath.Join(dir, BinaryPrefix+"beta") + `",
      "sha256": "` + sum("beta") + `",
      "version": "1.2.3"
    }
  ]
}
`
	if diff := cmp.Diff(want, string(first)); diff != "" {
		t.Errorf("lock file mismatch (-want +got):\n%s", diff)
	}
	noChildren(t)
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   map[string]Status
		errHas map[string][]string // substrings of Check.Err() per plugin
	}{
		{
			name: "unchanged",
			want: map[string]Status{"alpha": StatusOK, "beta": StatusOK},
		},
		{
			name:   "one byte changed",
			change: func(t *testing.T, dir string) { flipLastByte(t, filepath.Join(dir, BinaryPrefix+"beta")) },
			want:   map[string]Status{"alpha": StatusOK, "beta": StatusMismatch},
			errHas: map[string][]string{"beta": {BinaryPrefix + "beta", "LOCKED", "ACTUAL", "plugins.lock.json"}},
		},
		{
			name:   "removed",
			change: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, BinaryPrefix+"alpha")) },
			want:   map[string]Status{"alpha": StatusMissing, "beta": StatusOK},
			errHas: map[string][]string{"alpha": {"not found"}},
		},
		{
			name: "added",
			change: func(t *testing.T, dir string) {
				copyFile(t, filepath.Join(builtDir, BinaryPrefix+"good"), filepath.Join(dir, BinaryPrefix+"gamma"))
			},
			want:   map[string]Status{"alpha": StatusOK, "beta": StatusOK, "gamma": StatusNotLocked},
			errHas: map[string][]string{"gamma": {"not pinned"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := installPlugins(t, map[string]string{"alpha": "good", "beta": "good"})
			opts := Options{Dirs: []string{dir}, LockFile: filepath.Join(t.TempDir(), "plugins.lock.json"), CacheDir: t.TempDir()}
			h := New(opts)
			locked, err := h.Lock(t.Context())
			h.Close()
			if err != nil {
				t.Fatal(err)
			}
			if tt.change != nil {
				tt.change(t, dir)
			}
			h = New(opts)
			defer h.Close()
			checks, err := h.Verify(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]Status{}
			for _, c := range checks {
				got[c.Name] = c.Status
				err := c.Err()
				if (err == nil) != (c.Status == StatusOK) {
					t.Errorf("%s: status %s but Err() = %v", c.Name, c.Status, err)
				}
				for _, s := range tt.errHas[c.Name] {
					switch s {
					case "LOCKED":
						s = lockedSum(locked, c.Name)
					case "ACTUAL":
						s = c.Actual
					}
					if err == nil || !strings.Contains(err.Error(), s) {
						t.Errorf("%s: Err() = %v, want it to contain %q", c.Name, err, s)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Verify() statuses mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func lockedSum(ps []Plugin, name string) string {
	for _, p := range ps {
		if p.Name == name {
			return p.SHA256
		}
	}
	return "(not locked)"
}

// A binary changed after locking is refused by everything that would use
// it, and is never started.
func TestChangedBinaryIsRefused(t *testing.T) {
	startLog := startsFile(t)
	dir := installPlugins(t, map[string]string{"good": "good"})
	path := filepath.Join(dir, BinaryPrefix+"good")
	opts := Options{Dirs: []string{dir}, LockFile: filepath.Join(t.TempDir(), "plugins.lock.json"), CacheDir: t.TempDir(), Evaluate: fakeEvaluate(new(atomic.Int32))}
	h := New(opts)
	locked, err := h.Lock(t.Context())
	h.Close()
	if err != nil {
		t.Fatal(err)
	}
	flipLastByte(t, path)
	actual, err := hashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before := len(starts(t, startLog))

	calls := map[string]func(h *Host) error{
		"Runtime":  func(h *Host) error { _, err := h.Runtime(t.Context(), "good"); return err },
		"Describe": func(h *Host) error { _, err := h.Describe(t.Context(), "good"); return err },
		"Manifest": func(h *Host) error { _, err := h.Manifest(t.Context(), "good"); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			h := New(opts)
			defer h.Close()
			err := call(h)
			var mismatch *DigestMismatchError
			if !errors.As(err, &mismatch) {
				t.Fatalf("got %v, want a DigestMismatchError", err)
			}
			for _, s := range []string{path, locked[0].SHA256, actual, opts.LockFile} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
		})
	}
	if n := len(starts(t, startLog)); n != before {
		t.Errorf("a refused plugin was started %d times", n-before)
	}
}

// go-plugin's SecureConfig is the last line of defence: a binary that
// changes between the host's check and exec is still refused.
func TestLaunchVerifiesRealDigest(t *testing.T) {
	dir := installPlugins(t, map[string]string{"good": "good"})
	path := filepath.Join(dir, BinaryPrefix+"good")
	h := New(Options{Dirs: []string{dir}})
	defer h.Close()
	wrong := strings.Repeat("ab", 32)
	_, err := h.runtime(t.Context(), target{Plugin: Plugin{Name: "good", Path: path}, digest: wrong, pinned: true})
	var mismatch *DigestMismatchError
	if !errors.As(err, &mismatch) || mismatch.Locked != wrong || mismatch.Actual == wrong || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want a DigestMismatchError naming %s and both digests", err, path)
	}
	noChildren(t)
}

func TestStartFailures(t *testing.T) {
	const timeout = 1 * time.Second
	tests := []struct {
		plugin string
		want   []string
		as     any
	}{
		{"crash", []string{"plugin crash", BinaryPrefix + "crash", "exited during start (exit status 3)", "crash: cannot read /etc/crash.conf: permission denied"}, nil},
		{"hang", []string{"plugin hang", BinaryPrefix + "hang", "did not complete its handshake within 1s"}, nil},
		{"badproto", []string{"plugin badproto", BinaryPrefix + "badproto",
			fmt.Sprintf("speaks protocol %d, runtimectl speaks %d: it was built against a newer runtimekit SDK: upgrade runtimectl, or rebuild the plugin against this SDK", pluginrpc.ProtocolVersion+1, pluginrpc.ProtocolVersion)}, new(*ProtocolError)},
		// A plugin binary built before the last protocol change.
		{"oldproto", []string{"plugin oldproto", BinaryPrefix + "oldproto",
			fmt.Sprintf("speaks protocol %d, runtimectl speaks %d: it was built against an older runtimekit SDK and must be rebuilt against this one", pluginrpc.ProtocolVersion-1, pluginrpc.ProtocolVersion)}, new(*ProtocolError)},
	}
	for _, tt := range tests {
		t.Run(tt.plugin, func(t *testing.T) {
			dir := installPlugins(t, map[string]string{tt.plugin: tt.plugin})
			h := New(Options{Dirs: []string{dir}, StartTimeout: timeout})
			start := time.Now()
			rt, err := h.Runtime(t.Context(), tt.plugin)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("Runtime succeeded")
			}
			if rt != nil {
				t.Errorf("Runtime returned a non-nil %T with its error", rt)
			}
			t.Logf("error after %s: %v", elapsed.Round(time.Millisecond), err)
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not contain %q", s)
				}
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Errorf("error is not a %T", tt.as)
			}
			if elapsed > timeout+2*time.Second {
				t.Errorf("took %s, start timeout is %s", elapsed, timeout)
			}
			noChildren(t)
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestProcessesEnd(t *testing.T) {
	t.Run("Close", func(t *testing.T) {
		startLog := startsFile(t)
		h := New(Options{Dirs: []string{installPlugins(t, map[string]string{"good": "good", "other": "good"})}})
		for _, n := range []string{"good", "other"} {
			if _, err := h.Runtime(t.Context(), n); err != nil {
				t.Fatal(err)
			}
		}
		pids := starts(t, startLog)
		if len(pids) != 2 {
			t.Fatalf("started %v", pids)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		for _, pid := range pids {
			if !dead(pid) {
				t.Errorf("plugin %d alive after Close", pid)
			}
		}
		noChildren(t)
		if _, err := h.Runtime(t.Context(), "good"); err == nil {
			t.Error("Runtime after Close succeeded")
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		startLog := startsFile(t)
		h := New(Options{Dirs: []string{installPlugins(t, map[string]string{"good": "good"})}})
		defer h.Close()
		ctx, cancel := context.WithCancel(t.Context())
		rt, err := h.Runtime(ctx, "good")
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		waitDead(t, starts(t, startLog)[0])
		if _, err := rt.Describe(t.Context(), &sdk.DescribeRequest{}); err == nil {
			t.Error("Describe on a cancelled plugin succeeded")
		} else {
			t.Logf("after cancel: %v", err)
		}
		// A later call starts a new process.
		if _, err := h.Runtime(t.Context(), "good"); err != nil {
			t.Fatal(err)
		}
		if n := len(starts(t, startLog)); n != 2 {
			t.Errorf("%d starts, want 2", n)
		}
		h.Close()
		noChildren(t)
	})
	t.Run("context cancelled during start", func(t *testing.T) {
		h := New(Options{Dirs: []string{installPlugins(t, map[string]string{"hang": "hang"})}, StartTimeout: time.Minute})
		defer h.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := h.Runtime(ctx, "hang")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want a deadline error", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %s", d)
		}
		noChildren(t)
	})
}

func TestCloseDuringStart(t *testing.T) {
	h := New(Options{Dirs: []string{installPlugins(t, map[string]string{"hang": "hang"})}, StartTimeout: time.Minute})
	errc := make(chan error, 1)
	go func() {
		_, err := h.Runtime(t.Context(), "hang")
		errc <- err
	}()
	// Wait until the plugin process exists.
	deadline := time.Now().Add(5 * time.Second)
	for len(children(t)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("plugin never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %s", d)
	}
	if err := <-errc; !errors.Is(err, errClosed) {
		t.Errorf("Runtime: %v, want the host-closed error", err)
	}
	noChildren(t)
}

// TestPluginDiesWithHost kills a runtimectl stand-in with SIGKILL (no
// cleanup runs) and checks that the kernel kills its plugin.
func TestPluginDiesWithHost(t *testing.T) {
	startLog := startsFile(t)
	dir := installPlugins(t, map[string]string{"good": "good"})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line := readLine(t, out, 10*time.Second); line != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q", line)
	}
	pids := starts(t, startLog)
	if len(pids) != 1 || dead(pids[0]) {
		t.Fatalf("plugin not running: %v", pids)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitDead(t, pids[0])
}

func TestRuntimeRoundTrip(t *testing.T) {
	startLog := startsFile(t)
	baseline := runtime.NumGoroutine()
	h := New(Options{Dirs: []string{installPlugins(t, map[string]string{"good": "good"})}})
	defer func() {
		h.Close()
		noChildren(t)
		noGoroutineLeak(t, baseline)
	}()
	rt, err := h.Runtime(t.Context(), "good")
	if err != nil {
		t.Fatal(err)
	}
	app := t.TempDir()
	if err := os.WriteFile(filepath.Join(app, "good.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	failing, panicking := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(failing, "fail-good"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(panicking, "panic-good"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		call    func() (any, error)
		want    any
		wantErr string
	}{
		{
			name: "Describe",
			call: func() (any, error) { return rt.Describe(t.Context(), &sdk.DescribeRequest{}) },
			want: &sdk.DescribeResponse{Name: "good", Version: "1.2.3", Manifest: map[string][]byte{
				"manifest.json": []byte(`{"name": "good", "version": "1.2.3", "params": [{"name": "port", "type": "int", "default": 8080, "value": 8080}]}`),
			}},
		},
		{
			name: "Detect match",
			call: func() (any, error) { return rt.Detect(t.Context(), &sdk.DetectRequest{Dir: app}) },
			want: &sdk.DetectResponse{Match: true, Confidence: sdk.ConfidenceRuntime, Reason: "good.txt present",
				Params: map[string]any{"port": int64(9090), "tags": []any{"a", 1.5}}},
		},
		{
			name: "Detect no match",
			call: func() (any, error) { return rt.Detect(t.Context(), &sdk.DetectRequest{Dir: t.TempDir()}) },
			want: &sdk.DetectResponse{},
		},
		{
			name:    "plugin error",
			call:    func() (any, error) { return rt.Detect(t.Context(), &sdk.DetectRequest{Dir: failing}) },
			wantErr: "plugin good: detect failed on purpose",
		},
		{
			name:    "plugin panic",
			call:    func() (any, error) { return rt.Detect(t.Context(), &sdk.DetectRequest{Dir: panicking}) },
			wantErr: "plugin good: Detect panicked: detect panicked on purpose",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// The panic did not kill the plugin, and every call used one process.
	if n := len(starts(t, startLog)); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
}

func TestManifestCache(t *testing.T) {
	startLog := startsFile(t)
	dir := installPlugins(t, map[string]string{"good": "good"})
	var evals atomic.Int32
	opts := Options{Dirs: []string{dir}, CacheDir: t.TempDir(), CacheKey: "schema-1", Evaluate: fakeEvaluate(&evals)}
	manifestOf := func(opts Options) *manifest.Manifest {
		t.Helper()
		h := New(opts)
		defer h.Close()
		m, err := h.Manifest(t.Context(), "good")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	want := &manifest.Manifest{
		Name:    "good",
		Version: "1.2.3",
		Params:  []manifest.Param{{Name: "port", Type: "int", Default: int64(8080), Value: int64(8080)}},
		Source:  manifest.Positions{"/name": {File: "manifest.json", Line: 1, Column: 2}},
	}
	steps := []struct {
		name              string
		before            func()
		opts              Options
		starts, evaluated int
	}{
		{name: "cold", opts: opts, starts: 1, evaluated: 1},
		{name: "warm", opts: opts, starts: 1, evaluated: 1},
		{name: "new evaluator re-evaluates without a launch", opts: withKey(opts, "schema-2"), starts: 1, evaluated: 2},
		{name: "changed binary", before: func() { appendByte(t, filepath.Join(dir, BinaryPrefix+"good")) }, opts: withKey(opts, "schema-2"), starts: 2, evaluated: 3},
		{name: "warm again", opts: withKey(opts, "schema-2"), starts: 2, evaluated: 3},
		{name: "no cache", opts: withCache(opts, ""), starts: 3, evaluated: 4},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		got := manifestOf(s.opts)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: manifest mismatch (-want +got):\n%s", s.name, diff)
		}
		if n := len(starts(t, startLog)); n != s.starts {
			t.Errorf("%s: %d plugin starts in total, want %d", s.name, n, s.starts)
		}
		if n := int(evals.Load()); n != s.evaluated {
			t.Errorf("%s: %d evaluations in total, want %d", s.name, n, s.evaluated)
		}
	}

	// Describe and Plugins are served from the same cache.
	h := New(opts)
	defer h.Close()
	d, err := h.Describe(t.Context(), "good")
	if err != nil || d.Version != "1.2.3" {
		t.Fatalf("Describe() = %+v, %v", d, err)
	}
	ps, err := h.Plugins(t.Context())
	if err != nil || len(ps) != 1 || ps[0].Version != "1.2.3" || ps[0].Locked {
		t.Fatalf("Plugins() = %+v, %v", ps, err)
	}
	if n := len(starts(t, startLog)); n != 3 {
		t.Errorf("Describe/Plugins started the plugin: %d starts", n)
	}
	noChildren(t)
}

// noGoroutineLeak waits for the goroutine count to fall back to baseline.
func noGoroutineLeak(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func withKey(o Options, key string) Options { o.CacheKey = key; return o }
func withCache(o Options, dir string) Options {
	o.CacheDir = dir
	return o
}

func TestManifestErrors(t *testing.T) {
	dir := installPlugins(t, map[string]string{"good": "good"})
	diags := manifest.Diagnostics{{Severity: manifest.SeverityError, Pos: manifest.Pos{File: "manifest.json", Line: 1, Column: 1}, Summary: "bad"}}
	tests := []struct {
		name     string
		evaluate func(context.Context, map[string][]byte) (*manifest.Manifest, error)
		want     string
	}{
		{
			name:     "diagnostics",
			evaluate: func(context.Context, map[string][]byte) (*manifest.Manifest, error) { return nil, diags },
			want:     "plugin good: manifest: manifest.json:1:1: error: bad",
		},
		{
			name: "name differs",
			evaluate: func(context.Context, map[string][]byte) (*manifest.Manifest, error) {
				return &manifest.Manifest{Name: "other", Version: "1.2.3"}, nil
			},
			want: "plugin good: its manifest declares other 1.2.3 but the plugin describes itself as good 1.2.3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(Options{Dirs: []string{dir}, CacheDir: t.TempDir(), CacheKey: "k", Evaluate: tt.evaluate})
			defer h.Close()
			_, err := h.Manifest(t.Context(), "good")
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			var ds manifest.Diagnostics
			if tt.name == "diagnostics" && !errors.As(err, &ds) {
				t.Error("diagnostics not reachable with errors.As")
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	h := New(Options{Dirs: []string{t.TempDir()}})
	defer h.Close()
	_, err := h.Manifest(t.Context(), "nginx")
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "runtimectl-plugin-nginx") {
		t.Fatalf("got %v", err)
	}
}

func TestRequireLock(t *testing.T) {
	dir := installPlugins(t, map[string]string{"good": "good"})
	h := New(Options{Dirs: []string{dir}, LockFile: filepath.Join(t.TempDir(), "plugins.lock.json"), RequireLock: true})
	defer h.Close()
	_, err := h.Runtime(t.Context(), "good")
	if err == nil || !strings.Contains(err.Error(), "not pinned in the plugins lock") {
		t.Fatalf("got %v", err)
	}
}

func TestStatCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(path, []byte("one"), 0o755); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := identify(fi)
	if !ok {
		t.Skip("no file identity on this platform")
	}
	real, _ := hashFile(path)
	const fake = "feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface"
	tests := []struct {
		name  string
		entry statEntry
		want  string
	}{
		{"trusted entry is used", statEntry{fileID: id, SHA256: fake, HashedAtNs: id.CtimeNs + int64(racyWindow)}, fake},
		{"racy entry is rehashed", statEntry{fileID: id, SHA256: fake, HashedAtNs: id.CtimeNs + int64(racyWindow) - 1}, real},
		{"changed ctime is rehashed", statEntry{fileID: withCtime(id, id.CtimeNs-1), SHA256: fake, HashedAtNs: id.CtimeNs + int64(time.Hour)}, real},
		{"changed size is rehashed", statEntry{fileID: withSize(id, 4), SHA256: fake, HashedAtNs: id.CtimeNs + int64(time.Hour)}, real},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "stat.json")
			c := loadStatCache(file)
			c.entries[path] = tt.entry
			c.dirty = true
			if err := c.save(); err != nil {
				t.Fatal(err)
			}
			c = loadStatCache(file)
			got, err := c.digest(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("digest = %s, want %s", got, tt.want)
			}
		})
	}
}

func withCtime(id fileID, ns int64) fileID { id.CtimeNs = ns; return id }
func withSize(id fileID, n int64) fileID   { id.Size = n; return id }

// Concurrent callers share one process per plugin.
func TestConcurrentUse(t *testing.T) {
	startLog := startsFile(t)
	h := New(Options{Dirs: []string{installPlugins(t, map[string]string{"one": "good", "two": "good"})}, CacheDir: t.TempDir(), CacheKey: "k", Evaluate: fakeEvaluate(new(atomic.Int32))})
	errs := make(chan error, 16)
	for i := range 16 {
		name := []string{"one", "two"}[i%2]
		go func() {
			if i%4 < 2 {
				_, err := h.Manifest(t.Context(), name)
				errs <- err
				return
			}
			rt, err := h.Runtime(t.Context(), name)
			if err == nil {
				_, err = rt.Detect(t.Context(), &sdk.DetectRequest{Dir: t.TempDir()})
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(starts(t, startLog)); n != 2 {
		t.Errorf("%d starts, want 2", n)
	}
	h.Close()
	noChildren(t)
}
