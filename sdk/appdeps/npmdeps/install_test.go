package npmdeps

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeNPM writes an npm stand-in: --version prints a version, ci appends
// its arguments to $NPM_LOG and runs body in the working directory. It
// lets Install's steps around npm be tested without a registry.
func fakeNPM(t *testing.T, body string) (npm, log string) {
	t.Helper()
	dir := t.TempDir()
	npm, log = filepath.Join(dir, "npm"), filepath.Join(dir, "calls")
	script := "#!/bin/sh\nset -e\ncase \"$1\" in\n--version) echo 11.0.0 ;;\nci) echo \"$*\" >> \"$NPM_LOG\"\n" + body + "\n;;\nesac\n"
	if err := os.WriteFile(npm, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return npm, log
}

// builds a tree like npm's: a package, its executable bin and the link.
const fakeTree = `mkdir -p node_modules/dep/bin node_modules/.bin
echo 'module.exports = 1' > node_modules/dep/index.js
chmod 640 node_modules/dep/index.js
printf '#!/usr/bin/env node\n' > node_modules/dep/bin/cli.js
chmod 755 node_modules/dep/bin/cli.js
ln -s ../dep/bin/cli.js node_modules/.bin/dep`

const depLock = `{
  "name": "app", "version": "0.1.0", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "app", "version": "0.1.0", "dependencies": {"dep": "^1.0.0"}},
    "node_modules/dep": {"version": "1.0.0", "integrity": "sha512-AAAA", "bin": {"dep": "bin/cli.js"}}
  }
}`

func appDir(t *testing.T, lock string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"package.json":      `{"name":"app","version":"0.1.0","dependencies":{"dep":"^1.0.0"}}`,
		"package-lock.json": lock,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func calls(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestInstallCachesAndCopiesTheTreeExactly(t *testing.T) {
	npm, log := fakeNPM(t, fakeTree)
	app, cache := appDir(t, depLock), t.TempDir()
	opts := Options{NPM: npm, CacheDir: cache, Env: []string{"NPM_LOG=" + log}}

	first := t.TempDir()
	res, err := Install(context.Background(), app, first, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Cached || res.Packages != 1 {
		t.Errorf("first Install: %+v, want 1 package, not cached", res)
	}
	c := calls(t, log)
	if len(c) != 1 {
		t.Fatalf("npm ci ran %d times, want once", len(c))
	}
	for _, flag := range []string{"--omit=dev", "--ignore-scripts", "--cpu=ia32", "--os=linux", "--libc=glibc"} {
		if !strings.Contains(c[0], flag) {
			t.Errorf("npm ran as %q, without %s", c[0], flag)
		}
	}

	second := t.TempDir()
	res, err = Install(context.Background(), app, second, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Cached || res.Packages != 1 {
		t.Errorf("second Install: %+v, want 1 package from the cache", res)
	}
	if n := len(calls(t, log)); n != 1 {
		t.Errorf("npm ci ran %d times in all, want once: the second Install must reuse the cache", n)
	}
	nm := filepath.Join(second, "node_modules")
	if target, err := os.Readlink(filepath.Join(nm, ".bin", "dep")); err != nil || target != "../dep/bin/cli.js" {
		t.Errorf("cached .bin/dep: link %q, %v; want the relative link npm made", target, err)
	}
	for file, want := range map[string]fs.FileMode{"dep/index.js": 0o640, "dep/bin/cli.js": 0o755} {
		info, err := os.Stat(filepath.Join(nm, file))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("cached %s has mode %v, want %v", file, info.Mode().Perm(), want)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(second, ".npmdeps-*"))
	tmps, _ := filepath.Glob(filepath.Join(cache, ".tmp-*"))
	if len(leftovers)+len(tmps) > 0 {
		t.Errorf("temporary directories left behind: %v %v", leftovers, tmps)
	}

	opts.Allow = []string{"something"}
	res, err = Install(context.Background(), app, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Cached {
		t.Error("another allow list must not reuse the tree built for the first")
	}

	if _, err := Install(context.Background(), app, second, opts); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Install over an existing node_modules: got %v, want it refused", err)
	}
}

func TestInstallWritesNothingWhenRefused(t *testing.T) {
	npm, log := fakeNPM(t, fakeTree)
	lock := strings.Replace(depLock, `"bin"`, `"hasInstallScript": true, "bin"`, 1)
	dest := t.TempDir()
	_, err := Install(context.Background(), appDir(t, lock), dest, Options{NPM: npm, Env: []string{"NPM_LOG=" + log}})
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Packages[0].Name != "dep" {
		t.Fatalf("got %v, want dep refused for its install script", err)
	}
	if c := calls(t, log); len(c) != 0 {
		t.Errorf("npm ran although the lock was refused: %v", c)
	}
	if entries, _ := os.ReadDir(dest); len(entries) != 0 {
		t.Errorf("the destination got %d entries, want none", len(entries))
	}
}

func TestInstallRefusesAWrongAddonAndCachesNothing(t *testing.T) {
	self, err := os.Executable() // this test binary: an ELF for the host, amd64 in CI
	if err != nil {
		t.Fatal(err)
	}
	npm, log := fakeNPM(t, fakeTree+"\ncp "+self+" node_modules/dep/addon.node")
	dest, cache := t.TempDir(), t.TempDir()
	_, err = Install(context.Background(), appDir(t, depLock), dest, Options{NPM: npm, CacheDir: cache, Env: []string{"NPM_LOG=" + log}})
	if err == nil {
		t.Skip("the test binary is an i386 ELF here: nothing to refuse")
	}
	wantIn(t, err.Error(), "dep@1.0.0 (node_modules/dep): addon.node is a", "ELF")
	for _, dir := range []string{dest, cache} {
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s got %d entries after a refused tree, want none", dir, len(entries))
		}
	}
}

func TestInstallReportsNPMFailureWithAdvice(t *testing.T) {
	npm, log := fakeNPM(t, `echo "npm error code EUSAGE" >&2
echo "npm error npm ci can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync." >&2
exit 1`)
	_, err := Install(context.Background(), appDir(t, depLock), t.TempDir(), Options{NPM: npm, Env: []string{"NPM_LOG=" + log}})
	if err == nil {
		t.Fatal("a failing npm ci must fail Install")
	}
	wantIn(t, err.Error(), "npm ci for", "npm error code EUSAGE", "are in sync", "run npm install in the app directory", "--cpu=ia32")
}

func TestInstallWithoutLockOrNPM(t *testing.T) {
	app := appDir(t, depLock)
	if err := os.Remove(filepath.Join(app, "package-lock.json")); err != nil {
		t.Fatal(err)
	}
	_, err := Install(context.Background(), app, t.TempDir(), Options{})
	if err == nil || !strings.Contains(err.Error(), "npm install --package-lock-only") {
		t.Errorf("no lock: got %v, want how to make one", err)
	}
	_, err = Install(context.Background(), appDir(t, depLock), t.TempDir(), Options{NPM: filepath.Join(t.TempDir(), "no-npm")})
	if err == nil || !strings.Contains(err.Error(), "is not installed") {
		t.Errorf("no npm: got %v, want it said npm is missing", err)
	}
}

// With Share, a tree in the cache is read where it is: Result.Dir names
// it and nothing is written in destDir; without a cached tree, Share
// builds into destDir as usual.
func TestInstallShare(t *testing.T) {
	npm, log := fakeNPM(t, fakeTree)
	app, cache := appDir(t, depLock), t.TempDir()
	opts := Options{NPM: npm, CacheDir: cache, Env: []string{"NPM_LOG=" + log}, Share: true}
	first := t.TempDir()
	res, err := Install(context.Background(), app, first, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Cached || res.Dir != filepath.Join(first, "node_modules") {
		t.Errorf("first Install: %+v, want a tree built in %s", res, first)
	}
	second := t.TempDir()
	res, err = Install(context.Background(), app, second, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Cached || res.Packages != 1 || !strings.HasPrefix(res.Dir, cache+string(filepath.Separator)) {
		t.Errorf("second Install: %+v, want the cache's tree under %s", res, cache)
	}
	if _, err := os.Stat(filepath.Join(res.Dir, "dep", "index.js")); err != nil {
		t.Errorf("the shared tree: %v", err)
	}
	if ents, _ := os.ReadDir(second); len(ents) != 0 {
		t.Errorf("Share wrote %d entries in destDir", len(ents))
	}
	if n := len(calls(t, log)); n != 1 {
		t.Errorf("npm ci ran %d times, want once", n)
	}
}

// npm's version is read from the package.json of the npm that runs, when
// the program found on PATH is npm's bin/npm-cli.js behind links.
func TestNPMPackageVersion(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "lib", "npm")
	if err := os.MkdirAll(filepath.Join(pkg, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "package.json"), []byte(`{"name": "npm", "version": "10.9.2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "bin", "npm-cli.js"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../lib/npm/bin/npm-cli.js", filepath.Join(bin, "npm")); err != nil {
		t.Fatal(err)
	}
	npm := filepath.Join(bin, "npm")
	if v := npmPackageVersion(npm, nil); v != "10.9.2" {
		t.Errorf("npmPackageVersion = %q, want 10.9.2", v)
	}
	if v := npmPackageVersion(npm, []string{"PATH=/elsewhere"}); v != "" {
		t.Errorf("with PATH in env: %q, want \"\" (npm would be looked up there)", v)
	}
	if err := os.WriteFile(filepath.Join(pkg, "package.json"), []byte(`{"name": "not-npm", "version": "1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if v := npmPackageVersion(npm, nil); v != "" {
		t.Errorf("another package's version: %q, want \"\"", v)
	}
}
