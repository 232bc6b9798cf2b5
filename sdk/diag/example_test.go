package diag_test

import (
	"errors"
	"fmt"

	"github.com/runtimekit/runtimekit/sdk/diag"
)

func ExampleDiagnostics() {
	var err error = diag.Diagnostics{
		{Severity: diag.SeverityWarning, Pos: diag.Pos{File: "manifest.cue"}, Summary: "no health check"},
		{Severity: diag.SeverityError, Pos: diag.Pos{File: "manifest.cue", Line: 12, Column: 3}, Path: "/ports/0/number",
			Summary: "invalid value 70000 (out of bound <=65535)", Hint: "a port is 1..65535"},
	}
	var ds diag.Diagnostics
	if errors.As(err, &ds) && ds.HasErrors() {
		fmt.Println(err)
	}
	// Output:
	// manifest.cue: warning: no health check
	// manifest.cue:12:3: error: invalid value 70000 (out of bound <=65535) (at /ports/0/number)
	// 	hint: a port is 1..65535
}
