package manifest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/manifest"
)

const header = `name: "t"
version: "1.0.0"
platforms: [{os: "linux", arch: "386"}]
packages: {}
resources: memoryMiB: 1
`

type diagWant struct {
	Pos     string // file:line:col
	Summary string // substring of the summary
	Hint    bool   // a hint is expected
}

func TestLoadDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []diagWant
	}{{
		name: "issue example: port range, relative path, unknown service, all at once",
		src: header + `ports: [{name: "http", number: 70000}]
files: [{path: "etc/x.conf", content: "x"}]
services: [{name: "web", argv: ["/bin/true"], user: "nobody"}]
health: [{name: "h", kind: "tcp", service: "wbe", port: "http"}]
`,
		want: []diagWant{
			{"m.cue:6:32", "out of bound <=65535", true},
			{"m.cue:7:16", `"etc/x.conf"`, true},
			{"m.cue:9:44", `unknown service "wbe"`, true},
		},
	}, {
		name: "unknown field with others wrong",
		src:  header + "colour: \"red\"\nports: [{name: \"p\", number: 0}]\n",
		want: []diagWant{
			{"m.cue:6:1", "field not allowed", true},
			{"m.cue:7:29", "out of bound >=1", true},
		},
	}, {
		name: "duplicates and unclean path",
		src: header + `ports: [{name: "a", number: 80}, {name: "a", number: 80}]
files: [{path: "/etc/../x", content: ""}, {path: "/y", content: "", template: ""}]
`,
		want: []diagWant{
			{"m.cue:6:41", `duplicate port name "a"`, true},
			{"m.cue:6:54", "port 80/tcp declared twice", true},
			{"m.cue:7:16", "not clean", true},
			{"m.cue:7:50", "exactly one of content and template", true},
		},
	}, {
		name: "health needs its port and exec argv",
		src: header + `health: [{name: "a", kind: "http"}, {name: "b", kind: "exec"}]
`,
		want: []diagWant{
			{"m.cue:6:28", "needs a port", true},
			{"m.cue:6:55", "needs exec.argv", true},
		},
	}, {
		name: "semver and constraints",
		src: strings.Replace(header, `"1.0.0"`, `"1.0"`, 1) + `requires: [{runtime: "node", constraint: "~>>1"}]
`,
		want: []diagWant{
			{"m.cue:2:10", "out of bound", true},
			{"m.cue:6:42", "invalid semver constraint", true},
		},
	}, {
		name: "syntax error",
		src:  header + "ports: [\n",
		want: []diagWant{{"m.cue:6:10", "expected ']'", false}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.LoadFiles(context.Background(), map[string][]byte{"m.cue": []byte(tt.src)}, manifest.Options{})
			var ds manifest.Diagnostics
			if !errors.As(err, &ds) {
				t.Fatalf("want diagnostics, got %v", err)
			}
			var got []diagWant
			for _, d := range ds {
				got = append(got, diagWant{d.Pos.String(), d.Summary, d.Hint != ""})
			}
			// Summaries are matched by substring: keep the want's text when it matches.
			for i := range got {
				for _, w := range tt.want {
					if got[i].Pos == w.Pos && strings.Contains(got[i].Summary, w.Summary) {
						got[i].Summary = w.Summary
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\nall:\n%v", diff, ds)
			}
		})
	}
}

func TestLoadParams(t *testing.T) {
	src := header + `params: {
	// The port.
	port: int & >=1024 | *8080
}
ports: [{name: "http", number: params.port}]
`
	files := map[string][]byte{"m.cue": []byte(src)}
	ctx := context.Background()

	m, err := manifest.LoadFiles(ctx, files, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []manifest.Param{{Name: "port", Type: "int", Default: int64(8080), Value: int64(8080),
		Constraint: "int & >=1024 | *8080", Description: "The port."}}
	if diff := cmp.Diff(want, m.Params); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	if m.Ports[0].Number != 8080 {
		t.Errorf("default port = %d, want 8080", m.Ports[0].Number)
	}

	// float64, as encoding/json decodes numbers, must work for an int param.
	m, err = manifest.LoadFiles(ctx, files, manifest.Options{Params: map[string]any{"port": float64(9090)}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Ports[0].Number != 9090 {
		t.Errorf("user port = %d, want 9090", m.Ports[0].Number)
	}

	for _, bad := range []map[string]any{{"port": 80}, {"prot": 9090}, {"port": "x"}} {
		_, err := manifest.LoadFiles(ctx, files, manifest.Options{Params: bad})
		var ds manifest.Diagnostics
		if !errors.As(err, &ds) || !ds.HasErrors() {
			t.Errorf("params %v: want diagnostics, got %v", bad, err)
		}
	}
}

func TestLoadJSONAndPositions(t *testing.T) {
	src := `{
  "name": "j",
  "version": "1.2.3",
  "platforms": [{"os": "linux", "arch": "amd64"}],
  "packages": {"debian": [{"name": "curl"}]},
  "ports": [{"name": "http", "number": 8080}],
  "health": [{"name": "h", "kind": "http", "port": "http"}],
  "resources": {"memoryMiB": 3}
}`
	m, err := manifest.LoadFiles(context.Background(), map[string][]byte{"j.json": []byte(src)}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Source["/ports/0/number"].String(); got != "j.json:6:40" {
		t.Errorf("position of /ports/0/number = %s, want j.json:6:38", got)
	}
	h := m.Health[0]
	if h.HTTP == nil || h.HTTP.Path != "/" || h.HTTP.Status != 200 || h.Retries != 30 {
		t.Errorf("health defaults not applied: %+v %+v", h, h.HTTP)
	}
}

func TestLoadNeverPanics(t *testing.T) {
	inputs := []string{"", "{", "[]", "name: 1", `"x"`, "params: port: int", header + "ports: [1,2]", header + "health: [{}]"}
	for _, in := range inputs {
		for _, name := range []string{"m.cue", "m.json"} {
			_, err := manifest.LoadFiles(context.Background(), map[string][]byte{name: []byte(in)}, manifest.Options{})
			if err == nil {
				t.Errorf("%s %q: want an error", name, in)
			}
		}
	}
}

// A missing required field is reported beside an unrelated conflict: CUE
// alone reports only the conflict.
func TestMissingAndConflictTogether(t *testing.T) {
	src := `name: "x"
version: "1.0.0"
platforms: [{os: "linux", arch: "386"}]
resources: memoryMiB: 1
services: [{}]
files: [{path: "rel", content: ""}]
`
	_, err := manifest.LoadFiles(context.Background(), map[string][]byte{"m.cue": []byte(src)}, manifest.Options{})
	var ds manifest.Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("want diagnostics, got %v", err)
	}
	text := ds.Error()
	for _, want := range []string{"missing required value services.0.name", "missing required value services.0.argv.0", `invalid value "rel"`} {
		if !strings.Contains(text, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, text)
		}
	}
}
