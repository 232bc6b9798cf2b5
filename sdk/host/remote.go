package host

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/internal/pluginrpc"
)

// remote is a plugin process seen as an sdk.Runtime.
type remote struct {
	proc *proc
	rpc  pluginrpc.RuntimeClient
}

var _ sdk.Runtime = (*remote)(nil)

// callError words a failed call. An error the plugin returned reads
// "plugin NAME: <its error>", as sdk.Runtime documents; transport failures
// say what happened to the process.
func (r *remote) callError(ctx context.Context, method string, err error) error {
	name := r.proc.name
	if cerr := context.Cause(ctx); cerr != nil {
		return fmt.Errorf("plugin %s: %s: %w", name, method, cerr)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("plugin %s: %s: %w", name, method, err)
	}
	switch st.Code() {
	case codes.Unknown:
		return fmt.Errorf("plugin %s: %s", name, st.Message())
	case codes.Unavailable, codes.Canceled:
		if r.proc.ctx.Err() != nil {
			return fmt.Errorf("plugin %s (%s): %s: the plugin process was stopped: the context it was started with is done", name, r.proc.path, method)
		}
		if r.proc.client.Exited() {
			return fmt.Errorf("plugin %s (%s): %s: the plugin process has exited%s", name, r.proc.path, method, r.proc.stderr.quote())
		}
	case codes.Unimplemented:
		return fmt.Errorf("plugin %s (%s) does not implement %s: rebuild it against this sdk", name, r.proc.path, method)
	}
	return fmt.Errorf("plugin %s: %s: %s: %s", name, method, st.Code(), st.Message())
}

func (r *remote) Describe(ctx context.Context, _ *sdk.DescribeRequest) (*sdk.DescribeResponse, error) {
	resp, err := r.rpc.Describe(ctx, &pluginrpc.DescribeRequest{})
	if err != nil {
		return nil, r.callError(ctx, "Describe", err)
	}
	return &sdk.DescribeResponse{Name: resp.GetName(), Version: resp.GetVersion(), Manifest: resp.GetManifest()}, nil
}

func (r *remote) Detect(ctx context.Context, req *sdk.DetectRequest) (*sdk.DetectResponse, error) {
	resp, err := r.rpc.Detect(ctx, &pluginrpc.DetectRequest{Dir: req.Dir})
	if err != nil {
		return nil, r.callError(ctx, "Detect", err)
	}
	params, err := pluginrpc.DecodeParams(resp.GetParamsJson())
	if err != nil {
		return nil, fmt.Errorf("plugin %s: Detect: %w", r.proc.name, err)
	}
	return &sdk.DetectResponse{
		Match:      resp.GetMatch(),
		Confidence: int(resp.GetConfidence()),
		Reason:     resp.GetReason(),
		Params:     params,
	}, nil
}
