package deno_test

import (
	"testing"

	"github.com/runtimekit/runtimekit/plugins/deno"
	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/plugintest"
)

func TestDetect(t *testing.T) {
	plugintest.Detect(t, deno.Runtime{}, []plugintest.DetectCase{
		{Name: "deno.json with main.ts", Files: map[string]string{"deno.json": "{}", "main.ts": ""}, Match: true, Confidence: sdk.ConfidenceFramework, Params: map[string]any{"app": "$DIR", "main": "main.ts"}},
		{Name: "deno.jsonc", Files: map[string]string{"deno.jsonc": "{}"}, Match: true, Confidence: sdk.ConfidenceFramework, Params: map[string]any{"app": "$DIR"}},
		{Name: "package.json only", Files: map[string]string{"package.json": "{}"}},
	})
}
