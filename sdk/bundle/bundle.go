package bundle

import "github.com/runtimekit/runtimekit/sdk/bundle/format"

// The bundle format (index, open, verify) is sdk/bundle/format, which has
// no network code and is what the executor reads bundles with; these
// names keep it at hand for the users of Fetch.

// FormatVersion is the bundle.json format this package reads and writes.
const FormatVersion = format.FormatVersion

// IndexName is the name of the index file at the root of a bundle.
const IndexName = format.IndexName

// File kinds.
const (
	KindDeb     = format.KindDeb
	KindNPM     = format.KindNPM
	KindArchive = format.KindArchive
	KindRelease = format.KindRelease
	KindEnv     = format.KindEnv
)

// Directories of a bundle that hold its files.
const (
	DebDir      = format.DebDir
	ArtifactDir = format.ArtifactDir
)

type (
	// Index is the content of bundle.json.
	Index = format.Index
	// File is one file of a bundle.
	File = format.File
	// Bundle is an opened bundle directory.
	Bundle = format.Bundle
	// Problem is one bad file found by Verify.
	Problem = format.Problem
	// VerifyError lists every bad file of a bundle.
	VerifyError = format.VerifyError
)

// Open reads dir/bundle.json and checks it; see [format.Open].
func Open(dir string) (*Bundle, error) { return format.Open(dir) }

// ParseIndex decodes and checks bundle.json bytes; see [format.ParseIndex].
func ParseIndex(b []byte) (*Index, error) { return format.ParseIndex(b) }
