package schema

import (
	"embed"
	"io/fs"
)

//go:embed *.cue *.json
var files embed.FS

// FS holds the schema files: *.cue (package schema) and *.schema.json.
func FS() fs.FS { return files }

// CUEFiles returns the CUE schema sources by file name.
func CUEFiles() (map[string][]byte, error) {
	names, err := fs.Glob(files, "*.cue")
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out[n] = b
	}
	return out, nil
}

// JSONSchema returns the JSON Schema document with the given file name, e.g.
// "manifest.schema.json".
func JSONSchema(name string) ([]byte, error) { return files.ReadFile(name) }
