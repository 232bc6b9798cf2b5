package locker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runtimekit/runtimekit/manifest"
	"github.com/runtimekit/runtimekit/sdk/debian"
	"github.com/runtimekit/runtimekit/sdk/debian/resolve"
	"github.com/runtimekit/runtimekit/sdk/lock"
)

// Input is what Build needs to pin runtimes for one target.
type Input struct {
	Target lock.Target
	// Platform is the target's os/arch, for choosing artifacts.
	Platform manifest.Platform
	// Base is the target's installed system; packages in it are not
	// locked (they are there already).
	Base  *debian.Status
	Index *debian.Index
	// IndexInfo identifies the index in the lock.
	IndexInfo lock.Index
	Runtimes  []*manifest.Manifest
	// Supervisor are the Debian requests for the service supervisor,
	// locked as Lock.Supervisor when any runtime has a service; nil means
	// "runit".
	Supervisor []string
	// Digest returns the SHA-256 and size of a non-Debian artifact
	// (typically by downloading it once); nil leaves artifacts out, with
	// an error if any runtime has one.
	Digest func(ctx context.Context, a lock.Artifact) (sha256 string, size int64, err error)
}

// Build resolves each runtime's Debian requests against the index and the
// target's base system and pins the closure beyond the base, in install
// order, with its dependency edges; and pins each artifact for the target's
// platform. Every runtime is resolved on its own, so the lock says what each
// one pulls in; the planner unions them.
func Build(ctx context.Context, in Input) (*lock.Lock, error) {
	l := &lock.Lock{FormatVersion: lock.FormatVersion, Target: in.Target, Index: in.IndexInfo}
	var errs []error
	for _, m := range in.Runtimes {
		r, err := buildRuntime(ctx, in, m)
		if err != nil {
			errs = append(errs, fmt.Errorf("runtime %s: %w", m.Name, err))
			continue
		}
		l.Runtimes = append(l.Runtimes, *r)
	}
	if needsSupervisor(in.Runtimes) {
		reqs := in.Supervisor
		if reqs == nil {
			reqs = []string{"runit"}
		}
		sv := &manifest.Manifest{Name: "supervisor", Version: "0.0.0"}
		for _, r := range reqs {
			sv.Packages.Debian = append(sv.Packages.Debian, manifest.DebianPackage{Name: r})
		}
		r, err := buildRuntime(ctx, in, sv)
		if err != nil {
			errs = append(errs, fmt.Errorf("supervisor: %w", err))
		} else {
			l.Supervisor = r
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return l, nil
}

func needsSupervisor(ms []*manifest.Manifest) bool {
	for _, m := range ms {
		if len(m.Services) > 0 {
			return true
		}
	}
	return false
}

func buildRuntime(ctx context.Context, in Input, m *manifest.Manifest) (*lock.Runtime, error) {
	r := &lock.Runtime{Name: m.Name, Version: m.Version}
	reqs := make([]resolve.Request, 0, len(m.Packages.Debian))
	for _, p := range m.Packages.Debian {
		req, err := resolve.ParseRequest(p.Relation())
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, req)
		r.Requests = append(r.Requests, p.Relation())
	}
	if len(reqs) > 0 {
		res, err := resolve.Resolve(ctx, in.Index, in.Base, reqs, resolve.Options{Arch: in.Target.DebianArch})
		if err != nil {
			return nil, err
		}
		if len(res.Remove) > 0 {
			var names []string
			for _, p := range res.Remove {
				names = append(names, p.Name)
			}
			return nil, fmt.Errorf("installing it would remove base packages %s; runtimekit never removes base packages", strings.Join(names, ", "))
		}
		for _, p := range res.Install {
			r.Packages = append(r.Packages, lock.Package{
				Name: p.Name, Version: p.Version, Arch: p.Architecture, Filename: p.Filename,
				SHA256: p.SHA256, Size: p.Size, InstalledSize: p.InstalledSize, Essential: p.Essential,
				Provides: p.Provides, Conflicts: p.Conflicts, Breaks: p.Breaks, Replaces: p.Replaces,
			})
		}
		for _, e := range res.Edges {
			kind := string(e.Kind)
			if kind == "" {
				kind = "request"
			}
			r.Edges = append(r.Edges, lock.Edge{From: e.From, Kind: kind, Relation: e.Relation, To: e.To})
		}
	}
	for _, a := range artifacts(m, in.Platform) {
		if in.Digest == nil {
			return nil, fmt.Errorf("artifact %s: no way to compute its digest (offline?)", a.Name)
		}
		sum, size, err := in.Digest(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("artifact %s: %w", a.Name, err)
		}
		a.SHA256, a.Size = sum, size
		r.Artifacts = append(r.Artifacts, a)
	}
	return r, nil
}

// artifacts lists the manifest's non-Debian artifacts for a platform.
func artifacts(m *manifest.Manifest, pl manifest.Platform) []lock.Artifact {
	var out []lock.Artifact
	for _, n := range m.Packages.NPM {
		if n.Platform != nil && *n.Platform != pl {
			continue
		}
		// npm tarballs hold their files under package/: strip it.
		out = append(out, lock.Artifact{Kind: lock.ArtifactNPM, Name: n.Name, Version: n.Version, Integrity: n.Integrity,
			Dest: n.Dest, Format: "tar.gz", Strip: 1})
	}
	for _, x := range m.Packages.Archives {
		if x.Platform != nil && *x.Platform != pl {
			continue
		}
		out = append(out, lock.Artifact{Kind: lock.ArtifactArchive, Name: x.Name, URL: x.URL, SHA256: x.SHA256, Size: x.Size,
			Dest: x.Dest, Format: x.Format, Strip: x.Strip, Include: x.Include})
	}
	return out
}
