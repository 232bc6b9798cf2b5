package release

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWalkIgnoresAndRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"server.js": "x", "lib/a.js": "a", "debug.log": "l", ".git/HEAD": "h",
		".runtimekitignore": "*.log\n", "bin/run": "#!/bin/sh\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "bin/run"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("lib/a.js", filepath.Join(dir, "index.js")); err != nil {
		t.Fatal(err)
	}
	tree, err := Walk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range tree.Files {
		got = append(got, f.Path)
		if f.Path == "bin/run" && f.Mode != 0o755 {
			t.Errorf("bin/run mode %o, want 755", f.Mode)
		}
		if f.Path == "index.js" && f.Link != "lib/a.js" {
			t.Errorf("index.js link %q", f.Link)
		}
	}
	if want := ".runtimekitignore bin/run index.js lib/a.js server.js"; strings.Join(got, " ") != want {
		t.Errorf("files %q, want %q", strings.Join(got, " "), want)
	}
	if err := os.Symlink("../../etc/passwd", filepath.Join(dir, "lib/escape")); err != nil {
		t.Fatal(err)
	}
	if _, err := Walk(dir, nil); err == nil || !strings.Contains(err.Error(), "outside the app") {
		t.Errorf("a link out of the app: %v, want it refused", err)
	}
}

func TestEnvFileAndProcfile(t *testing.T) {
	got := string(EnvFileBytes(map[string]string{"B": "it's", "A": "1"}))
	if want := "A='1'\nB='it'\\''s'\n"; got != want {
		t.Errorf("env file %q, want %q", got, want)
	}
	if why := CheckEnvName("PORT"); why == "" {
		t.Error("PORT is accepted as an app variable")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte("worker: node jobs.js\nweb: node server.js\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ps, err := ReadProcfile(dir)
	if err != nil || len(ps) != 2 || ps[0].Name != "web" || ps[0].Argv[2] != "exec node server.js" {
		t.Errorf("Procfile: %+v, %v", ps, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte("Web server\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadProcfile(dir); err == nil || !strings.Contains(err.Error(), "Procfile:1") {
		t.Errorf("a bad Procfile line: %v", err)
	}
}

// Drop takes the files a deploy read secrets from out of the release,
// whatever path reaches them: a hard link to a secret is the secret.
func TestDropSecretFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"server.js": "x", "conf/token": "s3cret", ".env": "A=1"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(dir, "conf/token"), filepath.Join(dir, "token-copy")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("conf/token", filepath.Join(dir, "token-link")); err != nil {
		t.Fatal(err)
	}
	tree, err := Walk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(outside, []byte("o"), 0o600); err != nil {
		t.Fatal(err)
	}
	dropped := tree.Drop(filepath.Join(dir, "conf", "..", "conf", "token"), filepath.Join(dir, ".env"), outside, filepath.Join(dir, "missing"))
	if got := strings.Join(dropped, " "); got != ".env conf/token token-copy" {
		t.Errorf("dropped %q, want .env conf/token token-copy", got)
	}
	var left []string
	for _, f := range tree.Files {
		left = append(left, f.Path)
	}
	// The link stays: it ships as a link, not the secret's bytes; its
	// target is gone from the release, so it dangles there.
	if got := strings.Join(left, " "); got != "server.js token-link" {
		t.Errorf("files left %q, want server.js token-link", got)
	}
}
