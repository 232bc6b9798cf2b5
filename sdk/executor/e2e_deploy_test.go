package executor_test

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/bundle"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// helloApp writes a dependency-free Node.js app answering "hello VERSION
// GREETING" on $PORT; a version "crash" logs a line and exits instead.
func helloApp(t *testing.T, dir, version string) {
	t.Helper()
	files := map[string]string{
		"package.json": `{"name": "hello", "version": "1.0.0", "main": "server.js"}` + "\n",
		"README.md":    "a test app\n",
		"server.js": `const http = require("http");
const v = ` + strconv.Quote(version) + `;
if (v === "crash") { console.log("boom: the app refuses to start"); process.exit(1); }
http.createServer((req, res) => {
  res.end("hello " + v + " " + (process.env.GREETING || "") + " uid=" + process.getuid() + " secret=" + (process.env.TOKEN ? "set" : "unset") + "\n");
}).listen(Number(process.env.PORT), "127.0.0.1");
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestE2EDeployReleases deploys a Node.js app into an i386 root with no
// network (node is added to the plan, as the machine lacks it), redeploys
// a one-file change (the bundle carries that one file; the others are
// linked from release 1), deploys a release that cannot start (release 2
// stays live, release 3 is gone), and rolls back to release 1 with the vm
// build's `rollback`. The app runs as its own user, its env file is 0600
// and that user's, and the secret's value is in no plan and no state.
func TestE2EDeployReleases(t *testing.T) {
	testenv.RequireE2E(t)
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "unshare", "nsenter", "chroot", "ip", "cp", "debootstrap", "go")
	base := testenv.Rootfs(t, "bookworm", "i386", "minbase")
	tl := buildTools(t)
	work := t.TempDir()
	app := filepath.Join(work, "hello")
	if err := os.Mkdir(app, 0o755); err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3t-value-never-printed"
	secretFile := filepath.Join(work, "token")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deploy := func(n int, stateFile string) (planFile, bundleDir, out string) {
		t.Helper()
		planFile = filepath.Join(work, "plan"+strconv.Itoa(n)+".json")
		bundleDir = filepath.Join(work, "bundle"+strconv.Itoa(n))
		args := []string{"deploy", app, "-e", "GREETING=hi", "--secret", "TOKEN=@" + secretFile, "-o", planFile, "--bundle", bundleDir}
		if stateFile != "" {
			args = append(args, "--state", stateFile)
		}
		out, err := tl.runHost(args...)
		t.Logf("runtimectl deploy (release %d):\n%s", n, out)
		if err != nil {
			t.Fatalf("deploy: %v", err)
		}
		b, err := os.ReadFile(planFile)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), secret) {
			t.Fatalf("the plan of release %d holds the secret's value", n)
		}
		return planFile, bundleDir, out
	}
	saveState := func(v *vm) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(v.root, state.DefaultPath))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), secret) {
			t.Fatal("the state holds the secret's value")
		}
		p := filepath.Join(work, "state.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	get := func(v *vm, want string) {
		t.Helper()
		st := v.state()
		a, ok := st.App("hello")
		if !ok {
			t.Fatalf("the state records no app hello: %+v", st)
		}
		got := v.mustExec("/httpget", "http://127.0.0.1:"+strconv.Itoa(a.Port)+"/")
		if !strings.HasPrefix(got, "200\n") || !strings.Contains(got, want) {
			t.Fatalf("GET / of the live release %d (port %d): %q, want %q", a.Live, a.Port, got, want)
		}
	}

	// Release 1, with node.
	helloApp(t, app, "v1")
	plan1, bundle1, _ := deploy(1, "")
	v := startVM(t, base, tl)
	v.apply(plan1, bundle1)
	get(v, "hello v1 hi")
	get(v, "secret=set")
	st := v.state()
	a, _ := st.App("hello")
	if a.User != "app-hello" || a.Live != 1 || len(a.Releases) != 1 {
		t.Fatalf("app in the state: %+v", a)
	}
	if !strings.Contains(v.mustExec("/httpget", "http://127.0.0.1:"+strconv.Itoa(a.Port)+"/"), "uid=") || strings.Contains(v.mustExec("/httpget", "http://127.0.0.1:"+strconv.Itoa(a.Port)+"/"), "uid=0 ") {
		t.Errorf("the app runs as root")
	}
	fi, err := os.Stat(filepath.Join(v.root, state.EnvPath("hello", 1)))
	if err != nil {
		t.Fatal(err)
	}
	uid := fi.Sys().(*syscall.Stat_t).Uid
	if fi.Mode().Perm() != 0o600 || uid == 0 || !strings.Contains(v.mustExec("cat", "/etc/passwd"), "app-hello:x:"+strconv.Itoa(int(uid))+":") {
		t.Errorf("env file: mode %v, owner %d; want 0600 and app-hello's", fi.Mode().Perm(), uid)
	}
	if out := v.mustExec("/runtimectl", "status", "--json"); strings.Contains(out, secret) {
		t.Error("status --json prints the secret")
	}

	// Release 2: one file changed.
	helloApp(t, app, "v2")
	plan2, bundle2, _ := deploy(2, saveState(v))
	if n := releaseTarFiles(t, bundle2); len(n) != 1 || n[0] != "server.js" {
		t.Errorf("the bundle of a one-file change carries %v, want [server.js]", n)
	}
	v.apply(plan2, bundle2)
	get(v, "hello v2 hi")

	// Release 3 cannot start: release 2 stays live, release 3 is gone.
	helloApp(t, app, "crash")
	plan3, bundle3, _ := deploy(3, saveState(v))
	v.put(plan3, "plan.json")
	v.put(bundle3, "bundle")
	_, errOut, err := v.exec("/runtimectl", "apply", "/plan.json", "--bundle", "/bundle")
	t.Logf("apply of release 3:\n%s", errOut)
	if err == nil {
		t.Fatal("the apply of a release that cannot start succeeded")
	}
	get(v, "hello v2 hi")
	if v.exists(strings.TrimPrefix(state.ReleaseDir("hello", 3), "/")) {
		t.Errorf("release 3's directory is left after the rollback")
	}

	// Back to release 1, with the vm build.
	v.put(buildVMRuntimectl(t), "runtimectl")
	out, errOut, err := v.exec("/runtimectl", "rollback", "hello", "--to", "1")
	t.Logf("rollback --to 1:\n%s%s", errOut, out)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	get(v, "hello v1 hi")
	t.Logf("releases:\n%s", v.mustExec("/runtimectl", "releases", "hello"))
	t.Logf("status:\n%s", v.mustExec("/runtimectl", "status"))
}

// releaseTarFiles lists the regular files of the release tar in a bundle.
func releaseTarFiles(t *testing.T, dir string) []string {
	t.Helper()
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range b.Index.Files {
		if f.Kind != bundle.KindRelease {
			continue
		}
		fh, err := os.Open(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		tr := tar.NewReader(fh)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				names = append(names, h.Name)
			}
		}
	}
	return names
}
