package host

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/runtimekit/runtimekit/manifest"
)

// Catalog is the runtimes a Host's plugins declare, plus manifests given
// as source files, as the planner asks for them: it implements
// planner.Catalog. A manifest in Files takes the place of a plugin of the
// same name.
type Catalog struct {
	Host *Host
	// Files holds manifests given directly (`runtimectl plan --manifest`):
	// by runtime name, the manifest's source files by file name.
	Files map[string]map[string][]byte
}

// Names lists the runtimes of Files and of the discovered plugins, sorted.
func (c *Catalog) Names(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for n := range c.Files {
		add(n)
	}
	ps, err := c.Host.Plugins(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		add(p.Name)
	}
	sort.Strings(names)
	return names, nil
}

// Manifest evaluates the named runtime's manifest with params. Without
// params a plugin's manifest comes from the host's cache; with them it is
// evaluated again from the plugin's (cached) Describe answer. A name no
// plugin has is a diagnostic, as the planner reports what the user asked
// for.
func (c *Catalog) Manifest(ctx context.Context, name string, params map[string]any) (*manifest.Manifest, error) {
	if files, ok := c.Files[name]; ok {
		return manifest.LoadFiles(ctx, files, manifest.Options{Params: params})
	}
	m, err := c.fromHost(ctx, name, params)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return nil, manifest.Diagnostics{{Severity: manifest.SeverityError, Pos: manifest.Pos{File: "command line"},
			Summary: fmt.Sprintf("no runtime named %q", name), Hint: err.Error()}}
	}
	return m, err
}

func (c *Catalog) fromHost(ctx context.Context, name string, params map[string]any) (*manifest.Manifest, error) {
	if len(params) == 0 {
		return c.Host.Manifest(ctx, name)
	}
	d, err := c.Host.Describe(ctx, name)
	if err != nil {
		return nil, err
	}
	return manifest.LoadFiles(ctx, d.Manifest, manifest.Options{Params: params})
}
