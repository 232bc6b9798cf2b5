// Command runtimectl-plugin-deno serves the deno runtime to runtimectl.
package main

import (
	"github.com/runtimekit/runtimekit/plugins/deno"
	"github.com/runtimekit/runtimekit/sdk"
)

func main() { sdk.Serve(deno.Runtime{}) }
