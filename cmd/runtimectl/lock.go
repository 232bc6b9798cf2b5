//go:build !vm

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk/debian"
	"github.com/runtimekit/runtimekit/sdk/debian/archive"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/locker"
	"github.com/runtimekit/runtimekit/targets"
)

func (a *app) lockCommand() *cobra.Command {
	var (
		target, index, indexPath, out string
		mirror, keyring               string
	)
	cmd := &cobra.Command{
		Use:   "lock [RUNTIME...]",
		Short: "Pin each runtime's Debian package closure and artifacts for a target",
		Long: "Resolve each runtime's package requests against a Debian Packages index and the\n" +
			"target's base system, and write a lock with, per runtime, the exact packages beyond the\n" +
			"base (version, arch, archive path, SHA-256, sizes, dependency edges) and its artifacts.\n" +
			"Without RUNTIME, every plugin that supports the target is locked.\n\n" +
			"Without --index, the index of the target's release and architecture is fetched from\n" +
			"--mirror (default: the Debian mirror of this machine's apt sources for that release):\n" +
			"InRelease is checked against --keyring and Packages.xz against the SHA-256 the signed\n" +
			"InRelease lists; the lock records that path and digest.",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if index == "" && indexPath != "" {
				return errors.New("--index-path names a local --index; a fetched index records its own path")
			}
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
				if reason, ok := m.Supports(prof.Platform()); !ok {
					if explicit {
						return fmt.Errorf("runtime %s cannot be installed on target %s (%s): %s", n, prof.Name, prof.Platform(), reason)
					}
					fmt.Fprintf(a.stderr, "skipping %s: not for %s: %s\n", n, prof.Platform(), reason)
					continue
				}
				ms = append(ms, m)
			}
			sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
			file, sum, path := index, "", indexPath
			if file == "" {
				if file, sum, path, err = a.fetchLockIndex(ctx, prof.Debian.Release, prof.DebianArch(), mirror, keyring); err != nil {
					return err
				}
			} else if sum, _, err = durable.HashFile(file); err != nil {
				return fmt.Errorf("index: %w", err)
			}
			ix, err := debian.OpenPackages(ctx, file, a.logger())
			if err != nil {
				return err
			}
			l, err := locker.Build(ctx, locker.Input{
				Target:    prof.LockTarget(),
				Platform:  prof.Platform(),
				Base:      prof.Base,
				Index:     ix,
				IndexInfo: lock.Index{SHA256: sum, Path: path},
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
			b, err := l.Marshal()
			if err != nil {
				return err
			}
			// As plan -o: a device or a FIFO is written into, a regular
			// file replaced atomically, anything else refused.
			if err := durable.WriteFile(ctx, out, b, 0o644); err != nil {
				return fmt.Errorf("write lock: %w", err)
			}
			for _, r := range l.Runtimes {
				fmt.Fprintf(a.stderr, "locked %s %s: %d packages, %d artifacts\n", r.Name, r.Version, len(r.Packages), len(r.Artifacts))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "target", targets.Default, "target profile: a built-in name (see `runtimectl targets`) or a CUE file")
	f.StringVar(&index, "index", "", "local Debian Packages index for the target's release and architecture (plain, .gz or .xz; default: fetch and verify it)")
	f.StringVar(&indexPath, "index-path", "", "the --index file's path below the mirror root, recorded in the lock (e.g. dists/bookworm/main/binary-i386/Packages.xz)")
	f.StringVar(&mirror, "mirror", "", "Debian mirror root URL to fetch the index from (default: from this machine's apt sources)")
	f.StringVar(&keyring, "keyring", archive.DefaultKeyring, "keyring the mirror's InRelease must be signed with")
	f.StringVarP(&out, "output", "o", "", "write the lock to this file (default: stdout)")
	cmd.MarkFlagsMutuallyExclusive("index", "mirror")
	cmd.MarkFlagsMutuallyExclusive("index", "keyring")
	return cmd
}

// fetchLockIndex fetches the Packages index of release and arch with its
// trust chain checked (see archive.FetchIndex) and returns the local file,
// its SHA-256 and its path below the mirror root.
func (a *app) fetchLockIndex(ctx context.Context, release, arch, mirror, keyring string) (file, sum, path string, err error) {
	if mirror == "" {
		if mirror, err = aptMirror(release); err != nil {
			return "", "", "", err
		}
	}
	cache, err := a.cacheRoot()
	if err != nil {
		return "", "", "", err
	}
	file, info, err := archive.FetchIndex(ctx, archive.FetchIndexOptions{
		Mirror:   mirror,
		Release:  release,
		Arch:     arch,
		Keyring:  keyring,
		CacheDir: filepath.Join(cache, "debian-index"),
		Log:      a.logger(),
	})
	if err != nil {
		return "", "", "", err
	}
	fmt.Fprintf(a.stderr, "index %s sha256 %s from %s (InRelease verified with %s)\n", info.Path, info.SHA256, mirror, cmp.Or(keyring, archive.DefaultKeyring))
	return file, info.SHA256, info.Path, nil
}
