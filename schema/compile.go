package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

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
	// encoding/json replaces invalid UTF-8 with U+FFFD without a word: a
	// path or name would silently become another one.
	if !utf8.Valid(b) {
		return fmt.Errorf("not valid UTF-8 (at byte %d): runtimekit documents are UTF-8 JSON", invalidUTF8At(b))
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	s, err := Compile(name)
	if err != nil {
		return err
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("does not match %s: %s", name, explain(err, doc))
	}
	return DecodeStrict(b, v)
}

// explain turns a validation error into one line per failing value: where
// it is, the value itself, and what was wrong. The library's own message
// names the location and the schema keyword but not the value, so "a path
// with .." would read as "not failed".
func explain(err error, doc any) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	var lines []string
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		loc := e.InstanceLocation
		if loc == "" {
			loc = "/"
		}
		line := loc
		if val, ok := lookup(doc, e.InstanceLocation); ok {
			if b, err := json.Marshal(val); err == nil && len(b) <= 200 {
				line += " = " + string(b)
			}
		}
		msg := e.Message
		if msg == "not failed" {
			// Every "not" in runtimekit's schemas forbids path forms.
			msg = "a form this field forbids (a '.' or '..' component, '//' or a trailing '/')"
		}
		line += ": " + msg
		if !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	walk(ve)
	return strings.Join(lines, "; ")
}

// lookup resolves a JSON pointer in a decoded document.
func lookup(doc any, pointer string) (any, bool) {
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// DecodeStrict decodes JSON into v, refusing unknown fields, without the
// schema pass (for documents checked when they were made).
func DecodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Encode writes v as runtimekit writes every document: indented JSON, HTML
// characters unescaped (constraints like ">= 1.22" stay readable), a final
// newline. With sorted inputs, equal documents give equal bytes.
func Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// invalidUTF8At returns the offset of the first byte of b that is not
// valid UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}
