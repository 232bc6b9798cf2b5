//go:build !vm

package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"sync"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/sdk"
)

type detection struct {
	Runtime    string         `json:"runtime"`
	Confidence int            `json:"confidence"`
	Reason     string         `json:"reason"`
	Params     map[string]any `json:"params,omitempty"`
}

func (a *app) detectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "detect DIR",
		Short: "Tell which runtimes can serve an app directory, best first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			h, err := a.getHost()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			plugins, err := h.Plugins(ctx)
			if err != nil {
				return err
			}
			// Plugins are separate processes: ask them all at once.
			var (
				mu    sync.Mutex
				wg    sync.WaitGroup
				found []detection
				errs  []error
			)
			for _, p := range plugins {
				wg.Add(1)
				go func(name string) {
					defer wg.Done()
					rt, err := h.Runtime(ctx, name)
					var resp *sdk.DetectResponse
					if err == nil {
						resp, err = rt.Detect(ctx, &sdk.DetectRequest{Dir: dir})
					}
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, fmt.Errorf("plugin %s: %w", name, err))
						return
					}
					if resp.Match {
						found = append(found, detection{Runtime: name, Confidence: resp.Confidence, Reason: resp.Reason, Params: resp.Params})
					}
				}(p.Name)
			}
			wg.Wait()
			for _, err := range errs {
				fmt.Fprintln(a.stderr, "runtimectl:", err)
			}
			sort.Slice(found, func(i, j int) bool {
				if found[i].Confidence != found[j].Confidence {
					return found[i].Confidence > found[j].Confidence
				}
				return found[i].Runtime < found[j].Runtime
			})
			if a.json {
				if found == nil {
					found = []detection{}
				}
				if err := a.printJSON(found); err != nil {
					return err
				}
			} else {
				if len(found) == 0 {
					fmt.Fprintf(a.stdout, "no runtime recognises %s\n", dir)
				}
				for _, d := range found {
					fmt.Fprintf(a.stdout, "%-8s %3d  %s\n", d.Runtime, d.Confidence, d.Reason)
				}
			}
			if len(errs) > 0 {
				return exitError{1}
			}
			return nil
		},
	}
}
