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
	// SIGINT and SIGTERM cancel the context that every command and wait
	// runs under: plugin clients are killed on the way out, so no plugin
	// process outlives runtimectl, and an apply rolls back. Once the first
	// has arrived, signals get their default action again, so a second
	// one ends runtimectl at once even if something does not honour the
	// context (an apply's journal lets `runtimectl recover` finish).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	return execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
}
