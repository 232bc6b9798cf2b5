package resolve

import (
	"context"
	"runtime"
	"testing"
	"time"
	"weak"
)

// The tables derived from an index are built once for all resolutions
// against it, and dropped with it.
func TestTablesFollowTheIndex(t *testing.T) {
	ix := index(t, "Package: a\nVersion: 1\nDepends: v\n\nPackage: p\nVersion: 1\nProvides: v")
	for range 2 {
		if _, err := Resolve(context.Background(), ix, nil, []Request{{Name: "a"}}, Options{Arch: "i386"}); err != nil {
			t.Fatal(err)
		}
	}
	tb := tablesOf(ix)
	if tb != tablesOf(ix) || len(tb.prov["i386"]["v"]) != 1 {
		t.Fatalf("tables %+v: want one set, with the Provides table", tb)
	}
	key := weak.Make(ix)
	ix, tb = nil, nil
	for range 100 {
		runtime.GC()
		if _, ok := indexTables.Load(key); !ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the tables of an index no longer used are kept")
}
