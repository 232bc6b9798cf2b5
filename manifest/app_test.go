package manifest

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestLoadApp(t *testing.T) {
	ctx := context.Background()
	a, err := LoadApp(ctx, map[string][]byte{"runtimekit.app.cue": []byte(`
name: "shop"
runtime: "node"
params: main: "index.js"
processes: {web: "node index.js", worker: "node jobs.js"}
env: LOG_LEVEL: "info"
keep: 5
ignore: ["*.log"]
health: kind: "http"
`)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "shop" || a.Runtime != "node" || a.Params["main"] != "index.js" || a.Processes["worker"] != "node jobs.js" ||
		a.Env["LOG_LEVEL"] != "info" || a.Keep != 5 || a.Health == nil || a.Health.Path != "/" {
		t.Errorf("app file: %+v", a)
	}
	_, err = LoadApp(ctx, map[string][]byte{"runtimekit.app.cue": []byte("env: PORT: \"80\"\nkeep: 0\nreplicas: 2\n")})
	var ds Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("a bad app file: %v, want diagnostics", err)
	}
	text := ds.Error()
	for _, want := range []string{"runtimekit.app.cue:1", "PORT", "keep", "replicas"} {
		if !strings.Contains(text, want) {
			t.Errorf("diagnostics do not mention %q:\n%s", want, text)
		}
	}
}
