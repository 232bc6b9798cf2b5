package schema

import (
	"bytes"
	"fmt"
	"io/fs"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// baseURL is the $id prefix of every embedded JSON Schema; schemas refer to
// each other relative to it (plan.schema.json uses state.schema.json's defs).
const baseURL = "https://runtimekit.dev/schema/"

// Compile returns the embedded JSON Schema with the given file name (e.g.
// "plan.schema.json"), compiled as draft 2020-12 with every other embedded
// schema available to its $refs.
func Compile(name string) (*jsonschema.Schema, error) {
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
