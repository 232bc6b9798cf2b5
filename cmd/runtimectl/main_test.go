package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"runtimectl": func() { os.Exit(run()) },
	})
}

// pluginDir holds the built-in plugins, built once for all scripts.
var pluginDir string

func buildPlugins(t *testing.T) string {
	t.Helper()
	if pluginDir != "" {
		return pluginDir
	}
	dir := t.TempDir()
	pkgs, err := filepath.Glob("../../plugins/*/cmd/runtimectl-plugin-*")
	if err != nil || len(pkgs) == 0 {
		t.Fatalf("no plugin packages found: %v", err)
	}
	args := append([]string{"build", "-o", dir + "/"}, pkgs...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("build plugins: %v\n%s", err, out)
	}
	pluginDir = dir
	return dir
}

func TestScripts(t *testing.T) {
	dir := buildPlugins(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PLUGINS", dir)
			env.Setenv("RUNTIMECTL_PLUGIN_PATH", dir)
			env.Setenv("RUNTIMECTL_PLUGINS_LOCK", filepath.Join(env.WorkDir, "plugins.lock.json"))
			env.Setenv("RUNTIMECTL_CACHE_DIR", filepath.Join(env.WorkDir, "cache"))
			return nil
		},
		// [vm]: the script runs against the vm build (TestVMBuildScripts).
		Condition: func(cond string) (bool, error) {
			if cond != "vm" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			return false, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// flipbyte FILE OFFSET: change one byte of a file in place.
			"flipbyte": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: flipbyte FILE OFFSET")
				}
				var off int64
				if _, err := fmt.Sscan(args[1], &off); err != nil {
					ts.Fatalf("offset: %v", err)
				}
				f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_RDWR, 0)
				ts.Check(err)
				defer f.Close()
				b := make([]byte, 1)
				_, err = f.ReadAt(b, off)
				ts.Check(err)
				b[0] ^= 0xff
				_, err = f.WriteAt(b, off)
				ts.Check(err)
			},
		},
	})
}
