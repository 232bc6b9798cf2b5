// Command tiny is a minimal conforming plugin, built by the plugintest
// tests to exercise RunBinary.
package main

import (
	"context"

	"github.com/runtimekit/runtimekit/sdk"
)

const manifestCUE = `
name:      "tiny"
version:   "0.1.0"
platforms: [{os: "linux", arch: "amd64"}]
packages: {}
resources: memoryMiB: 1
params: port: int & >=1024 & <=65535 | *8080
`

type tiny struct{ sdk.Unimplemented }

func (tiny) Describe(context.Context, *sdk.DescribeRequest) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "tiny", Version: "0.1.0", Manifest: map[string][]byte{"manifest.cue": []byte(manifestCUE)}}, nil
}

func main() { sdk.Serve(tiny{}) }
