package pluginrpc

import (
	"context"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ProtocolVersion is the version of the plugin protocol this build speaks.
// The host refuses a plugin that speaks another version.
//
// Version 2 dropped the Render call, which runtimectl never made: the
// planner renders a manifest's file templates itself.
const ProtocolVersion = 2

// The magic cookie is not a secret. go-plugin checks it so that a plugin
// binary run by hand (or by another go-plugin host) says what it is instead
// of waiting for a handshake that never comes.
const (
	MagicCookieKey   = "RUNTIMECTL_PLUGIN_MAGIC_COOKIE"
	MagicCookieValue = "7f3c9a1e-runtimectl-runtime-plugin"
)

// PluginName is the key of the single plugin in the go-plugin plugin set.
const PluginName = "runtime"

// Handshake is the go-plugin handshake shared by runtimectl and plugins.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   MagicCookieKey,
		MagicCookieValue: MagicCookieValue,
	}
}

// GRPCPlugin is the go-plugin plugin for the Runtime service. Impl is set
// on the plugin side and nil on the host side.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl RuntimeServer
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the Runtime service.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	RegisterRuntimeServer(s, p.Impl)
	return nil
}

// GRPCClient returns a RuntimeClient on the plugin's connection.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewRuntimeClient(c), nil
}

// PluginSet is the go-plugin plugin map: one "runtime" plugin. Pass nil on
// the host side.
func PluginSet(impl RuntimeServer) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &GRPCPlugin{Impl: impl}}
}

// LaunchedByHost reports whether this process was started by runtimectl
// (or any host that knows the handshake), as opposed to by hand.
func LaunchedByHost() bool {
	return os.Getenv(MagicCookieKey) == MagicCookieValue
}

// Serve serves impl over go-plugin's gRPC transport and returns when the
// host closes the connection. The caller checks LaunchedByHost first:
// go-plugin itself exits the process when the cookie is missing.
func Serve(impl RuntimeServer) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake(),
		Plugins:         PluginSet(impl),
		GRPCServer:      plugin.DefaultGRPCServer,
		// The host parses JSON log lines from a plugin's stderr; only
		// warnings and errors are worth the bytes.
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "plugin",
			Level:      hclog.Warn,
			Output:     os.Stderr,
			JSONFormat: true,
		}),
	})
}
