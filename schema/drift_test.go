package schema_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/schema"
	"github.com/runtimekit/runtimekit/sdk/bundle/format"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// TestSchemasMatchGoTypes proves that plan.schema.json and
// state.schema.json (and lock.schema.json and bundle.schema.json, read the
// same way) describe the very fields of the Go types runtimectl decodes
// them into: plan.Plan, state.State, lock.Lock, format.Index and every
// type reachable from them. It walks the types by reflection (json tags)
// beside the schema documents, following $ref (across files too) and
// allOf, anyOf, oneOf and if/then/else branches such as the per-kind rules
// on step inputs, and reports every Go field the schema does not describe
// at that place, every schema property (or name listed in required or
// propertyNames) with no Go field behind it, every object the schema
// leaves open although the Go decoder refuses unknown fields, and every
// JSON type that cannot hold the Go value.
//
// The schemas are written by hand, and this test keeps them honest,
// rather than generated from the Go types, because most of what they say
// is not in the types: name, path, digest and Debian version patterns,
// the "not" that forbids "." and ".." components, enums of kinds, signals
// and formats, bounds on modes, ports and retries, and cross-field rules
// (a step's kind decides which inputs it takes). A
// generator would lose all of that, or need it written again as struct
// tags: a second hand-written copy, in a poorer language. And
// schema.Decode checks every plan and state against these documents
// before decoding, so they are the contract that people writing plans by
// hand and other tools read. What drifts when someone edits one side alone
// is the set of fields and their shape, and that is what this test pins;
// the constraints themselves are tested on sample documents
// (schema_test.go, sdk/plan, sdk/state).
func TestSchemasMatchGoTypes(t *testing.T) {
	docs := loadDocs(t, "plan.schema.json", "state.schema.json", "lock.schema.json", "bundle.schema.json")
	for _, tc := range []struct {
		doc string
		typ reflect.Type
	}{
		{"plan.schema.json", reflect.TypeFor[plan.Plan]()},
		{"state.schema.json", reflect.TypeFor[state.State]()},
		{"lock.schema.json", reflect.TypeFor[lock.Lock]()},
		{"bundle.schema.json", reflect.TypeFor[format.Index]()},
	} {
		t.Run(tc.doc, func(t *testing.T) {
			c := newDriftChecker(docs)
			c.wire[reflect.TypeFor[plan.Step]()] = stepWire(t)
			c.compare(tc.typ, tc.typ.String(), c.place(tc.doc, "#", false))
			for _, p := range c.problems {
				t.Error(p)
			}
			if c.structs == 0 {
				t.Fatalf("walked no Go struct against %s", tc.doc)
			}
		})
	}
}

// TestPlanSchemaStepKinds checks the per-kind rules of the plan schema
// against plan.Kinds: the step kind enum lists exactly the Go kinds, and
// each kind has exactly one if/then branch saying which inputs it takes,
// so a kind added on one side only is caught.
func TestPlanSchemaStepKinds(t *testing.T) {
	docs := loadDocs(t, "plan.schema.json")
	step := lookupPointer(t, docs["plan.schema.json"], "#/$defs/step")
	kindEnum, _ := lookupPointer(t, step, "#/properties/kind")["enum"].([]any)
	var enum []string
	for _, k := range kindEnum {
		enum = append(enum, fmt.Sprint(k))
	}
	want := slices.Sorted(slices.Values(plan.Kinds))
	if slices.Sort(enum); !slices.Equal(enum, want) {
		t.Errorf("plan.schema.json #/$defs/step/properties/kind/enum is %v; plan.Kinds is %v", enum, want)
	}
	branches := map[string]int{}
	all, _ := step["allOf"].([]any)
	for i, b := range all {
		bm, _ := b.(map[string]any)
		ifs, _ := bm["if"].(map[string]any)
		props, _ := ifs["properties"].(map[string]any)
		kind, _ := props["kind"].(map[string]any)
		k, ok := kind["const"].(string)
		if !ok {
			continue
		}
		branches[k]++
		in, ok := plan.NewInputs(k)
		if !ok {
			t.Errorf("plan.schema.json #/$defs/step/allOf/%d is for kind %q, which is not in plan.Kinds", i, k)
			continue
		}
		// The branch names exactly the kind's inputs fields.
		var goNames []string
		for _, f := range jsonFields(reflect.TypeOf(in).Elem()) {
			goNames = append(goNames, f.name)
		}
		then, _ := bm["then"].(map[string]any)
		inputs, _ := lookupPointer(t, then, "#/properties/inputs")["propertyNames"].(map[string]any)
		var names []string
		list, _ := inputs["enum"].([]any)
		for _, n := range list {
			names = append(names, fmt.Sprint(n))
		}
		slices.Sort(goNames)
		if slices.Sort(names); !slices.Equal(names, goNames) {
			t.Errorf("plan.schema.json #/$defs/step/allOf/%d (kind %s) allows inputs %v; the Go type %T has %v", i, k, names, in, goNames)
		}
	}
	for _, k := range plan.Kinds {
		if n := branches[k]; n != 1 {
			t.Errorf("plan.schema.json #/$defs/step/allOf has %d branches for kind %q; want 1 (which inputs it takes)", n, k)
		}
	}
}

// stepWire is plan.Step as its MarshalJSON writes it, its inputs the
// union of every kind's inputs type (TestPlanSchemaStepKinds checks each
// kind's own set of fields against its branch of the schema).
func stepWire(t *testing.T) reflect.Type {
	var fields []reflect.StructField
	byName := map[string]reflect.Type{}
	for _, k := range plan.Kinds {
		in, _ := plan.NewInputs(k)
		for _, f := range jsonFields(reflect.TypeOf(in).Elem()) {
			if prev, ok := byName[f.name]; ok {
				if prev != f.typ {
					t.Errorf("inputs field %q is %s in one kind and %s in %s", f.name, prev, f.typ, k)
				}
				continue
			}
			byName[f.name] = f.typ
			fields = append(fields, reflect.StructField{Name: "F" + strconv.Itoa(len(fields)) + "_" + strings.ReplaceAll(f.goName, ".", "_"),
				Type: f.typ, Tag: reflect.StructTag(`json:"` + f.name + `"`)})
		}
	}
	inputs := reflect.StructOf(fields)
	return reflect.StructOf([]reflect.StructField{
		{Name: "ID", Type: reflect.TypeFor[string](), Tag: `json:"id"`},
		{Name: "Kind", Type: reflect.TypeFor[string](), Tag: `json:"kind"`},
		{Name: "Runtime", Type: reflect.TypeFor[string](), Tag: `json:"runtime,omitempty"`},
		{Name: "Needs", Type: reflect.TypeFor[[]string](), Tag: `json:"needs"`},
		{Name: "Inputs", Type: inputs, Tag: `json:"inputs"`},
	})
}

// TestDriftCheckerReports runs the checker on a small pair of documents
// and Go types that disagree in every way it looks for, so that a checker
// that quietly finds nothing cannot pass TestSchemasMatchGoTypes.
func TestDriftCheckerReports(t *testing.T) {
	type inner struct {
		Kept  string `json:"kept"`
		Count int    `json:"count"`
	}
	type base struct {
		ID string `json:"id"`
	}
	type options struct {
		A string `json:"a,omitempty"`
		B bool   `json:"b,omitempty"`
	}
	type doc struct {
		base
		Name    string            `json:"name"`
		Missing string            `json:"missing"`
		Inner   *inner            `json:"inner"`
		Items   []inner           `json:"items"`
		Env     map[string]inner  `json:"env"`
		Opts    options           `json:"opts"`
		Open    inner             `json:"open"`
		Skipped string            `json:"-"`
		Free    map[string]any    `json:"free"`
		Labels  map[string]string `json:"labels"`
		Bare    []inner           `json:"bare"`
		Wait    unit.Duration     `json:"wait"` // written as a string
	}
	docs := map[string]map[string]any{}
	for name, src := range map[string]string{
		"a.schema.json": `{
			"type": "object", "additionalProperties": false,
			"properties": {
				"id": {"type": "string"},
				"name": {"type": "integer"},
				"extra": {"type": "string"},
				"inner": {"$ref": "b.schema.json#/$defs/inner"},
				"items": {"type": "array", "items": {"$ref": "b.schema.json#/$defs/inner"}},
				"env": {"type": "object", "additionalProperties": {"$ref": "b.schema.json#/$defs/inner"}},
				"opts": {"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}}},
				"open": {"type": "object"},
				"free": {"type": "object"},
				"labels": {"type": "object", "additionalProperties": {"type": "string"}},
				"bare": {"type": "array"},
				"wait": {"type": "integer"}
			},
			"allOf": [{
				"if": {"properties": {"name": {"const": 1}}},
				"then": {"properties": {"opts": {"required": ["a"], "propertyNames": {"enum": ["a", "ghost"]}}}}
			}]
		}`,
		"b.schema.json": `{"$defs": {"inner": {
			"type": "object", "additionalProperties": false,
			"properties": {"kept": {"type": "string"}, "count": {"type": "string"}, "gone": {"type": "boolean"}}
		}}}`,
	} {
		var v map[string]any
		if err := json.Unmarshal([]byte(src), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		docs[name] = v
	}
	c := newDriftChecker(docs)
	c.compare(reflect.TypeFor[doc](), "doc", c.place("a.schema.json", "#", false))
	want := []string{
		`Go field schema_test.doc.Missing (json missing) is not in the schema at a.schema.json #`,
		`Go field schema_test.inner.Count (json count) is int, but b.schema.json #/$defs/inner/properties/count allows only string`,
		`Go field schema_test.inner.Kept (json kept) is not in the schema at a.schema.json #/properties/open`,
		`Go field schema_test.inner.Count (json count) is not in the schema at a.schema.json #/properties/open`,
		`Go field schema_test.doc.Name (json name) is string, but a.schema.json #/properties/name allows only integer`,
		`Go field schema_test.doc.Name (json name) is string, but a.schema.json #/allOf/0/if/properties/name allows the integer 1`,
		`a.schema.json #/allOf/0/then/properties/opts/propertyNames/enum names "ghost", which has no Go field in schema_test.options`,
		`a.schema.json #/properties/extra has no Go field in schema_test.doc`,
		`a.schema.json #/properties/bare has no items for the schema_test.inner elements of Go field schema_test.doc.Bare (json bare)`,
		`a.schema.json #/properties/open leaves the object open (no "additionalProperties": false), but the Go decoder refuses fields schema_test.inner does not have`,
		`b.schema.json #/$defs/inner/properties/gone has no Go field in schema_test.inner`,
		`Go field schema_test.doc.Wait (json wait) is unit.Duration, but a.schema.json #/properties/wait allows only integer`,
	}
	got := slices.Clone(c.problems)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func loadDocs(t *testing.T, names ...string) map[string]map[string]any {
	t.Helper()
	docs := map[string]map[string]any{}
	for _, n := range names {
		b, err := schema.JSONSchema(n)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		docs[n] = v
	}
	return docs
}

func lookupPointer(t *testing.T, doc map[string]any, ptr string) map[string]any {
	t.Helper()
	v, ok := resolvePointer(doc, ptr)
	if !ok {
		t.Fatalf("no %s in the schema", ptr)
	}
	return v
}

// resolvePointer returns the object at a "#/a/b" JSON pointer.
func resolvePointer(doc map[string]any, ptr string) (map[string]any, bool) {
	var cur any = doc
	for _, tok := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(ptr, "#"), "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := cur.(type) {
		case map[string]any:
			cur = c[tok]
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
	m, ok := cur.(map[string]any)
	return m, ok
}

// A schemaNode is one subschema, located for messages.
type schemaNode struct {
	doc, ptr string
	v        map[string]any
	// partial marks a subschema that constrains only some properties
	// (an if/then/else branch): it need not name every Go field.
	partial bool
}

func (n schemaNode) String() string { return n.doc + " " + n.ptr }

func (n schemaNode) child(partial bool, keys ...string) (schemaNode, bool) {
	cur, ptr := any(n.v), n.ptr
	for _, k := range keys {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[k]
		case []any:
			i, _ := strconv.Atoi(k)
			cur = c[i]
		}
		ptr += "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
	}
	m, ok := cur.(map[string]any)
	return schemaNode{doc: n.doc, ptr: ptr, v: m, partial: n.partial || partial}, ok
}

// driftChecker compares Go types with schema documents.
type driftChecker struct {
	// wire maps a Go type with its own JSON encoding to a struct type
	// with the fields that encoding writes.
	wire     map[reflect.Type]reflect.Type
	docs     map[string]map[string]any
	problems []string
	reported map[string]bool
	visited  map[string]bool
	structs  int
}

func newDriftChecker(docs map[string]map[string]any) *driftChecker {
	return &driftChecker{wire: map[reflect.Type]reflect.Type{}, docs: docs, reported: map[string]bool{}, visited: map[string]bool{}}
}

func (c *driftChecker) problem(format string, args ...any) {
	p := fmt.Sprintf(format, args...)
	if !c.reported[p] {
		c.reported[p] = true
		c.problems = append(c.problems, p)
	}
}

// place returns every subschema that applies to the value at ptr in doc:
// the node itself, what its $ref names, and its allOf, anyOf and oneOf
// members and if/then/else branches, recursively. A property described in
// any of them exists at that place; branches of anyOf and oneOf count as
// full descriptions together, if/then/else branches as partial ones.
func (c *driftChecker) place(doc, ptr string, partial bool) []schemaNode {
	v, ok := resolvePointer(c.docs[doc], ptr)
	if !ok {
		c.problem("%s %s: no such schema", doc, ptr)
		return nil
	}
	return c.expand(schemaNode{doc: doc, ptr: ptr, v: v, partial: partial}, map[string]bool{})
}

func (c *driftChecker) expand(n schemaNode, seen map[string]bool) []schemaNode {
	if seen[n.String()] {
		return nil
	}
	seen[n.String()] = true
	out := []schemaNode{n}
	if ref, ok := n.v["$ref"].(string); ok {
		doc, ptr, _ := strings.Cut(ref, "#")
		doc = strings.TrimPrefix(doc, "https://runtimekit.dev/schema/")
		if doc == "" {
			doc = n.doc
		}
		if _, ok := c.docs[doc]; !ok {
			c.problem("%s/$ref names %s, which is not loaded", n, ref)
		} else if v, ok := resolvePointer(c.docs[doc], "#"+ptr); !ok {
			c.problem("%s/$ref names %s, which does not exist", n, ref)
		} else {
			out = append(out, c.expand(schemaNode{doc: doc, ptr: "#" + ptr, v: v, partial: n.partial}, seen)...)
		}
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := n.v[k].([]any)
		for i := range list {
			if m, ok := n.child(false, k, strconv.Itoa(i)); ok {
				out = append(out, c.expand(m, seen)...)
			}
		}
	}
	for _, k := range []string{"if", "then", "else"} {
		if m, ok := n.child(true, k); ok {
			out = append(out, c.expand(m, seen)...)
		}
	}
	return out
}

// jsonField is a struct field as encoding/json sees it.
type jsonField struct {
	goName, name string
	typ          reflect.Type
}

// jsonFields lists t's fields by their JSON names, with embedded structs
// flattened as encoding/json does.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{goName: t.String() + "." + f.Name, name: name, typ: f.Type})
	}
	return out
}

// compare checks Go type t (named goName in messages) against the
// subschemas that describe its value.
func (c *driftChecker) compare(t reflect.Type, goName string, nodes []schemaNode) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if w, ok := c.wire[t]; ok {
		t = w
	}
	if len(nodes) == 0 {
		return
	}
	var locs []string
	for _, n := range nodes {
		locs = append(locs, n.String())
	}
	key := t.String() + "\x00" + strings.Join(locs, "\x00")
	if c.visited[key] {
		return
	}
	c.visited[key] = true
	c.checkType(t, goName, nodes)
	switch t.Kind() {
	case reflect.Struct:
		c.compareStruct(t, nodes)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return // []byte is a base64 string
		}
		var items []schemaNode
		for _, n := range nodes {
			if m, ok := n.child(false, "items"); ok {
				items = append(items, c.expand(m, map[string]bool{})...)
			}
		}
		c.requireDescribed(t.Elem(), goName, nodes, items, "items")
		c.compare(t.Elem(), "element of "+goName, items)
	case reflect.Map:
		var values []schemaNode
		for _, n := range nodes {
			if m, ok := n.child(false, "additionalProperties"); ok {
				values = append(values, c.expand(m, map[string]bool{})...)
			}
		}
		c.requireDescribed(t.Elem(), goName, nodes, values, "additionalProperties")
		c.compare(t.Elem(), "value of "+goName, values)
	}
}

// requireDescribed reports a collection of structs whose elements the
// schema says nothing about.
func (c *driftChecker) requireDescribed(elem reflect.Type, goName string, nodes, sub []schemaNode, keyword string) {
	for elem.Kind() == reflect.Pointer {
		elem = elem.Elem()
	}
	if elem.Kind() != reflect.Struct || slices.ContainsFunc(sub, func(n schemaNode) bool { return !n.partial }) {
		return
	}
	if full := fullNodes(nodes); len(full) > 0 {
		c.problem("%s has no %s for the %s elements of Go %s", full[0], keyword, elem, goName)
	}
}

// fullNodes returns the subschemas of a place that describe it whole
// (not if/then/else branches), the one declaring properties first: it is
// where a missing property belongs.
func fullNodes(nodes []schemaNode) []schemaNode {
	var out []schemaNode
	for _, n := range nodes {
		if !n.partial {
			out = append(out, n)
		}
	}
	slices.SortStableFunc(out, func(a, b schemaNode) int { return rank(a) - rank(b) })
	return out
}

func rank(n schemaNode) int {
	if _, ok := n.v["properties"]; ok {
		return 0
	}
	if n.v["type"] == "object" {
		return 1
	}
	return 2
}

func (c *driftChecker) compareStruct(t reflect.Type, nodes []schemaNode) {
	c.structs++
	fields := jsonFields(t)
	byName := map[string]jsonField{}
	for _, f := range fields {
		byName[f.name] = f
	}
	for _, n := range nodes {
		props, _ := n.v["properties"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(props)) {
			if _, ok := byName[name]; !ok {
				c.problem("%s/properties/%s has no Go field in %s", n, name, t)
			}
		}
		req, _ := n.v["required"].([]any)
		for i, r := range req {
			if _, ok := byName[fmt.Sprint(r)]; !ok {
				c.problem("%s/required/%d names %q, which has no Go field in %s", n, i, r, t)
			}
		}
		if pn, ok := n.child(false, "propertyNames"); ok {
			enum, _ := pn.v["enum"].([]any)
			for _, e := range enum {
				if _, ok := byName[fmt.Sprint(e)]; !ok {
					c.problem("%s/enum names %q, which has no Go field in %s", pn, e, t)
				}
			}
		}
		_, hasProps := n.v["properties"]
		if n.partial || n.v["type"] != "object" && !hasProps {
			continue
		}
		switch ap := n.v["additionalProperties"].(type) {
		case bool:
			if ap {
				c.problem("%s allows any property, but the Go decoder refuses fields %s does not have", n, t)
			}
		case nil:
			c.problem(`%s leaves the object open (no "additionalProperties": false), but the Go decoder refuses fields %s does not have`, n, t)
		default:
			c.problem("%s describes a map (additionalProperties), but Go %s is a struct", n, t)
		}
	}
	full := fullNodes(nodes)
	for _, f := range fields {
		var sub []schemaNode
		described := false
		for _, n := range nodes {
			if m, ok := n.child(false, "properties", f.name); ok {
				sub = append(sub, c.expand(m, map[string]bool{})...)
				described = described || !m.partial
			}
		}
		if !described && len(full) > 0 {
			c.problem("Go field %s (json %s) is not in the schema at %s", f.goName, f.name, full[0])
		}
		c.compare(f.typ, fmt.Sprintf("field %s (json %s)", f.goName, f.name), sub)
	}
}

// checkType reports subschemas whose "type", "const" or "enum" cannot hold
// a value of Go type t. JSON null is left aside: encoding/json writes it
// for nil slices and maps and accepts it for anything.
func (c *driftChecker) checkType(t reflect.Type, goName string, nodes []schemaNode) {
	want := jsonType(t)
	if want == "" {
		return
	}
	ok := func(jt string) bool { return jt == want || want == "integer" && jt == "number" || jt == "null" }
	for _, n := range nodes {
		var allowed []string
		switch ty := n.v["type"].(type) {
		case string:
			allowed = []string{ty}
		case []any:
			for _, x := range ty {
				allowed = append(allowed, fmt.Sprint(x))
			}
		}
		if len(allowed) > 0 && !slices.ContainsFunc(allowed, func(jt string) bool { return ok(jt) && jt != "null" }) {
			c.problem("Go %s is %s, but %s allows only %s", goName, t, n, strings.Join(allowed, ", "))
		}
		values, _ := n.v["enum"].([]any)
		if cv, has := n.v["const"]; has {
			values = append(values, cv)
		}
		for _, v := range values {
			if jt := valueType(v); !ok(jt) {
				c.problem("Go %s is %s, but %s allows the %s %v", goName, t, n, jt, v)
			}
		}
	}
}

// jsonType is the JSON Schema type encoding/json writes for t, or "" for
// an interface, which may hold anything. A type with its own MarshalJSON
// (a duration written as "5s") is asked: its zero value's JSON is the
// type of them all.
func jsonType(t reflect.Type) string {
	if t.Kind() != reflect.Interface && t.Implements(reflect.TypeFor[json.Marshaler]()) {
		b, err := json.Marshal(reflect.Zero(t).Interface())
		if err != nil {
			return ""
		}
		var v any
		if json.Unmarshal(b, &v) != nil {
			return ""
		}
		return valueType(v)
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string"
		}
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return ""
}

func valueType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}
