package pluginrpc

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// LevelTrace is the slog level hclog's Trace messages are logged at.
const LevelTrace = slog.LevelDebug - 4

// Logger returns an hclog.Logger that writes to l; a nil l discards.
//
// Everything go-plugin logs is plumbing detail (process start and exit,
// a plugin's own log lines), so every hclog level above Trace becomes
// slog Debug: failures that matter reach the user as returned errors, and
// killing a plugin on purpose must not print "plugin process exited:
// signal: killed" at runtimectl's default level. ctx is passed to every
// record, for handlers that read values from it.
func Logger(ctx context.Context, l *slog.Logger) hclog.Logger {
	if l == nil {
		return hclog.NewNullLogger()
	}
	return &slogLogger{ctx: ctx, l: l}
}

type slogLogger struct {
	ctx  context.Context
	l    *slog.Logger
	name string
	args []any
}

func slogLevel(level hclog.Level) slog.Level {
	if level <= hclog.Trace {
		return LevelTrace
	}
	return slog.LevelDebug
}

func (s *slogLogger) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	if s.name != "" {
		args = append([]any{"logger", s.name}, args...)
	}
	s.l.Log(s.ctx, slogLevel(level), msg, args...)
}

func (s *slogLogger) Trace(msg string, args ...any) { s.Log(hclog.Trace, msg, args...) }
func (s *slogLogger) Debug(msg string, args ...any) { s.Log(hclog.Debug, msg, args...) }
func (s *slogLogger) Info(msg string, args ...any)  { s.Log(hclog.Info, msg, args...) }
func (s *slogLogger) Warn(msg string, args ...any)  { s.Log(hclog.Warn, msg, args...) }
func (s *slogLogger) Error(msg string, args ...any) { s.Log(hclog.Error, msg, args...) }

func (s *slogLogger) enabled(level hclog.Level) bool {
	return s.l.Enabled(s.ctx, slogLevel(level))
}

func (s *slogLogger) IsTrace() bool { return s.enabled(hclog.Trace) }
func (s *slogLogger) IsDebug() bool { return s.enabled(hclog.Debug) }
func (s *slogLogger) IsInfo() bool  { return s.enabled(hclog.Info) }
func (s *slogLogger) IsWarn() bool  { return s.enabled(hclog.Warn) }
func (s *slogLogger) IsError() bool { return s.enabled(hclog.Error) }

// GetLevel lets go-plugin skip parsing plugin log lines nobody will see.
func (s *slogLogger) GetLevel() hclog.Level {
	switch {
	case s.enabled(hclog.Trace):
		return hclog.Trace
	case s.enabled(hclog.Debug):
		return hclog.Debug
	default:
		return hclog.Off
	}
}

// SetLevel is a no-op: the slog handler owns the level.
func (s *slogLogger) SetLevel(hclog.Level) {}

func (s *slogLogger) ImpliedArgs() []any { return s.args }

func (s *slogLogger) With(args ...any) hclog.Logger {
	c := *s
	c.args = append(append([]any(nil), s.args...), args...)
	c.l = s.l.With(args...)
	return &c
}

func (s *slogLogger) Name() string { return s.name }

func (s *slogLogger) Named(name string) hclog.Logger {
	c := *s
	if c.name != "" {
		c.name += "." + name
	} else {
		c.name = name
	}
	return &c
}

func (s *slogLogger) ResetNamed(name string) hclog.Logger {
	c := *s
	c.name = name
	return &c
}

func (s *slogLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(s.StandardWriter(opts), "", 0)
}

func (s *slogLogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &lineWriter{log: func(line string) { s.Debug(line) }}
}

// lineWriter calls log once per complete line written to it.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	log func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(w.buf[:i]), "\r"); line != "" {
			w.log(line)
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// LineWriter returns an io.Writer that logs each line written to it at
// Debug level with the given attributes; a nil l discards. The host uses it
// for a plugin's stdout and stderr after the handshake.
func LineWriter(ctx context.Context, l *slog.Logger, msg string, args ...any) io.Writer {
	if l == nil {
		return io.Discard
	}
	return &lineWriter{log: func(line string) {
		l.Log(ctx, slog.LevelDebug, msg, append([]any{"line", line}, args...)...)
	}}
}
