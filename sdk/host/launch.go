package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-plugin"

	"github.com/runtimekit/runtimekit/sdk"
	"github.com/runtimekit/runtimekit/sdk/internal/pluginrpc"
)

// Runtime starts the plugin (or reuses the process already started by h for
// the same binary) and returns it as an sdk.Runtime. The binary is checked
// against the lock first, and go-plugin hashes it again right before exec,
// so a binary that differs from the lock is never run.
//
// The process runs until Close, or until ctx is done: pass a context that
// lives as long as the Runtime is used.
func (h *Host) Runtime(ctx context.Context, name string) (sdk.Runtime, error) {
	t, err := h.resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	rt, err := h.runtime(ctx, t)
	if err != nil {
		return nil, err // not a nil *remote in a non-nil interface
	}
	return rt, nil
}

func (h *Host) runtime(ctx context.Context, t target) (*remote, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errClosed
	}
	s := h.slots[t.Name]
	if s == nil {
		s = &slot{}
		h.slots[t.Name] = s
	}
	h.starting.Add(1) // under h.mu after the closed check: Close's Wait cannot miss it
	h.mu.Unlock()
	defer h.starting.Done()

	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.p; p != nil {
		if p.digest == t.digest && !p.client.Exited() && p.ctx.Err() == nil {
			return p.rt, nil
		}
		s.p = nil
		p.end(false)
	}
	p, err := h.launch(ctx, t)
	if err != nil {
		return nil, err
	}
	s.p = p
	return p.rt, nil
}

// proc is one plugin process.
type proc struct {
	host   *Host
	name   string
	path   string
	digest string
	ctx    context.Context // done when the process must die
	cancel context.CancelFunc
	cmd    *exec.Cmd
	client *plugin.Client
	stderr *tailBuffer
	rt     *remote
	ready  atomic.Bool // the handshake completed
	once   sync.Once
}

// end stops the process and releases go-plugin's goroutines and connection.
// Graceful asks the plugin to exit (go-plugin force-kills it after two
// seconds); otherwise, or if it is still starting, it is killed at once:
// go-plugin's Kill would wait for the start to time out.
func (p *proc) end(graceful bool) {
	p.once.Do(func() {
		if !graceful || !p.ready.Load() {
			p.cancel() // exec.CommandContext kills the process
		}
		p.client.Kill()
		p.cancel()
		p.host.mu.Lock()
		delete(p.host.live, p)
		p.host.mu.Unlock()
	})
}

func (p *proc) stop() { p.end(true) }

func (h *Host) launch(ctx context.Context, t target) (*proc, error) {
	sum, err := hex.DecodeString(t.digest)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("plugin %s: invalid sha256 %q", t.Name, t.digest)
	}
	// The process is tied to ctx: exec.CommandContext kills it when ctx is
	// done (interrupt, deadline) even in the middle of go-plugin's start,
	// which holds its own lock and cannot be interrupted otherwise.
	pctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(pctx, t.Path)
	setPdeathsig(cmd)
	tail := &tailBuffer{max: 4 << 10}
	logArgs := []any{"plugin", t.Name}
	p := &proc{
		host:   h,
		name:   t.Name,
		path:   t.Path,
		digest: t.digest,
		ctx:    pctx,
		cancel: cancel,
		cmd:    cmd,
		stderr: tail,
	}
	p.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake(),
		Plugins:          pluginrpc.PluginSet(nil),
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     h.opts.StartTimeout,
		Logger:           pluginrpc.Logger(pctx, h.log.With(logArgs...)),
		// Before the handshake a plugin's stderr is its own; afterwards
		// go-plugin forwards os.Stderr over gRPC. Both feed the tail that
		// start and crash errors quote.
		Stderr:     tail,
		SyncStderr: io.MultiWriter(tail, pluginrpc.LineWriter(pctx, h.log, "plugin stderr", logArgs...)),
		SyncStdout: pluginrpc.LineWriter(pctx, h.log, "plugin stdout", logArgs...),
	})

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		cancel()
		return nil, errClosed
	}
	h.live[p] = struct{}{}
	h.mu.Unlock()

	rpc, err := p.client.Client()
	if err != nil {
		p.end(false) // also waits for go-plugin to reap the process
		if h.checkOpen() != nil {
			return nil, fmt.Errorf("start plugin %s: %w", t.Name, errClosed)
		}
		return nil, h.startError(ctx, t, p, err)
	}
	raw, err := rpc.Dispense(pluginrpc.PluginName)
	if err != nil {
		p.end(false)
		return nil, fmt.Errorf("plugin %s (%s): %w", t.Name, t.Path, err)
	}
	rc, ok := raw.(pluginrpc.RuntimeClient)
	if !ok {
		p.end(false)
		return nil, fmt.Errorf("plugin %s (%s): unexpected client type %T", t.Name, t.Path, raw)
	}
	p.rt = &remote{proc: p, rpc: rc}
	p.ready.Store(true)
	pid := 0
	if rc := p.client.ReattachConfig(); rc != nil {
		pid = rc.Pid
	}
	h.log.DebugContext(ctx, "plugin started", "plugin", t.Name, "path", t.Path, "pid", pid)
	return p, nil
}

var pluginVersionRE = regexp.MustCompile(`Plugin version: (\d+)`)

// ProtocolError is returned for a plugin built against an SDK that speaks
// another plugin protocol version.
type ProtocolError struct {
	Name, Path    string
	PluginVersion int // the protocol version the plugin speaks
	HostVersion   int // the one runtimectl speaks
}

func (e *ProtocolError) Error() string {
	if e.PluginVersion < e.HostVersion {
		return fmt.Sprintf("plugin %s (%s) speaks protocol %d, runtimectl speaks %d: it was built against an older runtimekit SDK and must be rebuilt against this one",
			e.Name, e.Path, e.PluginVersion, e.HostVersion)
	}
	return fmt.Sprintf("plugin %s (%s) speaks protocol %d, runtimectl speaks %d: it was built against a newer runtimekit SDK: upgrade runtimectl, or rebuild the plugin against this SDK",
		e.Name, e.Path, e.PluginVersion, e.HostVersion)
}

// startError turns go-plugin's start failures, which are worded for
// go-plugin developers, into errors that say which plugin failed and why.
// It runs after the process has been reaped, so the exit status and the
// whole stderr tail are known.
func (h *Host) startError(ctx context.Context, t target, p *proc, err error) error {
	if cerr := context.Cause(ctx); cerr != nil {
		return fmt.Errorf("start plugin %s (%s): %w", t.Name, t.Path, cerr)
	}
	msg := err.Error()
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		actual, _, _, herr := hashIdentified(t.Path) // bypassing the cache
		if herr != nil {
			return fmt.Errorf("plugin %s: %s does not match sha256 %s and cannot be read again: %w", t.Name, t.Path, t.digest, herr)
		}
		lockFile := ""
		if t.pinned {
			lockFile = h.opts.LockFile
		}
		return &DigestMismatchError{Name: t.Name, Path: t.Path, LockFile: lockFile, Locked: t.digest, Actual: actual}
	case pluginVersionRE.MatchString(msg):
		v, _ := strconv.Atoi(pluginVersionRE.FindStringSubmatch(msg)[1])
		return &ProtocolError{Name: t.Name, Path: t.Path, PluginVersion: v, HostVersion: pluginrpc.ProtocolVersion}
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("plugin %s (%s) did not complete its handshake within %s: it hangs at start or is not a runtimectl plugin (killed)%s",
			t.Name, t.Path, h.opts.StartTimeout, p.stderr.quote())
	case strings.Contains(msg, "plugin exited before we could connect"),
		strings.Contains(msg, "Failed to read any lines from plugin's stdout"):
		status := "exited"
		if st := p.cmd.ProcessState; st != nil {
			status = st.String()
		}
		return fmt.Errorf("plugin %s (%s) exited during start (%s)%s", t.Name, t.Path, status, p.stderr.quote())
	case strings.HasPrefix(msg, "Unrecognized remote plugin message: "):
		line, _, _ := strings.Cut(strings.TrimPrefix(msg, "Unrecognized remote plugin message: "), "\n")
		return fmt.Errorf("plugin %s (%s) is not a runtimectl plugin: it printed %q instead of a handshake%s", t.Name, t.Path, line, p.stderr.quote())
	default:
		return fmt.Errorf("start plugin %s (%s): %w%s", t.Name, t.Path, err, p.stderr.quote())
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

// quote renders the last lines of the tail for an error message, or "" if
// the plugin wrote nothing.
func (t *tailBuffer) quote() string {
	const maxLines = 10
	t.mu.Lock()
	s := strings.TrimSpace(string(t.buf))
	t.mu.Unlock()
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return "; its stderr ends with:\n    " + strings.Join(lines, "\n    ")
}
