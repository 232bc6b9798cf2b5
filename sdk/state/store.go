package state

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/schema"
)

// DefaultPath is where the state lives on a machine.
const DefaultPath = "/var/lib/runtimekit/state.json"

// New returns the empty state of a machine runtimekit has not touched.
func New(target string) *State {
	return &State{FormatVersion: FormatVersion, Target: target, Runtimes: []Runtime{}}
}

// NewLineage returns a random lineage identifier.
func NewLineage() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make lineage: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Load reads the state at path. A missing file is not an error: it returns
// the empty state (serial 0, no lineage) and exists=false. Anything but a
// regular file of at most bounded.MaxState bytes is refused.
func Load(path string) (s *State, exists bool, err error) {
	b, err := bounded.ReadFile(path, "a state file", bounded.MaxState)
	if errors.Is(err, fs.ErrNotExist) {
		return New(""), false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read state: %w", err)
	}
	s, err = Parse(b)
	if err != nil {
		hint := ""
		if fi, serr := os.Stat(path + ".prev"); serr == nil && fi.Mode().IsRegular() {
			hint = fmt.Sprintf("\nthe state before the last apply is in %s: check it and copy it over %s to go back to it", path+".prev", path)
		}
		return nil, true, fmt.Errorf("state %s is damaged: %w%s", path, err, hint)
	}
	return s, true, nil
}

// Parse decodes state bytes, checks them against schema/state.schema.json
// and then what the schema cannot (see State.Validate).
func Parse(b []byte) (*State, error) {
	var s State
	if err := schema.Decode("state.schema.json", b, &s); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Marshal returns the state's canonical bytes (runtimes sorted by name).
func (s *State) Marshal() ([]byte, error) {
	c := *s
	c.FormatVersion = FormatVersion
	c.Runtimes = append([]Runtime{}, s.Runtimes...)
	sort.Slice(c.Runtimes, func(i, j int) bool { return c.Runtimes[i].Name < c.Runtimes[j].Name })
	c.Apps = append([]App(nil), s.Apps...)
	sort.Slice(c.Apps, func(i, j int) bool { return c.Apps[i].Name < c.Apps[j].Name })
	return schema.Encode(&c)
}

// Save writes s to path atomically (temp file, fsync, rename, fsync of the
// directory), first keeping the current file as path+".prev" (by a hard
// link, so the old bytes are never rewritten in place). A path that names
// anything but a regular file (after symbolic links) is refused and left
// as it is (see durable.ReplaceFile).
func Save(path string, s *State) error {
	b, err := s.Marshal()
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if _, err := Parse(b); err != nil {
		return fmt.Errorf("refusing to write an invalid state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	prev := path + ".prev"
	// Link the file itself, not a symbolic link to it: the link would
	// show the new state once the file behind it is replaced.
	if cur, err := filepath.EvalSymlinks(path); err == nil {
		if fi, err := os.Stat(cur); err == nil && !fi.Mode().IsRegular() {
			return fmt.Errorf("write state: %w", &durable.NotRegularError{Path: path, Mode: fi.Mode().Type()})
		}
		tmp := prev + ".tmp"
		_ = os.Remove(tmp)
		if err := os.Link(cur, tmp); err != nil {
			return fmt.Errorf("keep previous state: %w", err)
		}
		if err := os.Rename(tmp, prev); err != nil {
			return fmt.Errorf("keep previous state: %w", err)
		}
	}
	if err := durable.ReplaceFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}
