package python_test

import (
	"testing"

	"github.com/runtimekit/runtimekit/plugins/python"
	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/plugintest"
)

func TestDetect(t *testing.T) {
	plugintest.Detect(t, python.Runtime{}, []plugintest.DetectCase{
		{Name: "requirements and app.py", Files: map[string]string{"requirements.txt": "flask", "app.py": ""}, Match: true, Confidence: sdk.ConfidenceRuntime, Params: map[string]any{"app": "$DIR", "main": "app.py"}},
		{Name: "pyproject only", Files: map[string]string{"pyproject.toml": ""}, Match: true, Confidence: sdk.ConfidenceRuntime, Params: map[string]any{"app": "$DIR"}},
		{Name: "scripts without packaging", Files: map[string]string{"main.py": ""}},
	})
}
