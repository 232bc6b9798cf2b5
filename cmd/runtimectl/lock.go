package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk/debian"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/targets"
)

func (a *app) lockCommand() *cobra.Command {
	var (
		target, index, indexPath, out string
	)
	cmd := &cobra.Command{
		Use:   "lock [RUNTIME...]",
		Short: "Pin each runtime's Debian package closure and artifacts for a target",
		Long: "Resolve each runtime's package requests against a Debian Packages index and the\n" +
			"target's base system, and write a lock with, per runtime, the exact packages beyond the\n" +
			"base (version, arch, archive path, SHA-256, sizes, dependency edges) and its artifacts.\n" +
			"Without RUNTIME, every plugin that supports the target is locked.",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			prof, err := targets.Load(ctx, target)
			if err != nil {
				return err
			}
			h, err := a.getHost()
			if err != nil {
				return err
			}
			names := args
			explicit := len(args) > 0
			if !explicit {
				ps, err := h.Plugins(ctx)
				if err != nil {
					return err
				}
				for _, p := range ps {
					names = append(names, p.Name)
				}
			}
			var ms []*manifest.Manifest
			for _, n := range names {
				m, err := h.Manifest(ctx, n)
				if err != nil {
					return err
				}
				if reason, ok := supports(m, prof.Platform()); !ok {
					if explicit {
						return fmt.Errorf("runtime %s cannot be installed on target %s (%s): %s", n, prof.Name, prof.Platform(), reason)
					}
					fmt.Fprintf(a.stderr, "skipping %s: not for %s: %s\n", n, prof.Platform(), reason)
					continue
				}
				ms = append(ms, m)
			}
			sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
			sum, err := fileSHA256(index)
			if err != nil {
				return err
			}
			ix, err := debian.OpenPackages(ctx, index, a.logger())
			if err != nil {
				return err
			}
			l, err := lock.Build(ctx, lock.Input{
				Target:    lock.Target{Name: prof.Name, Arch: prof.Arch, DebianArch: prof.DebianArch(), Release: prof.Debian.Release},
				Platform:  prof.Platform(),
				Base:      prof.Base,
				Index:     ix,
				IndexInfo: lock.Index{SHA256: sum, Path: indexPath},
				Runtimes:  ms,
				Digest:    a.artifactDigester(),
			})
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				b, err := l.Marshal()
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(b)
				return err
			}
			if err := l.Write(out); err != nil {
				return err
			}
			for _, r := range l.Runtimes {
				fmt.Fprintf(a.stderr, "locked %s %s: %d packages, %d artifacts\n", r.Name, r.Version, len(r.Packages), len(r.Artifacts))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "target", targets.Default, "target profile: a built-in name (see `runtimectl targets`) or a CUE file")
	f.StringVar(&index, "index", "", "Debian Packages index for the target's release and architecture (plain, .gz or .xz)")
	f.StringVar(&indexPath, "index-path", "", "the index's path below the mirror root, recorded in the lock (e.g. dists/bookworm/main/binary-i386/Packages.xz)")
	f.StringVarP(&out, "output", "o", "", "write the lock to this file (default: stdout)")
	_ = cmd.MarkFlagRequired("index")
	return cmd
}

// supports tells whether a runtime can run on a platform, and if not why.
func supports(m *manifest.Manifest, pl manifest.Platform) (string, bool) {
	for _, p := range m.Platforms {
		if p == pl {
			return "", true
		}
	}
	for _, u := range m.Unsupported {
		if u.Platform == pl {
			return u.Reason, false
		}
	}
	return fmt.Sprintf("it supports only %v", m.Platforms), false
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
