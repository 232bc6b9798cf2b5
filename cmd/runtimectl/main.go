// Command runtimectl installs, runs and removes server runtimes (nginx,
// Node.js, Python, Next.js, Deno) in offline Linux VMs such as WebVM.
//
// Results go to stdout (or JSON with --json), logs and progress to stderr.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(run()) }

// run is main without the exit, so testscript can call it in-process.
func run() int {
	// Interrupts cancel the context: plugin clients are killed on the way
	// out, so no plugin process outlives runtimectl.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
}
