// Package pluginrpc is the wire between runtimectl and its runtime plugins:
// the gRPC service generated from runtime.proto, the go-plugin handshake and
// plugin set, the JSON encoding of parameter values, and an hclog adapter so
// that go-plugin logs through log/slog.
//
// It deliberately does not import package sdk (sdk imports it): conversions
// between these messages and the sdk types live with their users, the
// server adapter in sdk/serve.go and the client adapter in sdk/host.
//
// # Regenerating the gRPC code
//
// runtime.pb.go and runtime_grpc.pb.go are generated and committed. After
// editing runtime.proto, run `go generate ./sdk/internal/pluginrpc` with
// protoc, protoc-gen-go (v1.36.12) and protoc-gen-go-grpc (v1.6.2) on PATH:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//
// A change that old plugins or an old runtimectl cannot understand must bump
// ProtocolVersion, so that the mismatch is reported at the handshake instead
// of as a confusing RPC failure.
package pluginrpc

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative runtime.proto
