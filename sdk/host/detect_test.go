package host

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk"
)

func TestDetect(t *testing.T) {
	dir := installPlugins(t, map[string]string{"good": "good", "another": "good", "other": "good", "crash": "crash"})
	h := New(Options{Dirs: []string{dir}})
	defer func() {
		h.Close()
		noChildren(t)
	}()
	app := t.TempDir()
	for _, f := range []string{"good.txt", "fail-other"} {
		if err := os.WriteFile(filepath.Join(app, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	found, err := h.Detect(t.Context(), app)

	params := map[string]any{"port": int64(9090), "tags": []any{"a", 1.5}}
	want := []Detection{
		{Runtime: "another", Confidence: sdk.ConfidenceRuntime, Reason: "good.txt present", Params: params},
		{Runtime: "good", Confidence: sdk.ConfidenceRuntime, Reason: "good.txt present", Params: params},
	}
	if diff := cmp.Diff(want, found); diff != "" {
		t.Errorf("matches (-want +got):\n%s", diff)
	}
	var de *DetectError
	if !errors.As(err, &de) || len(de.Errs) != 2 {
		t.Fatalf("got error %v, want a DetectError for crash and other", err)
	}
	// Each failure names its plugin once.
	for i, name := range []string{"crash", "other"} {
		msg := de.Errs[i].Error()
		if n := strings.Count(msg, "plugin "+name); n != 1 {
			t.Errorf("error %d names plugin %s %d times: %s", i, name, n, msg)
		}
	}
	if got, want := de.Errs[1].Error(), "plugin other: detect failed on purpose"; got != want {
		t.Errorf("Detect error = %q, want %q", got, want)
	}
	if !strings.Contains(de.Errs[0].Error(), "plugin crash ("+filepath.Join(dir, BinaryPrefix+"crash")+") exited during start") {
		t.Errorf("start error = %q", de.Errs[0])
	}
}

func TestDetectRelativeDirAndNoPlugins(t *testing.T) {
	h := New(Options{Dirs: []string{installPlugins(t, map[string]string{"good": "good"})}})
	defer h.Close()
	app := t.TempDir()
	if err := os.WriteFile(filepath.Join(app, "good.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(app)
	found, err := h.Detect(t.Context(), ".")
	if err != nil || len(found) != 1 || found[0].Runtime != "good" {
		t.Errorf("Detect(.) = %v, %v; want good", found, err)
	}

	none := New(Options{Dirs: []string{}})
	defer none.Close()
	if found, err := none.Detect(t.Context(), app); err != nil || len(found) != 0 {
		t.Errorf("no plugins: Detect = %v, %v; want nothing", found, err)
	}
}

func TestRank(t *testing.T) {
	ds := []Detection{
		{Runtime: "nginx", Confidence: sdk.ConfidenceFallback},
		{Runtime: "python", Confidence: sdk.ConfidenceRuntime},
		{Runtime: "nextjs", Confidence: sdk.ConfidenceFramework},
		{Runtime: "node", Confidence: sdk.ConfidenceRuntime},
	}
	rank(ds)
	var got []string
	for _, d := range ds {
		got = append(got, d.Runtime)
	}
	if diff := cmp.Diff([]string{"nextjs", "node", "python", "nginx"}, got); diff != "" {
		t.Errorf("ranking (-want +got):\n%s", diff)
	}
}

func TestNamingPlugin(t *testing.T) {
	tests := []struct{ name, err, want string }{
		{"node", "plugin node: cannot read /srv/app", "plugin node: cannot read /srv/app"},
		{"node", "plugin node (/usr/lib/runtimectl-plugin-node) exited during start (exit status 3)", "plugin node (/usr/lib/runtimectl-plugin-node) exited during start (exit status 3)"},
		{"node", "start plugin node (/p): context canceled", "start plugin node (/p): context canceled"},
		{"node", "plugin nodejs: boom", "plugin node: plugin nodejs: boom"},
		{"node", "hash plugin: permission denied", "plugin node: hash plugin: permission denied"},
		{"node", "plugins lock /x is not valid JSON", "plugin node: plugins lock /x is not valid JSON"},
	}
	for _, tt := range tests {
		if got := namingPlugin(tt.name, errors.New(tt.err)).Error(); got != tt.want {
			t.Errorf("namingPlugin(%q, %q) = %q, want %q", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestCatalog(t *testing.T) {
	dir := installPlugins(t, map[string]string{"good": "good", "other": "good"})
	h := New(Options{Dirs: []string{dir}, CacheDir: t.TempDir(), CacheKey: "k", Evaluate: fakeEvaluate(new(atomic.Int32))})
	defer h.Close()
	hello := []byte(`{"name": "hello", "version": "0.1.0", "platforms": [{"os": "linux", "arch": "386"}], "packages": {}, "resources": {"memoryMiB": 4}}`)
	c := &Catalog{Host: h, Files: map[string]map[string][]byte{
		"hello": {"hello.json": hello},
		"good":  {"good.json": []byte(strings.ReplaceAll(string(hello), "hello", "good"))},
	}}
	ctx := t.Context()

	names, err := c.Names(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"good", "hello", "other"}, names); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}

	// A file's manifest, also in place of the plugin of its name.
	for _, n := range []string{"hello", "good"} {
		m, err := c.Manifest(ctx, n, nil)
		if err != nil || m.Name != n || m.Version != "0.1.0" {
			t.Errorf("Manifest(%s) = %v, %v; want the file's", n, m, err)
		}
	}
	// A plugin's, through the host's evaluator.
	if m, err := c.Manifest(ctx, "other", nil); err != nil || m.Name != "other" || m.Version != "1.2.3" {
		t.Errorf("Manifest(other) = %v, %v; want the plugin's", m, err)
	}
	// No such runtime: a diagnostic about what was asked for.
	_, err = c.Manifest(ctx, "nope", nil)
	var ds manifest.Diagnostics
	if !errors.As(err, &ds) || len(ds) != 1 || ds[0].Summary != `no runtime named "nope"` || !strings.Contains(ds[0].Hint, "plugin nope not found") {
		t.Errorf("Manifest(nope) = %v, want a no-such-runtime diagnostic", err)
	}
}
