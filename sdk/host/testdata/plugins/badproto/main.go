// Command badproto is a plugin built against a newer SDK: it speaks the
// plugin protocol version after this one.
package main

import (
	"github.com/hashicorp/go-plugin"

	"github.com/runtimekit/runtimekit/sdk/internal/pluginrpc"
)

func main() {
	hs := pluginrpc.Handshake()
	hs.ProtocolVersion = pluginrpc.ProtocolVersion + 1
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         pluginrpc.PluginSet(&pluginrpc.UnimplementedRuntimeServer{}),
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
