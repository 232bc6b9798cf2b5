//go:build !vm

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/sdk/host"
)

// hostState is the plugin host, opened on first use.
type hostState struct {
	host *host.Host
}

// addHostCommands adds the commands of a connected machine: plugins,
// manifests, resolving, locking, bundling and planning additions.
func (a *app) addHostCommands(root *cobra.Command) {
	root.AddCommand(a.pluginsCommand(), a.manifestCommand(), a.validateCommand(), a.detectCommand(),
		a.bundleCommand(), a.resolveCommand(), a.lockCommand(), a.targetsCommand(),
		a.planCommand(), a.deployCommand(), a.imageCommand())
}

func (a *app) closeHost() error {
	if a.host == nil {
		return nil
	}
	return a.host.Close()
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
	cache, err := a.cacheRoot()
	if err != nil {
		return nil, err
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

// cacheRoot is --cache-dir, by default runtimekit's directory in the
// user's cache: plugins' manifests, downloads and Debian indexes live
// below it.
func (a *app) cacheRoot() (string, error) {
	if a.cacheDir != "" {
		return a.cacheDir, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache directory (set --cache-dir): %w", err)
	}
	return filepath.Join(dir, "runtimekit"), nil
}
