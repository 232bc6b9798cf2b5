package deno_test

import (
	"testing"

	"github.com/runtimekit/runtimekit/plugins/deno"
	"github.com/runtimekit/runtimekit/sdk/plugintest"
)

// TestConformance runs the plugin conformance kit in-process and through a
// real plugin process, as runtimectl runs it.
func TestConformance(t *testing.T) {
	t.Run("in-process", func(t *testing.T) { plugintest.Run(t, deno.Runtime{}) })
	t.Run("process", func(t *testing.T) {
		plugintest.RunBinary(t, plugintest.Build(t, deno.Name, "./cmd/runtimectl-plugin-deno"))
	})
}
