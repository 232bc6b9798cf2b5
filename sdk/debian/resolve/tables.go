package resolve

import (
	"log/slog"
	"runtime"
	"sync"
	"weak"

	"github.com/runtimekit/runtimekit/sdk/debian"
)

// tables are what the resolver derives from an index once and keeps for
// every later resolution against it (a lock resolves each runtime on its
// own, against one index): the Provides entries per architecture and the
// order approximating apt's package IDs. Building the Provides table of
// the bookworm index means parsing every Provides of it, which costs more
// than a typical resolution once it exists.
type tables struct {
	mu   sync.Mutex
	prov map[string]map[string][]provision // by architecture
	ids  map[string]int
}

// indexTables holds each index's tables under a weak pointer to the
// index, so that debian.Index stays a plain format type and the tables go
// when their index does. (They point into the index's Packages, never at
// the Index, so they do not keep it alive.)
var indexTables sync.Map // weak.Pointer[debian.Index] → *tables

func tablesOf(ix *debian.Index) *tables {
	key := weak.Make(ix)
	if t, ok := indexTables.Load(key); ok {
		return t.(*tables)
	}
	t, loaded := indexTables.LoadOrStore(key, &tables{})
	if !loaded {
		runtime.AddCleanup(ix, func(k weak.Pointer[debian.Index]) { indexTables.Delete(k) }, key)
	}
	return t.(*tables)
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
