package pydeps

import (
	"strings"
	"testing"
)

// TestVersionOrder checks a list in PEP 440 order (from the PEP's
// examples and packaging's tests): each version sorts after the one
// before it, and equal to itself.
func TestVersionOrder(t *testing.T) {
	ordered := []string{
		"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
		"1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5",
		"1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1",
		"2!0.1",
	}
	for i := range ordered {
		a, err := parseVersion(ordered[i])
		if err != nil {
			t.Fatal(err)
		}
		if compareVersions(a, a) != 0 {
			t.Errorf("%s != itself", ordered[i])
		}
		for j := i + 1; j < len(ordered); j++ {
			b, _ := parseVersion(ordered[j])
			if compareVersions(a, b) >= 0 || compareVersions(b, a) <= 0 {
				t.Errorf("%s should sort before %s", ordered[i], ordered[j])
			}
		}
	}
}

func TestVersionNormalForm(t *testing.T) {
	for in, want := range map[string]string{
		"1.0":           "1.0",
		"v1.0":          "1.0",
		"1.0-alpha1":    "1.0a1",
		"1.0.beta.2":    "1.0b2",
		"1.0c3":         "1.0rc3",
		"1.0-preview":   "1.0rc0",
		"1.0-1":         "1.0.post1",
		"1.0.rev2":      "1.0.post2",
		"1.0dev":        "1.0.dev0",
		"0!1.0":         "1.0",
		"1.0+Ubuntu-1":  "1.0+ubuntu.1",
		" 2.2.2 ":       "2.2.2",
		"2022.9.24":     "2022.9.24",
		"1.0RC1.POST2":  "1.0rc1.post2",
		"1.0a1.post1.d": "",
		"1.0~rc1":       "",
		"latest":        "",
	} {
		v, err := parseVersion(in)
		if want == "" {
			if err == nil {
				t.Errorf("%q parsed as %s, want an error", in, v)
			}
			continue
		}
		if err != nil || v.String() != want {
			t.Errorf("%q = %s, %v; want %s", in, v, err, want)
		}
		if compareVersions(v, must(t, want)) != 0 {
			t.Errorf("%q does not compare equal to %s", in, want)
		}
	}
	if compareVersions(must(t, "1.0"), must(t, "1.0.0.0")) != 0 {
		t.Error("trailing zeros should not matter")
	}
}

func must(t *testing.T, s string) pyVersion {
	t.Helper()
	v, err := parseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSpecifier checks answers packaging's SpecifierSet.contains gives.
func TestSpecifier(t *testing.T) {
	tests := []struct {
		spec, version string
		want          bool
	}{
		{"", "1.0", true},
		{">=2.2", "2.2.2", true},
		{">=2.2", "2.2", true},
		{">=2.2", "2.1.9", false},
		{">=2.2,<3", "2.2.2", true},
		{">=2.2,<3", "3.0", false},
		{"==2.2", "2.2.0", true},
		{"==2.2", "2.2.2", false},
		{"==2.2", "2.2+dfsg", true},
		{"==2.2+dfsg", "2.2", false},
		{"==2.2.*", "2.2.2", true},
		{"==2.2.*", "2.2", true},
		{"==2.2.*", "2.3", false},
		{"==2.*", "2.0rc1", false}, // a pre-release the specifier does not name
		{"!=2.2.*", "2.3", true},
		{"!=2.2.*", "2.2.9", false},
		{"!=2.2.2", "2.2.2", false},
		{"~=2.2", "2.9", true},
		{"~=2.2", "3.0", false},
		{"~=2.2", "2.1", false},
		{"~=2.2.1", "2.2.5", true},
		{"~=2.2.1", "2.3.0", false},
		{"~=1.4.5a4", "1.4.5", true},
		{"<3", "3.0rc1", false},
		{"<3", "2.9", true},
		{"<3rc2", "3.0rc1", true},
		{"<=3", "3.0", true},
		{"<=3", "3.0.1", false},
		{">2.2", "2.2.post1", false},
		{">2.2", "2.2.1", true},
		{">2.2.post1", "2.2.post2", true},
		{">2.2", "2.2+local", false},
		{">1.0", "1.0.1a1", false},
		{">=1.0", "2.0.dev1", false},
		{">=1.0.dev0", "2.0.dev1", true},
		{"===1.0.post1", "1.0-POST1", true}, // === compares the normalised form
		{"===1.0", "1.0.0", false},
		{"==1!1.0", "1.0", false},
		{">=3.2", "3:3.2.25", false}, // not a PEP 440 version: see TestUpstreamVersion for Debian epochs
	}
	for _, tt := range tests {
		spec, err := parseSpecifier(tt.spec)
		if err != nil {
			t.Errorf("%s: %v", tt.spec, err)
			continue
		}
		v, err := parseVersion(tt.version)
		if err != nil {
			if tt.want {
				t.Errorf("%s: %v", tt.version, err)
			}
			continue
		}
		if got := spec.allows(v, false); got != tt.want {
			t.Errorf("%q allows %s = %v, want %v", tt.spec, tt.version, got, tt.want)
		}
	}
}

// TestSpecifierPreAllowed checks the rules that hold even when
// pre-releases are acceptable (markers; Map when no final release fits):
// packaging's contains(v, prereleases=True).
func TestSpecifierPreAllowed(t *testing.T) {
	tests := []struct {
		spec, version string
		want          bool
	}{
		{"<3", "3.0rc1", false},
		{"<3", "3.0.dev1", false},
		{"<3", "2.9rc1", true},
		{"<3rc1", "3.0a1", true},
		{">=3", "3.0rc1", false},
		{">2.9", "3.0rc1", true},
		{"==2.*", "2.0rc1", true},
		{"~=2.2", "2.3b1", true},
	}
	for _, tt := range tests {
		spec, err := parseSpecifier(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := spec.allows(must(t, tt.version), true); got != tt.want {
			t.Errorf("%q allows pre-release %s = %v, want %v", tt.spec, tt.version, got, tt.want)
		}
	}
}

func TestSpecifierErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"2.2":       `needs an operator`,
		"=>2":       `not a version specifier`,
		">=2.*":     `wildcard is allowed only with == and !=`,
		"==2.2a1.*": `wildcard follows release numbers only`,
		"~=2":       `at least two release numbers`,
		">=2+local": `local version label`,
		">=two":     `not a PEP 440 version`,
		">=2,":      `not a version specifier`,
	} {
		if _, err := parseSpecifier(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", spec, err, want)
		}
	}
}

func TestMarkers(t *testing.T) {
	tests := []struct {
		marker string
		want   bool
		err    string
	}{
		{`python_version >= "3.8"`, true, ""},
		{`python_version < "3.11"`, false, ""},
		{`python_version == "3.11"`, true, ""},
		{`python_version == "3.11.*"`, true, ""},
		{`python_version ~= "3.10"`, true, ""},
		{`python_full_version >= '3.11.3'`, false, ""},
		{`"3.8" <= python_version`, true, ""},
		{`sys_platform == "linux"`, true, ""},
		{`sys_platform != "win32"`, true, ""},
		{`sys_platform == "darwin" or sys_platform == "win32"`, false, ""},
		{`platform_machine == "x86_64"`, false, ""},
		{`platform_machine == "i686"`, true, ""},
		{`os_name == "nt"`, false, ""},
		{`platform_system == "Linux" and implementation_name == "cpython"`, true, ""},
		{`platform_python_implementation == 'PyPy'`, false, ""},
		{`"linux" in sys_platform`, true, ""},
		{`"arm" not in platform_machine`, true, ""},
		{`(python_version < "3" or os_name == "posix") and sys_platform == "linux"`, true, ""},
		{`python_version < "3" or os_name == "posix" and sys_platform == "win32"`, false, ""},
		{`extra == "test"`, false, ""},
		{`sys_platform == "win32" and platform_release >= "10"`, false, `"platform_release" cannot be evaluated`},
		{`platform_version == "x"`, false, `"platform_version" cannot be evaluated`},
		{`python_version`, false, `operator was expected`},
		{`python_version >= "3`, false, `unterminated string`},
		{`(python_version >= "3"`, false, `missing )`},
		{`os_name ~= "posix"`, false, `~= compares versions only`},
		{`os_name == "posix" xor`, false, `unexpected "xor"`},
	}
	for _, tt := range tests {
		got, err := evalMarker(tt.marker)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want %q", tt.marker, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.marker, err)
		case tt.err == "" && got != tt.want:
			t.Errorf("%s = %v, want %v", tt.marker, got, tt.want)
		}
	}
}
