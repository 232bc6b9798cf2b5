package host

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/runtimekit/runtimekit/sdk"
)

// Detection is one plugin's claim on an app directory.
type Detection struct {
	Runtime    string         `json:"runtime"`
	Confidence int            `json:"confidence"`
	Reason     string         `json:"reason"`
	Params     map[string]any `json:"params,omitempty"`
}

// DetectError reports the plugins whose Detect failed. Detect returns it
// together with the other plugins' matches.
type DetectError struct {
	// Errs has one error per failed plugin, in plugin name order; each
	// names its plugin once.
	Errs []error
}

func (e *DetectError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "\n")
}

func (e *DetectError) Unwrap() []error { return e.Errs }

// Detect asks every discovered plugin whether dir is an app it serves, all
// at once (plugins are separate processes), and returns the matches best
// first: by confidence, then by runtime name. When some plugins fail, the
// others' matches come with a *DetectError; an error finding the plugins
// comes alone.
func (h *Host) Detect(ctx context.Context, dir string) ([]Detection, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	plugins, err := h.Plugins(ctx)
	if err != nil {
		return nil, err
	}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		found []Detection
		errs  = map[string]error{}
	)
	for _, p := range plugins {
		wg.Go(func() {
			d, err := h.detect(ctx, p.Name, dir)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs[p.Name] = err
			case d != nil:
				found = append(found, *d)
			}
		})
	}
	wg.Wait()
	rank(found)
	if len(errs) == 0 {
		return found, nil
	}
	de := &DetectError{}
	for _, p := range plugins {
		if err, ok := errs[p.Name]; ok {
			de.Errs = append(de.Errs, err)
		}
	}
	return found, de
}

// detect runs one plugin's Detect: nil without a match.
func (h *Host) detect(ctx context.Context, name, dir string) (*Detection, error) {
	rt, err := h.Runtime(ctx, name)
	if err != nil {
		return nil, namingPlugin(name, err)
	}
	resp, err := rt.Detect(ctx, &sdk.DetectRequest{Dir: dir})
	if err != nil {
		return nil, namingPlugin(name, err)
	}
	if !resp.Match {
		return nil, nil
	}
	return &Detection{Runtime: name, Confidence: resp.Confidence, Reason: resp.Reason, Params: resp.Params}, nil
}

// rank sorts detections best first: higher confidence, then runtime name.
func rank(ds []Detection) {
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].Confidence != ds[j].Confidence {
			return ds[i].Confidence > ds[j].Confidence
		}
		return ds[i].Runtime < ds[j].Runtime
	})
}

// namingPlugin makes err name plugin name. The host's errors about a
// plugin do already ("plugin NAME (PATH) exited during start", "plugin
// NAME: <its error>"); only those about what the plugins share (the lock,
// hashing, a closed host) do not.
func namingPlugin(name string, err error) error {
	if mentionsPlugin(err.Error(), name) {
		return err
	}
	return fmt.Errorf("plugin %s: %w", name, err)
}

// mentionsPlugin reports whether msg says "plugin NAME" with NAME whole.
func mentionsPlugin(msg, name string) bool {
	key := "plugin " + name
	for {
		i := strings.Index(msg, key)
		if i < 0 {
			return false
		}
		msg = msg[i+len(key):]
		if msg == "" || !isNameByte(msg[0]) {
			return true
		}
	}
}

func isNameByte(b byte) bool {
	return 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-'
}

// DetectOne asks only the named runtime's plugin about dir: what a deploy
// of an app whose runtime is known already needs (one plugin launch, not
// one per plugin). A nil Detection is no match.
func (h *Host) DetectOne(ctx context.Context, name, dir string) (*Detection, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return h.detect(ctx, name, dir)
}
