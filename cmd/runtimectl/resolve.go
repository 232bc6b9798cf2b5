//go:build !vm

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/sdk/debian"
	"github.com/runtimekit/runtimekit/sdk/debian/resolve"
)

type resolvedPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
}

func (a *app) resolveCommand() *cobra.Command {
	var (
		index, status, arch string
		recommends          bool
	)
	cmd := &cobra.Command{
		Use:   "resolve PKG...",
		Short: "Print the Debian packages a request would install, in install order (like apt-get -s)",
		Long: "Resolve package requests (name, name:arch, name=version or \"name (>= version)\") against a\n" +
			"Packages index and a dpkg status file, choosing as apt does, and print what would be\n" +
			"installed (and removed) in dpkg's install order.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			reqs := make([]resolve.Request, len(args))
			for i, s := range args {
				r, err := resolve.ParseRequest(s)
				if err != nil {
					return err
				}
				reqs[i] = r
			}
			ix, err := debian.OpenPackages(ctx, index, a.logger())
			if err != nil {
				return err
			}
			var st *debian.Status
			if status != "" {
				if st, err = debian.OpenStatus(ctx, status); err != nil {
					return err
				}
			}
			res, err := resolve.Resolve(ctx, ix, st, reqs, resolve.Options{Arch: arch, Recommends: recommends})
			if err != nil {
				return err
			}
			install := make([]resolvedPackage, len(res.Install))
			for i, p := range res.Install {
				install[i] = resolvedPackage{p.Name, p.Version, p.Architecture}
			}
			remove := make([]resolvedPackage, len(res.Remove))
			for i, p := range res.Remove {
				remove[i] = resolvedPackage{p.Name, p.Version, p.Architecture}
			}
			if a.json {
				return a.printJSON(map[string]any{"install": install, "remove": remove})
			}
			for _, p := range remove {
				fmt.Fprintf(a.stdout, "Remv %s (%s %s)\n", p.Name, p.Version, p.Arch)
			}
			for _, p := range install {
				fmt.Fprintf(a.stdout, "Inst %s (%s %s)\n", p.Name, p.Version, p.Arch)
			}
			fmt.Fprintf(a.stderr, "%d to install, %d to remove\n", len(install), len(remove))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&index, "index", "", "Packages index (plain, .gz or .xz)")
	f.StringVar(&status, "status", "", "dpkg status file of the target (default: an empty system)")
	f.StringVar(&arch, "arch", "i386", "target's dpkg architecture")
	f.BoolVar(&recommends, "recommends", false, "also install Recommends, as apt does by default")
	_ = cmd.MarkFlagRequired("index")
	return cmd
}
