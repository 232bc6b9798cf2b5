// Command runtimectl-plugin-nextjs serves the nextjs runtime to runtimectl.
package main

import (
	"github.com/runtimekit/runtimekit/plugins/nextjs"
	"github.com/runtimekit/runtimekit/sdk"
)

func main() { sdk.Serve(nextjs.Runtime{}) }
