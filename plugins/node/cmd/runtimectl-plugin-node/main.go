// Command runtimectl-plugin-node serves the node runtime to runtimectl.
package main

import (
	"github.com/runtimekit/runtimekit/plugins/node"
	"github.com/runtimekit/runtimekit/sdk"
)

func main() { sdk.Serve(node.Runtime{}) }
