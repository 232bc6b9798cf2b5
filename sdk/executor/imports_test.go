package executor

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
)

// TestImports keeps the in-VM executor small: none of CUE, gRPC,
// go-plugin, network code, or runtimekit's host-side packages may be
// among its transitive imports. Without the go command it is skipped,
// and fails under RUNTIMEKIT_E2E=1.
func TestImports(t *testing.T) {
	testenv.RequireTools(t, "go")
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"cuelang.org/",
		"google.golang.org/grpc",
		"github.com/hashicorp/go-plugin",
		"github.com/runtimekit/runtimekit/manifest",
		"github.com/runtimekit/runtimekit/sdk/planner",
		"github.com/runtimekit/runtimekit/sdk/host",
		"github.com/runtimekit/runtimekit/sdk/locker",
		"github.com/runtimekit/runtimekit/sdk/debian/resolve", // the resolver; its formats are sdk/debian
		"github.com/runtimekit/runtimekit/sdk/debian/archive", // the signed index fetcher
		"github.com/runtimekit/runtimekit/sdk/bundle",         // the fetcher; its format package is sdk/bundle/format
		"github.com/runtimekit/runtimekit/sdk/internal",
		"net/http",
		// An OpenPGP implementation (pault.ag/go/debian/control links
		// one for signed files): 0.8 MB of the VM binary for nothing
		// the executor reads.
		"golang.org/x/crypto/openpgp",
	}
	// Format packages the executor reads documents with: below a
	// forbidden prefix, but free of network and CUE code.
	allowed := map[string]bool{"github.com/runtimekit/runtimekit/sdk/bundle/format": true}
	for _, dep := range strings.Fields(string(out)) {
		if allowed[dep] {
			continue
		}
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f)) {
				t.Errorf("sdk/executor imports %s (through some dependency): it must stay out of the in-VM executor", dep)
			}
		}
	}
}
