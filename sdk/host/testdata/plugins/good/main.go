// Command good is a well-behaved plugin for the host tests. Its runtime name
// is taken from its file name, so one build serves as several plugins. When
// $RUNTIMEKIT_TEST_STARTS names a file, it appends its pid to it on start,
// which lets tests count launches and watch the process.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/runtimekit/runtimekit/sdk"
)

type good struct{ name string }

func (g good) Describe(context.Context, *sdk.DescribeRequest) (*sdk.DescribeResponse, error) {
	m := fmt.Sprintf(`{"name": %q, "version": "1.2.3", "params": [{"name": "port", "type": "int", "default": 8080, "value": 8080}]}`, g.name)
	return &sdk.DescribeResponse{Name: g.name, Version: "1.2.3", Manifest: map[string][]byte{"manifest.json": []byte(m)}}, nil
}

func (g good) Detect(_ context.Context, req *sdk.DetectRequest) (*sdk.DetectResponse, error) {
	// fail-NAME and panic-NAME make this plugin's Detect fail.
	if _, err := os.Stat(filepath.Join(req.Dir, "fail-"+g.name)); err == nil {
		return nil, errors.New("detect failed on purpose")
	}
	if _, err := os.Stat(filepath.Join(req.Dir, "panic-"+g.name)); err == nil {
		panic("detect panicked on purpose")
	}
	if _, err := os.Stat(filepath.Join(req.Dir, "good.txt")); err != nil {
		return &sdk.DetectResponse{}, nil
	}
	return &sdk.DetectResponse{
		Match:      true,
		Confidence: sdk.ConfidenceRuntime,
		Reason:     "good.txt present",
		Params:     map[string]any{"port": 9090, "tags": []any{"a", 1.5}},
	}, nil
}

func main() {
	if f := os.Getenv("RUNTIMEKIT_TEST_STARTS"); f != "" && os.Getenv("RUNTIMECTL_PLUGIN_MAGIC_COOKIE") != "" {
		out, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(out, "%d\n", os.Getpid())
			out.Close()
		}
	}
	name := strings.TrimPrefix(filepath.Base(os.Args[0]), "runtimectl-plugin-")
	sdk.Serve(good{name: name})
}
