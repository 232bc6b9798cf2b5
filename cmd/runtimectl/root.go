package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk/host"
)

// exitError carries an exit status for failures already reported to the user
// (diagnostics, verification mismatches), so nothing more is printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// app is the state shared by all commands: output streams and global flags.
type app struct {
	stdout, stderr io.Writer
	json           bool
	verbose        bool
	pluginsLock    string
	cacheDir       string
	startTimeout   time.Duration

	host *host.Host
}

func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if a.host != nil {
		if cerr := a.host.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "runtimectl:", err)
	return 1
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "runtimectl",
		Short:         "Install and run server runtimes in offline Linux VMs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.BoolVar(&a.json, "json", false, "print results as JSON")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "log details to stderr")
	pf.StringVar(&a.pluginsLock, "plugins-lock", os.Getenv("RUNTIMECTL_PLUGINS_LOCK"),
		"plugins lock file (default: plugins.lock.json beside runtimectl; env RUNTIMECTL_PLUGINS_LOCK)")
	pf.StringVar(&a.cacheDir, "cache-dir", os.Getenv("RUNTIMECTL_CACHE_DIR"),
		"cache directory (default: $XDG_CACHE_HOME/runtimekit; env RUNTIMECTL_CACHE_DIR)")
	pf.DurationVar(&a.startTimeout, "plugin-timeout", 5*time.Second, "how long a plugin may take to start")
	root.AddCommand(a.pluginsCommand(), a.manifestCommand(), a.validateCommand(), a.detectCommand(),
		a.bundleCommand(), a.resolveCommand(), a.lockCommand(), a.targetsCommand(),
		a.planCommand(), a.showCommand())
	root.AddCommand(a.applyCommand(), a.recoverCommand(), a.removeCommand(), a.statusCommand(), a.logsCommand())
	return root
}

func (a *app) logger() *slog.Logger {
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
}

// getHost opens the plugin host on first use.
func (a *app) getHost() (*host.Host, error) {
	if a.host != nil {
		return a.host, nil
	}
	lock := a.pluginsLock
	if lock == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("locate runtimectl: %w", err)
		}
		if exe, err = filepath.EvalSymlinks(exe); err != nil {
			return nil, fmt.Errorf("locate runtimectl: %w", err)
		}
		lock = filepath.Join(filepath.Dir(exe), "plugins.lock.json")
	}
	cache := a.cacheDir
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("find cache directory (set --cache-dir): %w", err)
		}
		cache = filepath.Join(dir, "runtimekit")
	}
	a.host = host.New(host.Options{
		LockFile:     lock,
		RequireLock:  true, // run only plugins the user pinned
		CacheDir:     cache,
		StartTimeout: a.startTimeout,
		Logger:       a.logger(),
	})
	return a.host, nil
}

// printJSON writes v as indented JSON to stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // constraints like ">=18.18" stay readable
	return enc.Encode(v)
}

// reportDiagnostics prints diagnostics (stderr, or JSON on stdout) and
// returns the exit error to use when any is an error.
func (a *app) reportDiagnostics(ds manifest.Diagnostics) error {
	if a.json {
		if err := a.printJSON(map[string]any{"ok": !ds.HasErrors(), "diagnostics": ds}); err != nil {
			return err
		}
	} else {
		for _, d := range ds {
			fmt.Fprintln(a.stderr, d.String())
		}
	}
	if ds.HasErrors() {
		return exitError{1}
	}
	return nil
}
