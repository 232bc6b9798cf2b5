// Package targets holds the built-in target profiles — webvm-i386 (the
// default: WebVM, Debian 12 i386 minbase, 512 MiB memory, 2 GiB disk) and
// debian12-amd64 — with their base dpkg status and shipped locks, and
// loads a profile from a CUE or JSON file.
//
// Each built-in profile is written in CUE (NAME.cue) and shipped beside it
// evaluated (NAME.target.json, kept equal to the CUE by the package's
// tests; RUNTIMEKIT_UPDATE=1 rewrites it), so that a built-in profile is
// read without evaluating CUE. Only a profile file needs the manifest
// loader, and the `vm` build (go build -tags vm), which runs inside the
// VM, has none: there Load reads built-in profiles only, and this package
// links no CUE.
package targets

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/runtimekit/runtimekit/internal/bounded"
	"github.com/runtimekit/runtimekit/schema"
	"github.com/runtimekit/runtimekit/sdk/debian"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/spec"
)

// Default is the profile used when none is named.
const Default = "webvm-i386"

//go:embed *.cue *.target.json *.status *.lock.json
var builtin embed.FS

// Profile is a loaded target with its base system.
type Profile struct {
	*spec.Target
	// Source is the built-in name or the file the profile came from.
	Source string
	// Builtin is true for a profile shipped in runtimectl (its lock too).
	Builtin bool
	// Base is the base system's dpkg status: from the profile's status
	// file, or nil when it has none.
	Base *debian.Status
}

// Names lists the built-in profiles.
func Names() []string {
	ms, _ := fs.Glob(builtin, "*.cue")
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = strings.TrimSuffix(m, ".cue")
	}
	sort.Strings(names)
	return names
}

// Load returns a built-in profile by name, or loads the profile in a CUE or
// JSON file when nameOrFile names one (it contains a path separator or ends
// in .cue/.json). An empty name means Default.
func Load(ctx context.Context, nameOrFile string) (*Profile, error) {
	if nameOrFile == "" {
		nameOrFile = Default
	}
	// read reads a file of the profile: from runtimectl itself, or from
	// the profile's directory with a size limit and only if it is a
	// regular file (a FIFO would block, /dev/zero would never end).
	var (
		dir, file string
		isBuiltin bool
	)
	read := func(name, doc string, max int64) ([]byte, error) {
		if isBuiltin {
			return fs.ReadFile(builtin, name)
		}
		if !fs.ValidPath(name) {
			return nil, fmt.Errorf("%q is not a path inside the profile's directory %s", name, dir)
		}
		return bounded.ReadFile(filepath.Join(dir, filepath.FromSlash(name)), doc, max)
	}
	if strings.ContainsRune(nameOrFile, os.PathSeparator) || strings.HasSuffix(nameOrFile, ".cue") || strings.HasSuffix(nameOrFile, ".json") {
		dir, file = filepath.Dir(nameOrFile), filepath.Base(nameOrFile)
	} else {
		isBuiltin, file = true, nameOrFile+".cue"
		if _, err := fs.Stat(builtin, file); err != nil {
			return nil, fmt.Errorf("unknown target %q; built-in targets: %s (or give a profile file)", nameOrFile, strings.Join(Names(), ", "))
		}
	}
	display := nameOrFile
	var t *spec.Target
	if isBuiltin {
		var err error
		if t, err = builtinTarget(nameOrFile); err != nil {
			return nil, err
		}
	} else {
		src, err := read(file, "a target profile", bounded.MaxManifest)
		if err != nil {
			return nil, fmt.Errorf("read target profile: %w", err)
		}
		if t, err = loadFile(ctx, map[string][]byte{nameOrFile: src}); err != nil {
			return nil, err
		}
	}
	p := &Profile{Target: t, Source: display, Builtin: isBuiltin}
	if t.Base.Status != "" {
		b, err := read(t.Base.Status, "a dpkg status file", bounded.MaxStatus)
		if err != nil {
			return nil, fmt.Errorf("target %s: base status: %w", display, err)
		}
		if p.Base, err = debian.ReadStatus(ctx, bytes.NewReader(b), t.Base.Status); err != nil {
			return nil, fmt.Errorf("target %s: %w", display, err)
		}
	}
	return p, nil
}

// LockTarget is what a lock made for the profile records as its target.
func (p *Profile) LockTarget() lock.Target {
	return lock.Target{Name: p.Name, Arch: p.Arch, DebianArch: p.DebianArch(), Release: p.Debian.Release}
}

// ShippedLock returns the lock shipped for a built-in profile, or nil when
// there is none (a profile from a file never has one). The shipped locks
// are checked against the lock schema by this package's tests, so they are
// decoded without that check, which costs milliseconds on every plan.
func (p *Profile) ShippedLock() (*lock.Lock, error) {
	if !p.Builtin {
		return nil, nil
	}
	b, ok := Lock(p.Name)
	if !ok {
		return nil, nil
	}
	l, err := lock.ParseTrusted(b)
	if err != nil {
		return nil, fmt.Errorf("built-in lock of %s: %w", p.Name, err)
	}
	return l, nil
}

// Lock returns the lock shipped for a built-in profile, made by `runtimectl
// lock` from the real Debian archive, or false when there is none.
func Lock(name string) ([]byte, bool) {
	b, err := builtin.ReadFile(name + ".lock.json")
	return b, err == nil
}

// builtinTarget decodes a built-in profile's evaluated twin. It is
// embedded at build time and checked against its CUE by the tests, so it
// is decoded strictly but without the evaluator.
func builtinTarget(name string) (*spec.Target, error) {
	b, err := builtin.ReadFile(name + ".target.json")
	if err != nil {
		return nil, fmt.Errorf("built-in target %s: %w", name, err)
	}
	var t spec.Target
	if err := schema.DecodeStrict(b, &t); err != nil {
		return nil, fmt.Errorf("built-in target %s: %w", name, err)
	}
	return &t, nil
}
