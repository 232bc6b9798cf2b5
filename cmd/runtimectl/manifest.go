//go:build !vm

package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/manifest"
)

func (a *app) manifestCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "manifest", Short: "Show or check runtime manifests"}
	var params []string
	show := &cobra.Command{
		Use:   "show NAME...",
		Short: "Show plugins' evaluated manifests (one JSON object, or an array for several)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := parseParams(params)
			if err != nil {
				return err
			}
			var ms []*manifest.Manifest
			for _, name := range args {
				m, err := a.loadRuntime(cmd, name, p)
				if err != nil {
					return err
				}
				ms = append(ms, m)
			}
			if a.json {
				if len(ms) == 1 {
					return a.printJSON(ms[0])
				}
				return a.printJSON(ms)
			}
			for i, m := range ms {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				printManifest(a, m)
			}
			return nil
		},
	}
	show.Flags().StringArrayVarP(&params, "param", "p", nil, "set a parameter: NAME=VALUE (VALUE is JSON, or else a string)")

	var checkParams []string
	check := &cobra.Command{
		Use:   "check FILE...",
		Short: "Validate manifest files (.cue or .json) without building a plugin",
		Long: "Validate manifest files against the schema and runtimekit's rules. Several files\n" +
			"form one manifest (one CUE package). Every problem is reported, with file:line:col.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := parseParams(checkParams)
			if err != nil {
				return err
			}
			files, err := readFiles(args)
			if err != nil {
				return err
			}
			m, err := manifest.LoadFiles(cmd.Context(), files, manifest.Options{Params: p})
			var ds manifest.Diagnostics
			if asDiagnostics(err, &ds) {
				return a.reportDiagnostics(ds)
			}
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"ok": true, "name": m.Name, "version": m.Version, "diagnostics": []any{}})
			}
			fmt.Fprintf(a.stdout, "%s %s: ok\n", m.Name, m.Version)
			return nil
		},
	}
	check.Flags().StringArrayVarP(&checkParams, "param", "p", nil, "set a parameter: NAME=VALUE")
	cmd.AddCommand(show, check)
	return cmd
}

// loadRuntime evaluates a plugin's manifest, with user parameters if any.
// Without parameters the cached evaluation is used.
func (a *app) loadRuntime(cmd *cobra.Command, name string, params map[string]any) (*manifest.Manifest, error) {
	h, err := a.getHost()
	if err != nil {
		return nil, err
	}
	var m *manifest.Manifest
	if len(params) == 0 {
		m, err = h.Manifest(cmd.Context(), name)
	} else {
		// The cached source spares a plugin launch; only evaluation is redone.
		desc, derr := h.Describe(cmd.Context(), name)
		if derr != nil {
			return nil, derr
		}
		m, err = manifest.LoadFiles(cmd.Context(), desc.Manifest, manifest.Options{Params: params})
	}
	var ds manifest.Diagnostics
	if asDiagnostics(err, &ds) {
		fmt.Fprintf(a.stderr, "manifest of plugin %s:\n", name)
		return nil, a.reportDiagnostics(ds)
	}
	return m, err
}

// parseParams turns NAME=VALUE flags into values; VALUE is JSON when it
// parses as JSON (8080, true, ["a"]) and a string otherwise.
func parseParams(flags []string) (map[string]any, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string]any{}
	for _, f := range flags {
		name, val, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("parameter %q: want NAME=VALUE", f)
		}
		var v any
		if err := json.Unmarshal([]byte(val), &v); err != nil {
			v = val
		}
		out[name] = v
	}
	return out, nil
}

func printManifest(a *app, m *manifest.Manifest) {
	w := a.stdout
	fmt.Fprintf(w, "%s %s\n", m.Name, m.Version)
	if m.Description != "" {
		fmt.Fprintf(w, "  %s\n", m.Description)
	}
	var plats []string
	for _, p := range m.Platforms {
		plats = append(plats, p.String())
	}
	fmt.Fprintf(w, "platforms: %s\n", strings.Join(plats, ", "))
	for _, u := range m.Unsupported {
		fmt.Fprintf(w, "unsupported: %s/%s: %s\n", u.OS, u.Arch, u.Reason)
	}
	for _, r := range m.Requires {
		fmt.Fprintf(w, "requires: %s %s\n", r.Runtime, r.Constraint)
	}
	for _, c := range m.Conflicts {
		fmt.Fprintf(w, "conflicts: %s\n", c)
	}
	for _, p := range m.Packages.Debian {
		fmt.Fprintf(w, "package: %s %s\n", p.Name, p.Version)
	}
	for _, p := range m.Packages.Archives {
		fmt.Fprintf(w, "archive: %s %s\n", p.Name, p.URL)
	}
	for _, p := range m.Packages.NPM {
		fmt.Fprintf(w, "npm: %s@%s\n", p.Name, p.Version)
	}
	for _, p := range m.Ports {
		fmt.Fprintf(w, "port: %s %d/%s\n", p.Name, p.Number, p.Protocol)
	}
	for _, f := range m.Files {
		fmt.Fprintf(w, "file: %s (%s, %04o)\n", f.Path, f.Kind, f.Mode)
	}
	for _, s := range m.Services {
		fmt.Fprintf(w, "service: %s: %s\n", s.Name, strings.Join(s.Argv, " "))
	}
	for _, h := range m.Health {
		fmt.Fprintf(w, "health: %s (%s)\n", h.Name, h.Kind)
	}
	fmt.Fprintf(w, "resources: %d MiB memory, %d MiB disk\n", m.Resources.MemoryMiB, m.Resources.DiskMiB)
	ps := append([]manifest.Param(nil), m.Params...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	for _, p := range ps {
		v, _ := json.Marshal(p.Value)
		fmt.Fprintf(w, "param: %s = %s  (%s)\n", p.Name, v, p.Constraint)
	}
}
