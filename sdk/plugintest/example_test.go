package plugintest_test

import (
	"context"
	"testing"

	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/plugintest"
)

type myRuntime struct{ sdk.Unimplemented }

func (myRuntime) Describe(context.Context, *sdk.DescribeRequest) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "myrt", Version: "1.0.0", Manifest: map[string][]byte{
		"manifest.cue": []byte(`name: "myrt", version: "1.0.0", platforms: [{os: "linux", arch: "amd64"}], packages: {}, resources: memoryMiB: 16`),
	}}, nil
}

// A plugin author's test: the checks run in-process, then against the
// built binary through a real plugin process. It lives in the plugin's
// main package directory, hence Build(t, "myrt", "."). It has no Output:
// it needs the *testing.T of a real test and builds a binary, so go test
// compiles it without running it.
func Example() {
	var t *testing.T // the argument of the plugin's TestConformance(t *testing.T)

	plugintest.Run(t, myRuntime{})
	plugintest.RunBinary(t, plugintest.Build(t, "myrt", "."))
}
