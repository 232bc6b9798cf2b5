package plugintest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/runtimekit/runtimekit/sdk"
)

const tinyManifest = `
name:      "tiny"
version:   "0.1.0"
platforms: [{os: "linux", arch: "amd64"}]
packages: {}
resources: memoryMiB: 1
params: port: int & >=1024 & <=65535 | *8080
`

// fake is a Runtime whose answers each test case sets.
type fake struct {
	name, version string
	files         map[string][]byte
	describeErr   error
	flaky         bool // Describe answers differently each call
	detect        *sdk.DetectResponse
	detectErr     error

	mu    sync.Mutex
	calls int
}

func (f *fake) Describe(context.Context, *sdk.DescribeRequest) (*sdk.DescribeResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	d := &sdk.DescribeResponse{Name: f.name, Version: f.version, Manifest: f.files}
	if f.flaky {
		d.Manifest = map[string][]byte{"manifest.cue": fmt.Appendf(nil, "%s\n// call %d\n", tinyManifest, f.calls)}
	}
	return d, nil
}

func (f *fake) Detect(context.Context, *sdk.DetectRequest) (*sdk.DetectResponse, error) {
	if f.detect == nil && f.detectErr == nil {
		return &sdk.DetectResponse{}, nil
	}
	return f.detect, f.detectErr
}

func tinyFake() *fake {
	return &fake{
		name: "tiny", version: "0.1.0",
		files: map[string][]byte{"manifest.cue": []byte(tinyManifest)},
	}
}

// recorder is a T that records failures instead of failing the real test.
type recorder struct {
	t      *testing.T
	name   string
	mu     *sync.Mutex
	events *[]string
	failed bool
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{t: t, mu: new(sync.Mutex), events: new([]string)}
}

func (r *recorder) add(kind, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.events = append(*r.events, r.name+": "+kind+": "+fmt.Sprintf(format, args...))
}

func (r *recorder) Helper()                  {}
func (r *recorder) Context() context.Context { return r.t.Context() }
func (r *recorder) TempDir() string          { return r.t.TempDir() }
func (r *recorder) Logf(string, ...any)      {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.add("error", format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.add("fatal", format, args...)
	runtime.Goexit()
}
func (r *recorder) Skipf(format string, args ...any) {
	r.add("skip", format, args...)
	runtime.Goexit()
}

// Run runs f on its own goroutine, as testing does, so Fatalf and Skipf can
// end it with runtime.Goexit.
func (r *recorder) Run(name string, f func(T)) bool {
	sub := &recorder{t: r.t, name: name, mu: r.mu, events: r.events}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(sub)
	}()
	<-done
	return !sub.failed
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name     string
		rt       func() *fake
		wantName string
		want     []string // substrings of the recorded events, in order
	}{
		{
			name: "conforming",
			rt:   tinyFake,
		},
		{
			name: "bad identity",
			rt: func() *fake {
				f := tinyFake()
				f.name, f.version, f.files = "Tiny", "1.0", map[string][]byte{"manifest.yaml": nil}
				return f
			},
			want: []string{
				`Describe: error: Describe: name "Tiny" must match`,
				`Describe: error: Describe: version "1.0" is not a semantic version`,
				`Describe: error: Describe: manifest file "manifest.yaml": want a .cue or .json file`,
				"Manifest: skip: Describe failed",
			},
		},
		{
			name:     "binary named differently",
			rt:       tinyFake,
			wantName: "other",
			want:     []string{`Describe: error: Describe: name "tiny", but the binary is named runtimectl-plugin-other`, "Manifest: skip"},
		},
		{
			name: "no manifest files",
			rt:   func() *fake { f := tinyFake(); f.files = nil; return f },
			want: []string{"Describe: error: Describe: no manifest files", "Manifest: skip"},
		},
		{
			name: "Describe fails",
			rt:   func() *fake { f := tinyFake(); f.describeErr = errors.New("boom"); return f },
			want: []string{"Describe: fatal: Describe: boom", "Manifest: skip"},
		},
		{
			name: "Describe not deterministic",
			rt:   func() *fake { f := tinyFake(); f.flaky = true; return f },
			want: []string{"Describe: error: Describe is not deterministic", "Manifest: skip"},
		},
		{
			name: "manifest differs from Describe",
			rt:   func() *fake { f := tinyFake(); f.version = "0.2.0"; return f },
			want: []string{`Manifest: error: manifest version "0.1.0" differs from Describe's version "0.2.0"`},
		},
		{
			name: "manifest with errors",
			rt: func() *fake {
				f := tinyFake()
				f.files = map[string][]byte{"manifest.cue": []byte(strings.Replace(tinyManifest, "resources: memoryMiB: 1", "resources: memoryMiB: -1", 1))}
				return f
			},
			want: []string{"Manifest: error: manifest: manifest.cue:"},
		},
		{
			name: "Detect claims an empty directory",
			rt: func() *fake {
				f := tinyFake()
				f.detect = &sdk.DetectResponse{Match: true, Confidence: sdk.ConfidenceFramework, Reason: "always"}
				return f
			},
			want: []string{`Detect: error: Detect claims a framework-level match (confidence 90, "always")`},
		},
		{
			name: "Detect fails",
			rt:   func() *fake { f := tinyFake(); f.detectErr = errors.New("no such file"); return f },
			want: []string{"Detect: fatal: Detect on an empty directory: no such file"},
		},
		{
			name: "Detect confidence out of range",
			rt:   func() *fake { f := tinyFake(); f.detect = &sdk.DetectResponse{Confidence: 101}; return f },
			want: []string{"Detect: error: Detect: confidence 101 is outside 0..100"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t)
			rt := tt.rt()
			run(rec, rt, tt.wantName, loadManifest)
			got := *rec.events
			if len(got) != len(tt.want) {
				t.Fatalf("events:\n%s\nwant %d matching:\n%s", strings.Join(got, "\n"), len(tt.want), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("event %d = %q, want it to contain %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestRun(t *testing.T) {
	Run(t, tinyFake())
}

func TestRunBinary(t *testing.T) {
	RunBinary(t, Build(t, "tiny", "./testdata/tiny"))
}
