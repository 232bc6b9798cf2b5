package executor_test

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/bundle"
	"github.com/runtimekit/runtimekit/sdk/executor"
	"github.com/runtimekit/runtimekit/sdk/plan"
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
	d := newDeployer(t, "hello")
	base, tl, app, secret := d.base, d.tl, d.app, d.secret
	deploy, saveState, get := d.deploy, d.saveState, d.get

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
	// Requests sent all through the redeploy, each to the port the app's
	// live file names at that moment, all succeed.
	stop := make(chan struct{})
	var sent, failed int
	var failures []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			var live executor.LiveFile
			b, err := os.ReadFile(filepath.Join(v.root, strings.TrimPrefix(state.AppDir("hello"), "/"), "live"))
			if err == nil {
				err = json.Unmarshal(b, &live)
			}
			sent++
			out, _, err2 := v.exec("/httpget", "http://127.0.0.1:"+strconv.Itoa(live.Port)+"/")
			if err != nil || err2 != nil || !strings.HasPrefix(out, "200\n") {
				failed++
				failures = append(failures, fmt.Sprintf("port %d: %v %v %q", live.Port, err, err2, out))
			}
		}
	}()
	v.apply(plan2, bundle2)
	close(stop)
	<-done
	t.Logf("%d requests during the redeploy, %d failed", sent, failed)
	if failed > 0 || sent < 5 {
		t.Errorf("%d of %d requests during the redeploy failed: %v", failed, sent, failures)
	}
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
	if !strings.Contains(errOut, "boom: the app refuses to start") {
		t.Errorf("the failed apply does not show the app's own last log lines")
	}
	get(v, "hello v2 hi")
	if v.exists(strings.TrimPrefix(state.ReleaseDir("hello", 3), "/")) {
		t.Errorf("release 3's directory is left after the rollback")
	}
	if logs := v.mustExec("/runtimectl", "logs", "hello"); strings.Contains(logs, "boom") {
		t.Errorf("logs hello shows release 3's log, not the live release's:\n%s", logs)
	}

	// A closed tab: every process dies; recover brings the app back.
	v.reboot()
	v.mustExec("/runtimectl", "recover")
	waitHTTP(t, v, "http://127.0.0.1:"+strconv.Itoa(mustApp(t, v, "hello").Port)+"/")
	get(v, "hello v2 hi")

	// Back to release 1, with the vm build.
	v.put(buildVMRuntimectl(t), "runtimectl")
	out, errOut, err := v.exec("/runtimectl", "rollback", "hello", "--to", "1")
	t.Logf("rollback --to 1:\n%s%s", errOut, out)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	get(v, "hello v1 hi")
	rels := v.mustExec("/runtimectl", "releases", "hello")
	t.Logf("releases:\n%s", rels)
	if !strings.Contains(rels, "* v1 ") || !strings.Contains(rels, "  v2 ") || strings.Contains(rels, "v3") {
		t.Errorf("releases does not list v1 live and v2 kept")
	}
	t.Logf("status:\n%s", v.mustExec("/runtimectl", "status"))

	// Removed: offline, its processes and releases gone; node stays.
	a = mustApp(t, v, "hello")
	out, errOut, err = v.exec("/runtimectl", "remove", "--app", "hello")
	t.Logf("remove --app hello:\n%s%s", errOut, out)
	if err != nil {
		t.Fatalf("remove --app: %v", err)
	}
	if _, ok := v.state().App("hello"); ok {
		t.Error("the state still records app hello")
	}
	for _, p := range []string{"releases/1", "releases/2", "env/1", "env/2", "current", "live"} {
		if v.exists(strings.TrimPrefix(state.AppDir("hello"), "/") + "/" + p) {
			t.Errorf("%s of app hello is left", p)
		}
	}
	if _, _, err := v.exec("/httpget", "http://127.0.0.1:"+strconv.Itoa(a.Port)+"/"); err == nil {
		t.Error("the app still answers after its removal")
	}
	if stateRuntime(v.state(), "node") == nil {
		t.Error("node went with the app")
	}
}

// mustApp is the VM's state record of an app.
func mustApp(t *testing.T, v *vm, name string) *state.App {
	t.Helper()
	a, ok := v.state().App(name)
	if !ok {
		t.Fatalf("the state records no app %s", name)
	}
	return a
}

const deploySecret = "s3cr3t-value-never-printed"

// deployer deploys an app directory from the host's runtimectl, with an
// env variable and a secret, and checks what it writes.
type deployer struct {
	t                  *testing.T
	base, app          string
	name, work         string
	secret, secretFile string
	tl                 *tools
	// env and args are added to each deploy's environment and arguments.
	env, args []string
}

// newDeployer deploys to the i386 root with the tools of buildTools.
func newDeployer(t *testing.T, name string) *deployer {
	testenv.RequireE2E(t)
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "unshare", "nsenter", "chroot", "ip", "cp", "debootstrap", "go")
	return newDeployerOn(t, name, testenv.Rootfs(t, "bookworm", "i386", "minbase"), buildTools(t))
}

func newDeployerOn(t *testing.T, name, base string, tl *tools) *deployer {
	d := &deployer{t: t, base: base, tl: tl, work: t.TempDir(), name: name, secret: deploySecret}
	d.app = filepath.Join(d.work, name)
	if err := os.Mkdir(d.app, 0o755); err != nil {
		t.Fatal(err)
	}
	d.secretFile = filepath.Join(d.work, "token")
	if err := os.WriteFile(d.secretFile, []byte(d.secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// deploy plans release n (against stateFile, when given) into planN.json
// and bundleN, and checks the plan does not hold the secret.
func (d *deployer) deploy(n int, stateFile string) (planFile, bundleDir, out string) {
	t := d.t
	t.Helper()
	planFile = filepath.Join(d.work, "plan"+strconv.Itoa(n)+".json")
	bundleDir = filepath.Join(d.work, "bundle"+strconv.Itoa(n))
	args := []string{"deploy", d.app, "-e", "GREETING=hi", "--secret", "TOKEN=@" + d.secretFile, "-o", planFile, "--bundle", bundleDir}
	if stateFile != "" {
		args = append(args, "--state", stateFile)
	}
	out, err := d.tl.runHostEnv(d.env, append(args, d.args...)...)
	t.Logf("runtimectl deploy (release %d):\n%s", n, out)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	b, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), d.secret) {
		t.Fatalf("the plan of release %d holds the secret's value", n)
	}
	return planFile, bundleDir, out
}

// saveState copies the VM's state out, as a user passes it to deploy.
func (d *deployer) saveState(v *vm) string {
	t := d.t
	t.Helper()
	b, err := os.ReadFile(filepath.Join(v.root, state.DefaultPath))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), d.secret) {
		t.Fatal("the state holds the secret's value")
	}
	p := filepath.Join(d.work, "state.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// get checks that the app's live release answers GET / with want.
func (d *deployer) get(v *vm, want string) {
	t := v.t
	t.Helper()
	st := v.state()
	a, ok := st.App(d.name)
	if !ok {
		t.Fatalf("the state records no app %s: %+v", d.name, st)
	}
	got := v.mustExec("/httpget", "http://127.0.0.1:"+strconv.Itoa(a.Port)+"/")
	if !strings.HasPrefix(got, "200\n") || !strings.Contains(got, want) {
		t.Fatalf("GET / of the live release %d (port %d): %q, want %q", a.Live, a.Port, got, want)
	}
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

// TestE2EDeployExpress deploys examples/express: its node_modules are
// built on the host from package-lock.json for linux/ia32 (express has
// nested dependencies and mime a bin link), shipped in the release, and
// the app answers in the i386 root with nothing fetched there.
func TestE2EDeployExpress(t *testing.T) {
	testenv.RequireTools(t, "npm")
	d := newDeployer(t, "express")
	if err := os.CopyFS(d.app, os.DirFS("../../examples/express")); err != nil {
		t.Fatal(err)
	}
	planFile, bundleDir, _ := d.deploy(1, "")
	v := startVM(t, d.base, d.tl)
	v.apply(planFile, bundleDir)
	d.get(v, "hello from express: ")
	rel := strings.TrimPrefix(state.ReleaseDir("express", 1), "/")
	if target, err := os.Readlink(filepath.Join(v.root, rel, "node_modules/.bin/mime")); err != nil || filepath.IsAbs(target) {
		t.Errorf("node_modules/.bin/mime in the release: %q, %v; want a relative link", target, err)
	}
	nested, _ := filepath.Glob(filepath.Join(v.root, rel, "node_modules/*/node_modules/*/package.json"))
	if len(nested) == 0 {
		t.Error("the release has no nested dependency")
	}
	if out := v.mustExec("/runtimectl", "status"); !strings.Contains(out, "app express (node): release 1 live") || !strings.Contains(out, "MiB resident") {
		t.Errorf("status does not show the app with its memory:\n%s", out)
	}
}

// TestE2EDeployCrashPoints kills runtimectl at every step boundary of a
// redeploy (release 2 over a live release 1) and recovers, every other
// time after a reboot: release 1 is live again, answering, with release 2
// nowhere, the state as before; a crash after the last step finishes the
// redeploy instead.
func TestE2EDeployCrashPoints(t *testing.T) {
	d := newDeployer(t, "hello")
	helloApp(t, d.app, "v1")
	plan1, bundle1, _ := d.deploy(1, "")
	v := startVM(t, d.base, d.tl)
	v.apply(plan1, bundle1)
	helloApp(t, d.app, "v2")
	plan2, bundle2, _ := d.deploy(2, d.saveState(v))
	b, err := os.ReadFile(plan2)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	v.put(plan2, "plan.json")
	v.put(bundle2, "bundle")
	before := v.state()
	var cases []crashCase
	last := p.Steps[len(p.Steps)-1].ID
	for _, s := range p.Steps {
		for _, ph := range []string{"before", "after", "done"} {
			c := crashCase{at: s.ID + ":" + ph, reboot: len(cases)%2 == 1, after: s.ID == last && ph == "done"}
			cases = append(cases, c)
		}
	}
	parent := t
	for _, c := range cases {
		ok := t.Run(c.name(), func(t *testing.T) {
			defer v.in(t)()
			out, errOut, err := v.exec("env", "RUNTIMEKIT_CRASH_AT="+c.at, "/runtimectl", "apply", "/plan.json", "--bundle", "/bundle")
			if !killed(err) {
				t.Fatalf("apply with RUNTIMEKIT_CRASH_AT=%s: want a SIGKILL, got %v\n%s%s", c.at, err, out, errOut)
			}
			if c.reboot {
				// The VM outlives the subtest: its cleanup is the parent's.
				restore := v.in(parent)
				v.reboot()
				restore()
			}
			out, errOut, err = v.exec("/runtimectl", "recover")
			if err != nil {
				t.Fatalf("recover: %v\n%s%s", err, errOut, out)
			}
			a := mustApp(t, v, "hello")
			waitHTTP(t, v, "http://127.0.0.1:"+strconv.Itoa(a.Port)+"/")
			if c.after {
				d.get(v, "hello v2 hi")
				return
			}
			d.get(v, "hello v1 hi")
			st := v.state()
			if st.Serial != before.Serial || a.Live != 1 || len(a.Releases) != 1 {
				t.Errorf("after the rollback: serial %d (want %d), live %d, releases %d", st.Serial, before.Serial, a.Live, len(a.Releases))
			}
			for _, p := range []string{state.ReleaseDir("hello", 2), state.EnvPath("hello", 2), "/etc/runtimekit/sv/hello-web-r2"} {
				if v.exists(strings.TrimPrefix(p, "/")) {
					t.Errorf("%s is left after the rollback", p)
				}
			}
			if link, _ := os.Readlink(filepath.Join(v.root, strings.TrimPrefix(state.AppDir("hello"), "/"), "current")); link != "releases/1" {
				t.Errorf("current links to %q after the rollback, want releases/1", link)
			}
		})
		if !ok {
			break
		}
	}
}

// TestE2EDeployFlask deploys examples/flask (with its app file's env and
// health check): flask comes from Debian's
// python3-flask (with what it depends on), resolved on the host into the
// plan, and the app answers in the i386 root; removing the app removes
// those packages and keeps python.
func TestE2EDeployFlask(t *testing.T) {
	d := newDeployer(t, "flask")
	if err := os.CopyFS(d.app, os.DirFS("../../examples/flask")); err != nil {
		t.Fatal(err)
	}
	planFile, bundleDir, out := d.deploy(1, "")
	if !strings.Contains(out, "python3-flask") {
		t.Errorf("deploy does not say it installs python3-flask:\n%s", out)
	}
	v := startVM(t, d.base, d.tl)
	v.apply(planFile, bundleDir)
	d.get(v, "hello from flask")
	a := mustApp(t, v, "flask")
	// runtimekit.app.cue's check and env.
	if hc := a.Health[0]; hc.Kind != state.HealthHTTP || hc.Path != "/healthz" || hc.Status != 200 {
		t.Errorf("the live release's check is %+v, want the app file's GET /healthz", hc)
	}
	if !slices.ContainsFunc(a.Packages, func(p state.Package) bool { return p.Name == "python3-flask" }) {
		t.Errorf("the state does not record python3-flask as the app's: %+v", a.Packages)
	}
	if _, errOut, err := v.exec("/runtimectl", "remove", "--app", "flask"); err != nil {
		t.Fatalf("remove --app flask: %v\n%s", err, errOut)
	}
	if pk := v.packages(); strings.Contains(pk, "python3-flask") || !strings.Contains(pk, "python3.11") {
		t.Errorf("after remove --app: python3-flask should be gone and python kept:\n%s", pk)
	}
}

// TestE2EDeployStatic deploys examples/static: nginx recognises its
// public/ directory and each release runs its own nginx as the app's user
// on the release's port, serving the release's files.
func TestE2EDeployStatic(t *testing.T) {
	d := newDeployer(t, "static")
	if err := os.CopyFS(d.app, os.DirFS("../../examples/static")); err != nil {
		t.Fatal(err)
	}
	planFile, bundleDir, _ := d.deploy(1, "")
	v := startVM(t, d.base, d.tl)
	v.apply(planFile, bundleDir)
	d.get(v, "hello from a static site")
	a := mustApp(t, v, "static")
	css := v.mustExec("/httpget", "http://127.0.0.1:"+strconv.Itoa(a.Port)+"/css/site.css")
	if !strings.HasPrefix(css, "200\n") || !strings.Contains(css, "font-family") {
		t.Errorf("GET /css/site.css: %q", css)
	}
	if miss, _, _ := v.exec("/httpget", "http://127.0.0.1:"+strconv.Itoa(a.Port)+"/README.md"); !strings.HasPrefix(miss, "404\n") {
		t.Errorf("GET /README.md (outside public/) answers %q, want 404", miss)
	}
	// The site's nginx runs as the app's user (the runtime's own nginx,
	// installed with it, runs as root and nobody).
	owners := v.mustExec("sh", "-c", `for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = nginx ] && stat -c %U $p; done; true`)
	if !strings.Contains(owners, a.User) {
		t.Errorf("no nginx process runs as %s; nginx processes are owned by %q", a.User, owners)
	}
}

// TestE2EDeployRefusals: a package-lock.json with native addons and a
// requirements.txt naming what Debian does not package are each refused
// before anything is written, naming the packages.
func TestE2EDeployRefusals(t *testing.T) {
	testenv.RequireTools(t, "npm")
	d := newDeployer(t, "refused")
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(d.app, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lockJSON, err := os.ReadFile("../../sdk/appdeps/npmdeps/testdata/scripts.json")
	if err != nil {
		t.Fatal(err)
	}
	write("package.json", `{"name": "app", "version": "2.3.4", "dependencies": {"bcrypt": "^5.1.1"}}`)
	write("package-lock.json", string(lockJSON))
	write("server.js", "")
	planFile, bundleDir := filepath.Join(d.work, "plan.json"), filepath.Join(d.work, "bundle")
	out, err := d.tl.runHost("deploy", d.app, "-o", planFile, "--bundle", bundleDir)
	if err == nil || !strings.Contains(out, "bcrypt") || !strings.Contains(out, "install script") {
		t.Errorf("deploy of an app with a native addon: %v\n%s", err, out)
	}
	for _, p := range []string{planFile, bundleDir} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s written by a refused deploy", p)
		}
	}
	for _, f := range []string{"package.json", "package-lock.json", "server.js"} {
		os.Remove(filepath.Join(d.app, f))
	}
	write("app.py", "")
	write("requirements.txt", "flask>=2.2\nno-such-module-xyz>=1\n")
	out, err = d.tl.runHost("deploy", d.app, "-o", planFile, "--bundle", bundleDir)
	if err == nil || !strings.Contains(out, "no-such-module-xyz") || strings.Contains(out, "flask>=2.2:") {
		t.Errorf("deploy of an app needing what Debian lacks: %v\n%s", err, out)
	}
	for _, p := range []string{planFile, bundleDir} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s written by a refused deploy", p)
		}
	}
}

// nextjsBuild is examples/nextjs built on the host (npm ci, next build,
// the static assets copied in) into its .next/standalone, cached outside
// the repository keyed by the example's files.
func nextjsBuild(t *testing.T) string {
	t.Helper()
	testenv.RequireTools(t, "npm", "npx", "cp")
	src := "../../examples/nextjs"
	h := sha256.New()
	for _, f := range []string{"package.json", "package-lock.json", "next.config.js", "app/layout.js", "app/page.js"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	dir := filepath.Join(testenv.CacheDir(t), "nextjs-build-"+hex.EncodeToString(h.Sum(nil))[:16])
	out := filepath.Join(dir, "standalone")
	if _, err := os.Stat(filepath.Join(out, "server.js")); err == nil {
		return out
	}
	work := t.TempDir()
	run(t, "cp", "-a", src+"/.", work)
	env := append(os.Environ(), "NEXT_TELEMETRY_DISABLED=1")
	for _, args := range [][]string{{"npm", "ci", "--no-audit", "--no-fund"}, {"npx", "next", "build"}} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = work, env
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	standalone := filepath.Join(work, ".next", "standalone")
	run(t, "cp", "-a", filepath.Join(work, ".next", "static"), filepath.Join(standalone, ".next", "static"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := out + ".tmp"
	_ = os.RemoveAll(tmp)
	run(t, "cp", "-a", standalone, tmp)
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestE2EDeployNextjs deploys the standalone build of examples/nextjs as
// it is (nextjs, and node for it, added to the plan): its server renders
// the page in the i386 root.
func TestE2EDeployNextjs(t *testing.T) {
	d := newDeployer(t, "web")
	build := nextjsBuild(t)
	if err := os.Remove(d.app); err != nil {
		t.Fatal(err)
	}
	run(t, "cp", "-a", build, d.app)
	planFile, bundleDir, out := d.deploy(1, "")
	if !strings.Contains(out, "on nextjs") {
		t.Errorf("deploy did not take nextjs for the build:\n%s", out)
	}
	v := startVM(t, d.base, d.tl)
	v.apply(planFile, bundleDir)
	d.get(v, "hello from nextjs: rendered at")
	if st := v.state(); stateRuntime(st, "nextjs") == nil || stateRuntime(st, "node") == nil || len(stateRuntime(st, "nextjs").Services) != 0 {
		t.Errorf("nextjs and node should be installed, nextjs running no service of its own: %+v", st.Runtimes)
	}
}
