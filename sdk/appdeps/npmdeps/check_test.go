package npmdeps

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkError runs Check on a testdata lock that must be refused and
// returns the message.
func checkError(t *testing.T, file string, allow []string) error {
	t.Helper()
	lock, err := Check(readTestdata(t, file), "package-lock.json", allow)
	if err == nil {
		t.Fatalf("Check(%s) accepted the lock (%d packages), want it refused", file, len(lock.Packages))
	}
	return err
}

func wantIn(t *testing.T, msg string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("message lacks %q:\n%s", p, msg)
		}
	}
}

func TestCheckRefusesOldLockfiles(t *testing.T) {
	err := checkError(t, "v1.json", nil)
	wantIn(t, err.Error(), "package-lock.json", "lockfileVersion 1", "npm install --package-lock-only")

	_, err = Check([]byte(`{"name":"a","packages":{}}`), "package-lock.json", nil)
	if err == nil || !strings.Contains(err.Error(), "no lockfileVersion") {
		t.Errorf("a lock without lockfileVersion: got %v", err)
	}
	_, err = Check([]byte(`{"lockfileVersion":4,"packages":{}}`), "package-lock.json", nil)
	if err == nil || !strings.Contains(err.Error(), "lockfileVersion 4") {
		t.Errorf("lockfileVersion 4: got %v", err)
	}
}

func TestCheckReportsTheLineOfBadJSON(t *testing.T) {
	_, err := Check([]byte("{\n  \"lockfileVersion\": 3,\n  \"packages\": {,}\n}\n"), "app/package-lock.json", nil)
	if err == nil || !strings.HasPrefix(err.Error(), "app/package-lock.json:3:") {
		t.Errorf("got %v, want an error at app/package-lock.json:3", err)
	}
}

func TestCheckRefusesAPackageWithoutIntegrity(t *testing.T) {
	err := checkError(t, "missing-integrity.json", nil)
	msg := err.Error()
	wantIn(t, msg, "node_modules/foo/node_modules/bar: has no integrity", "1 package(s)")
	if strings.Contains(msg, "node_modules/foo:") {
		t.Errorf("node_modules/foo has its integrity and no resolved, which is fine; it is named anyway:\n%s", msg)
	}
	var refused *RefusedError
	if errors.As(err, &refused) {
		t.Errorf("a missing integrity is not something to allow, but got a RefusedError")
	}
}

func TestCheckRefusesSourcesOtherThanARegistry(t *testing.T) {
	msg := checkError(t, "sources.json", nil).Error()
	wantIn(t, msg,
		"node_modules/from-git: comes from git",
		`node_modules/from-file: comes from the local file "vendor/from-file-1.0.0.tgz"`,
		`node_modules/local: links to the local directory "../local"`,
		"3 package(s)")
}

func TestCheckRefusesAPackageForAnotherPlatform(t *testing.T) {
	msg := checkError(t, "platform.json", nil).Error()
	wantIn(t, msg, "node_modules/x64-only (x64-only@1.0.0): is only for cpu x64,arm64", "linux/ia32")
}

func TestCheckRefusesInstallScriptsAndAddonsByName(t *testing.T) {
	err := checkError(t, "scripts.json", nil)
	refused, ok := err.(*RefusedError)
	if !ok {
		t.Fatalf("got %T %v, want a *RefusedError", err, err)
	}
	var names []string
	for _, r := range refused.Packages {
		names = append(names, r.Name+"@"+r.Version+" "+r.Path)
	}
	want := []string{
		"bcrypt@5.1.1 node_modules/bcrypt",
		"core-js@3.38.0 node_modules/core-js",
		"gyp-addon@1.0.0 node_modules/gyp-addon",
		"leveldown-ish@1.0.0 node_modules/leveldown-ish",
		"core-js@3.38.0 node_modules/my-alias",
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("refused packages (-want +got):\n%s", diff)
	}
	reasons := map[string]string{}
	for _, r := range refused.Packages {
		reasons[r.Path] = r.Reason
	}
	wantIn(t, reasons["node_modules/bcrypt"], "native addon", "install script", "@mapbox/node-pre-gyp")
	wantIn(t, reasons["node_modules/core-js"], "install script")
	wantIn(t, reasons["node_modules/gyp-addon"], "binding.gyp")
	wantIn(t, reasons["node_modules/leveldown-ish"], "native addon", "node-gyp-build")

	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want)+1 {
		t.Errorf("want one line per package and a last one, got:\n%s", err)
	}
	wantIn(t, lines[0], "bcrypt@5.1.1 (node_modules/bcrypt): native addon")
	wantIn(t, lines[len(lines)-1], "allow", "explicitly", "works without its script")
}

func TestCheckAllowListLetsNamedPackagesThrough(t *testing.T) {
	err := checkError(t, "scripts.json", []string{"bcrypt", "gyp-addon"})
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("got %v, want a *RefusedError", err)
	}
	for _, r := range refused.Packages {
		if r.Name == "bcrypt" || r.Name == "gyp-addon" {
			t.Errorf("%s is allowed but refused: %s", r.Name, r.Reason)
		}
	}
	if len(refused.Packages) != 3 {
		t.Errorf("want core-js (twice) and leveldown-ish still refused, got %+v", refused.Packages)
	}

	lock, err := Check(readTestdata(t, "scripts.json"), "package-lock.json",
		[]string{"bcrypt", "gyp-addon", "core-js", "leveldown-ish"})
	if err != nil {
		t.Fatalf("with every offender allowed: %v", err)
	}
	if lock.Name != "app" || lock.Version != "2.3.4" || len(lock.Packages) != 9 {
		t.Errorf("lock = %s@%s with %d packages, want app@2.3.4 with 9", lock.Name, lock.Version, len(lock.Packages))
	}
}

func TestCheckIgnoresDevAndOtherPlatformsOptionals(t *testing.T) {
	lock, err := Check(readTestdata(t, "dev-and-platform.json"), "package-lock.json", nil)
	if err != nil {
		t.Fatalf("dev dependencies and optional packages for other platforms must not be looked at: %v", err)
	}
	var got []string
	for _, p := range lock.Packages {
		got = append(got, p.String()+" "+p.Path)
	}
	want := []string{
		"@tool/linux-ia32@1.0.0 node_modules/@tool/linux-ia32",
		"tool@1.0.0 node_modules/tool",
		"watcher@1.0.0 node_modules/watcher",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packages installed (-want +got):\n%s", diff)
	}
	_, skipped, err := check(readTestdata(t, "dev-and-platform.json"), "package-lock.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantSkipped := []string{"node_modules/@tool/linux-ia32-musl", "node_modules/@tool/linux-x64", "node_modules/fsevents"}
	if !slices.Equal(skipped, wantSkipped) {
		t.Errorf("skipped = %v, want %v", skipped, wantSkipped)
	}
}

func TestListOKFollowsNPM(t *testing.T) {
	for _, c := range []struct {
		list []string
		want bool
	}{
		{nil, true},
		{[]string{"any"}, true},
		{[]string{"ia32"}, true},
		{[]string{"x64"}, false},
		{[]string{"x64", "ia32"}, true},
		{[]string{"!ia32"}, false},
		{[]string{"!arm64"}, true},
		{[]string{"!arm64", "x64"}, false},
	} {
		if got := listOK("ia32", c.list); got != c.want {
			t.Errorf("listOK(ia32, %q) = %v, want %v", c.list, got, c.want)
		}
	}
}

func TestNeeded(t *testing.T) {
	for _, c := range []struct {
		manifest string // "" for none
		want     bool
	}{
		{"", false},
		{`{"name":"a"}`, false},
		{`{"name":"a","dependencies":{}}`, false},
		{`{"name":"a","devDependencies":{"mocha":"^10"}}`, false},
		{`{"name":"a","dependencies":{"express":"^4"}}`, true},
		{`{"name":"a","optionalDependencies":{"x":"1"}}`, true},
		{`{"name":`, true}, // broken: Install says what is wrong
	} {
		dir := t.TempDir()
		if c.manifest != "" {
			if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(c.manifest), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := Needed(dir); got != c.want {
			t.Errorf("Needed with package.json %q = %v, want %v", c.manifest, got, c.want)
		}
	}
}

func TestCheckReportsSourcesAndScriptsTogether(t *testing.T) {
	lock := `{"lockfileVersion": 3, "packages": {
	  "": {"dependencies": {"a": "1", "b": "1"}},
	  "node_modules/a": {"version": "1.0.0"},
	  "node_modules/b": {"version": "1.0.0", "integrity": "sha512-AAAA", "hasInstallScript": true}
	}}`
	_, err := Check([]byte(lock), "package-lock.json", nil)
	var refused *RefusedError
	if !errors.As(err, &refused) || len(refused.Packages) != 1 || refused.Packages[0].Name != "b" {
		t.Fatalf("got %v, want b refused alongside a's missing integrity", err)
	}
	wantIn(t, err.Error(), "node_modules/a: has no integrity", "b@1.0.0 (node_modules/b): has an install script")
}
