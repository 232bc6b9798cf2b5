package planner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk/debian"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/planner"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// rt makes a small manifest; extra is CUE added at the top level.
func rt(name, extra string) map[string][]byte {
	src := `name: "` + name + `"
version: "1.0.0"
platforms: [{os: "linux", arch: "386"}]
packages: {}
` + extra + "\n"
	if !strings.Contains(extra, "resources:") {
		src += "resources: memoryMiB: 10\n"
	}
	return map[string][]byte{name + ".cue": []byte(src)}
}

func smallTarget() *manifest.Target {
	return &manifest.Target{Name: "t", OS: "linux", Arch: "386", Debian: manifest.DebianSuite{Release: "bookworm", Version: "12"},
		Budget: manifest.TargetBudget{MemoryMiB: 100, DiskMiB: 100}}
}

func TestCombinationProblems(t *testing.T) {
	svc := func(name string, port int) string {
		return `ports: [{name: "http", number: ` + itoa(port) + `}]
services: [{name: "` + name + `", argv: ["/bin/true"], user: "nobody"}]
`
	}
	supervisor := &lock.Runtime{Name: "supervisor", Version: "0.0.0", Packages: []lock.Package{{Name: "runit", Version: "2.1.2-54", Arch: "i386",
		Filename: "pool/main/r/runit/runit_2.1.2-54_i386.deb", SHA256: strings.Repeat("1", 64), Size: 1}}}
	pkgLock := &lock.Lock{Target: lock.Target{Name: "t"}, Supervisor: supervisor, Runtimes: []lock.Runtime{
		{Name: "mta-a", Packages: []lock.Package{{Name: "exim4", Version: "4.96", Arch: "i386", Filename: "pool/e.deb", SHA256: strings.Repeat("a", 64), Size: 1,
			Conflicts: "mail-transport-agent", Provides: "mail-transport-agent"}}},
		{Name: "mta-b", Packages: []lock.Package{{Name: "postfix", Version: "3.7", Arch: "i386", Filename: "pool/p.deb", SHA256: strings.Repeat("b", 64), Size: 1,
			Conflicts: "mail-transport-agent", Provides: "mail-transport-agent"}}},
		{Name: "files-a", Packages: []lock.Package{{Name: "tool-a", Version: "1", Arch: "i386", Filename: "pool/ta.deb", SHA256: strings.Repeat("c", 64), Size: 1}}},
		{Name: "files-b", Packages: []lock.Package{{Name: "tool-b", Version: "1", Arch: "i386", Filename: "pool/tb.deb", SHA256: strings.Repeat("d", 64), Size: 1}}},
		{Name: "big", Packages: []lock.Package{{Name: "huge", Version: "1", Arch: "i386", Filename: "pool/h.deb", SHA256: strings.Repeat("e", 64), Size: 1, InstalledSize: 200 * 1024}}},
		{Name: "breaker", Packages: []lock.Package{{Name: "newlibc", Version: "1", Arch: "i386", Filename: "pool/n.deb", SHA256: strings.Repeat("f", 64), Size: 1,
			Breaks: "libc6 (<< 3)"}}},
	}}
	for i := range pkgLock.Runtimes {
		r := &pkgLock.Runtimes[i]
		r.Version, r.Requests = "1.0.0", []string{r.Packages[0].Name}
	}
	deb := func(name string) string { return `packages: debian: [{name: "` + name + `"}]` + "\n" }
	cat := mapCatalog{
		"web-a":   rt("web-a", svc("web-a", 8080)),
		"web-b":   rt("web-b", svc("web-b", 8080)),
		"web-c":   rt("web-c", svc("web-a", 9090)),
		"file-a":  rt("file-a", `files: [{path: "/etc/shared.conf", content: "a"}]`),
		"file-b":  rt("file-b", `files: [{path: "/etc/shared.conf", content: "b"}]`),
		"apache":  rt("apache", `conflicts: ["web-a"]`),
		"cap-a":   rt("cap-a", `provides: [{name: "tls-terminator", exclusive: true}]`),
		"cap-b":   rt("cap-b", `provides: [{name: "tls-terminator", exclusive: true}]`),
		"old":     rt("old", ``),
		"needy":   rt("needy", `requires: [{runtime: "old", constraint: ">=2"}]`),
		"amd64":   map[string][]byte{"amd64.cue": []byte(`name: "amd64", version: "1.0.0", platforms: [{os: "linux", arch: "amd64"}], unsupported: [{os: "linux", arch: "386", reason: "no 32-bit build"}], packages: {}, resources: memoryMiB: 1`)},
		"hungry":  rt("hungry", `resources: memoryMiB: 95`),
		"mta-a":   rt("mta-a", deb("exim4")),
		"mta-b":   rt("mta-b", deb("postfix")),
		"files-a": rt("files-a", deb("tool-a")),
		"files-b": rt("files-b", deb("tool-b")),
		"big":     rt("big", deb("huge")),
		"breaker": rt("breaker", deb("newlibc")),
		"nolock":  rt("nolock", deb("curl")),
	}
	base := &debian.Status{}
	if st, err := debian.ReadStatus(context.Background(), strings.NewReader("Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: i386\nInstalled-Size: 12000\n\n"), "status"); err == nil {
		base = st
	} else {
		t.Fatal(err)
	}
	installedWeb := &state.State{FormatVersion: 1, Lineage: strings.Repeat("a", 32), Serial: 2, Target: "t", Runtimes: []state.Runtime{{
		Name: "installed-web", Version: "1.0.0", MemoryMiB: 1, Ports: []state.Port{{Name: "http", Number: 9090, Protocol: "tcp"}}}}}
	debFiles := func(_ context.Context, p lock.Package) ([]string, error) {
		return []string{"/usr/bin/" + "tool", "/usr/share/doc/" + p.Name + "/copyright"}, nil
	}

	tests := []struct {
		name  string
		add   []string
		state *state.State
		want  []string
	}{
		{"port clash, both manifests named with positions", []string{"web-a", "web-b"}, nil,
			[]string{"port 8080/tcp is claimed by both web-a (web-a.cue:5:", ") and web-b (web-b.cue:5:"}},
		{"port clash with an installed runtime", []string{"web-c"}, installedWeb,
			[]string{"port 9090/tcp is claimed by both web-c (web-c.cue:5:", "installed-web (installed runtime installed-web)"}},
		{"duplicate service names", []string{"web-a", "web-c"}, nil, []string{"service name web-a is claimed by both web-a"}},
		{"same file", []string{"file-a", "file-b"}, nil, []string{"file /etc/shared.conf is claimed by both file-a"}},
		{"runtime conflicts", []string{"web-a", "apache"}, nil, []string{"apache conflicts with web-a"}},
		{"exclusive capability", []string{"cap-a", "cap-b"}, nil, []string{"exclusive capability tls-terminator is claimed by both cap-a"}},
		{"requires not met", []string{"needy"}, nil, []string{"needy.cue:5:22: error: needy requires old >=2, but the available old is 1.0.0"}},
		{"platform", []string{"amd64"}, nil, []string{"amd64 cannot run on target t (linux/386): no 32-bit build"}},
		{"memory budget", []string{"hungry", "web-a"}, nil, []string{"the runtimes need 105 MiB of memory, over target t's budget of 100 MiB"}},
		{"disk budget", []string{"big"}, nil, []string{"would use 212 MiB of disk, over target t's budget of 100 MiB"}},
		{"package Conflicts", []string{"mta-a", "mta-b"}, nil, []string{"package exim4 (for mta-a) Conflicts mail-transport-agent, which postfix (for mta-b) (provides mail-transport-agent) brings"}},
		{"package Breaks against the base", []string{"breaker"}, nil, []string{"package newlibc (for breaker) Breaks libc6 (<< 3), which base package libc6 brings"}},
		{"file overlap between packages", []string{"files-a", "files-b"}, nil, []string{"packages tool-a (for files-a) and tool-b (for files-b) both ship /usr/bin/tool"}},
		{"no lock entry", []string{"nolock"}, nil, []string{"nolock has no entry in the lock for target t"}},
		{"everything at once", []string{"web-a", "web-b", "file-a", "file-b", "amd64"}, nil,
			[]string{"port 8080/tcp", "file /etc/shared.conf", "cannot run on target"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := planner.Input{Target: smallTarget(), Base: base, State: tt.state, Lock: pkgLock, Catalog: cat, DebFiles: debFiles}
			_, err := planner.Plan(context.Background(), in, planner.Request{Add: adds(tt.add...)})
			wantDiag(t, err, tt.want...)
		})
	}
}

func TestRemovalRules(t *testing.T) {
	prof, l := webvm(t)
	in := planner.Input{Target: prof.Target, Base: prof.Base, Lock: l, Catalog: builtins(t)}
	ctx := context.Background()
	p, err := planner.Plan(ctx, in, planner.Request{Add: adds("nginx", "nextjs", "python")})
	if err != nil {
		t.Fatal(err)
	}
	s := apply(t, state.New("webvm-i386"), p)

	in.State = s
	_, err = planner.Plan(ctx, in, planner.Request{Remove: []string{"node"}})
	wantDiag(t, err, "cannot remove node: nextjs requires it", "--cascade")

	p, err = planner.Plan(ctx, in, planner.Request{Remove: []string{"node"}, Cascade: true})
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, c := range p.Summary.Remove {
		removed = append(removed, c.Name)
	}
	if strings.Join(removed, ",") != "node,nextjs" {
		t.Errorf("cascade removed %v, want nextjs and node", removed)
	}
	// Removing nextjs alone also removes node, installed automatically for it.
	p, err = planner.Plan(ctx, in, planner.Request{Remove: []string{"nextjs"}})
	if err != nil {
		t.Fatal(err)
	}
	removed = removed[:0]
	for _, c := range p.Summary.Remove {
		removed = append(removed, c.Name)
	}
	if strings.Join(removed, ",") != "node,nextjs" {
		t.Errorf("removing nextjs removed %v, want nextjs and its automatic node", removed)
	}
	// Files are removed only if unchanged: the step carries the digest written.
	for _, st := range p.Steps {
		if in, ok := st.Inputs.(*plan.RemoveFile); ok && in.File.SHA256 == "" {
			t.Errorf("%s has no digest to compare", st.ID)
		}
	}
	_, err = planner.Plan(ctx, in, planner.Request{Remove: []string{"deno"}})
	wantDiag(t, err, "cannot remove deno: it is not installed")
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}

// TestUpgradeOrder: an upgrade whose new version moves to another port and
// service name starts the new service (and waits for its health) before
// stopping the old; one that keeps its port stops the old one first.
func TestUpgradeOrder(t *testing.T) {
	installed := &state.State{FormatVersion: 1, Lineage: strings.Repeat("b", 32), Serial: 1, Target: "t", Runtimes: []state.Runtime{{
		Name: "web", Version: "1.0.0", MemoryMiB: 10,
		Ports:    []state.Port{{Name: "http", Number: 8080, Protocol: "tcp"}},
		Services: []state.Service{{Name: "web-v1", Argv: []string{"/bin/true"}, User: "root", Restart: "always", StopSignal: "TERM", StopTimeout: unit.Duration(10 * time.Second)}},
	}}}
	supervisor := &lock.Lock{Target: lock.Target{Name: "t"}, Supervisor: &lock.Runtime{Name: "supervisor"}}
	ctx := context.Background()
	order := func(newPort int, newName string) []string {
		src := `version: "2.0.0"
ports: [{name: "http", number: ` + itoa(newPort) + `}]
services: [{name: "` + newName + `", argv: ["/bin/true"], user: "nobody"}]
health: [{name: "web-tcp", kind: "tcp", service: "` + newName + `", port: "http"}]`
		files := rt("web", src)
		files["web.cue"] = []byte(strings.Replace(string(files["web.cue"]), "version: \"1.0.0\"\n", "", 1))
		in := planner.Input{Target: smallTarget(), State: installed, Lock: supervisor, Catalog: mapCatalog{"web": files}}
		p, err := planner.Plan(ctx, in, planner.Request{Add: adds("web")})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range p.Steps {
			if strings.Contains(s.ID, "service") || strings.HasPrefix(s.ID, "wait-health") {
				ids = append(ids, s.ID)
			}
		}
		return ids
	}
	got := strings.Join(order(8081, "web-v2"), " ")
	want := "install-service:web-v2 start-service:web-v2 wait-health:web/web-tcp stop-service:web-v1 remove-service:web-v1"
	if got != want {
		t.Errorf("handover upgrade:\n got %s\nwant %s", got, want)
	}
	got = strings.Join(order(8080, "web-v2"), " ")
	want = "stop-service:web-v1 remove-service:web-v1 install-service:web-v2 start-service:web-v2 wait-health:web/web-tcp"
	if got != want {
		t.Errorf("same-port upgrade:\n got %s\nwant %s", got, want)
	}
}
