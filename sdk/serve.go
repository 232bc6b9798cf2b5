package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/runtimekit/runtimekit/sdk/internal/pluginrpc"
)

// Serve runs rt as a runtimectl plugin. Call it from the plugin's main
// function; it returns when runtimectl closes the connection.
//
// Parameter values (DetectResponse.Params) travel as JSON: runtimectl
// receives nil, bool, string, int64 for whole numbers, float64 for other
// numbers, []any and map[string]any, whatever Go types the plugin started
// from.
//
// A plugin binary is started by runtimectl, never by hand: run directly,
// Serve prints a one-line explanation and exits with status 1.
func Serve(rt Runtime) {
	if rt == nil {
		panic("sdk.Serve: nil Runtime")
	}
	if !pluginrpc.LaunchedByHost() {
		fmt.Fprintf(os.Stderr, "%s is a runtimectl plugin: runtimectl starts it when needed (try `runtimectl plugins list`), it is not meant to be run by hand\n",
			filepath.Base(os.Args[0]))
		os.Exit(1)
	}
	pluginrpc.Serve(&server{rt: rt})
}

// server adapts a Runtime to the generated gRPC service.
type server struct {
	pluginrpc.UnimplementedRuntimeServer
	rt Runtime
}

// recoverCall turns a panic in a plugin method into an error for that call,
// so one bad request does not kill the plugin with a stack trace the user
// never sees. The stack goes to stderr, which runtimectl logs at debug level.
func recoverCall(method string, err *error) {
	if p := recover(); p != nil {
		fmt.Fprintf(os.Stderr, "panic in %s: %v\n%s", method, p, debug.Stack())
		*err = fmt.Errorf("%s panicked: %v", method, p)
	}
}

func (s *server) Describe(ctx context.Context, _ *pluginrpc.DescribeRequest) (_ *pluginrpc.DescribeResponse, err error) {
	defer recoverCall("Describe", &err)
	r, err := s.rt.Describe(ctx, &DescribeRequest{})
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("Describe returned a nil response")
	}
	return &pluginrpc.DescribeResponse{Name: r.Name, Version: r.Version, Manifest: r.Manifest}, nil
}

func (s *server) Detect(ctx context.Context, req *pluginrpc.DetectRequest) (_ *pluginrpc.DetectResponse, err error) {
	defer recoverCall("Detect", &err)
	r, err := s.rt.Detect(ctx, &DetectRequest{Dir: req.GetDir()})
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("Detect returned a nil response")
	}
	params, err := pluginrpc.EncodeParams(r.Params)
	if err != nil {
		return nil, fmt.Errorf("Detect: %w", err)
	}
	return &pluginrpc.DetectResponse{
		Match:      r.Match,
		Confidence: int32(r.Confidence),
		Reason:     r.Reason,
		ParamsJson: params,
	}, nil
}
