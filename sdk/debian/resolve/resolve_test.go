package resolve

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/sdk/debian"
)

// index builds an index from control-file text; every stanza gets
// Architecture: i386 unless it says otherwise.
func index(t *testing.T, text string) *debian.Index {
	t.Helper()
	ix, err := debian.ReadPackages(context.Background(), strings.NewReader(withArch(text)), "test-Packages")
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func status(t *testing.T, text string) *debian.Status {
	t.Helper()
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(withArch(text)), "\n\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		b.WriteString(para + "\nStatus: install ok installed\n\n")
	}
	st, err := debian.ReadStatus(context.Background(), strings.NewReader(b.String()), "test-status")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func withArch(text string) string {
	var out []string
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		para = strings.TrimSpace(para)
		if para != "" && !strings.Contains(para, "Architecture:") {
			para += "\nArchitecture: i386"
		}
		out = append(out, para)
	}
	return strings.Join(out, "\n\n") + "\n"
}

// A Pre-Depends cycle cannot be unpacked: its packages are named, not
// those of the Depends cycle around it that wait on none of them.
func TestPreDependsCycle(t *testing.T) {
	ix := index(t, `Package: a
Version: 1
Pre-Depends: b
Depends: c

Package: b
Version: 1
Pre-Depends: a

Package: c
Version: 1
Depends: a`)
	_, err := Resolve(context.Background(), ix, nil, []Request{{Name: "a"}}, Options{Arch: "i386"})
	if want := "resolve: Pre-Depends cycle among a, b"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		index   string
		status  string
		reqs    string
		opts    Options
		install []string // "name version" in install order
		remove  []string
		err     string // substring of the expected error
	}{
		{
			name: "depends chain in dependency order",
			index: `Package: a
Version: 1
Depends: b

Package: b
Version: 1
Depends: c

Package: c
Version: 1`,
			reqs:    "a",
			install: []string{"c 1", "b 1", "a 1"},
		},
		{
			name:    "installed package satisfies",
			index:   "Package: a\nVersion: 1\nDepends: b (>= 1)\n\nPackage: b\nVersion: 2",
			status:  "Package: b\nVersion: 1",
			reqs:    "a",
			install: []string{"a 1"},
		},
		{
			name:    "installed too old is upgraded",
			index:   "Package: a\nVersion: 1\nDepends: b (>= 2)\n\nPackage: b\nVersion: 2",
			status:  "Package: b\nVersion: 1",
			reqs:    "a",
			install: []string{"b 2", "a 1"},
		},
		{
			name:    "candidate is the highest version",
			index:   "Package: b\nVersion: 1.10\n\nPackage: b\nVersion: 1.9\n\nPackage: b\nVersion: 1:0.1",
			reqs:    "b",
			install: []string{"b 1:0.1"},
		},
		{
			name:    "request with version restriction",
			index:   "Package: b\nVersion: 1\n\nPackage: b\nVersion: 2\n\nPackage: b\nVersion: 3",
			reqs:    "b (<< 3)",
			install: []string{"b 2"},
		},
		{
			name:    "request name=version",
			index:   "Package: b\nVersion: 1\n\nPackage: b\nVersion: 2",
			reqs:    "b=1",
			install: []string{"b 1"},
		},
		{
			name:    "first alternative",
			index:   "Package: a\nVersion: 1\nDepends: x | y\n\nPackage: x\nVersion: 1\n\nPackage: y\nVersion: 1",
			reqs:    "a",
			install: []string{"x 1", "a 1"},
		},
		{
			name:    "first alternative missing",
			index:   "Package: a\nVersion: 1\nDepends: x | y\n\nPackage: y\nVersion: 1",
			reqs:    "a",
			install: []string{"y 1", "a 1"},
		},
		{
			name:    "first alternative uninstallable",
			index:   "Package: a\nVersion: 1\nDepends: x | y\n\nPackage: x\nVersion: 1\nDepends: gone\n\nPackage: y\nVersion: 1",
			reqs:    "a",
			install: []string{"y 1", "a 1"},
		},
		{
			name:    "installed later alternative satisfies",
			index:   "Package: a\nVersion: 1\nDepends: x | y\n\nPackage: x\nVersion: 1\n\nPackage: y\nVersion: 1",
			status:  "Package: y\nVersion: 1",
			reqs:    "a",
			install: []string{"a 1"},
		},
		{
			name:    "unversioned provides",
			index:   "Package: a\nVersion: 1\nDepends: mta\n\nPackage: exim\nVersion: 4\nProvides: mta",
			reqs:    "a",
			install: []string{"exim 4", "a 1"},
		},
		{
			name:    "versioned provides",
			index:   "Package: a\nVersion: 1\nDepends: libgcc1 (>= 1:3.0)\n\nPackage: libgcc-s1\nVersion: 12\nProvides: libgcc1 (= 1:12)",
			reqs:    "a",
			install: []string{"libgcc-s1 12", "a 1"},
		},
		{
			name:  "unversioned provides cannot meet a versioned depends",
			index: "Package: a\nVersion: 1\nDepends: v (>= 1)\n\nPackage: p\nVersion: 1\nProvides: v",
			reqs:  "a",
			err:   "a 1 depends on v (>= 1) but the index has only v p provides it unversioned",
		},
		{
			name: "provider ranking: installed, then same name, then priority",
			index: `Package: a
Version: 1
Depends: v

Package: p1
Version: 1
Priority: optional
Provides: v

Package: p2
Version: 1
Priority: required
Provides: v`,
			reqs:    "a",
			install: []string{"p2 1", "a 1"},
		},
		{
			name:    "installed provider satisfies",
			index:   "Package: a\nVersion: 1\nDepends: v\n\nPackage: p1\nVersion: 1\nPriority: required\nProvides: v\n\nPackage: p2\nVersion: 1\nProvides: v",
			status:  "Package: p2\nVersion: 1\nProvides: v",
			reqs:    "a",
			install: []string{"a 1"},
		},
		{
			name:    "conflicts removes installed package",
			index:   "Package: a\nVersion: 1\nConflicts: old\n\nPackage: old\nVersion: 1",
			status:  "Package: old\nVersion: 1",
			reqs:    "a",
			install: []string{"a 1"},
			remove:  []string{"old 1"},
		},
		{
			name:    "conflicts with provided name of itself is ignored",
			index:   "Package: a\nVersion: 1\nProvides: v\nConflicts: v\nReplaces: v",
			reqs:    "a",
			install: []string{"a 1"},
		},
		{
			name:  "conflicts with another request",
			index: "Package: a\nVersion: 1\nConflicts: b\n\nPackage: b\nVersion: 1",
			reqs:  "a b",
			err:   "a 1 conflicts with b but b 1 is to be installed, which was requested",
		},
		{
			name:   "conflicts with an Essential package",
			index:  "Package: a\nVersion: 1\nConflicts: e\n\nPackage: e\nVersion: 1\nEssential: yes",
			status: "Package: e\nVersion: 1\nEssential: yes",
			reqs:   "a",
			err:    "a 1 conflicts with e but e 1 is to be installed, which is Essential",
		},
		{
			name:    "breaks upgrades the installed version",
			index:   "Package: a\nVersion: 1\nBreaks: c (<< 2)\n\nPackage: c\nVersion: 2",
			status:  "Package: c\nVersion: 1",
			reqs:    "a",
			install: []string{"a 1", "c 2"},
		},
		{
			name:    "conflicting alternative is skipped",
			index:   "Package: a\nVersion: 1\nDepends: x | y\n\nPackage: x\nVersion: 1\nConflicts: keep\n\nPackage: y\nVersion: 1\n\nPackage: keep\nVersion: 1\nEssential: yes",
			status:  "Package: keep\nVersion: 1\nEssential: yes",
			reqs:    "a",
			install: []string{"y 1", "a 1"},
		},
		{
			name: "pre-depends order inside a depends cycle",
			index: `Package: a
Version: 1
Depends: b

Package: b
Version: 1
Pre-Depends: c

Package: c
Version: 1
Depends: a`,
			reqs:    "a",
			install: []string{"a 1", "c 1", "b 1"},
		},
		{
			name:    "any qualifier needs Multi-Arch: allowed",
			index:   "Package: a\nVersion: 1\nDepends: py:any\n\nPackage: py\nVersion: 3\nMulti-Arch: allowed",
			reqs:    "a",
			install: []string{"py 3", "a 1"},
		},
		{
			name:  "any qualifier without Multi-Arch: allowed",
			index: "Package: a\nVersion: 1\nDepends: py:any\n\nPackage: py\nVersion: 3",
			reqs:  "a",
			err:   "a 1 depends on py:any but py is not Multi-Arch: allowed",
		},
		{
			name:  "other architectures are ignored",
			index: "Package: a\nVersion: 1\nDepends: b\n\nPackage: b\nVersion: 1\nArchitecture: amd64",
			reqs:  "a",
			err:   "a 1 depends on b but b is not available for i386",
		},
		{
			name:    "architecture all",
			index:   "Package: a\nVersion: 1\nDepends: b\n\nPackage: b\nVersion: 1\nArchitecture: all",
			reqs:    "a",
			install: []string{"b 1", "a 1"},
		},
		{
			name:    "recommends off by default",
			index:   "Package: a\nVersion: 1\nRecommends: r\n\nPackage: r\nVersion: 1",
			reqs:    "a",
			install: []string{"a 1"},
		},
		{
			name:    "recommends on by option",
			index:   "Package: a\nVersion: 1\nRecommends: r | s\n\nPackage: r\nVersion: 1\n\nPackage: s\nVersion: 1",
			reqs:    "a",
			opts:    Options{Recommends: true},
			install: []string{"a 1", "r 1"},
		},
		{
			name:    "unsatisfiable recommends is not an error",
			index:   "Package: a\nVersion: 1\nRecommends: gone",
			reqs:    "a",
			opts:    Options{Recommends: true},
			install: []string{"a 1"},
		},
		{
			name:    "virtual request with one provider",
			index:   "Package: exim\nVersion: 4\nProvides: mta",
			reqs:    "mta",
			install: []string{"exim 4"},
		},
		{
			name:  "virtual request with several providers",
			index: "Package: exim\nVersion: 4\nProvides: mta\n\nPackage: postfix\nVersion: 3\nProvides: mta",
			reqs:  "mta",
			err:   "mta is a virtual package provided by exim, postfix; request one of them",
		},
		{
			name:   "already installed request",
			index:  "Package: a\nVersion: 1",
			status: "Package: a\nVersion: 1",
			reqs:   "a",
		},
		{
			name:    "required packages",
			index:   "Package: base\nVersion: 1\nEssential: yes\nDepends: lib\n\nPackage: lib\nVersion: 1\n\nPackage: req\nVersion: 1\nPriority: required\n\nPackage: opt\nVersion: 1\nPriority: optional",
			reqs:    "",
			opts:    Options{Required: true},
			install: []string{"lib 1", "base 1", "req 1"},
		},
		{
			name: "failing chain names each step",
			index: `Package: app
Version: 1
Depends: libnode (= 18.2)

Package: libnode
Version: 18.2
Depends: libssl (>= 3)

Package: libssl
Version: 1.1`,
			reqs: "app",
			err:  "cannot install app: app 1 depends on libnode (= 18.2), and libnode 18.2 depends on libssl (>= 3) but the index has only libssl 1.1",
		},
		{
			name:  "version mismatch",
			index: "Package: nodejs\nVersion: 18.19.0+dfsg-6~deb12u2\nDepends: libnode108 (= 18.19.0+dfsg-6~deb12u2)\n\nPackage: libnode108\nVersion: 18.19.0+dfsg-6~deb12u1",
			reqs:  "nodejs",
			err:   "nodejs 18.19.0+dfsg-6~deb12u2 depends on libnode108 (= 18.19.0+dfsg-6~deb12u2) but the index has only libnode108 18.19.0+dfsg-6~deb12u1",
		},
		{
			name:  "unknown request",
			index: "Package: a\nVersion: 1",
			reqs:  "nosuch",
			err:   "cannot install nosuch: nosuch is not in the index",
		},
		{
			name:  "request for a missing version",
			index: "Package: a\nVersion: 1",
			reqs:  "a (>= 2)",
			err:   "cannot install a: a (>= 2) cannot be met: the index has only a 1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix := index(t, tc.index)
			var st *debian.Status
			if tc.status != "" {
				st = status(t, tc.status)
			}
			var reqs []Request
			for _, s := range splitRequests(tc.reqs) {
				q, err := ParseRequest(s)
				if err != nil {
					t.Fatal(err)
				}
				reqs = append(reqs, q)
			}
			opts := tc.opts
			opts.Arch = "i386"
			res, err := Resolve(context.Background(), ix, st, reqs, opts)
			if tc.err != "" {
				var ue *UnsatisfiableError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v, want *UnsatisfiableError containing %q", err, tc.err)
				}
				if !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %q\nwant it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var install, remove []string
			for _, p := range res.Install {
				install = append(install, p.Name+" "+p.Version)
			}
			for _, p := range res.Remove {
				remove = append(remove, p.Name+" "+p.Version)
			}
			if diff := cmp.Diff(tc.install, install); diff != "" {
				t.Errorf("Install (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.remove, remove); diff != "" {
				t.Errorf("Remove (-want +got):\n%s", diff)
			}
		})
	}
}

// splitRequests splits "a b (<< 3) c" into requests, keeping a version
// restriction with its name.
func splitRequests(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		if len(out) > 0 && (strings.HasPrefix(f, "(") || strings.HasSuffix(out[len(out)-1], "(<<") || strings.HasSuffix(f, ")")) {
			out[len(out)-1] += " " + f
			continue
		}
		out = append(out, f)
	}
	return out
}

func TestResolveEdges(t *testing.T) {
	ix := index(t, "Package: a\nVersion: 1\nPre-Depends: b\nDepends: x | y, c (>= 1)\n\nPackage: b\nVersion: 2\n\nPackage: y\nVersion: 1\n\nPackage: c\nVersion: 1")
	st := status(t, "Package: c\nVersion: 1")
	res, err := Resolve(context.Background(), ix, st, []Request{{Name: "a"}}, Options{Arch: "i386"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Edge{
		{To: "a", Version: "1"},
		{From: "a", Kind: debian.Depends, Relation: "c (>= 1)", To: "c", Version: "1"},
		{From: "a", Kind: debian.Depends, Relation: "x | y", To: "y", Version: "1"},
		{From: "a", Kind: debian.PreDepends, Relation: "b", To: "b", Version: "2"},
	}
	if diff := cmp.Diff(want, res.Edges); diff != "" {
		t.Errorf("Edges (-want +got):\n%s", diff)
	}
}

func TestResolveNeedsArch(t *testing.T) {
	_, err := Resolve(context.Background(), index(t, "Package: a\nVersion: 1"), nil, []Request{{Name: "a"}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "Arch is required") {
		t.Errorf("err = %v, want one asking for Options.Arch", err)
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		in   string
		want Request
		err  bool
	}{
		{in: "nginx-light", want: Request{Name: "nginx-light"}},
		{in: "python3:any", want: Request{Name: "python3", Arch: "any"}},
		{in: "nodejs=18.19.0+dfsg-6~deb12u2", want: Request{Name: "nodejs", Op: "=", Version: "18.19.0+dfsg-6~deb12u2"}},
		{in: "libc6 (>= 2.36)", want: Request{Name: "libc6", Op: ">=", Version: "2.36"}},
		{in: "a | b", err: true},
		{in: "a, b", err: true},
	}
	for _, tc := range tests {
		got, err := ParseRequest(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseRequest(%q) err = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); !tc.err && diff != "" {
			t.Errorf("ParseRequest(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}
