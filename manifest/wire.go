package manifest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
)

// The evaluating process and its parent exchange one request and one
// response as JSON (see evaluator.go). Most of a result is plain data; the
// exceptions are parameter values, which are `any` and whose Go types
// (int64 or float64, []byte or string) must survive the trip unchanged so
// that a manifest loaded through the evaluating process equals one evaluated
// in place. typedValue carries them with their type.

const (
	kindRuntime = "runtime"
	kindTarget  = "target"
	kindApp     = "app"
)

type evalRequest struct {
	Kind   string                `json:"kind"`
	Files  map[string][]byte     `json:"files"`
	Params map[string]typedValue `json:"params,omitempty"`
	// Memory is the memory budget in bytes, which the evaluating process
	// enforces on itself (its time budget is enforced by the parent).
	Memory int64 `json:"memory"`
}

// evalResponse is the outcome of one evaluation: diagnostics, or an error
// that is not the manifest's fault, or the evaluated value as JSON with its
// parameters and source positions.
type evalResponse struct {
	Diagnostics Diagnostics     `json:"diagnostics"`
	Error       string          `json:"error,omitempty"`
	Value       json.RawMessage `json:"value,omitempty"`
	Params      wireParams      `json:"params"`
	Source      Positions       `json:"source"`
}

// wireParams is []Param whose values keep their Go types through JSON.
type wireParams []Param

type wireParam struct {
	Name        string     `json:"name"`
	Type        string     `json:"type"`
	Default     typedValue `json:"default"`
	Value       typedValue `json:"value"`
	Constraint  string     `json:"constraint,omitempty"`
	Description string     `json:"description,omitempty"`
}

func (ps wireParams) MarshalJSON() ([]byte, error) {
	if ps == nil {
		return []byte("null"), nil
	}
	out := make([]wireParam, len(ps))
	for i, p := range ps {
		out[i] = wireParam{p.Name, p.Type, typedValue{p.Default}, typedValue{p.Value}, p.Constraint, p.Description}
	}
	return json.Marshal(out)
}

func (ps *wireParams) UnmarshalJSON(b []byte) error {
	var in []wireParam
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	if in == nil {
		*ps = nil
		return nil
	}
	out := make(wireParams, len(in))
	for i, p := range in {
		out[i] = Param{Name: p.Name, Type: p.Type, Default: p.Default.v, Value: p.Value.v, Constraint: p.Constraint, Description: p.Description}
	}
	*ps = out
	return nil
}

// typedValue is a value of the kinds CUE decodes into `any` (nil, bool,
// int64, *big.Int, float64, *big.Float, string, []byte, []any,
// map[string]any), written as JSON with its kind. Other Go values, which
// only callers' parameters can hold, are reduced to those kinds first.
type typedValue struct{ v any }

type wireValue struct {
	Kind string               `json:"k"`
	Text string               `json:"t,omitempty"`
	Prec uint                 `json:"p,omitempty"`
	List []wireValue          `json:"l,omitempty"`
	Map  map[string]wireValue `json:"m,omitempty"`
}

func (t typedValue) MarshalJSON() ([]byte, error) {
	w, err := toWire(t.v, 0)
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

func (t *typedValue) UnmarshalJSON(b []byte) error {
	var w wireValue
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	v, err := fromWire(w)
	t.v = v
	return err
}

// maxWireDepth bounds the nesting of a value, so that a cyclic value from a
// caller is an error rather than endless recursion.
const maxWireDepth = 1000

func toWire(v any, depth int) (wireValue, error) {
	if depth > maxWireDepth {
		return wireValue{}, fmt.Errorf("value nested more than %d deep", maxWireDepth)
	}
	switch x := v.(type) {
	case nil:
		return wireValue{Kind: "null"}, nil
	case bool:
		return wireValue{Kind: "bool", Text: strconv.FormatBool(x)}, nil
	case string:
		return wireValue{Kind: "string", Text: x}, nil
	case []byte:
		return wireValue{Kind: "bytes", Text: base64.StdEncoding.EncodeToString(x)}, nil
	case int64:
		return wireValue{Kind: "int", Text: strconv.FormatInt(x, 10)}, nil
	case float64:
		return wireValue{Kind: "float", Text: strconv.FormatFloat(x, 'g', -1, 64)}, nil
	case *big.Int:
		if x == nil {
			return wireValue{Kind: "null"}, nil
		}
		return wireValue{Kind: "bigint", Text: x.String()}, nil
	case *big.Float:
		if x == nil {
			return wireValue{Kind: "null"}, nil
		}
		return wireValue{Kind: "bigfloat", Text: x.Text('g', -1), Prec: x.Prec()}, nil
	case json.Number:
		return toWire(normalizeNumbers(x), depth+1)
	case []any:
		w := wireValue{Kind: "list", List: make([]wireValue, len(x))}
		for i, e := range x {
			var err error
			if w.List[i], err = toWire(e, depth+1); err != nil {
				return wireValue{}, err
			}
		}
		return w, nil
	case map[string]any:
		w := wireValue{Kind: "struct", Map: make(map[string]wireValue, len(x))}
		for k, e := range x {
			ew, err := toWire(e, depth+1)
			if err != nil {
				return wireValue{}, err
			}
			w.Map[k] = ew
		}
		return w, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32:
		return toWire(rv.Int(), depth+1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u > math.MaxInt64 {
			return toWire(new(big.Int).SetUint64(u), depth+1)
		}
		return toWire(int64(rv.Uint()), depth+1)
	case reflect.Float32:
		return toWire(rv.Float(), depth+1)
	}
	// Anything else (a struct, a []string, a map[string]int) goes the way
	// CUE itself would read it: through its JSON form.
	b, err := json.Marshal(v)
	if err != nil {
		return wireValue{}, fmt.Errorf("value of type %T: %w", v, err)
	}
	var g any
	if err := json.Unmarshal(b, &g); err != nil {
		return wireValue{}, fmt.Errorf("value of type %T: %w", v, err)
	}
	return toWire(normalizeNumbers(g), depth+1)
}

func fromWire(w wireValue) (any, error) {
	switch w.Kind {
	case "null":
		return nil, nil
	case "bool":
		return strconv.ParseBool(w.Text)
	case "string":
		return w.Text, nil
	case "bytes":
		return base64.StdEncoding.DecodeString(w.Text)
	case "int":
		return strconv.ParseInt(w.Text, 10, 64)
	case "float":
		return strconv.ParseFloat(w.Text, 64)
	case "bigint":
		i, ok := new(big.Int).SetString(w.Text, 10)
		if !ok {
			return nil, fmt.Errorf("bad integer %q", w.Text)
		}
		return i, nil
	case "bigfloat":
		f, _, err := big.ParseFloat(w.Text, 10, w.Prec, big.ToNearestEven)
		return f, err
	case "list":
		out := make([]any, len(w.List))
		for i, e := range w.List {
			var err error
			if out[i], err = fromWire(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "struct":
		out := make(map[string]any, len(w.Map))
		for k, e := range w.Map {
			v, err := fromWire(e)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown value kind %q", w.Kind)
}
