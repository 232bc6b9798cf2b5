package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

// TestVMBuildIsExecutorOnly checks that `go build -tags vm`, the runtimectl
// that goes into the VM, links no CUE, gRPC, plugin or HTTP client code:
// they would triple its size and its start-up time under emulation. It
// plans removals, so it links the planner, which is pure.
func TestVMBuildIsExecutorOnly(t *testing.T) {
	const m = "github.com/runtimekit/runtimekit/"
	banned := []string{
		"cuelang.org/",
		"google.golang.org/grpc",
		"github.com/hashicorp/go-plugin",
		"net/http",
		m + "manifest",
		m + "sdk/host",
		m + "sdk/locker",
		m + "sdk/debian/resolve", // the resolver, once it is a package of its own
	}
	// sdk/debian is linked for the planner's Debian relations, versions
	// and dpkg status reader. Until its signed-index fetcher moves out of
	// it, net/http comes with it, and from nowhere else.
	debian := m + "sdk/debian"
	viaDebian := map[string]bool{"net/http": true}

	g := testenv.ListImports(t, ".", "vm")
	all, notViaDebian := g.Reach(), g.Reach(debian)
	for _, b := range banned {
		var found []string
		for dep := range all {
			if testenv.Matches(dep, b) && (!viaDebian[b] || notViaDebian[dep]) {
				found = append(found, dep)
			}
		}
		if len(found) > 0 {
			sort.Strings(found)
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
