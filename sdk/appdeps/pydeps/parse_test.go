package pydeps

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseRequirements(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Requirement
	}{
		{"plain", "flask\n", []Requirement{{Name: "flask", Source: "r.txt:1"}}},
		{"comments and blanks", "# deps\n\nflask>=2.2  # web\n   \n#requests\n", []Requirement{
			{Name: "flask", Specifier: ">=2.2", Source: "r.txt:3"},
		}},
		{"specifiers", "a==1.0\nb!=1.0\nc<=1\nd>=1\ne<2\nf>1\ng~=1.4\nh===1.0-odd\ni == 2.*\nj (>=1.0, <2)\n", []Requirement{
			{Name: "a", Specifier: "==1.0", Source: "r.txt:1"},
			{Name: "b", Specifier: "!=1.0", Source: "r.txt:2"},
			{Name: "c", Specifier: "<=1", Source: "r.txt:3"},
			{Name: "d", Specifier: ">=1", Source: "r.txt:4"},
			{Name: "e", Specifier: "<2", Source: "r.txt:5"},
			{Name: "f", Specifier: ">1", Source: "r.txt:6"},
			{Name: "g", Specifier: "~=1.4", Source: "r.txt:7"},
			{Name: "h", Specifier: "===1.0-odd", Source: "r.txt:8"},
			{Name: "i", Specifier: "==2.*", Source: "r.txt:9"},
			{Name: "j", Specifier: ">=1.0,<2", Source: "r.txt:10"},
		}},
		{"extras", "requests[socks, security]>=2.28\n", []Requirement{
			{Name: "requests", Specifier: ">=2.28", Extras: []string{"socks", "security"}, Source: "r.txt:1"},
		}},
		{"continuation keeps the first line number", "\nflask>=2.2,\\\n  <3 \\\n ; sys_platform == 'linux'\nrequests\n", []Requirement{
			{Name: "flask", Specifier: ">=2.2,<3", Marker: "sys_platform == 'linux'", Source: "r.txt:2"},
			{Name: "requests", Source: "r.txt:5"},
		}},
		{"a comment ending in a backslash is not continued", "# x \\\nflask\n", []Requirement{{Name: "flask", Source: "r.txt:2"}}},
		{"markers keep or drop", `a; python_version >= "3.8"
b; python_version < "3.11"
c; sys_platform == "win32"
d; platform_machine == "i686" and os_name == "posix"
e; extra == "test"
f; sys_platform == "darwin" or (python_full_version >= "3.11.1" and implementation_name == "cpython")
`, []Requirement{
			{Name: "a", Marker: `python_version >= "3.8"`, Source: "r.txt:1"},
			{Name: "d", Marker: `platform_machine == "i686" and os_name == "posix"`, Source: "r.txt:4"},
			{Name: "f", Marker: `sys_platform == "darwin" or (python_full_version >= "3.11.1" and implementation_name == "cpython")`, Source: "r.txt:6"},
		}},
		{"hashes are ignored", "flask==2.2.2 \\\n    --hash=sha256:aa \\\n    --hash sha256:bb\n", []Requirement{
			{Name: "flask", Specifier: "==2.2.2", Source: "r.txt:1"},
		}},
		{"CRLF", "flask\r\nrequests\r\n", []Requirement{{Name: "flask", Source: "r.txt:1"}, {Name: "requests", Source: "r.txt:2"}}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequirements(strings.NewReader(tt.in), "r.txt")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestParseRequirementsRefusals reads a file of refused lines: each is
// reported with its file:line and why, all in one error.
func TestParseRequirementsRefusals(t *testing.T) {
	name := filepath.Join("testdata", "refused.txt")
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reqs, err := ParseRequirements(f, name)
	if len(reqs) != 0 {
		t.Errorf("requirements kept from refused lines: %v", reqs)
	}
	want := []struct {
		line   int
		reason string
	}{
		{2, "editable installs are not supported"},
		{3, "editable installs are not supported"},
		{4, "a VCS reference cannot be fetched"},
		{5, "a URL cannot be fetched"},
		{6, "a direct reference (name @ URL) cannot be fetched"},
		{7, "a local path or archive cannot be installed"},
		{8, "a local path or archive cannot be installed"},
		{9, "constraints files are not supported"},
		{10, "pip option --index-url does not apply: there is no pip in the VM"},
		{11, "pip option -i does not apply"},
		{12, "pip option --extra-index-url does not apply"},
		{13, "pip option --find-links does not apply"},
		{14, "pip option --no-index does not apply"},
		{15, "pip option --global-option does not apply"},
		{16, `"2.2" needs an operator`},
		{17, `"=>2.2" is not a version specifier`},
		{18, `marker variable "platform_release" cannot be evaluated`},
		{19, `"><" is not a marker operator`},
		{20, "missing ] after the extras"},
		{21, "environment variables are not expanded"},
		{22, "included file: open"},
		{23, "~= needs at least two release numbers"},
		{24, "a .* wildcard is allowed only with == and !="},
	}
	var got []*LineError
	for _, e := range flatten(err) {
		var le *LineError
		if !errors.As(e, &le) {
			t.Fatalf("not a *LineError: %v", e)
		}
		got = append(got, le)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		src := name + ":" + strconv.Itoa(w.line)
		if got[i].Source != src || !strings.Contains(got[i].Reason, w.reason) {
			t.Errorf("error %d = %v\nwant %s: ...%s...", i, got[i], src, w.reason)
		}
		if !strings.HasPrefix(got[i].Error(), src+": ") {
			t.Errorf("message %q does not start with %s", got[i].Error(), src)
		}
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func TestParseRequirementsInclude(t *testing.T) {
	name := filepath.Join("testdata", "include", "requirements.txt")
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reqs, err := ParseRequirements(f, name)
	base := filepath.Join("testdata", "include", "base.txt")
	want := []Requirement{
		{Name: "requests", Source: base + ":1"},
		{Name: "flask", Specifier: ">=2.2", Source: name + ":2"},
	}
	if diff := cmp.Diff(want, reqs); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	errs := flatten(err)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), base+":2: -r requirements.txt: ") || !strings.Contains(errs[0].Error(), "includes itself") {
		t.Errorf("want one error for the include cycle at %s:2, got %v", base, err)
	}
}

func TestParsePyproject(t *testing.T) {
	name := filepath.Join("testdata", "pyproject", "pyproject.toml")
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePyproject(b, name)
	if err != nil {
		t.Fatal(err)
	}
	want := []Requirement{
		{Name: "Flask", Specifier: ">=2.2", Source: name + ":9"},
		{Name: "requests", Specifier: ">=2.28", Extras: []string{"socks"}, Marker: "python_version >= '3.8'", Source: name + ":10"},
		{Name: "PyYAML", Source: name + ":13"}, // tomli's marker is false on 3.11; pytest is optional
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestParsePyprojectRefusals(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"dynamic", "[project]\nname='x'\ndynamic=['dependencies']\n", `dynamic lists "dependencies"`},
		{"requires-python", "[project]\nname='x'\nrequires-python='>=3.12'\n", `requires-python ">=3.12": the VM has Debian bookworm's python3 3.11.2`},
		{"poetry", "[tool.poetry.dependencies]\npython='^3.11'\nflask='^2.2'\n", "[tool.poetry.dependencies] is not read"},
		{"bad toml", "[project]\ndependencies = [\"flask\",, ]\n", "p.toml:2:"},
		{"not strings", "[project]\ndependencies = [1]\n", "p.toml:"},
		{"url", "[project]\ndependencies = [\n  'flask',\n  'lib @ git+https://example.com/lib.git',\n]\n", "p.toml:4: lib @ git+https://example.com/lib.git: a direct reference"},
		{"dotted key", "project.dependencies = ['flask=>2']\n", "p.toml:1: flask=>2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePyproject([]byte(tt.doc), "p.toml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParsePyprojectWithoutDependencies(t *testing.T) {
	for _, doc := range []string{"", "[tool.black]\nline-length = 100\n", "[project]\nname = 'x'\n"} {
		got, err := ParsePyproject([]byte(doc), "p.toml")
		if err != nil || len(got) != 0 {
			t.Errorf("%q: %v, %v; want nothing", doc, got, err)
		}
	}
}

func TestParseDir(t *testing.T) {
	write := func(dir, name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	both := t.TempDir()
	write(both, "requirements.txt", "flask\n")
	write(both, "pyproject.toml", "[project]\ndependencies = ['django']\n")
	only := t.TempDir()
	write(only, "pyproject.toml", "[project]\ndependencies = ['django']\n")
	none := t.TempDir()

	for _, tt := range []struct {
		dir  string
		want []string
	}{{both, []string{"flask"}}, {only, []string{"django"}}, {none, nil}} {
		reqs, err := Parse(tt.dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range reqs {
			names = append(names, r.Name)
		}
		if !cmp.Equal(tt.want, names, cmpopts.EquateEmpty()) {
			t.Errorf("Parse(%s) = %v, want %v", tt.dir, names, tt.want)
		}
	}
}
