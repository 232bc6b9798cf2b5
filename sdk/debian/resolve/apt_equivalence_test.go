package resolve_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ulikunitz/xz"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/debian"
	. "github.com/runtimekit/runtimekit/sdk/debian/resolve"
)

// realFixtures returns the bookworm i386 index and minbase status, read
// once per test binary.
var realFixtures = struct {
	once   sync.Once
	ix     *debian.Index
	status *debian.Status
	plain  string // decompressed Packages, for apt
	err    error
}{}

func bookwormI386(t *testing.T) (*debian.Index, *debian.Status, string, string) {
	t.Helper()
	testenv.RequireE2E(t)
	dir := testenv.DebianIndex(t, "bookworm", "i386")
	statusPath := testenv.MinbaseStatus(t, "bookworm", "i386")
	f := &realFixtures
	f.once.Do(func() {
		ctx := context.Background()
		xzPath := testenv.IndexPackages(dir, "bookworm", "i386")
		if f.ix, f.err = debian.OpenPackages(ctx, xzPath, nil); f.err != nil {
			return
		}
		if f.status, f.err = debian.OpenStatus(ctx, statusPath); f.err != nil {
			return
		}
		f.plain = filepath.Join(dir, "Packages.plain")
		if _, err := os.Stat(f.plain); err != nil {
			f.err = decompressTo(xzPath, f.plain)
		}
	})
	if f.err != nil {
		t.Fatal(f.err)
	}
	return f.ix, f.status, f.plain, statusPath
}

func decompressTo(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	zr, err := xz.NewReader(in)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, zr); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// aptSimulate runs "apt-get install -s --no-install-recommends" against
// exactly the given Packages file and dpkg status: the host's apt
// configuration, sources, preferences, caches and locks are all kept
// out. It returns the Inst/Remv lines as "Inst name version arch" and
// "Remv name version", sorted.
func aptSimulate(t *testing.T, packages, status string, reqs []string) ([]string, string, error) {
	t.Helper()
	root := t.TempDir()
	empty := filepath.Join(root, "empty")
	lists := filepath.Join(root, "lists")
	for _, d := range []string{empty, filepath.Join(lists, "partial"), filepath.Join(root, "cache", "archives", "partial")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// apt reads only indexes of configured sources, from the lists
	// directory, under a name derived from the source URI.
	const uri = "file:/runtimekit-index"
	if err := os.Symlink(packages, filepath.Join(lists, "_runtimekit-index_dists_bookworm_main_binary-i386_Packages")); err != nil {
		t.Fatal(err)
	}
	sources := filepath.Join(root, "sources.list")
	conf := filepath.Join(root, "apt.conf")
	write(t, sources, "deb [trusted=yes arch=i386] "+uri+" bookworm main\n")
	// APT_CONFIG is read before the parts directory: pointing that at an
	// empty directory keeps the host's apt.conf.d out.
	write(t, conf, fmt.Sprintf("Dir::Etc::parts %q;\nDir::Etc::main \"/dev/null\";\n", empty))
	args := []string{
		"-o", "Dir::State::status=" + status,
		"-o", "Dir::State::Lists=" + lists,
		"-o", "Dir::State::extended_states=" + filepath.Join(root, "extended_states"),
		"-o", "Dir::Cache=" + filepath.Join(root, "cache"),
		"-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache=",
		"-o", "Dir::Etc::SourceList=" + sources,
		"-o", "Dir::Etc::SourceParts=" + empty,
		"-o", "Dir::Etc::preferences=/dev/null",
		"-o", "Dir::Etc::preferencesparts=" + empty,
		"-o", "Dir::Etc::Trusted=/dev/null",
		"-o", "Dir::Etc::TrustedParts=" + empty,
		"-o", "Dir::Log=" + root,
		"-o", "APT::Architecture=i386",
		"-o", "APT::Architectures::=i386",
		"-o", "Debug::NoLocking=1",
		"install", "-s", "--no-install-recommends",
	}
	args = append(args, reqs...)
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "APT_CONFIG="+conf, "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	var lines []string
	for _, m := range aptAction.FindAllStringSubmatch(string(out), -1) {
		switch {
		case m[1] == "Inst":
			lines = append(lines, fmt.Sprintf("Inst %s %s %s", m[2], m[3], m[4]))
		case m[5] == "Remv":
			lines = append(lines, fmt.Sprintf("Remv %s %s", m[6], m[7]))
		}
	}
	sort.Strings(lines)
	return lines, string(out), err
}

// apt-get -s prints "Inst name [old] (new release [arch])" and
// "Remv name [version]".
var aptAction = regexp.MustCompile(`(?m)^(Inst) (\S+) (?:\[\S+\] )?\((\S+) .*\[(\S+)\]\)|^(Remv) (\S+) \[(\S+)\]`)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func resolutionLines(res *Resolution) []string {
	var lines []string
	for _, p := range res.Install {
		lines = append(lines, fmt.Sprintf("Inst %s %s %s", p.Name, p.Version, p.Architecture))
	}
	for _, p := range res.Remove {
		lines = append(lines, fmt.Sprintf("Remv %s %s", p.Name, p.Version))
	}
	sort.Strings(lines)
	return lines
}

// doseInstallable asks dose-distcheck whether a package depending on
// exactly every given version is installable in a universe made of those
// versions alone, i.e. whether the set is closed under its dependencies
// and free of conflicts. It returns dose's report when it is not.
func doseInstallable(t *testing.T, pkgs []*debian.Package) (bool, string) {
	t.Helper()
	var b strings.Builder
	var all []string
	for _, p := range pkgs {
		writeStanza(&b, p)
		all = append(all, fmt.Sprintf("%s (= %s)", p.Name, p.Version))
	}
	writeStanza(&b, &debian.Package{Name: "runtimekit-closure-check", Version: "1", Architecture: "all", Depends: strings.Join(all, ", ")})
	file := filepath.Join(t.TempDir(), "Packages")
	write(t, file, b.String())
	return doseCheck(t, file, "runtimekit-closure-check")
}

func doseCheck(t *testing.T, file, pkg string) (bool, string) {
	t.Helper()
	// dose names native and "all" packages by name:<native arch>.
	cmd := exec.Command("dose-distcheck", "--deb-native-arch=i386", "-e", "-f", "-s", "--checkonly", pkg+":i386", "deb://"+file)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("dose-distcheck: %v\n%s", err, out)
	}
	switch {
	case bytes.Contains(out, []byte("broken-packages: 0")):
		return true, string(out)
	case bytes.Contains(out, []byte("broken-packages: ")):
		return false, string(out)
	}
	t.Fatalf("dose-distcheck: no summary in output (exit %v):\n%s", err, out)
	return false, ""
}

func writeStanza(b *strings.Builder, p *debian.Package) {
	fmt.Fprintf(b, "Package: %s\nVersion: %s\nArchitecture: %s\n", p.Name, p.Version, p.Architecture)
	for _, f := range []struct{ k, v string }{
		{"Multi-Arch", p.MultiArch}, {"Pre-Depends", p.PreDepends}, {"Depends", p.Depends},
		{"Provides", p.Provides}, {"Conflicts", p.Conflicts}, {"Breaks", p.Breaks},
	} {
		if f.v != "" {
			fmt.Fprintf(b, "%s: %s\n", f.k, f.v)
		}
	}
	if p.Essential {
		b.WriteString("Essential: yes\n")
	}
	b.WriteString("\n")
}

// TestAptEquivalence resolves requests against the real bookworm i386
// index and a debootstrapped minbase status, and checks that the result
// is exactly what apt-get computes for the same files and that
// dose-distcheck finds the resulting system consistent.
func TestAptEquivalence(t *testing.T) {
	testenv.RequireTools(t, "apt-get", "dose-distcheck")
	ix, status, plain, statusPath := bookwormI386(t)

	type check func(t *testing.T, res *Resolution)
	edgeWith := func(pred func(Edge) bool, what string) check {
		return func(t *testing.T, res *Resolution) {
			if !slices.ContainsFunc(res.Edges, pred) {
				t.Errorf("no edge %s in %d edges", what, len(res.Edges))
			}
		}
	}
	tests := []struct {
		name    string
		reqs    []string
		fail    string // substring of the expected error; empty for success
		check   check
		comment string
	}{
		{name: "nginx-light", reqs: []string{"nginx-light"}},
		{name: "nodejs", reqs: []string{"nodejs"}},
		{name: "python3", reqs: []string{"python3"}},
		{name: "python3-venv", reqs: []string{"python3-venv"}},
		{name: "npm", reqs: []string{"npm"}},
		{name: "runit", reqs: []string{"runit"}},
		{name: "runtimes-together", reqs: []string{"nginx-light", "runit", "nodejs", "python3"}},
		{
			name: "alternatives", reqs: []string{"logrotate"},
			comment: "Depends: cron | anacron | cron-daemon | systemd-sysv: none installed, apt takes the first",
			check: edgeWith(func(e Edge) bool {
				return e.Relation == "cron | anacron | cron-daemon | systemd-sysv" && e.To == "cron"
			}, "cron | anacron | cron-daemon | systemd-sysv -> cron"),
		},
		{name: "mailutils", reqs: []string{"mailutils"}},
		{
			name: "versioned-provides", reqs: []string{"animals"},
			comment: "libgcc1 (>= 1:3.0) is met by libgcc-s1's Provides: libgcc1 (= 1:12.2.0-14)",
			check:   edgeWith(func(e Edge) bool { return e.Relation == "libgcc1 (>= 1:3.0)" && e.To == "libgcc-s1" }, "libgcc1 (>= 1:3.0) -> libgcc-s1"),
		},
		{
			name: "conflicts-removes-installed", reqs: []string{"libelogind0"},
			comment: "libelogind0 Conflicts with the installed libsystemd0 and provides it, versioned",
			check: func(t *testing.T, res *Resolution) {
				if !slices.ContainsFunc(res.Remove, func(p *debian.Package) bool { return p.Name == "libsystemd0" }) {
					t.Errorf("libsystemd0 not removed; Remove = %v", res.Remove)
				}
			},
		},
		{name: "rsyslog", reqs: []string{"rsyslog"}},
		{name: "ssh-server", reqs: []string{"openssh-server"}},
		{name: "git", reqs: []string{"git"}},
		{name: "apache2", reqs: []string{"apache2"}},
		{name: "two-requests", reqs: []string{"curl", "ca-certificates"}},
		{
			name: "unsatisfiable-version", reqs: []string{"webext-quicktext"},
			fail: "depends on thunderbird (<= 1:128.x) but the index has only thunderbird 1:1",
		},
		{
			name: "unsatisfiable-missing", reqs: []string{"agda-stdlib"},
			fail: "depends on libghc-agda-dev (>= 2.6.2) but libghc-agda-dev is not in the index",
		},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.comment != "" {
				t.Log(tc.comment)
			}
			var reqs []Request
			for _, s := range tc.reqs {
				q, err := ParseRequest(s)
				if err != nil {
					t.Fatal(err)
				}
				reqs = append(reqs, q)
			}
			res, err := Resolve(ctx, ix, status, reqs, Options{Arch: "i386"})
			aptLines, aptOut, aptErr := aptSimulate(t, plain, statusPath, tc.reqs)

			if tc.fail != "" {
				if aptErr == nil {
					t.Errorf("apt-get succeeded, want it to fail too:\n%s", aptOut)
				}
				var ue *UnsatisfiableError
				if !errors.As(err, &ue) {
					t.Fatalf("Resolve error = %v, want *UnsatisfiableError", err)
				}
				if !strings.Contains(err.Error(), tc.fail) {
					t.Errorf("error %q\ndoes not contain %q", err, tc.fail)
				}
				// dose agrees the request cannot be installed at all.
				if ok, out := doseCheck(t, plain, tc.reqs[0]); ok {
					t.Errorf("dose-distcheck finds %s installable:\n%s", tc.reqs[0], out)
				}
				t.Logf("apt and ours both fail; ours: %v", err)
				return
			}
			if aptErr != nil {
				t.Fatalf("apt-get failed: %v\n%s", aptErr, aptOut)
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(aptLines, resolutionLines(res)); diff != "" {
				t.Errorf("resolved set differs from apt-get's (-apt +ours):\n%s", diff)
			}
			// The system after the change: what stays installed plus what
			// is installed.
			removed := map[string]bool{}
			for _, p := range res.Remove {
				removed[p.Name] = true
			}
			final := slices.Clone(res.Install)
			for _, p := range status.Installed() {
				if !removed[p.Name] && !slices.ContainsFunc(res.Install, func(q *debian.Package) bool { return q.Name == p.Name }) {
					final = append(final, p)
				}
			}
			if ok, out := doseInstallable(t, final); !ok {
				t.Errorf("dose-distcheck finds the resulting system inconsistent:\n%s", out)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
			checkOrder(t, res)
			t.Logf("equal to apt: %d to install, %d to remove", len(res.Install), len(res.Remove))
		})
	}
}

// checkOrder verifies that every Pre-Depends edge points backwards in the
// install order.
func checkOrder(t *testing.T, res *Resolution) {
	t.Helper()
	pos := map[string]int{}
	for i, p := range res.Install {
		pos[p.Name] = i
	}
	for _, e := range res.Edges {
		from, ok1 := pos[e.From]
		to, ok2 := pos[e.To]
		if e.Kind == debian.PreDepends && ok1 && ok2 && to >= from {
			t.Errorf("%s pre-depends on %s but is ordered before it", e.From, e.To)
		}
	}
}
