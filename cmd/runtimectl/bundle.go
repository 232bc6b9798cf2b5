//go:build !vm

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/internal/human"
	"github.com/runtimekit/runtimekit/sdk/bundle"
	"github.com/runtimekit/runtimekit/sdk/lock"
)

// aptArchiveCache is where apt keeps the .debs it downloaded; bundle
// copies from it what it can.
const aptArchiveCache = "/var/cache/apt/archives"

type bundleFlags struct {
	lockFile      string
	out           string
	planFile      string
	runtimes      []string
	mirror        string
	npmRegistry   string
	from          []string
	noAptCache    bool
	keepDownloads bool
	parallel      int
}

func (a *app) bundleCommand() *cobra.Command {
	var f bundleFlags
	cmd := &cobra.Command{
		Use:   "bundle (--plan FILE | --lock FILE) --out DIR",
		Short: "Fetch a lock's packages and artifacts into an offline bundle",
		Long: "bundle fetches every .deb and artifact a lock pins (all runtimes, or those named\n" +
			"with --runtime) into DIR, with a bundle.json listing each file's SHA-256.\n\n" +
			"A file is copied from a --from directory or apt's cache (" + aptArchiveCache + ")\n" +
			"when one there has the pinned digest, and downloaded otherwise: .debs from the\n" +
			"Debian mirror of this machine's apt sources (or --mirror), npm tarballs from the\n" +
			"npm registry (--npm-registry, $npm_config_registry, or npm's own setting).\n" +
			"Downloads are verified as they stream and resumed after a break, also by a later\n" +
			"run, from partial files in the cache directory. DIR is written only when every\n" +
			"file has been verified; on failure it is left as it was.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runBundle(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.lockFile, "lock", "", "lock file to bundle")
	fl.StringVar(&f.planFile, "plan", "", "plan file: bundle exactly the artifacts it needs")
	fl.StringVar(&f.out, "out", "", "bundle directory to write: absent, empty, or an earlier bundle to replace (required)")
	fl.StringArrayVar(&f.runtimes, "runtime", nil, "bundle only this runtime of the lock (repeatable)")
	fl.StringVar(&f.mirror, "mirror", "", "Debian mirror root URL (default: from this machine's apt sources)")
	fl.StringVar(&f.npmRegistry, "npm-registry", "", "npm registry URL (default: $npm_config_registry, else what npm config get registry prints)")
	fl.StringArrayVar(&f.from, "from", nil, "local directory to copy files from before downloading (repeatable)")
	fl.BoolVar(&f.noAptCache, "no-apt-cache", false, "do not copy .debs from "+aptArchiveCache)
	fl.BoolVar(&f.keepDownloads, "keep-downloads", false, "also keep verified downloads in the cache directory, for later bundles")
	fl.IntVar(&f.parallel, "parallel", 4, "files fetched at once")
	_ = cmd.MarkFlagRequired("out")
	cmd.AddCommand(a.bundleVerifyCommand())
	return cmd
}

// bundleSummary is the --json result of `bundle`.
type bundleSummary struct {
	Dir    string       `json:"dir"`
	Target *lock.Target `json:"target,omitempty"`
	Files  []bundleFile `json:"files"`
	// Bytes is the bundle's size; DownloadedBytes what came over the
	// network.
	Bytes           int64 `json:"bytes"`
	DownloadedBytes int64 `json:"downloadedBytes"`
}

type bundleFile struct {
	bundle.File
	Source string `json:"source"`
	From   string `json:"from"`
}

func (a *app) runBundle(ctx context.Context, f bundleFlags) error {
	// The items to fetch: exactly the artifacts a plan names by SHA-256,
	// or whole runtimes of a lock.
	var (
		items  []bundle.Item
		target *lock.Target
	)
	switch {
	case (f.planFile == "") == (f.lockFile == ""):
		return errors.New("bundle: give exactly one of --plan and --lock")
	case f.planFile != "":
		p, err := readPlan(f.planFile)
		if err != nil {
			return err
		}
		if len(f.runtimes) > 0 {
			return errors.New("bundle: --runtime selects from a lock; a plan already names what it needs")
		}
		items = bundle.ItemsFromPlan(p)
		target = &lock.Target{Name: p.Target.Name, Arch: p.Target.Arch, DebianArch: p.Target.DebianArch, Release: p.Target.Release}
	default:
		l, err := lock.Read(f.lockFile)
		if err != nil {
			return err
		}
		if items, err = bundle.ItemsFromLock(l, f.runtimes...); err != nil {
			return fmt.Errorf("lock %s: %w", f.lockFile, err)
		}
		target = &l.Target
	}
	log := a.logger()
	var err error

	opts := bundle.FetchOptions{
		Out:           f.out,
		Target:        target,
		LocalDirs:     f.from,
		KeepDownloads: f.keepDownloads,
		Parallel:      f.parallel,
		Logger:        log,
		Progress:      a.stderr,
		ProgressBar:   bundleIsTerminal(a.stderr),
	}
	if !f.noAptCache {
		if fi, err := os.Stat(aptArchiveCache); err == nil && fi.IsDir() {
			opts.LocalDirs = append(opts.LocalDirs, aptArchiveCache)
		}
	}
	if opts.CacheDir, err = a.bundleCacheDir(); err != nil {
		return err
	}
	var mirrorErr error
	opts.Mirror = f.mirror
	if opts.Mirror == "" && bundleHasKind(items, bundle.KindDeb) {
		opts.Mirror, mirrorErr = aptMirror(target.Release)
		if mirrorErr == nil {
			log.Debug("Debian mirror from apt sources", "mirror", opts.Mirror)
		}
	}
	var registryErr error
	opts.NPMRegistry = f.npmRegistry
	if opts.NPMRegistry == "" && bundleHasKind(items, bundle.KindNPM) {
		opts.NPMRegistry, registryErr = npmRegistry(ctx)
	}

	res, err := bundle.Fetch(ctx, items, opts)
	if err != nil {
		// Say why no source was known, if that is what went wrong.
		for _, e := range []error{mirrorErr, registryErr} {
			if e != nil {
				err = fmt.Errorf("%w\n%v", err, e)
			}
		}
		return err
	}

	sum := bundleSummary{Dir: f.out, Target: res.Bundle.Index.Target, DownloadedBytes: res.Downloaded}
	counts := map[string]int{}
	for _, fd := range res.Files {
		sum.Files = append(sum.Files, bundleFile{File: fd.File, Source: fd.Source, From: fd.From})
		sum.Bytes += fd.File.Size
		counts[fd.Source]++
	}
	if sum.Files == nil {
		sum.Files = []bundleFile{}
	}
	if a.json {
		return a.printJSON(sum)
	}
	fmt.Fprintf(a.stdout, "bundle %s: %d files, %s (%d downloaded, %s; %d copied from local directories; %d from the cache)\n",
		f.out, len(res.Files), human.Bytes(sum.Bytes), counts[bundle.SourceDownload], human.Bytes(res.Downloaded),
		counts[bundle.SourceLocal], counts[bundle.SourceCache])
	return nil
}

func (a *app) bundleVerifyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "verify DIR",
		Short: "Re-check every file of a bundle against its bundle.json",
		Long: "verify re-reads every file of the bundle and checks its size and SHA-256, and\n" +
			"reports files that are missing, not listed, symbolic links, or outside the bundle.\n" +
			"It exits 1 naming each bad file.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			b, err := bundle.Open(dir)
			if err != nil {
				return err
			}
			verr := b.Verify(cmd.Context())
			var ve *bundle.VerifyError
			if verr != nil && !errors.As(verr, &ve) {
				return verr
			}
			type result struct {
				Dir      string           `json:"dir"`
				OK       bool             `json:"ok"`
				Files    int              `json:"files"`
				Problems []bundle.Problem `json:"problems"`
			}
			r := result{Dir: dir, OK: ve == nil, Files: len(b.Index.Files), Problems: []bundle.Problem{}}
			if ve != nil {
				r.Problems = ve.Problems
			}
			if a.json {
				if err := a.printJSON(r); err != nil {
					return err
				}
			} else if ve == nil {
				fmt.Fprintf(a.stdout, "bundle %s: %d files verified\n", dir, r.Files)
			} else {
				for _, p := range ve.Problems {
					fmt.Fprintf(a.stderr, "runtimectl: %s: %s\n", filepath.Join(dir, filepath.FromSlash(p.Path)), p.Reason)
				}
				fmt.Fprintf(a.stderr, "runtimectl: bundle %s: %d bad files\n", dir, len(ve.Problems))
			}
			if ve != nil {
				return exitError{1}
			}
			return nil
		},
	}
}

// bundleCacheDir is where partial and kept downloads live.
func (a *app) bundleCacheDir() (string, error) {
	cache, err := a.cacheRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "bundle"), nil
}

// aptMirror is the default --mirror: the one this machine's apt uses.
func aptMirror(release string) (string, error) {
	m, err := bundle.AptMirror("/", release)
	if err != nil {
		return "", fmt.Errorf("%w; pass --mirror URL", err)
	}
	return m, nil
}

// npmRegistry is the default --npm-registry: the one npm uses.
func npmRegistry(ctx context.Context) (string, error) {
	r, err := bundle.NPMRegistry(ctx)
	if err != nil {
		return "", fmt.Errorf("%w; pass --npm-registry URL", err)
	}
	return r, nil
}

func bundleHasKind(items []bundle.Item, kind string) bool {
	for _, it := range items {
		if it.Kind == kind {
			return true
		}
	}
	return false
}

func bundleIsTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
