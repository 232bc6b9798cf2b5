// Package diag is the diagnostic: a problem the user must fix, with its
// severity, where it was written and a hint. The manifest loader, the
// target loader and the planner report with it; package manifest
// re-exports these types.
//
// This package imports only the standard library.
package diag

import (
	"fmt"
	"strings"
)

// Severity of a diagnostic.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Pos is a position in a source file. Line and Column are 1-based; a zero
// Line means the position is unknown.
type Pos struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return "-"
	case p.Line == 0:
		return p.File
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	}
}

// Positions maps a value's path in a document ("/ports/0/number") to where
// it was written.
type Positions map[string]Pos

// Diagnostic is a problem the author of a manifest, or the user asking
// for a plan, must fix.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	Pos      Pos      `json:"pos"`
	Path     string   `json:"path,omitempty"` // the value's path, e.g. /ports/0/number
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail,omitempty"`
	Hint     string   `json:"hint,omitempty"`
}

func (d Diagnostic) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s", d.Pos, d.Severity, d.Summary)
	if d.Path != "" {
		fmt.Fprintf(&b, " (at %s)", d.Path)
	}
	if d.Detail != "" {
		fmt.Fprintf(&b, "\n\t%s", d.Detail)
	}
	if d.Hint != "" {
		fmt.Fprintf(&b, "\n\thint: %s", d.Hint)
	}
	return b.String()
}

// Diagnostics is every problem found at once. As an error it lists all of
// them, one per line.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// HasErrors reports whether any diagnostic is an error (not just a warning).
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}
