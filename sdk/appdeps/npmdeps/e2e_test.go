package npmdeps

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

// TestInstallExpressExample builds examples/express with the real npm and
// registry, checks the tree, reuses it from the cache, and serves the app
// with it.
func TestInstallExpressExample(t *testing.T) {
	if !testenv.E2E() {
		t.Skipf("needs npm and the npm registry: set %s=1 to run it", testenv.EnvE2E)
	}
	testenv.RequireTools(t, "npm", "node")
	app := filepath.Join(testenv.ModuleRoot(t), "examples", "express")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var npmOut bytes.Buffer
	cache := t.TempDir()
	opts := Options{CacheDir: cache, Stderr: &npmOut}
	dest := t.TempDir()
	cold, err := Install(ctx, app, dest, opts)
	if err != nil {
		t.Fatalf("%v\nnpm's output:\n%s", err, npmOut.String())
	}
	t.Logf("cold: %d packages in %v", cold.Packages, cold.Took)
	if cold.Cached || cold.Packages < 50 {
		t.Errorf("cold Install: %+v, want express's ~70 packages built by npm", cold)
	}
	nm := filepath.Join(dest, "node_modules")
	if _, err := os.Stat(filepath.Join(nm, "express", "package.json")); err != nil {
		t.Errorf("express is not installed: %v", err)
	}
	target, err := os.Readlink(filepath.Join(nm, ".bin", "mime"))
	if err != nil || filepath.IsAbs(target) || !strings.HasPrefix(target, "../") {
		t.Errorf(".bin/mime: link to %q, %v; want a relative link", target, err)
	}
	if nested := nestedModules(t, nm); len(nested) == 0 {
		t.Error("no nested node_modules directory: the tree npm made is flat, so nesting is not tested")
	}

	again := t.TempDir()
	warm, err := Install(ctx, app, again, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cached: %d packages in %v", warm.Packages, warm.Took)
	if !warm.Cached || warm.Packages != cold.Packages {
		t.Errorf("second Install: %+v, want the %d packages from the cache", warm, cold.Packages)
	}
	if got, want := listTree(t, filepath.Join(again, "node_modules")), listTree(t, nm); got != want {
		t.Error("the tree copied from the cache differs from the one npm built")
	}

	// The bin link works where it was put...
	out, err := exec.CommandContext(ctx, filepath.Join(again, "node_modules", ".bin", "mime"), "page.html").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "text/html" {
		t.Errorf(".bin/mime page.html: %q, %v; want text/html", out, err)
	}
	// ...and the app runs on the tree, as it will in the VM.
	for _, f := range []string{"server.js", "package.json"} {
		copyTestFile(t, filepath.Join(app, f), filepath.Join(again, f))
	}
	serve(ctx, t, again)
}

// nestedModules returns the node_modules directories below the top one.
func nestedModules(t *testing.T, nm string) []string {
	t.Helper()
	var nested []string
	err := filepath.WalkDir(nm, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "node_modules" && p != nm {
			nested = append(nested, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return nested
}

// listTree describes every entry of a tree: path, mode, size, link target.
func listTree(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		link, _ := os.Readlink(p)
		size := info.Size()
		if info.IsDir() {
			size = 0
		}
		fmt.Fprintf(&b, "%s %v %d %s\n", rel, info.Mode(), size, link)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func copyTestFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// serve starts node server.js in dir on a free loopback port and checks
// its two routes.
func serve(ctx context.Context, t *testing.T, dir string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	var logs bytes.Buffer
	node := exec.CommandContext(ctx, "node", "server.js")
	node.Dir = dir
	node.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	node.Stdout, node.Stderr = &logs, &logs
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		node.Process.Kill()
		node.Wait()
		if t.Failed() {
			t.Logf("node server.js printed:\n%s", logs.String())
		}
	}()

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, string, error) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	var status int
	var body string
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, body, err = get("/")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("GET /: %v", err)
	}
	if status != http.StatusOK || !strings.Contains(body, "hello from express") || !strings.Contains(body, "1.0.0") {
		t.Errorf("GET /: %d %q, want 200 with hello from express and the app's version", status, body)
	}
	status, body, err = get("/healthz")
	if err != nil || status != http.StatusOK || body != "ok" {
		t.Errorf("GET /healthz: %d %q %v, want 200 ok", status, body, err)
	}
}
