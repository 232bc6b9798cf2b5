package unit

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("5s",
// "250ms") in manifests, plans and states.
type Duration time.Duration

// ParseDuration parses a Go duration string ("5s", "1m30s").
func ParseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return Duration(d), nil
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string, as time.Duration.String
// does ("1m30s", "0s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string; anything else, an empty string
// included, is an error that quotes what was written.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"5s\": %w", err)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"5s\" or \"500ms\": %w", s, err)
	}
	*d = v
	return nil
}
