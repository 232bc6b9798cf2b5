package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"
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

	hostState
}

func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if cerr := a.closeHost(); cerr != nil && err == nil {
		err = cerr
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
	// The machine's commands, in every build; the connected-machine ones
	// (plugins, CUE, planning additions, fetching) are left out of the
	// `vm` build.
	root.AddCommand(a.applyCommand(), a.recoverCommand(), a.statusCommand(), a.logsCommand(), a.showCommand(),
		a.removeCommand(), a.releasesCommand(), a.rollbackCommand(), a.bootCommand())
	a.addHostCommands(root)
	return root
}

func (a *app) logger() *slog.Logger {
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
}

// printJSON writes v as indented JSON to stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // constraints like ">=18.18" stay readable
	return enc.Encode(v)
}
