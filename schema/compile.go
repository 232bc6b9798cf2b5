package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// baseURL is the $id prefix of every embedded JSON Schema; schemas refer to
// each other relative to it (plan.schema.json uses state.schema.json's defs).
const baseURL = "https://runtimekit.dev/schema/"

// compiled caches compiled schemas by name. It is the package's one piece of
// global state, kept on purpose: the schemas are embedded and immutable, and
// compiling one costs milliseconds natively, ten times that in the VM, on
// every document read.
var compiled sync.Map // name → *jsonschema.Schema

// Compile returns the embedded JSON Schema with the given file name (e.g.
// "plan.schema.json"), compiled as draft 2020-12 with every other embedded
// schema available to its $refs.
func Compile(name string) (*jsonschema.Schema, error) {
	if s, ok := compiled.Load(name); ok {
		return s.(*jsonschema.Schema), nil
	}
	s, err := compile(name)
	if err != nil {
		return nil, err
	}
	compiled.Store(name, s)
	return s, nil
}

func compile(name string) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	names, err := fs.Glob(files, "*.schema.json")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		if err := c.AddResource(baseURL+n, bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("load schema %s: %w", n, err)
		}
	}
	s, err := c.Compile(baseURL + name)
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", name, err)
	}
	return s, nil
}

// Decode checks JSON document b against the embedded JSON Schema name, then
// decodes it into v with unknown fields refused: the one way runtimekit
// reads its documents (locks, plans, state, bundle indexes).
func Decode(name string, b []byte, v any) error {
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	s, err := Compile(name)
	if err != nil {
		return err
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("does not match %s: %w", name, err)
	}
	return DecodeStrict(b, v)
}

// DecodeStrict decodes JSON into v, refusing unknown fields, without the
// schema pass (for documents checked when they were made).
func DecodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
