// Command oldproto is a plugin built against an older SDK: it speaks the
// plugin protocol version before this one, as a plugin binary built before
// the last protocol change does.
package main

import (
	"github.com/hashicorp/go-plugin"

	"github.com/runtimekit/runtimekit/sdk/internal/pluginrpc"
)

func main() {
	hs := pluginrpc.Handshake()
	hs.ProtocolVersion = pluginrpc.ProtocolVersion - 1
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         pluginrpc.PluginSet(&pluginrpc.UnimplementedRuntimeServer{}),
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
