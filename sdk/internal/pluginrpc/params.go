package pluginrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Parameter values cross the wire as one JSON object. Decoded, a value is
// nil, bool, string, int64 (a number written without fraction or exponent
// that fits), float64 (any other number), []any or map[string]any. Keeping
// integers as int64 spares plugin authors float64 port numbers.

// EncodeParams encodes parameter values for the wire. A nil map encodes to
// nil so that "no parameters" survives the round trip.
func EncodeParams(params map[string]any) ([]byte, error) {
	if params == nil {
		return nil, nil
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	return b, nil
}

// DecodeParams decodes parameter values encoded by EncodeParams.
func DecodeParams(b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var params map[string]any
	if err := dec.Decode(&params); err != nil {
		return nil, fmt.Errorf("decode parameters: %w", err)
	}
	for k, v := range params {
		params[k] = NormalizeNumbers(v)
	}
	return params, nil
}

// NormalizeNumbers replaces every json.Number in v (a value decoded with
// json.Decoder.UseNumber) by an int64 or a float64, as described above.
func NormalizeNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		f, err := v.Float64()
		if err != nil {
			// Out of float64 range: Go's encoder never writes such a
			// number, so keep the text rather than invent a value.
			return string(v)
		}
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = NormalizeNumbers(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = NormalizeNumbers(e)
		}
		return v
	default:
		return v
	}
}
