package bundle

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// retryable marks a download failure that resuming may get past: a
// connection that broke off, a stall, a server error.
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

var errStalled = errors.New("no data received")

// defaultClient is an HTTP client that also reads file:// URLs, so that a
// mirror copy on disk can be named like a remote one.
func defaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.RegisterProtocol("file", http.NewFileTransport(http.Dir("/")))
	return &http.Client{Transport: tr}
}

// download fetches url into the partial file part until it holds the
// item's verified bytes, resuming after breaks. It returns how many bytes
// were already in part when the last, successful attempt started.
func (f *fetcher) download(ctx context.Context, url, part string, it Item) (int64, error) {
	retries := f.opts.Retries
	switch {
	case retries == 0:
		retries = 3
	case retries < 0:
		retries = 0
	}
	var shown int64 // bytes of this item counted in the progress
	for attempt := 0; ; attempt++ {
		resumed, err := f.tryDownload(ctx, url, part, it, &shown)
		if err == nil {
			return resumed, nil
		}
		var re *retryable
		if !errors.As(err, &re) || attempt >= retries || ctx.Err() != nil {
			f.prog.add(-shown)
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if re != nil {
				return 0, re.err
			}
			return 0, err
		}
		f.log.Info("download broke off; resuming", "url", url, "attempt", attempt+1, "err", re.err)
		select {
		case <-ctx.Done():
			f.prog.add(-shown)
			return 0, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
}

// tryDownload makes one attempt. The partial file's bytes are hashed
// first, then the rest is requested with a Range header and hashed as it
// is written. It returns the size of the partial file it started from.
func (f *fetcher) tryDownload(ctx context.Context, url, part string, it Item, shown *int64) (int64, error) {
	pf, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	defer pf.Close()
	h := newHashes(it)
	have, err := io.Copy(h, pf)
	if err != nil {
		return 0, fmt.Errorf("read partial download %s: %w", part, err)
	}
	restart := func() error {
		f.prog.add(-*shown)
		*shown = 0
		h = newHashes(it)
		have = 0
		if err := pf.Truncate(0); err != nil {
			return err
		}
		_, err := pf.Seek(0, io.SeekStart)
		return err
	}
	if have > it.Size {
		if err := restart(); err != nil {
			return 0, err
		}
	}
	f.prog.add(have - *shown)
	*shown = have
	if have == it.Size {
		if h.check(part) == nil {
			return have, nil
		}
		f.log.Debug("complete partial download does not match; downloading again", "file", part)
		if err := restart(); err != nil {
			return 0, err
		}
	}
	start := have

	stall := f.opts.StallTimeout
	if stall <= 0 {
		stall = 60 * time.Second
	}
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(stall, func() { cancel(errStalled) })
	defer timer.Stop()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return start, ctx.Err()
		}
		if c := context.Cause(reqCtx); errors.Is(c, errStalled) {
			err = fmt.Errorf("%w for %s", c, stall)
		}
		return start, &retryable{fmt.Errorf("GET %s: %w", url, err)}
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		from, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || from != have {
			if err := restart(); err != nil {
				return 0, err
			}
			return 0, &retryable{fmt.Errorf("GET %s: asked for bytes from %d, got Content-Range %q", url, start, resp.Header.Get("Content-Range"))}
		}
	case http.StatusOK:
		if have > 0 {
			f.log.Debug("server ignored the range request; downloading from the start", "url", url)
			if err := restart(); err != nil {
				return 0, err
			}
			start = 0
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if total, ok := contentRangeTotal(resp.Header.Get("Content-Range")); ok && total < it.Size {
			os.Remove(part)
			return 0, fmt.Errorf("GET %s: the file there has %d bytes, the lock says %d", url, total, it.Size)
		}
		if err := restart(); err != nil {
			return 0, err
		}
		return 0, &retryable{fmt.Errorf("GET %s: %s", url, resp.Status)}
	default:
		err := fmt.Errorf("GET %s: %s", url, resp.Status)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests {
			return start, &retryable{err}
		}
		return start, err
	}

	body := &stallReader{r: resp.Body, timer: timer, d: stall}
	var got int64
	n, err := io.Copy(io.MultiWriter(pf, h, progWriter{f.prog, shown}, progWriter{noProgress{}, &got}),
		io.LimitReader(body, it.Size-have+1))
	f.downloaded.Add(got)
	have += n
	if err != nil {
		if ctx.Err() != nil {
			return start, ctx.Err()
		}
		if c := context.Cause(reqCtx); errors.Is(c, errStalled) {
			err = fmt.Errorf("%w for %s", c, stall)
		}
		return start, &retryable{fmt.Errorf("GET %s: broke off after %d of %d bytes: %w", url, have, it.Size, err)}
	}
	if have > it.Size {
		os.Remove(part)
		return 0, fmt.Errorf("GET %s: more than the %d bytes the lock says", url, it.Size)
	}
	if have < it.Size {
		return start, &retryable{fmt.Errorf("GET %s: truncated: ended after %d of %d bytes", url, have, it.Size)}
	}
	if err := h.check(url); err != nil {
		if rerr := restart(); rerr != nil {
			return 0, rerr
		}
		os.Remove(part)
		if start > 0 {
			// The bad bytes may be those of the earlier attempt: try
			// once more from the start.
			return 0, &retryable{err}
		}
		return 0, err
	}
	if err := pf.Sync(); err != nil {
		return 0, err
	}
	return start, nil
}

// stallReader restarts the stall timer whenever data arrives.
type stallReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.timer.Reset(s.d)
	}
	return n, err
}

// contentRangeStart parses the first byte of "bytes first-last/total".
func contentRangeStart(v string) (int64, bool) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(first), 10, 64)
	return n, err == nil
}

// contentRangeTotal parses the total of "bytes */total" or
// "bytes first-last/total".
func contentRangeTotal(v string) (int64, bool) {
	_, total, ok := strings.Cut(v, "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	return n, err == nil
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
