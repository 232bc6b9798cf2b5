// Command runtimectl-plugin-python serves the python runtime to runtimectl.
package main

import (
	"github.com/runtimekit/runtimekit/plugins/python"
	"github.com/runtimekit/runtimekit/sdk"
)

func main() { sdk.Serve(python.Runtime{}) }
