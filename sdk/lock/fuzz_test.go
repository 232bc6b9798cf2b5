package lock_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/runtimekit/runtimekit/sdk/lock"
)

// FuzzParse feeds Parse arbitrary bytes, starting from the shipped locks. A
// lock Parse accepts must write (Marshal) to bytes Parse accepts again,
// and those must write to the same bytes; and ParseTrusted, which skips
// the schema pass, must read the canonical bytes to the same lock.
func FuzzParse(f *testing.F) {
	shipped, err := filepath.Glob("../../targets/*.lock.json")
	if err != nil || len(shipped) == 0 {
		f.Fatalf("no shipped locks: %v", err)
	}
	for _, s := range shipped {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if b, err := sample().Marshal(); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"formatVersion": 1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := lock.Parse(b)
		if err != nil {
			if l != nil {
				t.Errorf("Parse returned a lock with its error %v", err)
			}
			return
		}
		once, err := l.Marshal()
		if err != nil {
			t.Fatalf("accepted lock does not marshal: %v", err)
		}
		l2, err := lock.Parse(once)
		if err != nil {
			t.Fatalf("accepted lock, written back, is refused: %v\n%s", err, once)
		}
		twice, err := l2.Marshal()
		if err != nil {
			t.Fatalf("re-read lock does not marshal: %v", err)
		}
		if !bytes.Equal(once, twice) {
			t.Errorf("lock changes on a write/read/write round trip:\n%s\n---\n%s", once, twice)
		}
		l3, err := lock.ParseTrusted(once)
		if err != nil {
			t.Fatalf("ParseTrusted refuses a canonical lock: %v", err)
		}
		if thrice, _ := l3.Marshal(); !bytes.Equal(once, thrice) {
			t.Errorf("ParseTrusted reads a canonical lock differently:\n%s\n---\n%s", once, thrice)
		}
	})
}
