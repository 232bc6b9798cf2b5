package manifest

import (
	"github.com/runtimekit/runtimekit/sdk/diag"
	"github.com/runtimekit/runtimekit/sdk/spec"
)

// The declared types live in sdk/spec, which has no CUE in it; they are
// aliased here so that code written against this package keeps working.
type (
	Manifest            = spec.Manifest
	Platform            = spec.Platform
	UnsupportedPlatform = spec.UnsupportedPlatform
	Requirement         = spec.Requirement
	Capability          = spec.Capability
	Packages            = spec.Packages
	DebianPackage       = spec.DebianPackage
	Archive             = spec.Archive
	NPMPackage          = spec.NPMPackage
	Port                = spec.Port
	File                = spec.File
	Service             = spec.Service
	HealthCheck         = spec.HealthCheck
	HTTPProbe           = spec.HTTPProbe
	ExecProbe           = spec.ExecProbe
	Resources           = spec.Resources
	Param               = spec.Param
	Duration            = spec.Duration

	Target       = spec.Target
	AppFile      = spec.AppFile
	DebianSuite  = spec.DebianSuite
	TargetBudget = spec.TargetBudget
	TargetBase   = spec.TargetBase
)

// File kinds, restart policies and health check kinds.
const (
	FileManaged      = spec.FileManaged
	FileUserConfig   = spec.FileUserConfig
	RestartAlways    = spec.RestartAlways
	RestartOnFailure = spec.RestartOnFailure
	RestartNever     = spec.RestartNever
	HealthHTTP       = spec.HealthHTTP
	HealthTCP        = spec.HealthTCP
	HealthExec       = spec.HealthExec
)

// DebianArch maps a Go architecture name to dpkg's.
func DebianArch(goarch string) string { return spec.DebianArch(goarch) }

// HealthField maps a field of a resolved health check to where the
// manifest writes it (see spec.HealthField).
func HealthField(f string) string { return spec.HealthField(f) }

// ParamNote names the user parameters a diagnosed value carries (see
// spec.ParamNote).
func ParamNote(runtime string, params map[string]any, value string) string {
	return spec.ParamNote(runtime, params, value)
}

// Diagnostics are diag's (sdk/diag), aliased here for the loader's callers.
type (
	Severity    = diag.Severity
	Pos         = diag.Pos
	Positions   = diag.Positions
	Diagnostic  = diag.Diagnostic
	Diagnostics = diag.Diagnostics
)

// Severities.
const (
	SeverityError   = diag.SeverityError
	SeverityWarning = diag.SeverityWarning
)
