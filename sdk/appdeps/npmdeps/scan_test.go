package npmdeps

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildELF compiles a trivial program for linux/goarch: a real ELF of
// that machine and class to stand for a compiled addon.
func buildELF(t *testing.T, goarch string) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module addon\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "x.node")
	c := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	c.Dir = dir
	c.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s: %v\n%s", goarch, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tree writes files (path: content) and links (path: target) under root.
func tree(t *testing.T, root string, files map[string][]byte, links map[string]string) {
	t.Helper()
	for p, b := range files {
		p = filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, target := range links {
		p = filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScanChecksAddonsAndLinks(t *testing.T) {
	i386, amd64 := buildELF(t, "386"), buildELF(t, "amd64")
	js := []byte("module.exports = 1\n")
	lock := &Lock{Packages: []Package{
		{Name: "good", Version: "1.0.0", Path: "node_modules/good"},
		{Name: "bad", Version: "2.0.0", Path: "node_modules/bad"},
		{Name: "@s/multi", Version: "3.0.0", Path: "node_modules/@s/multi"},
		{Name: "nested", Version: "4.0.0", Path: "node_modules/a/node_modules/nested"},
	}}

	t.Run("accepted", func(t *testing.T) {
		dest := t.TempDir()
		tree(t, dest, map[string][]byte{
			"node_modules/good/build/Release/good.node":                 i386,
			"node_modules/good/cli.js":                                  js,
			"node_modules/@s/multi/prebuilds/linux-ia32/node.napi.node": i386,
			"node_modules/@s/multi/prebuilds/linux-x64/node.napi.node":  amd64, // never loaded on ia32
			"node_modules/@s/multi/prebuilds/darwin-x64+arm64/x.node":   js,    // a Mach-O stand-in
			"node_modules/@s/multi/prebuilds/win32-ia32/x.node":         js,
		}, map[string]string{
			"node_modules/.bin/good":                    "../good/cli.js",
			"node_modules/a/node_modules/.bin/good-too": "../../../good/cli.js",
		})
		if err := scan(filepath.Join(dest, "node_modules"), lock, nil); err != nil {
			t.Errorf("an i386 addon and relative links inside node_modules are refused: %v", err)
		}
	})

	t.Run("refused", func(t *testing.T) {
		dest := t.TempDir()
		tree(t, dest, map[string][]byte{
			"node_modules/good/build/Release/good.node":             i386,
			"node_modules/good/cli.js":                              js,
			"node_modules/bad/build/Release/bad.node":               amd64,
			"node_modules/@s/multi/prebuilds/linux-x64+ia32/x.node": amd64, // claims ia32: checked
			"node_modules/a/node_modules/nested/lib/binding.node":   js,
			"node_modules/@tool/linux-x64/bin/tool":                 amd64,
			"outside.js":                                            js,
		}, map[string]string{
			"node_modules/.bin/good":     "../good/cli.js",
			"node_modules/.bin/absolute": filepath.Join(dest, "node_modules/good/cli.js"),
			"node_modules/.bin/escapes":  "../../outside.js",
			"node_modules/.bin/dangling": "../good/missing.js",
			// lexically inside, but the link it goes through leads out
			"node_modules/here":         ".",
			"node_modules/.bin/via-dot": "../here/../outside.js",
		})
		err := scan(filepath.Join(dest, "node_modules"), lock, []string{"node_modules/@tool/linux-x64", "node_modules/@tool/linux-arm64"})
		if err == nil {
			t.Fatal("scan accepted a tree with amd64 addons and escaping links")
		}
		msg := err.Error()
		t.Log(msg)
		wantIn(t, msg,
			"bad@2.0.0 (node_modules/bad): build/Release/bad.node is a 64-bit ELF for x86-64",
			"@s/multi@3.0.0 (node_modules/@s/multi): prebuilds/linux-x64+ia32/x.node is a 64-bit ELF",
			"nested@4.0.0 (node_modules/a/node_modules/nested): lib/binding.node is not an ELF file",
			"node_modules/.bin/absolute: points to the absolute path",
			"node_modules/.bin/escapes: points to ../../outside.js, outside node_modules",
			"node_modules/.bin/dangling: points to ../good/missing.js, which does not exist",
			"node_modules/.bin/via-dot: points to ../here/../outside.js, outside node_modules",
			"npm installed packages for another platform", "node_modules/@tool/linux-x64",
		)
		for _, fine := range []string{"good.node", "node_modules/.bin/good:", "node_modules/here:", "linux-arm64"} {
			if strings.Contains(msg, fine) {
				t.Errorf("%s is fine but named:\n%s", fine, msg)
			}
		}
	})
}

func TestHolder(t *testing.T) {
	for in, want := range map[string]string{
		"node_modules/a/b.node":                            "node_modules/a",
		"node_modules/@s/a/build/b.node":                   "node_modules/@s/a",
		"node_modules/a/node_modules/@s/b/x/y.node":        "node_modules/a/node_modules/@s/b",
		"node_modules/a/node_modules/b/node_modules/c/d.x": "node_modules/a/node_modules/b/node_modules/c",
	} {
		if got := holder(in); got != want {
			t.Errorf("holder(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestCheckAddons(t *testing.T) {
	dir := t.TempDir()
	i386, amd64 := buildELF(t, "386"), buildELF(t, "amd64")
	place := func(rel string, b []byte) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	place("node_modules/good/build/Release/good.node", i386)
	place("node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node", amd64)
	place("node_modules/pre/prebuilds/darwin-x64/pre.node", amd64) // never loaded here
	err := CheckAddons(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "@img/sharp-linux-x64") || strings.Contains(err.Error(), "good") || strings.Contains(err.Error(), "pre/") {
		t.Errorf("CheckAddons: %v; want only @img/sharp-linux-x64 refused", err)
	}
	if err := CheckAddons(dir, []string{"@img/sharp-linux-x64"}); err != nil {
		t.Errorf("an allowed addon: %v", err)
	}
}
