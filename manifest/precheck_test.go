package manifest

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const plainHeader = `name: "t"
version: "1.0.0"
platforms: [{os: "linux", arch: "386"}]
packages: {}
resources: memoryMiB: 1
`

func TestPlainManifest(t *testing.T) {
	nginx, err := os.ReadFile("../plugins/nginx/manifest.cue")
	if err != nil {
		t.Fatal(err)
	}
	manyArms := "params: p: " + strings.Repeat(`"a" | `, maxPlainArms+1) + `"b"` + "\n"
	tests := []struct {
		name   string
		file   string
		src    string
		params map[string]any
		want   bool
	}{
		{"a built-in runtime", "m.cue", string(nginx), map[string]any{"port": 8080}, true},
		{"params used in fields, interpolations and guards", "m.cue", plainHeader + `params: {
	port: int & >=1 & <=65535 | *80
	app: *"" | =~"^/"
}
ports: [{name: "http", number: params.port}]
env: PORT: "\(params.port)"
if params.app != "" && params.port > 1024 {
	files: [{path: "/etc/x", content: "listen \(params.port)"}]
}
`, nil, true},
		{"a nested field named like a type", "m.cue", plainHeader + `ports: [{name: "http", number: 80}]`, nil, true},
		{"JSON", "m.json", `{"name": "j", "params": {"port": 8080}, "ports": [{"name": "http", "number": 8080}]}`, nil, true},

		{"a disjunction outside params", "m.cue", plainHeader + `description: "a" | "b"`, nil, false},
		{"a disjunction under a conjunction", "m.cue", plainHeader + `params: p: (1 | 2) & (1 | 2)`, nil, false},
		{"too many arms", "m.cue", plainHeader + manyArms, nil, false},
		{"a for comprehension", "m.cue", plainHeader + `files: [for x in [1, 2] {path: "/\(x)", content: ""}]`, nil, false},
		{"an if over a for", "m.cue", plainHeader + `if true for x in [1] {env: a: "b"}`, nil, false},
		{"an import", "m.cue", `import "strings"` + "\n" + plainHeader, nil, false},
		{"a call", "m.cue", plainHeader + `description: "\(len("abc"))"`, nil, false},
		{"string repetition", "m.cue", plainHeader + `description: "a" * 3`, nil, false},
		{"a hidden field", "m.cue", plainHeader + `_x: 1`, nil, false},
		{"a definition", "m.cue", plainHeader + `#X: 1`, nil, false},
		{"a let", "m.cue", plainHeader + `let x = 1` + "\ndescription: \"\\(x)\"", nil, false},
		{"a reference to another field", "m.cue", plainHeader + `description: name`, nil, false},
		{"a parameter referring to another", "m.cue", plainHeader + "params: {a: *\"x\" | string, b: *\"\\(params.a)\" | string}", nil, false},
		{"a struct parameter", "m.cue", plainHeader + `params: p: {a: 1}`, nil, false},
		{"a top-level field named like a type", "m.cue", plainHeader + `int: 1` + "\nparams: p: int", nil, false},
		{"params below the top", "m.cue", plainHeader + `resources: params: 1`, nil, false},
		{"a pattern constraint", "m.cue", plainHeader + `env: [string]: "x"`, nil, false},
		{"a dynamic label", "m.cue", plainHeader + `env: ("a"): "x"`, nil, false},
		{"an embedding", "m.cue", plainHeader + `resources: {{memoryMiB: 1}}`, nil, false},
		{"a large source", "m.cue", plainHeader + "description: \"" + strings.Repeat("x", maxPlainSource) + "\"", nil, false},
		{"large parameters", "m.cue", plainHeader, map[string]any{"p": strings.Repeat("x", maxPlainParams)}, false},
		{"a syntax error", "m.cue", plainHeader + "ports: [", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plainManifest(map[string][]byte{tt.file: []byte(tt.src)}, tt.params)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plainManifest (-want +got):\n%s", diff)
			}
		})
	}
}

// Plain manifests are evaluated the same in this process as in a child:
// the pre-check changes where, not what.
func TestPlainManifestsEvaluateAlike(t *testing.T) {
	n := 0
	for name, src := range corpus(t) {
		files := map[string][]byte{name: src}
		if !plainManifest(files, nil) {
			continue
		}
		n++
		want := outcomeOf(loadInChild(t.Context(), files, nil, Budget{}))
		if diff := cmp.Diff(want, outcomeOf(LoadFiles(t.Context(), files, Options{}))); diff != "" {
			t.Errorf("%s: (-in a child +in process):\n%s", name, diff)
		}
	}
	if n == 0 {
		t.Fatal("no plain manifest in the corpus")
	}
}
