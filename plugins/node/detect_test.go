package node_test

import (
	"testing"

	"github.com/runtimekit/runtimekit/plugins/node"
	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/plugintest"
)

func TestDetect(t *testing.T) {
	plugintest.Detect(t, node.Runtime{}, []plugintest.DetectCase{
		{Name: "package.json with main", Files: map[string]string{"package.json": `{"main": "lib/index.js"}`}, Match: true, Confidence: sdk.ConfidenceRuntime, Params: map[string]any{"app": "$DIR", "main": "lib/index.js"}},
		{Name: "package.json without main", Files: map[string]string{"package.json": `{"name": "x"}`}, Match: true, Confidence: sdk.ConfidenceRuntime, Params: map[string]any{"app": "$DIR"}},
		{Name: "broken package.json", Files: map[string]string{"package.json": `{`}},
		{Name: "no package.json", Files: map[string]string{"main.py": ""}},
	})
}
