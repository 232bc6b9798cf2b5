package service

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// State is what runsv is doing with a service.
type State string

// States, from byte 19 of supervise/status.
const (
	StateDown   State = "down"   // no process
	StateRun    State = "run"    // ./run is running
	StateFinish State = "finish" // ./finish is running after ./run exited
)

// statusSize is the size of runsv's supervise/status file.
const statusSize = 20

// taiOffset is the TAI64 label of the Unix epoch as runit computes it
// (tai_unix: 2^62 + 10 seconds).
const taiOffset = 1<<62 + 10

// rawStatus is one decoded supervise/status file; see doc.go for the
// format.
type rawStatus struct {
	stamp   [12]byte // raw TAI64N of the last change, to compare
	since   time.Time
	pid     int
	paused  bool
	wantUp  bool
	gotTerm bool
	state   State
}

// decodeStatus decodes runsv's 20-byte status record.
func decodeStatus(b []byte) (rawStatus, error) {
	var s rawStatus
	if len(b) != statusSize {
		return s, fmt.Errorf("supervise/status is %d bytes, want %d", len(b), statusSize)
	}
	copy(s.stamp[:], b[:12])
	sec := binary.BigEndian.Uint64(b[0:8])
	nsec := binary.BigEndian.Uint32(b[8:12])
	if sec >= taiOffset && nsec < 1e9 {
		s.since = time.Unix(int64(sec-taiOffset), int64(nsec))
	}
	s.pid = int(binary.LittleEndian.Uint32(b[12:16]))
	s.paused = b[16] != 0
	s.wantUp = b[17] == 'u'
	s.gotTerm = b[18] != 0
	switch b[19] {
	case 0:
		s.state = StateDown
	case 1:
		s.state = StateRun
	case 2:
		s.state = StateFinish
	default:
		return s, fmt.Errorf("supervise/status: unknown state %d", b[19])
	}
	return s, nil
}

// readStatus reads dir/supervise/status.
func readStatus(dir string) (rawStatus, error) {
	p := filepath.Join(dir, "supervise", "status")
	b, err := os.ReadFile(p)
	if err != nil {
		return rawStatus{}, err
	}
	s, err := decodeStatus(b)
	if err != nil {
		return s, fmt.Errorf("%s: %w", p, err)
	}
	return s, nil
}

// errNotSupervised is returned when no runsv serves a service directory.
var errNotSupervised = errors.New("no runsv is running for it")

// supervised reports whether a runsv process serves dir. Like sv, it opens
// the supervise/ok FIFO for writing without blocking: runsv keeps it open
// for reading while it runs, and the open fails with ENXIO when nobody
// does (ENOENT before runsv first ran).
func supervised(dir string) (bool, error) {
	p := filepath.Join(dir, "supervise", "ok")
	fd, err := syscall.Open(p, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENOENT) {
			return false, nil
		}
		return false, &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer syscall.Close(fd)
	if err := isFIFO(fd, p); err != nil {
		return false, err
	}
	return true, nil
}

// isFIFO checks that fd, opened from p, is a FIFO, as runsv makes
// supervise/ok and supervise/control. Anything else (a regular file, or
// a link a service in a chrooted root put there to a file of this
// machine) is refused before a byte is written to it.
func isFIFO(fd int, p string) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: p, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return fmt.Errorf("%s is not a FIFO: it was not made by runsv", p)
	}
	return nil
}

// control writes runsv commands to dir/supervise/control, the FIFO runsv
// reads one command byte at a time from: 'u' up, 'd' down, 'o' once, 't'
// stop signal (runsv restarts it when it wants it up), 'k' SIGKILL, 'x'
// stop and exit. The open does not block: it fails with ENXIO when no runsv
// is reading.
func control(dir string, cmds string) error {
	p := filepath.Join(dir, "supervise", "control")
	fd, err := syscall.Open(p, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENOENT) {
			return errNotSupervised
		}
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer syscall.Close(fd)
	if err := isFIFO(fd, p); err != nil {
		return err
	}
	for {
		n, err := syscall.Write(fd, []byte(cmds))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "write", Path: p, Err: err}
		}
		if n != len(cmds) {
			return fmt.Errorf("write %s: short write", p)
		}
		return nil
	}
}
