// Command runtimectl-plugin-nginx serves the nginx runtime to runtimectl.
package main

import (
	"github.com/runtimekit/runtimekit/plugins/nginx"
	"github.com/runtimekit/runtimekit/sdk"
)

func main() { sdk.Serve(nginx.Runtime{}) }
