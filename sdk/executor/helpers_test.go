package executor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/service"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

func TestMain(m *testing.M) {
	if os.Getenv(fakeDpkgEnv) == "1" {
		os.Exit(fakeDpkgMain())
	}
	if p := os.Getenv(lockHolderEnv); p != "" {
		os.Exit(lockHolderMain(p))
	}
	tmp, err := os.MkdirTemp("", "executor-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if tmp, err = filepath.EvalSymlinks(tmp); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Setenv("TMPDIR", tmp)
	code := m.Run()
	probs := hostProblems(tmp)
	os.RemoveAll(tmp)
	if len(probs) > 0 {
		fmt.Fprintf(os.Stderr, "the tests did not leave the host as they found it:\n\t%s\n", strings.Join(probs, "\n\t"))
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// fakeDpkgProg writes a script that runs this test binary as dpkg.
func fakeDpkgProg(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "dpkg")
	script := fmt.Sprintf("#!/bin/sh\n%s=1 exec %q \"$@\"\n", fakeDpkgEnv, exe)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeServices keeps services as files in the root, so that snapshots of
// the root cover them: etc/fakesv/NAME/{runtimekit.json,enabled,up}.
type fakeServices struct{ root string }

func (f *fakeServices) Dir(name string) string { return filepath.Join(f.root, "etc/fakesv", name) }
func (f *fakeServices) LogPath(name string) string {
	return filepath.Join(f.root, "var/log/fakesv", name)
}

func (f *fakeServices) installed(name string) error {
	if _, err := os.Stat(filepath.Join(f.Dir(name), "runtimekit.json")); err != nil {
		return fmt.Errorf("service %s: %w: %w", name, service.ErrNotInstalled, err)
	}
	return nil
}

func (f *fakeServices) Install(ctx context.Context, svc state.Service) error {
	if err := os.MkdirAll(f.Dir(svc.Name), 0o755); err != nil {
		return err
	}
	b, _ := json.Marshal(svc)
	return os.WriteFile(filepath.Join(f.Dir(svc.Name), "runtimekit.json"), b, 0o644)
}

func (f *fakeServices) EnsureSupervisor(ctx context.Context) (int, error) { return 1, nil }

func (f *fakeServices) Enable(ctx context.Context, name string) error {
	if err := f.installed(name); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(f.Dir(name), "enabled"), nil, 0o644)
}

func (f *fakeServices) Start(ctx context.Context, name string) error {
	if err := f.Enable(ctx, name); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(f.Dir(name), "up"), nil, 0o644)
}

func (f *fakeServices) Stop(ctx context.Context, name string) error {
	if err := f.installed(name); err != nil {
		return err
	}
	return ignoreMissing(os.Remove(filepath.Join(f.Dir(name), "up")))
}

func (f *fakeServices) Disable(ctx context.Context, name string) error {
	_ = os.Remove(filepath.Join(f.Dir(name), "up"))
	return ignoreMissing(os.Remove(filepath.Join(f.Dir(name), "enabled")))
}

func (f *fakeServices) Remove(ctx context.Context, name string) error {
	return os.RemoveAll(f.Dir(name))
}

func (f *fakeServices) Status(ctx context.Context, name string) (service.Status, error) {
	st := service.Status{Name: name, State: service.StateDown}
	if err := f.installed(name); err != nil {
		return st, err
	}
	_, e := os.Stat(filepath.Join(f.Dir(name), "enabled"))
	_, u := os.Stat(filepath.Join(f.Dir(name), "up"))
	st.Enabled, st.Up, st.Supervised, st.NormallyUp = e == nil, u == nil, e == nil, true
	st.WantUp = st.Up
	if st.Up {
		st.State, st.PID = service.StateRun, 4242
	}
	return st, nil
}

func ignoreMissing(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// env is a fake machine: a root with dpkg's status, users, a bundle and a
// plan builder.
type env struct {
	t      *testing.T
	root   string
	bundle string
	dpkg   string
	svc    *fakeServices
	arts   map[string]plan.Artifact // by name
	bfiles []bundleFile
	// unhealthy names health checks that fail.
	unhealthy map[string]bool
	// wwwGID is www-data's gid in the root: 33, or this process's group
	// when the tests do not run as root (and cannot chown).
	wwwGID int
}

const baseStatus = `Package: dpkg
Status: install ok installed
Architecture: i386
Version: 1.21.22

Package: libc6
Status: install ok installed
Architecture: i386
Version: 2.36-9+deb12u10

Package: oldconf
Status: deinstall ok config-files
Architecture: all
Version: 1.0

`

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, root: filepath.Join(dir, "root"), bundle: filepath.Join(dir, "bundle"), dpkg: fakeDpkgProg(t),
		arts: map[string]plan.Artifact{}, unhealthy: map[string]bool{}}
	e.svc = &fakeServices{root: e.root}
	uid, gid := 0, 0
	e.wwwGID = 33
	if os.Geteuid() != 0 {
		uid, gid, e.wwwGID = os.Getuid(), os.Getgid(), os.Getgid()
	}
	e.write("etc/passwd", fmt.Sprintf("root:x:%d:%d:root:/root:/bin/sh\nwww-data:x:33:%d:www-data:/var/www:/usr/sbin/nologin\n", uid, gid, e.wwwGID), 0o644)
	e.write("etc/group", fmt.Sprintf("root:x:%d:\nwww-data:x:%d:\n", gid, e.wwwGID), 0o644)
	e.write(dpkgStatus, baseStatus, 0o644)
	e.write("usr/sbin/policy-rc.d", "#!/bin/sh\n# the admin's own\nexit 0\n", 0o755)
	for _, d := range []string{dpkgUpdates, "usr/share/fake", "etc/fakesv", "srv", "var/lib/runtimekit"} {
		if err := os.MkdirAll(filepath.Join(e.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The frontend lock exists on a real system.
	e.write(dpkgFrontendLock, "", 0o640)
	for _, d := range []string{"debs", "artifacts"} {
		if err := os.MkdirAll(filepath.Join(e.bundle, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.addDeb("libfoo1", "1.0-1", "")
	e.addDeb("foo-common", "1.0-1", "libfoo1 (>= 1.0)")
	e.addDeb("foo", "1.0-1", "")
	e.addArchive("app", map[string]string{"app-1.0/bin/app": "#!/bin/sh\necho app\n", "app-1.0/README": "readme\n"})
	e.writeIndex()
	return e
}

func (e *env) write(rel, content string, mode fs.FileMode) {
	e.t.Helper()
	p := filepath.Join(e.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) read(rel string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.root, rel))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func (e *env) exists(rel string) bool {
	_, err := os.Lstat(filepath.Join(e.root, rel))
	return err == nil
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func tarGz(t testing.TB, entries []tar.Header, content map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		h := h
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(content[h.Name]))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(content[h.Name]))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// makeDeb returns a minimal .deb: ar with debian-binary, control.tar.gz
// and an empty data.tar.gz.
func makeDeb(t testing.TB, name, version, arch, preDepends string) []byte {
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <t@example.org>\nDescription: test package\n", name, version, arch)
	if preDepends != "" {
		control += "Pre-Depends: " + preDepends + "\n"
	}
	ctl := tarGz(t, []tar.Header{{Name: "./control", Typeflag: tar.TypeReg, Mode: 0o644}}, map[string]string{"./control": control})
	data := tarGz(t, nil, nil)
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	member := func(n string, d []byte) {
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", n, 0, 0, 0, 0o644, len(d))
		b.Write(d)
		if len(d)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	member("debian-binary", []byte("2.0\n"))
	member("control.tar.gz", ctl)
	member("data.tar.gz", data)
	return b.Bytes()
}

func (e *env) addDeb(name, version, preDepends string) {
	b := makeDeb(e.t, name, version, "i386", preDepends)
	fn := fmt.Sprintf("%s_%s_i386.deb", name, version)
	if err := os.WriteFile(filepath.Join(e.bundle, "debs", fn), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
	s := sum(b)
	e.arts[name] = plan.Artifact{Kind: plan.ArtifactDeb, Name: name, Version: version, Arch: "i386",
		Filename: "pool/main/f/" + fn, SHA256: s, Size: int64(len(b))}
	e.bfiles = append(e.bfiles, bundleFile{Kind: "deb", Name: name, Version: version, Arch: "i386", Path: "debs/" + fn, SHA256: s, Size: int64(len(b))})
}

func (e *env) addArchive(name string, files map[string]string) {
	var hs []tar.Header
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		hs = append(hs, tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o755})
	}
	b := tarGz(e.t, hs, files)
	fn := name + ".tar.gz"
	if err := os.WriteFile(filepath.Join(e.bundle, "artifacts", fn), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
	s := sum(b)
	e.arts[name] = plan.Artifact{Kind: plan.ArtifactArchive, Name: name, URL: "https://example.org/" + fn, SHA256: s, Size: int64(len(b))}
	e.bfiles = append(e.bfiles, bundleFile{Kind: "archive", Name: name, Path: "artifacts/" + fn, SHA256: s, Size: int64(len(b))})
}

func (e *env) writeIndex() {
	sort.Slice(e.bfiles, func(i, j int) bool { return e.bfiles[i].Path < e.bfiles[j].Path })
	b, err := json.MarshalIndent(map[string]any{"formatVersion": 1, "files": e.bfiles}, "", "  ")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.bundle, bundleIndexName), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) pkgRef(name string) plan.PackageRef {
	a := e.arts[name]
	return plan.PackageRef{Name: a.Name, Version: a.Version, Arch: a.Arch, SHA256: a.SHA256}
}

func fileInput(path, content string, kind unit.FileKind) plan.File {
	return plan.File{Path: path, Content: content, SHA256: sum([]byte(content)), Mode: 0o644, Owner: "root", Group: "www-data", Kind: kind}
}

var fooService = state.Service{Name: "foo", Argv: []string{"/usr/bin/foo"}, User: "root", Restart: "always", StopSignal: "TERM", StopTimeout: unit.Duration(time.Second)}
var fooHealth = state.HealthCheck{Name: "foo-http", Kind: "http", Service: "foo", Port: 8080, Path: "/", Interval: unit.Duration(time.Second), Timeout: unit.Duration(time.Second), Retries: 1, StartPeriod: 0}

const confContent = "listen 8080;\n"
const indexContent = "<h1>hello</h1>\n"

// fooRuntime is the state record of the test runtime.
func (e *env) fooRuntime() state.Runtime {
	var pkgs []state.Package
	for _, n := range []string{"libfoo1", "foo-common", "foo"} {
		a := e.arts[n]
		pkgs = append(pkgs, state.Package{Name: a.Name, Version: a.Version, Arch: a.Arch, SHA256: a.SHA256})
	}
	return state.Runtime{Name: "foo", Version: "1.0.0", Packages: pkgs,
		Artifacts: []state.Artifact{{Name: "app", SHA256: e.arts["app"].SHA256, Dest: "/opt/app", Format: "tar.gz"}},
		Files: []state.File{
			{Path: "/etc/runtimekit/foo/foo.conf", SHA256: sum([]byte(confContent)), Mode: 0o644, Owner: "root", Group: "www-data", Kind: "managed"},
			{Path: "/srv/www/index.html", SHA256: sum([]byte(indexContent)), Mode: 0o644, Owner: "root", Group: "www-data", Kind: "user-config"},
		},
		Services: []state.Service{fooService}, Health: []state.HealthCheck{fooHealth},
		Ports: []state.Port{{Name: "http", Number: 8080, Protocol: "tcp"}}, MemoryMiB: 8, DiskMiB: 8}
}

// installPlan is a plan with one step of each installing kind.
func (e *env) installPlan(lineage string, serial int64) *plan.Plan {
	var arts []plan.Artifact
	var sums []string
	for _, n := range []string{"app", "foo", "foo-common", "libfoo1"} {
		arts = append(arts, e.arts[n])
		sums = append(sums, e.arts[n].SHA256)
	}
	app := e.arts["app"]
	rts := []state.Runtime{e.fooRuntime()}
	p := &plan.Plan{FormatVersion: plan.FormatVersion,
		Target:    plan.Target{Name: "test-i386", OS: "linux", Arch: "386", DebianArch: "i386", Release: "bookworm"},
		State:     plan.StateRef{Lineage: lineage, Serial: serial},
		Artifacts: arts,
		Steps: []plan.Step{
			{ID: "verify-bundle", Inputs: &plan.VerifyBundle{Artifacts: sums}},
			{ID: "install-packages", Inputs: &plan.InstallPackages{Packages: []plan.PackageRef{e.pkgRef("libfoo1"), e.pkgRef("foo-common"), e.pkgRef("foo")}}},
			{ID: "extract-archive:app", Runtime: "foo", Inputs: &plan.ExtractArchive{Archive: plan.Archive{Name: "app", SHA256: app.SHA256, Format: "tar.gz", Dest: "/opt/app", Strip: 1}}},
			{ID: "write-file:/etc/runtimekit/foo/foo.conf", Runtime: "foo", Inputs: &plan.WriteFile{File: fileInput("/etc/runtimekit/foo/foo.conf", confContent, "managed")}},
			{ID: "write-file:/srv/www/index.html", Runtime: "foo", Inputs: &plan.WriteFile{File: fileInput("/srv/www/index.html", indexContent, "user-config")}},
			{ID: "install-service:foo", Runtime: "foo", Inputs: &plan.InstallService{Service: fooService}},
			{ID: "start-service:foo", Runtime: "foo", Inputs: &plan.StartService{ServiceName: "foo"}},
			{ID: "wait-health:foo-http", Runtime: "foo", Inputs: &plan.WaitHealth{Health: fooHealth}},
			{ID: "record-state", Inputs: &plan.RecordState{Runtimes: rts}},
		}}
	for i := range p.Steps {
		p.Steps[i].Needs = []string{}
	}
	return p
}

// removePlan removes what installPlan installed.
func (e *env) removePlan(lineage string, serial int64) *plan.Plan {
	rts := []state.Runtime{}
	var refs []plan.PackageRef
	for _, n := range []string{"foo", "foo-common", "libfoo1"} {
		r := e.pkgRef(n)
		r.SHA256 = ""
		refs = append(refs, r)
	}
	p := &plan.Plan{FormatVersion: plan.FormatVersion,
		Target:    plan.Target{Name: "test-i386", OS: "linux", Arch: "386", DebianArch: "i386", Release: "bookworm"},
		State:     plan.StateRef{Lineage: lineage, Serial: serial},
		Artifacts: []plan.Artifact{},
		Steps: []plan.Step{
			{ID: "stop-service:foo", Runtime: "foo", Inputs: &plan.StopService{ServiceName: "foo"}},
			{ID: "remove-service:foo", Runtime: "foo", Inputs: &plan.RemoveService{Service: fooService}},
			{ID: "remove-file:/etc/runtimekit/foo/foo.conf", Runtime: "foo", Inputs: &plan.RemoveFile{File: fileInput("/etc/runtimekit/foo/foo.conf", confContent, "managed")}},
			{ID: "remove-file:/srv/www/index.html", Runtime: "foo", Inputs: &plan.RemoveFile{File: fileInput("/srv/www/index.html", indexContent, "user-config")}},
			{ID: "remove-archive:app", Runtime: "foo", Inputs: &plan.RemoveArchive{Archive: plan.Archive{Name: "app", SHA256: e.arts["app"].SHA256, Format: "tar.gz", Dest: "/opt/app"}}},
			{ID: "remove-packages", Inputs: &plan.RemovePackages{Packages: refs, Purge: true}},
			{ID: "record-state", Inputs: &plan.RecordState{Runtimes: rts}},
		}}
	return p
}

func (e *env) planJSON(p *plan.Plan) []byte {
	e.t.Helper()
	b := e.anyPlanJSON(p)
	if _, err := plan.Parse(b); err != nil {
		e.t.Fatalf("test plan is invalid: %v", err)
	}
	return b
}

// anyPlanJSON encodes a plan that may break plan.Parse's rules (a
// hand-made or tampered plan, to be refused).
func (e *env) anyPlanJSON(p *plan.Plan) []byte {
	e.t.Helper()
	for i := range p.Steps {
		if p.Steps[i].Needs == nil {
			p.Steps[i].Needs = []string{}
		}
	}
	b, err := p.Marshal()
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) executor(hook func(step, phase string) error) *Executor {
	return New(Options{Root: e.root, BundleDir: e.bundle, Dpkg: e.dpkg, Services: e.svc, hook: hook,
		Progress: testWriter{e.t},
		Health: func(ctx context.Context, hc state.HealthCheck, _ *slog.Logger) error {
			if e.unhealthy[hc.Name] {
				return &service.HealthError{Check: hc.Name, Target: "GET http://127.0.0.1:8080/", Attempts: 1, Failures: 1, Last: "connection refused"}
			}
			return nil
		}})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// snapshot describes every file of the root: type, mode, owner, content
// digest or link target. Bookkeeping the executor keeps for itself
// (var/lib/runtimekit except the state) and the fake dpkg's log are left
// out; the state's lineage, random, is blanked.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(e.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(e.root, p)
		if rel == "fake-dpkg.log" || rel == "fake-dpkg.fail" {
			return nil
		}
		if strings.HasPrefix(rel, dataDir) && !strings.HasPrefix(rel, dataDir+"/state.json") && rel != dataDir {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(p)
			desc += " -> " + t
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.HasPrefix(rel, dataDir+"/state.json") {
				var s map[string]any
				if json.Unmarshal(b, &s) == nil {
					s["lineage"] = "L"
					b, _ = json.Marshal(s)
				}
			}
			desc += " " + sum(b)
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func diffSnapshots(a, b map[string]string) string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			out = append(out, "- "+k+" "+v)
		} else if w != v {
			out = append(out, "~ "+k+": "+v+" => "+w)
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "+ "+k+" "+v)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

const lockHolderEnv = "RUNTIMEKIT_TEST_LOCK_HOLDER"

// lockHolderMain holds an fcntl write lock on path (as apt holds dpkg's
// frontend lock) until its standard input closes.
func lockHolderMain(path string) int {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// startLockHolder starts a process holding path's fcntl lock and returns
// its pid; it ends with the test.
func startLockHolder(t *testing.T, path string) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+path)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	line := make([]byte, 7)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "locked\n" {
		t.Fatalf("lock holder: %q %v", line, err)
	}
	return cmd.Process.Pid
}

// refused applies a plan that must be refused and checks the refusal
// says want and changed nothing in the root.
func (e *env) refused(t *testing.T, p *plan.Plan, want string) {
	t.Helper()
	before := e.snapshot()
	_, err := e.executor(nil).Apply(t.Context(), e.anyPlanJSON(p))
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("want *RefusedError, got %v", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error does not say %q:\n%v", want, err)
	}
	if d := diffSnapshots(before, e.snapshot()); d != "" {
		t.Errorf("a refused plan changed the root:\n%s", d)
	}
}
