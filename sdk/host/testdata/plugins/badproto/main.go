// Command badproto is a plugin built against a future SDK: it speaks plugin
// protocol version 2.
package main

import (
	"github.com/hashicorp/go-plugin"

	"github.com/runtimekit/runtimekit/sdk/internal/pluginrpc"
)

func main() {
	hs := pluginrpc.Handshake()
	hs.ProtocolVersion = 2
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         pluginrpc.PluginSet(&pluginrpc.UnimplementedRuntimeServer{}),
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
