package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

// TestVMBuildIsExecutorOnly checks that `go build -tags vm`, the runtimectl
// that goes into the VM, links no CUE, gRPC, plugin, resolver or network
// code: they would triple its size and its start-up time under emulation.
// Without the go command it is skipped, and fails under RUNTIMEKIT_E2E=1.
func TestVMBuildIsExecutorOnly(t *testing.T) {
	testenv.RequireTools(t, "go")
	out, err := exec.Command("go", "list", "-tags", "vm", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	banned := []string{
		"cuelang.org/", "google.golang.org/grpc", "github.com/hashicorp/go-plugin",
		"github.com/runtimekit/runtimekit/manifest", "github.com/runtimekit/runtimekit/sdk/host",
		"github.com/runtimekit/runtimekit/sdk/debian/resolve", "github.com/runtimekit/runtimekit/sdk/debian/archive",
		"golang.org/x/crypto/openpgp",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, b := range banned {
			if strings.HasPrefix(dep, b) {
				t.Errorf("the vm build imports %s", dep)
			}
		}
		if dep == "net/http" {
			t.Errorf("the vm build imports net/http")
		}
	}
}
