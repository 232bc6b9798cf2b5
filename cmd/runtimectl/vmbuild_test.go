package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestVMBuildIsExecutorOnly checks that `go build -tags vm`, the runtimectl
// that goes into the VM, links no CUE, gRPC, plugin or HTTP client code:
// they would triple its size and its start-up time under emulation.
func TestVMBuildIsExecutorOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "vm", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"cuelang.org/", "google.golang.org/grpc", "github.com/hashicorp/go-plugin", "github.com/runtimekit/runtimekit/manifest", "github.com/runtimekit/runtimekit/sdk/host"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("the vm build imports %s", dep)
			}
		}
		if dep == "net/http" {
			t.Errorf("the vm build imports net/http")
		}
	}
}
