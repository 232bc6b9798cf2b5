package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

// TestVMBuildIsExecutorOnly checks that `go build -tags vm`, the runtimectl
// that goes into the VM, links no CUE, gRPC, plugin, resolver or network
// code: they would triple its size and its start-up time under emulation.
// It plans removals, so it links the planner, which is pure. Without the
// go command it is skipped, and fails under RUNTIMEKIT_E2E=1.
func TestVMBuildIsExecutorOnly(t *testing.T) {
	const m = "github.com/runtimekit/runtimekit/"
	banned := []string{
		"cuelang.org/",
		"google.golang.org/grpc",
		"github.com/hashicorp/go-plugin",
		"net/http",
		"golang.org/x/crypto/openpgp",
		m + "manifest",
		m + "sdk/host",
		m + "sdk/locker",
		m + "sdk/debian/resolve",
		m + "sdk/debian/archive",
		m + "sdk/release",
		m + "sdk/image",
		m + "sdk/appdeps/",
		"github.com/go-git/",
	}
	g := testenv.ListImports(t, ".", "vm")
	all := g.Reach()
	for _, b := range banned {
		if found := testenv.Found(all, b); len(found) > 0 {
			t.Errorf("the vm build imports %s", strings.Join(found, ", "))
		}
	}
	if !all[m+"sdk/executor"] || !all[m+"sdk/planner"] {
		t.Errorf("the vm build links no executor or no planner: is %s the vm runtimectl?", g.Root)
	}
}

// TestVMBuildScripts runs the scripts of the commands the vm build has
// against that build (go build -tags vm), as TestScripts runs them against
// this one: the machine's commands answer alike in both. The condition
// [vm] holds in this run only.
func TestVMBuildScripts(t *testing.T) {
	testenv.RequireTools(t, "go")
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-tags", "vm", "-o", filepath.Join(dir, "runtimectl"), ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -tags vm: %v\n%s", err, out)
	}
	testscript.Run(t, testscript.Params{
		Files: []string{"testdata/script/apply.txtar", "testdata/script/remove.txtar"},
		Setup: func(env *testscript.Env) error {
			// Ahead of the test binary that TestMain puts on PATH as
			// runtimectl.
			env.Setenv("PATH", dir+string(os.PathListSeparator)+env.Getenv("PATH"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond != "vm" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			return true, nil
		},
	})
}
