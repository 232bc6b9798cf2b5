// Package bounded reads the documents runtimekit is given (plans, state,
// locks, bundle indexes, profiles, manifests) with a size limit per kind
// of document, refusing anything that is not a regular file.
//
// Reading a document whole is only safe when its size is bounded: the VM
// has 512 MiB, and a plan given as /dev/zero or as a 100 MB file would
// otherwise end the process out of memory. A FIFO would block the open
// until a writer comes, deaf to SIGTERM. So ReadFile opens without
// blocking (see [durable.OpenRegular]), refuses FIFOs, devices, sockets
// and directories naming what they are, and refuses a file larger than
// its limit, naming its size and the limit, before reading it. The limit
// holds while reading too, for a file that grows or, like those in /proc,
// reports a size of 0.
//
// Symbolic links are followed: a document kept as a link (a configuration
// directory of links) is normal, and what is read is checked once opened,
// whatever the links pointed to.
package bounded

import (
	"fmt"
	"io"

	"github.com/runtimekit/runtimekit/internal/durable"
)

// Limits per kind of document, in bytes. Decoding a JSON document and
// checking it against its schema takes about 11 times its size in memory
// (measured on amd64: showing a 20 MB plan peaks at 220 MB resident), so the documents the
// VM reads (plans, state, bundle indexes) are kept to 4 MiB, where decoding
// stays near 50 MB of the VM's 512 MiB. Real ones are far smaller: a plan
// for nginx, Next.js and Python is 70 KB, its bundle.json about 20 KB. The
// documents read only on the connected machine may be larger.
const (
	// MaxPlan bounds a plan file: 60 times the 70 KB of a plan for four
	// runtimes.
	MaxPlan = 4 << 20
	// MaxState bounds the state file, which lists what the plans applied
	// installed, so it grows no faster than the plans.
	MaxState = 4 << 20
	// MaxBundleIndex bounds bundle.json: 4 MiB is some 14,000 files at
	// about 300 bytes each, against 60 for four runtimes.
	MaxBundleIndex = 4 << 20
	// MaxLock bounds a lock (runtimectl lock), read on the connected
	// machine: 280 times the 57 KB of the lock shipped for all five
	// runtimes, room for large closures with their dependency edges.
	MaxLock = 16 << 20
	// MaxPluginsLock bounds the plugins lock, one short entry per plugin.
	MaxPluginsLock = 1 << 20
	// MaxManifest bounds a runtime manifest or target profile file (.cue
	// or .json): the shipped ones are about 2 KB.
	MaxManifest = 1 << 20
	// MaxStatus bounds a dpkg status file given as a target's base
	// system: a full desktop's is a few MiB.
	MaxStatus = 16 << 20
	// MaxCache bounds an entry of runtimectl's caches (an evaluated
	// manifest with its sources, the plugin digest table). A larger one
	// is not a cache runtimectl wrote.
	MaxCache = 16 << 20
)

// TooLargeError reports a document over its limit.
type TooLargeError struct {
	Path string
	// Size is the file's size as stat reported it, or -1 when it grew past
	// the limit while being read (or reported a smaller size, as /proc
	// files do).
	Size int64
	Doc  string // the kind of document, with its article: "a plan"
	Max  int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("%s is larger than %s; %s may be at most %s", e.Path, human(e.Max), e.Doc, human(e.Max))
	}
	return fmt.Sprintf("%s is %d bytes; %s may be at most %s", e.Path, e.Size, e.Doc, human(e.Max))
}

// ReadFile returns the content of the regular file at path, or a
// *durable.NotRegularError when path names anything else, or a
// *TooLargeError when it holds more than max bytes. doc names the kind of
// document in messages, with its article ("a plan"). ReadFile takes no
// context: it never waits, since it refuses the FIFOs and devices whose
// reads could, and reads at most max+1 bytes.
func ReadFile(path, doc string, max int64) ([]byte, error) {
	f, fi, err := durable.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > max {
		return nil, &TooLargeError{Path: path, Size: fi.Size(), Doc: doc, Max: max}
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, &TooLargeError{Path: path, Size: -1, Doc: doc, Max: max}
	}
	return b, nil
}

// human writes a size in the largest binary unit that divides it: "16
// MiB", "512 KiB", "1000 bytes".
func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
