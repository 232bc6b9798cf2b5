package schema_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	cuejson "cuelang.org/go/encoding/json"
	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/runtimekit/runtimekit/schema"
)

// TestSchemasAgree runs every sample manifest through both schemas: the CUE
// definition #Runtime and manifest.schema.json. Good samples (including the
// built-in plugins' manifests) must pass both, bad ones must fail both; a
// sample on which they disagree means the two schemas drifted apart.
func TestSchemasAgree(t *testing.T) {
	ctx := cuecontext.New()
	def := compileSchema(t, ctx).LookupPath(cue.ParsePath("#Runtime"))
	js := compileJSONSchema(t)

	good, _ := filepath.Glob("testdata/good/*")
	plugins, _ := filepath.Glob("../plugins/*/manifest.cue")
	good = append(good, plugins...)
	bad, _ := filepath.Glob("testdata/bad/*")
	if len(good) < 5+3 || len(bad) < 8 {
		t.Fatalf("sample corpus too small: %d good, %d bad", len(good), len(bad))
	}
	for _, tc := range []struct {
		files []string
		valid bool
	}{{good, true}, {bad, false}} {
		for _, f := range tc.files {
			t.Run(f, func(t *testing.T) {
				v := compileSample(t, ctx, f)
				cueErr := def.Unify(v).Validate(cue.Concrete(true), cue.All())
				data, err := v.MarshalJSON()
				if err != nil {
					t.Fatalf("export %s as JSON: %v", f, err)
				}
				var doc any
				if err := json.Unmarshal(data, &doc); err != nil {
					t.Fatal(err)
				}
				jsErr := js.Validate(doc)
				if tc.valid {
					if cueErr != nil {
						t.Errorf("CUE schema rejects a good manifest: %v", cueErr)
					}
					if jsErr != nil {
						t.Errorf("JSON Schema rejects a good manifest: %v", jsErr)
					}
				} else {
					if cueErr == nil {
						t.Errorf("CUE schema accepts a bad manifest")
					}
					if jsErr == nil {
						t.Errorf("JSON Schema accepts a bad manifest")
					}
				}
			})
		}
	}
}

func compileSchema(t *testing.T, ctx *cue.Context) cue.Value {
	t.Helper()
	files, err := schema.CUEFiles()
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, name := range []string{"runtime.cue", "target.cue"} {
		b, ok := files[name]
		if !ok {
			t.Fatalf("schema file %s not embedded", name)
		}
		// One package: drop the repeated package clause of later files.
		s := string(b)
		if src.Len() > 0 {
			s = strings.Replace(s, "package schema", "", 1)
		}
		src.WriteString(s + "\n")
	}
	v := ctx.CompileString(src.String(), cue.Filename("schema.cue"))
	if err := v.Err(); err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return v
}

func compileJSONSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := schema.JSONSchema("manifest.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource("manifest.schema.json", strings.NewReader(string(b))); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("manifest.schema.json")
	if err != nil {
		t.Fatalf("compile JSON Schema: %v", err)
	}
	return s
}

func compileSample(t *testing.T, ctx *cue.Context, name string) cue.Value {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(name) == ".json" {
		expr, err := cuejson.Extract(name, b)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		return ctx.BuildExpr(expr)
	}
	v := ctx.CompileBytes(b, cue.Filename(name))
	if err := v.Err(); err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return v
}

// TestDecodeRefusesInvalidUTF8: a document with bytes that are not UTF-8
// is refused, never decoded with the bytes replaced.
func TestDecodeRefusesInvalidUTF8(t *testing.T) {
	b := []byte("{\"formatVersion\": 1, \"lineage\": \"\", \"serial\": 0, \"target\": \"x\xff\", \"runtimes\": []}")
	var v map[string]any
	err := schema.Decode("state.schema.json", b, &v)
	if err == nil || !strings.Contains(err.Error(), "not valid UTF-8 (at byte 61)") {
		t.Fatalf("want a refusal naming the byte, got %v (decoded %v)", err, v)
	}
}
