package vmtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/sdk/executor"
	"github.com/runtimekit/runtimekit/sdk/plan"
)

// planAndBundle plans args (plan or deploy) on the host into dir/plan.json
// and dir/bundle, and returns the plan's number of steps.
func planAndBundle(t testing.TB, tl *Tools, dir string, args ...string) int {
	t.Helper()
	planFile, bundleDir := filepath.Join(dir, "plan.json"), filepath.Join(dir, "bundle")
	os.RemoveAll(bundleDir)
	if args[0] == "deploy" {
		args = append(args, "-o", planFile, "--bundle", bundleDir)
		if out, err := tl.Run(args...); err != nil {
			t.Fatalf("runtimectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	} else {
		if out, err := tl.Run(append(args, "-o", planFile)...); err != nil {
			t.Fatalf("runtimectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if out, err := tl.Run("bundle", "--plan", planFile, "--out", bundleDir, "--keep-downloads"); err != nil {
			t.Fatalf("runtimectl bundle: %v\n%s", err, out)
		}
	}
	p, err := plan.Read(planFile)
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Steps)
}

// testDir is a test disk's files, with httpget.
func testDir(t testing.TB, tl *Tools) string {
	dir := t.TempDir()
	b, err := os.ReadFile(tl.HTTPGet)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "httpget"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func status(t testing.TB, console string) executor.Report {
	t.Helper()
	s, ok := Section(console, "status")
	if !ok {
		t.Fatalf("no status on the console:\n%s", tail(console, 4000))
	}
	var rep executor.Report
	if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &rep); err != nil {
		t.Fatalf("runtimectl status --json: %v\n%s", err, s)
	}
	return rep
}

var appliedIn = regexp.MustCompile(`applied: \d+ steps, state serial \d+ \(([0-9hms.]+)\)`)

// TestQEMUBoot boots the image: runtimectl boot mounts, recovers (nothing)
// and runs the script, and runtimectl status answers.
func TestQEMUBoot(t *testing.T) {
	tl := Build(t)
	m := tl.NewMachine(t, testDir(t, tl))
	b := m.Start(Mark("status", "runtimectl status --json") + Mark("mem", "grep -E 'MemTotal|MemAvailable' /proc/meminfo"))
	ready := b.WaitFor("==BEGIN status==", 3*time.Minute)
	console := b.Wait(2 * time.Minute)
	t.Logf("boot to the script: %s", ready.Round(100*time.Millisecond))
	if rep := status(t, console); !rep.Healthy || len(rep.Runtimes) != 0 {
		t.Errorf("status of a fresh image: %+v", rep)
	}
	if !strings.Contains(console, "runtimectl boot: /bin/sh exited with status 0") {
		t.Errorf("runtimectl boot did not report the script's end:\n%s", tail(console, 2000))
	}
	mem, _ := Section(console, "mem")
	t.Logf("memory: %s", strings.Join(strings.Fields(mem), " "))
}

// TestQEMUInstallAndDeploy installs nginx offline under the emulated CPU
// and checks it answers; then, in a second boot of the same disk (which
// brings nginx back through runtimectl boot's recover), deploys
// examples/static planned against the VM's own state.
func TestQEMUInstallAndDeploy(t *testing.T) {
	tl := Build(t)
	dir := testDir(t, tl)
	planAndBundle(t, tl, dir, "plan", "--add", "nginx")
	m := tl.NewMachine(t, dir)
	check := Mark("get", "/mnt/t/httpget http://127.0.0.1:80/healthz") + Mark("audit", "dpkg --audit") +
		Mark("status", "runtimectl status --json") + Mark("state", "cat /var/lib/runtimekit/state.json") +
		Mark("mem", "grep -E 'MemTotal|MemAvailable' /proc/meminfo")
	b := m.Start("runtimectl apply /mnt/t/plan.json --bundle /mnt/t/bundle; echo \"APPLY=$?\"\n" + check)
	console := b.Wait(10 * time.Minute)
	if !strings.Contains(console, "APPLY=0") {
		t.Fatalf("apply of nginx in the VM failed:\n%s", tail(console, 6000))
	}
	if mt := appliedIn.FindStringSubmatch(console); mt != nil {
		t.Logf("runtimectl apply nginx under qemu: %s", mt[1])
	}
	if get, _ := Section(console, "get"); !strings.HasPrefix(strings.TrimSpace(get), "200") || !strings.Contains(get, "ok") {
		t.Errorf("GET /healthz of nginx in the VM: %q", get)
	}
	if audit, ok := Section(console, "audit"); !ok || strings.TrimSpace(audit) != "" {
		t.Errorf("dpkg --audit after the apply: %q", audit)
	}
	if rep := status(t, console); !rep.Healthy || len(rep.Runtimes) != 1 {
		t.Errorf("status after the apply: %+v", rep)
	}
	mem, _ := Section(console, "mem")
	t.Logf("memory after installing nginx: %s", strings.Join(strings.Fields(mem), " "))

	// The deploy, planned on the host against the VM's state.
	st, _ := Section(console, "state")
	stateFile := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(stateFile, []byte(strings.TrimSpace(st)), 0o644); err != nil {
		t.Fatal(err)
	}
	planAndBundle(t, tl, dir, "deploy", filepath.Join(moduleRoot(), "examples", "static"), "--app", "site", "--state", stateFile)
	b = m.Start("runtimectl apply /mnt/t/plan.json --bundle /mnt/t/bundle; echo \"APPLY=$?\"\n" +
		Mark("get", "/mnt/t/httpget http://127.0.0.1:8100/") + Mark("status", "runtimectl status --json"))
	console = b.Wait(10 * time.Minute)
	if !strings.Contains(console, "nothing to recover") {
		t.Errorf("the second boot did not run recover:\n%s", tail(console, 3000))
	}
	if !strings.Contains(console, "APPLY=0") {
		t.Fatalf("deploy of examples/static in the VM failed:\n%s", tail(console, 6000))
	}
	if mt := appliedIn.FindStringSubmatch(console); mt != nil {
		t.Logf("runtimectl apply of the static site's deploy under qemu: %s", mt[1])
	}
	if get, _ := Section(console, "get"); !strings.Contains(get, "hello from a static site") {
		t.Errorf("GET / of the deployed site: %q", get)
	}
	rep := status(t, console)
	if !rep.Healthy || len(rep.Apps) != 1 {
		t.Errorf("status after the deploy: %+v", rep)
	}
}

// TestQEMUPowerCuts cuts the power (SIGKILL of qemu) at every step of an
// nginx apply, as the step begins, and once more inside dpkg's run; the
// next boot's recover must leave the machine fully before the apply or
// fully after it: dpkg's database audited clean, the state valid, and
// nginx installed exactly when the state says so.
func TestQEMUPowerCuts(t *testing.T) {
	tl := Build(t)
	dir := testDir(t, tl)
	steps := planAndBundle(t, tl, dir, "plan", "--add", "nginx")
	type cut struct {
		name  string
		line  string
		delay time.Duration
	}
	var cuts []cut
	for k := 1; k <= steps; k++ {
		cuts = append(cuts, cut{fmt.Sprintf("step-%d", k), fmt.Sprintf("[%d/%d]", k, steps), 0})
	}
	// And inside dpkg's runs, as the executor reports them.
	cuts = append(cuts, cut{"inside-unpack", "unpacking ", 3 * time.Second}, cut{"inside-configure", "configuring", 2 * time.Second})
	var before, after int
	for _, c := range cuts {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.CopyFS(d, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			m := tl.NewMachine(t, d)
			b := m.Start("runtimectl apply /mnt/t/plan.json --bundle /mnt/t/bundle; echo \"APPLY=$?\"\n")
			at := b.WaitFor(c.line, 10*time.Minute)
			time.Sleep(c.delay)
			b.Kill()
			t.Logf("power cut %s after the console printed %q", at.Round(100*time.Millisecond), c.line)
			b = m.Start(Mark("audit", "dpkg --audit") + Mark("status", "runtimectl status --json") +
				Mark("nginx", "dpkg-query -W -f='${Status}' nginx-light 2>/dev/null; true") +
				Mark("left", "ls -A /var/lib/runtimekit"))
			console := b.Wait(10 * time.Minute)
			if audit, ok := Section(console, "audit"); !ok || strings.TrimSpace(audit) != "" {
				t.Errorf("dpkg --audit after recover: %q", audit)
			}
			rep := status(t, console)
			pkg, _ := Section(console, "nginx")
			installed := strings.TrimSpace(pkg) == "install ok installed"
			switch {
			case len(rep.Runtimes) == 0 && !installed && strings.TrimSpace(pkg) == "":
				before++
			case len(rep.Runtimes) == 1 && rep.Healthy && installed:
				after++
			default:
				t.Errorf("neither before nor after: status %+v, nginx-light %q\n%s", rep, pkg, tail(console, 4000))
			}
			if left, _ := Section(console, "left"); strings.Contains(left, "journal") {
				t.Errorf("a journal is left after recover: %q\n%s", left, tail(console, 3000))
			}
		})
	}
	t.Logf("%d power cuts: %d ended before the apply, %d after", len(cuts), before, after)
}

// TestImageProfile: the target profile image build writes, read from the
// image's own root, is the shipped webvm-i386 profile byte for byte, so
// that plans made for that target fit the image. When Debian's archive
// has moved on, refresh the shipped profile with
// scripts/make-target-base.sh and lock the target again.
func TestImageProfile(t *testing.T) {
	tl := Build(t)
	for _, f := range []string{"webvm-i386.status", "webvm-i386.cue"} {
		got, err := os.ReadFile(filepath.Join(tl.Image, f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(moduleRoot(), "targets", f))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("the image's %s differs from targets/%s: the archive has changed since the target was made; refresh it (scripts/make-target-base.sh) and lock it again", f, f)
		}
	}
}
