package pydeps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/sdk/debian"
)

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"Flask":            "flask",
		"Flask_SQLAlchemy": "flask-sqlalchemy",
		"zope.interface":   "zope-interface",
		"a-_.b":            "a-b",
		"a__b--c..d":       "a-b-c-d",
		"PyYAML":           "pyyaml",
	} {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCandidates(t *testing.T) {
	for in, want := range map[string][]string{
		"Flask":            {"python3-flask"},
		"Flask_SQLAlchemy": {"python3-flask-sqlalchemy"},
		"PyYAML":           {"python3-yaml", "python3-pyyaml"},
		"zope.interface":   {"python3-zope-interface", "python3-zope.interface"},
		"python-dateutil":  {"python3-python-dateutil", "python3-dateutil"},
		"psycopg2-binary":  {"python3-psycopg2", "python3-psycopg2-binary"},
	} {
		if got := candidates(in); !cmp.Equal(got, want) {
			t.Errorf("candidates(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestUpstreamVersion(t *testing.T) {
	for deb, want := range map[string]string{
		"2.2.2-3":                  "2.2.2",
		"2.28.1+dfsg-1":            "2.28.1",
		"1:1.24.2-1+deb12u1":       "1.24.2",
		"3:3.2.25-0+deb12u3":       "3.2.25",
		"6.0-3+b2":                 "6.0",
		"1.2.1+dfsg-1":             "1.2.1",
		"4.0~rc1-1":                "4.0rc1",
		"2.0~b2+ds-1":              "2.0b2",
		"1.0~alpha3-2":             "1.0a3",
		"4.0~git20230102-1":        "4.0.dev0",
		"0.0~git20200101.abc123-1": "0.0.dev0",
		"2.0+really1.5-1":          "1.5",
		"1.16.0":                   "1.16.0", // native package
		"2022.9.24-1":              "2022.9.24",
		"3.0.0.1a.b-1":             "3.0.0.1",
	} {
		_, got, err := upstreamVersion(deb)
		if err != nil || got != want {
			t.Errorf("upstreamVersion(%q) = %q, %v; want %q", deb, got, err, want)
		}
	}
	if _, _, err := upstreamVersion("r123-1"); err == nil {
		t.Error(`upstreamVersion("r123-1") should fail: no release numbers`)
	}
}

func testIndex(t *testing.T) *debian.Index {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ix, err := debian.ReadPackages(context.Background(), f, "Packages")
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func req(name, spec string) Requirement {
	return Requirement{Name: name, Specifier: spec, Source: "requirements.txt:1"}
}

func TestMapFound(t *testing.T) {
	ix := testIndex(t)
	tests := []struct {
		req                Requirement
		pkg, ver, upstream string
	}{
		{req("flask", ">=2.2"), "python3-flask", "2.2.2-3", "2.2.2"},
		{req("Flask", "==2.2.*"), "python3-flask", "2.2.2-3", "2.2.2"},
		{req("requests", ">=2.28,<3"), "python3-requests", "2.28.1+dfsg-1", "2.28.1"},
		{req("requests", "~=2.28.0"), "python3-requests", "2.28.1+dfsg-1", "2.28.1"},
		{req("numpy", "<2"), "python3-numpy", "1:1.24.2-1+deb12u1", "1.24.2"},
		{req("PyYAML", ">=5.4"), "python3-yaml", "6.0-3+b2", "6.0"},
		{req("python-dateutil", ""), "python3-dateutil", "2.8.2-2", "2.8.2"},
		{req("zope.interface", ">=5"), "python3-zope.interface", "5.5.2-1+b1", "5.5.2"},
		{req("Flask_SQLAlchemy", ">=3"), "python3-flask-sqlalchemy", "3.0.3-1", "3.0.3"},
		{req("django", "~=3.2"), "python3-django", "3:3.2.25-0+deb12u3", "3.2.25"},
		// the final release is preferred to a newer pre-release, as pip does
		{req("gunicorn", ">=20"), "python3-gunicorn", "20.1.0-6", "20.1.0"},
		// unless the specifier names a pre-release
		{req("gunicorn", ">=21.0rc1"), "python3-gunicorn", "21.0~rc1-1", "21.0rc1"},
		// or it alone satisfies
		{req("gunicorn", ">20.1"), "python3-gunicorn", "21.0~rc1-1", "21.0rc1"},
		// 21.0rc1 is before 21.0
		{req("gunicorn", ">=21.0"), "python3-gunicorn", "", ""},
		// provided, at the version the Provides gives
		{req("magic-wormhole", "==0.12"), "python3-wormhole-impl", "0.12.0-2", "0.12.0"},
		// provided without a version: the provider's
		{req("wormhole", ">=0.12"), "python3-wormhole-impl", "0.12.0-2", "0.12.0"},
	}
	for _, tt := range tests {
		got, err := Map([]Requirement{tt.req}, ix, "i386")
		if tt.ver == "" {
			if err == nil {
				t.Errorf("%s: matched %v, want no match", tt.req, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.req, err)
			continue
		}
		want := []Match{{Requirement: tt.req, Package: tt.pkg, Version: tt.ver, Upstream: tt.upstream}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tt.req, diff)
		}
	}
}

// TestMapMissing maps requirements Debian cannot meet among ones it can:
// every problem is listed in one error, with the version Debian has.
func TestMapMissing(t *testing.T) {
	ix := testIndex(t)
	reqs := []Requirement{
		{Name: "flask", Specifier: ">=2.2", Source: "requirements.txt:1"},
		{Name: "numpy", Specifier: ">=2.0", Source: "requirements.txt:2"},
		{Name: "torch", Source: "requirements.txt:3"},
		{Name: "requests", Specifier: ">=2.28", Source: "requirements.txt:4"},
		{Name: "flask", Specifier: "<2", Source: "requirements.txt:5"},
		{Name: "onlyamd64", Source: "requirements.txt:6"},
		{Name: "gunicorn", Specifier: ">=22", Source: "requirements.txt:7"},
	}
	matches, err := Map(reqs, ix, "i386")
	var me *MissingError
	if !errors.As(err, &me) {
		t.Fatalf("error %v, want a *MissingError", err)
	}
	if len(matches) != 2 || matches[0].Package != "python3-flask" || matches[1].Package != "python3-requests" {
		t.Errorf("matches = %v, want python3-flask and python3-requests", matches)
	}
	want := []Problem{
		{Requirement: reqs[1], Package: "python3-numpy", Version: "1:1.24.2-1+deb12u1",
			Reason: "Debian has python3-numpy 1:1.24.2-1+deb12u1 (release 1.24.2), which does not satisfy >=2.0"},
		{Requirement: reqs[2], Reason: "Debian has no package for it (looked for python3-torch)"},
		{Requirement: reqs[4], Package: "python3-flask", Version: "2.2.2-3",
			Reason: "Debian has python3-flask 2.2.2-3 (release 2.2.2), which does not satisfy <2"},
		{Requirement: reqs[5], Reason: "Debian has no package for it (looked for python3-onlyamd64)"},
		{Requirement: reqs[6], Package: "python3-gunicorn", Version: "21.0~rc1-1",
			Reason: "Debian has python3-gunicorn 21.0~rc1-1 (release 21.0rc1), which does not satisfy >=22"},
	}
	if diff := cmp.Diff(want, me.Missing); diff != "" {
		t.Errorf("problems (-want +got)\n%s", diff)
	}
	msg := err.Error()
	for _, s := range []string{
		"5 Python requirement(s) cannot be installed from the Debian packages of Packages (i386):",
		"\n  requirements.txt:2: numpy>=2.0: Debian has python3-numpy 1:1.24.2-1+deb12u1 (release 1.24.2)",
		"\n  requirements.txt:3: torch: Debian has no package",
		"pin each to a version",
		"vendor the package's code into the app directory",
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("message lacks %q:\n%s", s, msg)
		}
	}
}

// TestMapArch: an amd64-only package is not offered to i386, and is to
// amd64.
func TestMapArch(t *testing.T) {
	ix := testIndex(t)
	if _, err := Map([]Requirement{req("onlyamd64", "")}, ix, "amd64"); err != nil {
		t.Errorf("amd64: %v", err)
	}
	if _, err := Map([]Requirement{req("onlyamd64", "")}, ix, "i386"); err == nil {
		t.Error("i386: matched an amd64 package")
	}
}

// TestMapFlaskExample maps the example app's requirements.
func TestMapFlaskExample(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "examples", "flask")
	reqs, err := Parse(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Map(reqs, testIndex(t), "i386")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "flask" || got[0].Specifier != ">=2.2" || got[0].Package != "python3-flask" {
		t.Errorf("example maps to %v, want flask>=2.2 as python3-flask", got)
	}
}
