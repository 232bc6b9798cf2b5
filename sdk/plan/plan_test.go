package plan_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/sdk/plan"
)

// A plan made by the planner (its golden file) is the valid sample.
func sample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../planner/testdata/golden/webvm-i386-nginx.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseAcceptsAndRoundTrips(t *testing.T) {
	b := sample(t)
	p, err := plan.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Error("Marshal(Parse(b)) != b")
	}
}

func TestParseRejects(t *testing.T) {
	b := string(sample(t))
	tests := []struct{ name, from, to, want string }{
		{"unknown step kind", `"kind": "write-file"`, `"kind": "format-disk"`, "kind"},
		{"unknown field", `"kind": "write-file"`, `"kind": "write-file", "sudo": true`, "sudo"},
		{"dot-dot path", `"path": "/srv/www/index.html"`, `"path": "/srv/www/../../etc/passwd"`, "path"},
		{"relative path", `"path": "/srv/www/index.html"`, `"path": "srv/www/index.html"`, "path"},
		{"undo is not a plan field", `"kind": "write-file"`, `"kind": "write-file", "undo": "restore-file"`, "undo"},
		{"inputs of another kind", `"serviceName": "nginx"`, `"serviceName": "nginx", "purge": true`, "purge"},
		{"older format", `"formatVersion": 2`, `"formatVersion": 1`, "made by an older runtimectl"},
		{"newer format", `"formatVersion": 2`, `"formatVersion": 3`, "made by a newer runtimectl"},
		{"bad lineage", `"lineage": ""`, `"lineage": "../x"`, "lineage"},
		{"needs a later step", `"needs": [
        "install-packages"
      ],`, `"needs": [
        "record-state"
      ],`, "not an earlier step"},
		{"unlisted artifact", `"artifacts": [
          "`, `"artifacts": [
          "0000000000000000000000000000000000000000000000000000000000000000",
          "`, "does not list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Replace(b, tt.from, tt.to, 1)
			if bad == b {
				t.Fatalf("replacement %q did not apply", tt.from)
			}
			_, err := plan.Parse([]byte(bad))
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not mention %q:\n%v", tt.want, err)
			}
		})
	}
}

func TestRender(t *testing.T) {
	p, err := plan.Parse(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	var human, dot bytes.Buffer
	if err := p.Render(&human); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+ nginx 1.22.1", "Packages: 22 to install, 0 to remove", "Ports: 80/tcp (nginx)", "Memory: 0 MiB -> 16 MiB of 512 MiB"} {
		if !strings.Contains(human.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, human.String())
		}
	}
	if err := p.Dot(&dot); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dot.String(), `"start-service:nginx" -> "wait-health:nginx/nginx-http";`) {
		t.Errorf("dot lacks the start -> health edge:\n%s", dot.String())
	}
}

// TestStepDecodingIsStrict decodes steps without the schema: a step takes
// only its own kind's inputs.
func TestStepDecodingIsStrict(t *testing.T) {
	var s plan.Step
	if err := json.Unmarshal([]byte(`{"id": "a", "kind": "start-service", "needs": [], "inputs": {"serviceName": "web"}}`), &s); err != nil {
		t.Fatal(err)
	}
	if in, ok := s.Inputs.(*plan.StartService); !ok || in.ServiceName != "web" || s.Kind() != plan.KindStartService {
		t.Fatalf("decoded %#v", s)
	}
	for _, tc := range []struct{ doc, want string }{
		{`{"id": "a", "kind": "start-service", "needs": [], "inputs": {"serviceName": "web", "purge": true}}`, `unknown field "purge"`},
		{`{"id": "a", "kind": "write-file", "needs": [], "inputs": {"serviceName": "web"}}`, `unknown field "serviceName"`},
		{`{"id": "a", "kind": "format-disk", "needs": [], "inputs": {}}`, `unknown kind "format-disk"`},
		{`{"id": "a", "kind": "start-service", "needs": [], "inputs": {}, "undo": "none"}`, `unknown field "undo"`},
	} {
		var s plan.Step
		err := json.Unmarshal([]byte(tc.doc), &s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.doc, err, tc.want)
		}
	}
}

// TestEveryKindHasInputs: each kind in Kinds decodes into inputs of its
// own kind, and a step's JSON names the kind its inputs have.
func TestEveryKindHasInputs(t *testing.T) {
	for _, k := range plan.Kinds {
		in, ok := plan.NewInputs(k)
		if !ok || in.Kind() != k {
			t.Fatalf("NewInputs(%q) = %v, %v", k, in, ok)
		}
		b, err := json.Marshal(plan.Step{ID: "x", Inputs: in})
		if err != nil {
			t.Fatal(err)
		}
		var back plan.Step
		if err := json.Unmarshal(b, &back); err != nil || back.Kind() != k {
			t.Errorf("%s: %s decoded as %q (%v)", k, b, back.Kind(), err)
		}
	}
	if _, ok := plan.NewInputs("format-disk"); ok {
		t.Error("NewInputs accepts an unknown kind")
	}
}
