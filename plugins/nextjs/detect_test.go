package nextjs_test

import (
	"testing"

	"github.com/runtimekit/runtimekit/plugins/nextjs"
	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/plugintest"
)

func TestDetect(t *testing.T) {
	plugintest.Detect(t, nextjs.Runtime{}, []plugintest.DetectCase{
		{Name: "next in dependencies, built", Files: map[string]string{"package.json": `{"dependencies": {"next": "15.5.0"}}`, ".next/standalone/server.js": ""}, Match: true, Confidence: sdk.ConfidenceFramework, Params: map[string]any{"app": "$DIR/.next/standalone"}},
		{Name: "next in devDependencies, not built", Files: map[string]string{"package.json": `{"devDependencies": {"next": "^15"}}`}, Match: true, Confidence: sdk.ConfidenceFramework},
		{Name: "plain node app", Files: map[string]string{"package.json": `{"dependencies": {"express": "4"}}`}},
		{Name: "nothing", Files: map[string]string{}},
	})
}
