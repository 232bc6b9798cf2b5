package plugintest

import (
	"context"
	"errors"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/host"
)

// Run checks rt in-process, as subtests of t.
func Run(t *testing.T, rt sdk.Runtime) {
	t.Helper()
	run(testingT{t}, rt, "", loadManifest)
}

// RunBinary starts the plugin binary at path as runtimectl would (through
// package host: handshake, start timeout, gRPC) and runs the same checks
// as Run against the running process. The binary must be named
// runtimectl-plugin-NAME, with NAME the runtime's name; Build makes one.
func RunBinary(t *testing.T, path string) {
	t.Helper()
	name, ok := strings.CutPrefix(filepath.Base(path), host.BinaryPrefix)
	if !ok {
		t.Fatalf("plugin binary %s: its file name must be %sNAME, with NAME the runtime's name", path, host.BinaryPrefix)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	// No lock and no cache: the binary under test is whatever was just built.
	h := host.New(host.Options{Dirs: []string{filepath.Dir(abs)}})
	t.Cleanup(func() { h.Close() })
	rt, err := h.Runtime(t.Context(), name)
	if err != nil {
		t.Fatalf("start plugin: %v", err)
	}
	run(testingT{t}, rt, name, loadManifest)
}

// Build compiles the plugin main package pkg (an import path or a
// directory such as ".") into a temporary directory as
// runtimectl-plugin-NAME and returns the binary's path. It needs the go
// command on PATH, which `go test` provides.
func Build(t *testing.T, name, pkg string) string {
	t.Helper()
	if !validName.MatchString(name) {
		t.Fatalf("plugintest.Build: invalid runtime name %q: want %s", name, validName)
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("plugintest.Build needs the go command on PATH: %v", err)
	}
	out := filepath.Join(t.TempDir(), host.BinaryPrefix+name)
	cmd := exec.CommandContext(t.Context(), gotool, "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

func loadManifest(ctx context.Context, files map[string][]byte) (*manifest.Manifest, error) {
	return manifest.LoadFiles(ctx, files, manifest.Options{})
}

// T is the part of *testing.T the checks use; tests of this package
// substitute a recorder to check that bad plugins fail.
type T interface {
	Helper()
	Context() context.Context
	TempDir() string
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Run(name string, f func(T)) bool
}

type testingT struct{ *testing.T }

func (t testingT) Run(name string, f func(T)) bool {
	return t.T.Run(name, func(t *testing.T) { f(testingT{t}) })
}

// run is Run with the name the plugin must have ("" for any) and the
// manifest evaluator as parameters.
func run(t T, rt sdk.Runtime, wantName string, evaluate func(context.Context, map[string][]byte) (*manifest.Manifest, error)) {
	t.Helper()
	var desc *sdk.DescribeResponse

	t.Run("Describe", func(t T) {
		d, err := rt.Describe(t.Context(), &sdk.DescribeRequest{})
		if err != nil {
			t.Fatalf("Describe: %v", err)
		}
		if d == nil {
			t.Fatalf("Describe returned a nil response")
		}
		ok := true
		if !validName.MatchString(d.Name) {
			t.Errorf("Describe: name %q must match %s (lower case letters, digits, dashes)", d.Name, validName)
			ok = false
		}
		if wantName != "" && d.Name != wantName {
			t.Errorf("Describe: name %q, but the binary is named %s%s", d.Name, host.BinaryPrefix, wantName)
			ok = false
		}
		if _, err := semver.StrictNewVersion(d.Version); err != nil {
			t.Errorf("Describe: version %q is not a semantic version such as 1.2.3: %v", d.Version, err)
			ok = false
		}
		if len(d.Manifest) == 0 {
			t.Errorf("Describe: no manifest files")
			ok = false
		}
		for f := range d.Manifest {
			if ext := path.Ext(f); ext != ".cue" && ext != ".json" {
				t.Errorf("Describe: manifest file %q: want a .cue or .json file", f)
				ok = false
			}
		}
		// runtimectl caches Describe by binary digest, so it must not vary.
		again, err := rt.Describe(t.Context(), &sdk.DescribeRequest{})
		if err != nil {
			t.Fatalf("Describe (second call): %v", err)
		}
		if diff := cmp.Diff(d, again); diff != "" {
			t.Errorf("Describe is not deterministic (-first +second):\n%s", diff)
			ok = false
		}
		if ok {
			desc = d
		}
	})

	t.Run("Manifest", func(t T) {
		if desc == nil {
			t.Skipf("Describe failed")
		}
		got, err := evaluate(t.Context(), desc.Manifest)
		var ds manifest.Diagnostics
		switch {
		case errors.As(err, &ds):
			for _, d := range ds {
				if d.Severity == manifest.SeverityError {
					t.Errorf("manifest: %s", d)
				} else {
					t.Logf("manifest: %s", d)
				}
			}
			if ds.HasErrors() {
				return
			}
		case err != nil:
			t.Fatalf("load manifest: %v", err)
		}
		if got == nil {
			t.Fatalf("load manifest: no manifest and no error")
		}
		if got.Name != desc.Name {
			t.Errorf("manifest name %q differs from Describe's name %q", got.Name, desc.Name)
		}
		if got.Version != desc.Version {
			t.Errorf("manifest version %q differs from Describe's version %q", got.Version, desc.Version)
		}
	})

	t.Run("Detect", func(t T) {
		dir := t.TempDir()
		r, err := rt.Detect(t.Context(), &sdk.DetectRequest{Dir: dir})
		if err != nil {
			t.Fatalf("Detect on an empty directory: %v", err)
		}
		if r == nil {
			t.Fatalf("Detect returned a nil response")
		}
		if r.Confidence < 0 || r.Confidence > 100 {
			t.Errorf("Detect: confidence %d is outside 0..100", r.Confidence)
		}
		if r.Match && r.Confidence >= sdk.ConfidenceFramework {
			t.Errorf("Detect claims a framework-level match (confidence %d, %q) for an empty directory", r.Confidence, r.Reason)
		}
	})
}
