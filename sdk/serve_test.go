package sdk_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/host"
)

// With servePluginEnv set, the test binary is a plugin serving echo: the
// tests run it through a real go-plugin process.
const servePluginEnv = "RUNTIMEKIT_SDK_TEST_PLUGIN"

func TestMain(m *testing.M) {
	if os.Getenv(servePluginEnv) == "1" {
		sdk.Serve(echo{})
		return
	}
	os.Exit(m.Run())
}

// echo answers with what it was asked, to check the conversions both ways.
type echo struct{}

func (echo) Describe(context.Context, *sdk.DescribeRequest) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "sdktest", Version: "0.1.0", Manifest: map[string][]byte{
		"manifest.cue": []byte("name: \"sdktest\"\n"),
		"extra.json":   {},
	}}, nil
}

func (echo) Detect(_ context.Context, req *sdk.DetectRequest) (*sdk.DetectResponse, error) {
	switch filepath.Base(req.Dir) {
	case "nil":
		return nil, nil
	case "error":
		return nil, errors.New("cannot read " + req.Dir)
	case "panic":
		var m map[string]int
		m["boom"]++ // nil map write: a real bug in a plugin
	}
	return &sdk.DetectResponse{Match: true, Confidence: sdk.ConfidenceFramework, Reason: "dir " + req.Dir,
		Params: map[string]any{"dir": req.Dir, "n": 3, "ratio": 0.5, "list": []any{"x", 2}, "obj": map[string]any{"k": true}}}, nil
}

// pluginRuntime starts the test binary as plugin "sdktest".
func pluginRuntime(t *testing.T) sdk.Runtime {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(dir, host.BinaryPrefix+"sdktest")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(servePluginEnv, "1")
	h := host.New(host.Options{Dirs: []string{dir}})
	t.Cleanup(func() { h.Close() })
	rt, err := h.Runtime(t.Context(), "sdktest")
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestServe(t *testing.T) {
	rt := pluginRuntime(t)
	ctx := t.Context()
	tests := []struct {
		name    string
		call    func(rt sdk.Runtime) (any, error)
		want    any
		wantErr string
	}{
		{
			name: "Describe",
			call: func(rt sdk.Runtime) (any, error) { return rt.Describe(ctx, &sdk.DescribeRequest{}) },
			want: &sdk.DescribeResponse{Name: "sdktest", Version: "0.1.0", Manifest: map[string][]byte{
				"manifest.cue": []byte("name: \"sdktest\"\n"), "extra.json": {},
			}},
		},
		{
			name: "Detect converts parameter values",
			call: func(rt sdk.Runtime) (any, error) { return rt.Detect(ctx, &sdk.DetectRequest{Dir: "/srv/app"}) },
			want: &sdk.DetectResponse{Match: true, Confidence: 90, Reason: "dir /srv/app", Params: map[string]any{
				"dir": "/srv/app", "n": int64(3), "ratio": 0.5, "list": []any{"x", int64(2)}, "obj": map[string]any{"k": true},
			}},
		},
		{
			name:    "Detect error",
			call:    func(rt sdk.Runtime) (any, error) { return rt.Detect(ctx, &sdk.DetectRequest{Dir: "/srv/error"}) },
			wantErr: "plugin sdktest: cannot read /srv/error",
		},
		{
			name:    "Detect nil response",
			call:    func(rt sdk.Runtime) (any, error) { return rt.Detect(ctx, &sdk.DetectRequest{Dir: "/srv/nil"}) },
			wantErr: "plugin sdktest: Detect returned a nil response",
		},
		{
			name:    "Detect panic is an error",
			call:    func(rt sdk.Runtime) (any, error) { return rt.Detect(ctx, &sdk.DetectRequest{Dir: "/srv/panic"}) },
			wantErr: "plugin sdktest: Detect panicked: assignment to entry in nil map",
		},
		{
			name: "the plugin survives a panic",
			call: func(rt sdk.Runtime) (any, error) { return rt.Detect(ctx, &sdk.DetectRequest{Dir: "/srv/app"}) },
			want: &sdk.DetectResponse{Match: true, Confidence: 90, Reason: "dir /srv/app", Params: map[string]any{
				"dir": "/srv/app", "n": int64(3), "ratio": 0.5, "list": []any{"x", int64(2)}, "obj": map[string]any{"k": true},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call(rt)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServeByHand(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), host.BinaryPrefix+"sdktest")
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link)
	cmd.Env = append(os.Environ(), servePluginEnv+"=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("run by hand: %v, want exit status 1", err)
	}
	want := "runtimectl-plugin-sdktest is a runtimectl plugin: runtimectl starts it when needed (try `runtimectl plugins list`), it is not meant to be run by hand\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}
