package npmdeps

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Options configures [Install].
type Options struct {
	NPM string // the npm program; "" is "npm" on PATH
	// CacheDir keeps built trees for reuse, by the lock's bytes, npm's
	// version, the platform and Allow; "" keeps none.
	CacheDir string
	Allow    []string  // package names let through despite an install script or compiled part (see Check)
	Stderr   io.Writer // receives npm's output as it runs; nil discards it
	Env      []string  // added to npm's environment, e.g. npm_config_registry=URL
	// Share, when the tree is in CacheDir, leaves it there instead of
	// copying it into destDir: Result.Dir then names the cache's copy,
	// which the caller reads and must not change (a deploy only reads
	// it into the release, and copying 600 files would double its time).
	Share bool
}

// Result tells what [Install] did.
type Result struct {
	Packages int           // packages in the built node_modules
	Cached   bool          // the tree was copied from Options.CacheDir, npm did not run
	Dir      string        // the node_modules built: in destDir, or in the cache (Options.Share)
	Took     time.Duration // the whole of Install
}

// npmArgs builds the production tree for the VM's platform, verifying each
// tarball against the lock, running no script, writing the usual hoisted
// layout whatever the user's npm configuration prefers.
var npmArgs = []string{
	"ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund",
	"--cpu=" + targetCPU, "--os=" + targetOS, "--libc=" + targetLibc,
	"--install-strategy=hoisted", "--bin-links",
}

// Needed reports whether the app in appDir needs a node_modules built for
// it: its package.json declares dependencies or optionalDependencies. An
// app without package.json, or with none declared, runs as it is. A
// package.json that cannot be read or parsed counts as needing one, so
// that [Install] reports what is wrong with it. A node_modules already in
// appDir does not change the answer: it was built for the machine it was
// made on, and Install builds one of its own.
func Needed(appDir string) bool {
	b, err := os.ReadFile(filepath.Join(appDir, "package.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		return true
	}
	var pkg struct {
		Dependencies         map[string]any `json:"dependencies"`
		OptionalDependencies map[string]any `json:"optionalDependencies"`
	}
	if json.Unmarshal(b, &pkg) != nil {
		return true
	}
	return len(pkg.Dependencies)+len(pkg.OptionalDependencies) > 0
}

// Install writes destDir/node_modules: the production dependencies of the
// app in appDir, as its package-lock.json pins them, for linux/ia32. It
// runs [Check] first and writes nothing if the lock is refused; then npm ci
// (see the package documentation), then checks the tree it made. With
// opts.CacheDir a tree already built from the same lock, npm version and
// allow list is copied instead. destDir/node_modules must not exist yet.
func Install(ctx context.Context, appDir, destDir string, opts Options) (*Result, error) {
	start := time.Now()
	lockPath := filepath.Join(appDir, "package-lock.json")
	lockJSON, err := os.ReadFile(lockPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no package-lock.json, so the dependencies' versions and integrity are not pinned; create it in the app directory with npm 7 or later: npm install --package-lock-only, and keep it with the app", appDir)
	}
	if err != nil {
		return nil, err
	}
	lock, skipped, err := check(lockJSON, lockPath, opts.Allow)
	if err != nil {
		return nil, err
	}
	if err := checkManifest(filepath.Join(appDir, "package.json")); err != nil {
		return nil, err
	}
	final := filepath.Join(destDir, "node_modules")
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("%s already exists: Install writes a new node_modules there; remove it first or choose an empty destination", final)
	}
	npm := cmp.Or(opts.NPM, "npm")
	version, err := npmVersion(ctx, npm, opts.Env)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return nil, err
	}

	// Everything is made under work, inside destDir so the finished tree
	// is renamed into place: a failure leaves no partial node_modules.
	work, err := os.MkdirTemp(destDir, ".npmdeps-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	built := filepath.Join(work, "node_modules")

	var key string
	cached := false
	if opts.CacheDir != "" {
		key = cacheKey(lockJSON, version, opts.Allow)
		if opts.Share {
			if nm := filepath.Join(opts.CacheDir, key, "node_modules"); isDir(nm) {
				if err := scan(nm, lock, skipped); err != nil {
					return nil, fmt.Errorf("the node_modules cached in %s for %s: %w\nremove that directory to build it again", filepath.Join(opts.CacheDir, key), lockPath, err)
				}
				return &Result{Packages: countPresent(filepath.Dir(nm), lock), Cached: true, Dir: nm, Took: time.Since(start)}, nil
			}
		}
		cached, err = cacheLoad(opts.CacheDir, key, built)
		if err != nil {
			return nil, err
		}
	}
	if !cached {
		if err := runNPMCI(ctx, npm, version, appDir, work, lockPath, opts); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(built, 0o755); err != nil { // a lock with nothing to install
			return nil, err
		}
	}
	if err := scan(built, lock, skipped); err != nil {
		if cached {
			return nil, fmt.Errorf("the node_modules cached in %s for %s: %w\nremove that directory to build it again", filepath.Join(opts.CacheDir, key), lockPath, err)
		}
		return nil, fmt.Errorf("%s, built for %s: %w", lockPath, Platform, err)
	}
	if opts.CacheDir != "" && !cached {
		if err := cacheStore(opts.CacheDir, key, built); err != nil {
			return nil, fmt.Errorf("keeping the built node_modules in the cache: %w", err)
		}
	}
	if err := os.Rename(built, final); err != nil {
		return nil, err
	}
	return &Result{Packages: countPresent(destDir, lock), Cached: cached, Dir: final, Took: time.Since(start)}, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// checkManifest reports a package.json npm could not read, in the user's
// terms, before npm is started.
func checkManifest(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: missing; npm ci needs it beside package-lock.json", path)
	}
	if err != nil {
		return err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return jsonError(path, b, err)
	}
	return nil
}

// jsonError places a JSON decoding error at its line of the file name.
func jsonError(name string, data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line := 1 + bytes.Count(data[:min(int(syn.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("%s:%d: not valid JSON: %v", name, line, err)
	}
	return fmt.Errorf("%s: not the JSON object npm writes: %v", name, err)
}

// countPresent counts the lock's packages that the tree in destDir has.
func countPresent(destDir string, lock *Lock) int {
	n := 0
	for _, p := range lock.Packages {
		if _, err := os.Lstat(filepath.Join(destDir, filepath.FromSlash(p.Path))); err == nil {
			n++
		}
	}
	return n
}

// npmEnv is npm's environment: the caller's, without the update check
// (which would fetch and print), plus opts.Env, which wins.
func npmEnv(extra []string) []string {
	return append(append(os.Environ(), "npm_config_update_notifier=false"), extra...)
}

func npmVersion(ctx context.Context, npm string, env []string) (string, error) {
	if v := npmPackageVersion(npm, env); v != "" {
		return v, nil
	}
	c := exec.CommandContext(ctx, npm, "--version")
	c.Env = npmEnv(env)
	var out, stderr bytes.Buffer
	c.Stdout, c.Stderr = &out, &stderr
	if err := c.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s is not installed: building node_modules for the VM needs Node.js and npm 10 or later on this machine", npm)
		}
		return "", fmt.Errorf("%s --version: %v: %s", npm, err, strings.TrimSpace(stderr.String()))
	}
	v := strings.TrimSpace(out.String())
	if v == "" || strings.ContainsAny(v, " \n") {
		return "", fmt.Errorf("%s --version printed %q, not a version", npm, v)
	}
	return v, nil
}

// npmPackageVersion is the version in the package.json of the npm that
// npm runs (npm/bin/npm-cli.js, reached by links), which is what
// `npm --version` prints, read without starting node (a third of a
// second). It is "" when that file is not found or env sets PATH (which
// npm would be looked up in), and npm is then asked.
func npmPackageVersion(npm string, env []string) string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			return ""
		}
	}
	p, err := exec.LookPath(npm)
	if err != nil {
		return ""
	}
	if p, err = filepath.EvalSymlinks(p); err != nil || filepath.Base(filepath.Dir(p)) != "bin" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(p)), "package.json"))
	if err != nil {
		return ""
	}
	var pkg struct{ Name, Version string }
	if json.Unmarshal(b, &pkg) != nil || pkg.Name != "npm" || !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+[-+.0-9A-Za-z]*$`).MatchString(pkg.Version) {
		return ""
	}
	return pkg.Version
}

func runNPMCI(ctx context.Context, npm, version, appDir, work, lockPath string, opts Options) error {
	for _, f := range []string{"package.json", "package-lock.json", ".npmrc"} {
		b, err := os.ReadFile(filepath.Join(appDir, f))
		if errors.Is(err, fs.ErrNotExist) && f == ".npmrc" {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(work, f), b, 0o600); err != nil {
			return err
		}
	}
	out := &tail{}
	var w io.Writer = out
	if opts.Stderr != nil {
		fmt.Fprintf(opts.Stderr, "building node_modules for %s from %s with npm %s\n", Platform, lockPath, version)
		w = io.MultiWriter(out, opts.Stderr)
	}
	c := exec.CommandContext(ctx, npm, npmArgs...)
	c.Dir = work
	c.Env = npmEnv(opts.Env)
	c.Stdin = nil // npm must not wait for an answer
	c.Stdout, c.Stderr = w, w
	c.WaitDelay = 10 * time.Second
	if err := c.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("npm ci for %s stopped: %w", lockPath, ctx.Err())
		}
		return fmt.Errorf("npm ci for %s failed (%v); its last lines:\n  %s\n%s\nnpm ran in a copy of package.json and package-lock.json as: %s %s",
			lockPath, err, strings.Join(out.lines(15), "\n  "), advice(out.String()), npm, strings.Join(npmArgs, " "))
	}
	return nil
}

var npmErrorCode = regexp.MustCompile(`(?m)^npm (?:error|ERR!) code (\S+)`)

// advice turns npm's error code into what the user should do.
func advice(output string) string {
	code := ""
	if m := npmErrorCode.FindStringSubmatch(output); m != nil {
		code = m[1]
	}
	switch {
	case code == "EUSAGE" && strings.Contains(output, "in sync"):
		return "package.json and package-lock.json disagree: run npm install in the app directory and keep the updated package-lock.json with the app"
	case code == "EINTEGRITY":
		return "a downloaded tarball does not match the integrity package-lock.json records for it: the registry npm uses (npm config get registry) served other bytes; if that registry is the one you trust, remove the package's entry, run npm install, and check why it changed"
	case code == "E404":
		return "a package in package-lock.json is not on the registry npm uses (npm config get registry): point npm at the registry the lock was made against, e.g. with npm_config_registry"
	case code == "E401" || code == "E403":
		return "the registry refused to serve a package: give npm the credentials it needs in the app's .npmrc or npm's own configuration"
	case slices.Contains([]string{"ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH"}, code):
		return "the npm registry could not be reached from this machine: check its network and the registry npm uses (npm config get registry)"
	case code == "EBADPLATFORM":
		return "a package in the lock is not for this machine's platform and npm refused it: replace it or make it an optional dependency"
	}
	return "fix what npm reports above, then deploy again"
}

// tail keeps the end of a command's output for its error message.
type tail struct{ buf []byte }

const tailMax = 64 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.buf) }

func (t *tail) lines(n int) []string {
	lines := strings.Split(strings.TrimRight(string(t.buf), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
