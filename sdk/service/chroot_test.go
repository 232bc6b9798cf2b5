package service

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// TestResolveIn checks that paths are resolved as a process chrooted into
// the root would resolve them: absolute link targets and ".." stay
// inside.
func TestResolveIn(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "etc/alternatives", "srv"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "usr/bin/nodejs"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"bin":                   "usr/bin",                // merged /usr
		"usr/bin/node":          "/etc/alternatives/node", // absolute, as update-alternatives makes
		"etc/alternatives/node": "/usr/bin/nodejs",        //
		"srv/up":                "../../../../../usr/bin", // ".." beyond the root stops at it
		"srv/host":              "/etc/passwd",            // the root's, not this machine's
		"srv/loop":              "loop",                   //
		"srv/dangling":          "/nonexistent",           //
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"/bin/node", "usr/bin/nodejs"},
		{"/usr/bin/node", "usr/bin/nodejs"},
		{"/srv/up/nodejs", "usr/bin/nodejs"},
		{"/../../usr/bin/nodejs", "usr/bin/nodejs"},
		{"/srv", "srv"},
	} {
		got, err := resolveIn(root, tc.in)
		if err != nil || got != filepath.Join(root, tc.want) {
			t.Errorf("resolveIn(%s) = %q, %v; want %q", tc.in, got, err, filepath.Join(root, tc.want))
		}
	}
	if got, err := resolveIn(root, "/srv/host"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("resolveIn(/srv/host) = %q, %v; want the root's /etc/passwd, which does not exist", got, err)
	}
	if _, err := resolveIn(root, "/srv/loop"); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("resolveIn of a link loop: %v, want ELOOP", err)
	}
	if _, err := resolveIn(root, "/srv/dangling"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("resolveIn of a dangling link: %v, want not exist", err)
	}

	if p, err := lookIn(root, "node"); err != nil || p != "/usr/bin/node" {
		t.Errorf("lookIn(node) = %q, %v; want /usr/bin/node", p, err)
	}
	if _, err := lookIn(root, "sh"); err == nil || !strings.Contains(err.Error(), "sh: not found in "+root) {
		t.Errorf("lookIn(sh) in a root without it: %v", err)
	}
}

func TestParsePasswd(t *testing.T) {
	const passwd = "root:x:0:0:root:/root:/bin/bash\n" +
		"www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n" +
		"short:x:1\n" +
		"bad:x:one:1:::\n"
	a, err := parsePasswd([]byte(passwd), "www-data", "/r/etc/passwd")
	if err != nil || a != (account{name: "www-data", uid: 33, gid: 33, home: "/var/www"}) {
		t.Errorf("www-data: %+v, %v", a, err)
	}
	for name, want := range map[string]string{
		"nobody": `no user "nobody" in /r/etc/passwd`,
		"short":  `no user "short" in /r/etc/passwd`,
		"bad":    `/r/etc/passwd: user "bad" has a bad uid or gid ("one", "1")`,
	} {
		if _, err := parsePasswd([]byte(passwd), name, "/r/etc/passwd"); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}

// TestChrootLayout checks what a chrooted Runit writes: paths as the root
// sees them, and a refusal, before anything runs, when the root has no
// runit.
func TestChrootLayout(t *testing.T) {
	root := t.TempDir()
	r := &Runit{Root: root, Chroot: true}
	ctx := t.Context()
	if err := r.Install(ctx, state.Service{Name: "web", Argv: []string{"/usr/sbin/nginx"}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "etc/runtimekit/sv/web/log/run"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "exec svlogd -tt '/var/log/runtimekit/web'\n") {
		t.Errorf("log/run does not log to the directory inside the root:\n%s", b)
	}
	if err := r.Enable(ctx, "web"); !errors.Is(err, ErrNoSupervisor) {
		t.Errorf("Enable without runsvdir: %v, want ErrNoSupervisor", err)
	}
	if target, err := os.Readlink(filepath.Join(root, "etc/runtimekit/service/web")); err != nil || target != "/etc/runtimekit/sv/web" {
		t.Errorf("scan directory link -> %q, %v; want /etc/runtimekit/sv/web", target, err)
	}

	_, err = r.EnsureSupervisor(ctx)
	if want := "runsvdir is not installed in " + root + ": the plan must install runit first"; err == nil || err.Error() != want {
		t.Errorf("EnsureSupervisor in a root without runit: %v, want %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(root, DefaultPIDFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file after the refusal: %v", err)
	}
	if pid, ok := r.SupervisorPID(); ok {
		t.Errorf("SupervisorPID = %d in a root where none runs", pid)
	}
	if pid, err := r.StopSupervisor(ctx); pid != 0 || err != nil {
		t.Errorf("StopSupervisor with none running = %d, %v", pid, err)
	}
}

// TestProberRoot checks what an exec probe in a root says when it cannot
// run; TestChrootE2E in sdk/executor runs one in a real root.
func TestProberRoot(t *testing.T) {
	root := t.TempDir()
	hc := state.HealthCheck{Name: "x", Kind: state.HealthExec, Argv: []string{"true"}}
	res, err := Prober{Root: root}.Probe(t.Context(), hc)
	if err != nil {
		t.Fatal(err)
	}
	if res.Healthy || res.Reason != "true: not found in "+root+" (PATH "+DefaultPath+")" {
		t.Errorf("probe of a program the root lacks: %s", res)
	}
	// "/" is this machine: the program is this machine's.
	if res, err := (Prober{Root: "/"}).Probe(t.Context(), hc); err != nil || !res.Healthy {
		t.Errorf("probe with root /: %s, %v", res, err)
	}
	if _, err := execCommand(Prober{Root: root}.context(t.Context()), []string{"/bin/true"}, "web"); err == nil ||
		!strings.Contains(err.Error(), "/bin/true in "+root) {
		t.Errorf("execCommand of a missing path: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("web:x:1000:1001::/home/web:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/probe"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd, err := execCommand(Prober{Root: root}.context(t.Context()), []string{"probe", "-q"}, "web")
	if err != nil {
		t.Fatal(err)
	}
	a := cmd.SysProcAttr
	if cmd.Path != "/bin/probe" || strings.Join(cmd.Args, " ") != "probe -q" || cmd.Dir != "/" || a.Chroot != root || !a.Setpgid ||
		a.Credential == nil || a.Credential.Uid != 1000 || a.Credential.Gid != 1001 {
		t.Errorf("exec probe command: path %s args %q dir %q attr %+v cred %+v", cmd.Path, cmd.Args, cmd.Dir, a, a.Credential)
	}
	if want := []string{"PATH=" + DefaultPath, "HOME=/home/web", "USER=web", "LOGNAME=web"}; strings.Join(cmd.Env, " ") != strings.Join(want, " ") {
		t.Errorf("environment %q, want %q", cmd.Env, want)
	}
}

// TestControlNotFIFO checks that runsv's FIFOs are written only when they
// are FIFOs: a service running as root in a chrooted root could replace
// them by links to this machine's files.
func TestControlNotFIFO(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "supervise"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"control", "ok"} {
		if err := os.Symlink(victim, filepath.Join(dir, "supervise", f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := control(dir, "x"); err == nil || !strings.Contains(err.Error(), "is not a FIFO") {
		t.Errorf("control through a link to a regular file: %v", err)
	}
	if ok, err := supervised(dir); ok || err == nil || !strings.Contains(err.Error(), "is not a FIFO") {
		t.Errorf("supervised through a link to a regular file: %v, %v", ok, err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("the file behind the link was written: %q", b)
	}
}

// TestProbeUser runs exec probes as the check's user.
func TestProbeUser(t *testing.T) {
	testenv.RequireRoot(t)
	for user, want := range map[string]string{"nobody": "nobody", "root": "root", "": "root"} {
		hc := state.HealthCheck{Name: "x", Kind: state.HealthExec, User: user,
			Argv: []string{"sh", "-c", `test "$(id -un)" = ` + want + ` || { id >&2; exit 1; }`}}
		if res, err := Probe(t.Context(), hc); err != nil || !res.Healthy {
			t.Errorf("user %q: %s, %v", user, res, err)
		}
	}
	hc := state.HealthCheck{Name: "x", Kind: state.HealthExec, User: "no-such-user", Argv: []string{"true"}}
	if res, err := Probe(t.Context(), hc); err != nil || res.Healthy || res.Reason != `no user "no-such-user" in /etc/passwd` {
		t.Errorf("unknown user: %s, %v", res, err)
	}
}
