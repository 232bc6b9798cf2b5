package sdk

import (
	"fmt"
	"io/fs"
	"path"
)

// DescribeFS builds a DescribeResponse from the manifest files (*.cue and
// *.json) at the root of fsys, typically an embed.FS next to the plugin's code:
//
//	//go:embed manifest.cue
//	var manifestFS embed.FS
func DescribeFS(name, version string, fsys fs.FS) (*DescribeResponse, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read manifest files of %s: %w", name, err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if ext := path.Ext(e.Name()); e.IsDir() || (ext != ".cue" && ext != ".json") {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read manifest file %s of %s: %w", e.Name(), name, err)
		}
		files[e.Name()] = b
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("plugin %s embeds no .cue or .json manifest file", name)
	}
	return &DescribeResponse{Name: name, Version: version, Manifest: files}, nil
}
