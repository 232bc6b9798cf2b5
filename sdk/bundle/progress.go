package bundle

import (
	"fmt"
	"io"
	"path"
	"sync"
	"time"

	"github.com/runtimekit/runtimekit/internal/human"
	"github.com/schollz/progressbar/v3"
)

// progress shows how a fetch advances. Methods may be called from several
// goroutines.
type progress interface {
	// start reports a file begun.
	start(path string)
	// add counts n more bytes in place (negative: bytes taken back,
	// when a download starts again from zero).
	add(n int64)
	// done reports a file complete; how says where it came from.
	done(path, how string, size int64)
	failed(path string, err error)
	finish()
}

func newProgress(w io.Writer, bar bool, items []Item) progress {
	if w == nil {
		return noProgress{}
	}
	var total int64
	for _, it := range items {
		total += it.Size
	}
	if !bar || total == 0 {
		return &lineProgress{w: w, files: len(items)}
	}
	b := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(fmt.Sprintf("fetching %d files", len(items))),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
	)
	return &barProgress{w: w, bar: b, files: len(items)}
}

type noProgress struct{}

func (noProgress) start(string)               {}
func (noProgress) add(int64)                  {}
func (noProgress) done(string, string, int64) {}
func (noProgress) failed(string, error)       {}
func (noProgress) finish()                    {}

// lineProgress writes one line per finished file: fit for logs and pipes.
type lineProgress struct {
	mu    sync.Mutex
	w     io.Writer
	files int
	n     int
}

func (p *lineProgress) start(string) {}
func (p *lineProgress) add(int64)    {}

func (p *lineProgress) done(path, how string, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	fmt.Fprintf(p.w, "[%d/%d] %s %s, %s\n", p.n, p.files, path, human.Bytes(size), how)
}

func (p *lineProgress) failed(path string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	fmt.Fprintf(p.w, "[%d/%d] %s failed\n", p.n, p.files, path)
}

func (p *lineProgress) finish() {}

// barProgress draws one bar for all bytes, described by the file begun
// last.
type barProgress struct {
	w      io.Writer
	mu     sync.Mutex
	bar    *progressbar.ProgressBar
	files  int
	n      int
	broken bool
}

func (p *barProgress) start(file string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	p.bar.Describe(fmt.Sprintf("[%d/%d] %s", p.n, p.files, path.Base(file)))
}

func (p *barProgress) add(n int64) { p.bar.Add64(n) }

func (p *barProgress) done(string, string, int64) {}

func (p *barProgress) failed(string, error) {
	p.mu.Lock()
	p.broken = true
	p.mu.Unlock()
}

func (p *barProgress) finish() {
	if p.broken {
		p.bar.Exit() // keep the bar where it stopped
	} else {
		p.bar.Finish()
	}
	fmt.Fprintln(p.w)
}

// progWriter feeds bytes written through it to a progress and counts
// them, so that they can be taken back.
type progWriter struct {
	p progress
	n *int64
}

func (w progWriter) Write(b []byte) (int, error) {
	w.p.add(int64(len(b)))
	*w.n += int64(len(b))
	return len(b), nil
}
