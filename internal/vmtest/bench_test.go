package vmtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/sdk/plan"
)

// The product's metrics, timed inside the emulated machine (qemu TCG):
//
//	go test -run '^$' -bench QEMU -benchtime 1x -timeout 60m ./internal/vmtest/
//
// (as root, RUNTIMEKIT_E2E=1; scripts/bench-emulated.sh runs it). Times
// are the guest's clock around the command; memory is MemTotal minus
// MemAvailable after it.

// timed is the shell that runs command and prints NAME_MS=milliseconds
// and NAME_RC=its exit status.
func timed(name, command string) string {
	return fmt.Sprintf("s=$(date +%%s%%N); %s; rc=$?; e=$(date +%%s%%N); echo \"%s_RC=$rc %s_MS=$(( (e - s) / 1000000 ))\"\n", command, name, name)
}

// figure reads NAME_RC and NAME_MS from a console, failing unless the
// command succeeded.
func figure(b testing.TB, console, name string) time.Duration {
	b.Helper()
	i := strings.LastIndex(console, name+"_RC=")
	if i < 0 {
		b.Fatalf("%s was not timed; console:\n%s", name, tail(console, 4000))
	}
	var rc, ms int
	if _, err := fmt.Sscanf(console[i:], name+"_RC=%d "+name+"_MS=%d", &rc, &ms); err != nil || rc != 0 {
		b.Fatalf("%s failed (status %d, %v); console:\n%s", name, rc, err, tail(console, 6000))
	}
	return time.Duration(ms) * time.Millisecond
}

const memUsed = "awk '/^MemTotal:/ {t=$2} /^MemAvailable:/ {a=$2} END {print \"MEM_USED_KB=\" t-a}' /proc/meminfo\n"

func memMiB(console string) float64 {
	i := strings.LastIndex(console, "MEM_USED_KB=")
	var kb int
	if i < 0 {
		return 0
	}
	fmt.Sscanf(console[i:], "MEM_USED_KB=%d", &kb)
	return float64(kb) / 1024
}

// debs lists the .debs of a plan's install-packages steps, as paths on
// the test disk, in the plan's order.
func debs(b testing.TB, dir string) []string {
	b.Helper()
	p, err := plan.Read(filepath.Join(dir, "plan.json"))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "bundle", "bundle.json"))
	if err != nil {
		b.Fatal(err)
	}
	var idx struct {
		Files []struct{ Path, SHA256 string } `json:"files"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		b.Fatal(err)
	}
	byDigest := map[string]string{}
	for _, f := range idx.Files {
		byDigest[f.SHA256] = f.Path
	}
	var out []string
	for _, s := range p.Steps {
		if in, ok := s.Inputs.(*plan.InstallPackages); ok {
			for _, pk := range in.Packages {
				out = append(out, "/mnt/t/bundle/"+byDigest[pk.SHA256])
			}
		}
	}
	return out
}

// BenchmarkQEMUInstall: runtimectl apply of each runtime (and of three
// together) in a fresh machine, beside plain dpkg -i of the same .debs in
// another fresh machine of the same run (policy-rc.d 101, as the executor
// runs dpkg), and the memory in use after the apply.
func BenchmarkQEMUInstall(b *testing.B) {
	tl := Build(b)
	for _, rts := range [][]string{{"nginx"}, {"node"}, {"python"}, {"nginx", "node", "python"}} {
		b.Run(strings.Join(rts, "+"), func(b *testing.B) {
			dir := testDir(b, tl)
			args := []string{"plan"}
			for _, r := range rts {
				args = append(args, "--add", r)
			}
			planAndBundle(b, tl, dir, args...)
			for i := 0; i < b.N; i++ {
				m := tl.NewMachine(b, dir)
				console := m.Start(timed("APPLY", "runtimectl apply /mnt/t/plan.json --bundle /mnt/t/bundle >/dev/null") + memUsed).Wait(20 * time.Minute)
				apply := figure(b, console, "APPLY")
				mem := memMiB(console)
				m = tl.NewMachine(b, dir)
				peer := "printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d\n" +
					timed("DPKG", "DEBIAN_FRONTEND=noninteractive LC_ALL=C dpkg -i "+strings.Join(debs(b, dir), " ")+" >/dev/null")
				console = m.Start(peer).Wait(20 * time.Minute)
				dpkg := figure(b, console, "DPKG")
				b.ReportMetric(apply.Seconds(), "apply-s")
				b.ReportMetric(dpkg.Seconds(), "dpkg-i-s")
				b.ReportMetric(apply.Seconds()/dpkg.Seconds(), "ratio")
				b.ReportMetric(mem, "MiB-used")
			}
		})
	}
}

// BenchmarkQEMUDeploy: the apply of a deploy of examples/static (nginx
// installed with it) and of examples/express onto a machine that has node,
// and the boot of the image to its first command.
func BenchmarkQEMUDeploy(b *testing.B) {
	tl := Build(b)
	for i := 0; i < b.N; i++ {
		dir := testDir(b, tl)
		planAndBundle(b, tl, dir, "deploy", filepath.Join(moduleRoot(), "examples", "static"), "--app", "site")
		m := tl.NewMachine(b, dir)
		boot := m.Start(timed("DEPLOY", "runtimectl apply /mnt/t/plan.json --bundle /mnt/t/bundle >/dev/null") + memUsed)
		ready := boot.WaitFor("runtimectl boot: running", 5*time.Minute)
		console := boot.Wait(20 * time.Minute)
		b.ReportMetric(ready.Seconds(), "boot-s")
		b.ReportMetric(figure(b, console, "DEPLOY").Seconds(), "static+nginx-s")

		planAndBundle(b, tl, dir, "plan", "--add", "node", "--for-apps")
		m = tl.NewMachine(b, dir)
		console = m.Start("runtimectl apply /mnt/t/plan.json --bundle /mnt/t/bundle >/dev/null && " + Mark("state", "cat /var/lib/runtimekit/state.json")).Wait(20 * time.Minute)
		st, ok := Section(console, "state")
		if !ok {
			b.Fatalf("node was not installed:\n%s", tail(console, 4000))
		}
		stateFile := filepath.Join(b.TempDir(), "state.json")
		if err := os.WriteFile(stateFile, []byte(strings.TrimSpace(st)), 0o644); err != nil {
			b.Fatal(err)
		}
		planAndBundle(b, tl, dir, "deploy", filepath.Join(moduleRoot(), "examples", "express"), "--state", stateFile)
		console = m.Start(timed("DEPLOY", "runtimectl apply /mnt/t/plan.json --bundle /mnt/t/bundle >/dev/null") + memUsed).Wait(20 * time.Minute)
		b.ReportMetric(figure(b, console, "DEPLOY").Seconds(), "express-s")
		b.ReportMetric(memMiB(console), "MiB-used")
	}
}
