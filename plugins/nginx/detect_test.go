package nginx_test

import (
	"testing"

	"github.com/runtimekit/runtimekit/plugins/nginx"
	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/plugintest"
)

func TestDetect(t *testing.T) {
	plugintest.Detect(t, nginx.Runtime{}, []plugintest.DetectCase{
		{Name: "site at the top", Files: map[string]string{"index.html": "<p>"}, Match: true, Confidence: sdk.ConfidenceFallback, Params: map[string]any{"site": "."}},
		{Name: "built site in dist", Files: map[string]string{"dist/index.html": "<p>", "src/app.js": ""}, Match: true, Confidence: sdk.ConfidenceFallback, Params: map[string]any{"site": "dist"}},
		{Name: "no html", Files: map[string]string{"README.md": ""}},
	})
}
