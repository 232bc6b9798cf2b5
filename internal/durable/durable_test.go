package durable_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/runtimekit/runtimekit/internal/durable"
)

func mkfifo(t *testing.T, p string) {
	t.Helper()
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
}

// mknull makes a character device with the numbers of /dev/null (1, 3)
// in a temporary directory: it discards writes like /dev/null, and the
// machine's own /dev is not touched.
func mknull(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "null")
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("cannot make a character device here (the end-to-end test in cmd/runtimectl covers /dev/null): %v", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("cannot open a character device here (mounted nodev?): %v", err)
	}
	f.Close()
	return p
}

func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func ino(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// entries lists a directory, to show that no temporary file is left.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func notRegular(t *testing.T, err error, path, what string) {
	t.Helper()
	var nr *durable.NotRegularError
	if !errors.As(err, &nr) {
		t.Fatalf("err = %v, want a *NotRegularError", err)
	}
	if want := path + " is " + what + ", not a regular file"; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
}

// Both writers replace a regular file by a new one (a rename, so a new
// inode), keep its permission bits, and leave no temporary file.
func TestRegularFileReplaced(t *testing.T) {
	ctx := t.Context()
	for name, write := range map[string]func(string, []byte) error{
		"WriteFile":   func(p string, b []byte) error { return durable.WriteFile(ctx, p, b, 0o644) },
		"ReplaceFile": func(p string, b []byte) error { return durable.ReplaceFile(p, b, 0o644) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "plan.json")
			if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			before := ino(t, p)
			if err := write(p, []byte("new")); err != nil {
				t.Fatal(err)
			}
			if got := readString(t, p); got != "new" {
				t.Errorf("content = %q, want new", got)
			}
			if m := mode(t, p); !m.IsRegular() || m.Perm() != 0o600 {
				t.Errorf("mode = %v, want a regular file with its old 0600", m)
			}
			if ino(t, p) == before {
				t.Errorf("same inode: the file was rewritten in place, not replaced")
			}
			if es := entries(t, dir); len(es) != 1 {
				t.Errorf("directory holds %v, want only plan.json", es)
			}
		})
	}
}

func TestMissingFileCreated(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "lock.json")
	if err := durable.WriteFile(t.Context(), p, []byte("lock"), 0o640); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, p); got != "lock" {
		t.Errorf("content = %q", got)
	}
	if m := mode(t, p); !m.IsRegular() || m.Perm()&^0o640 != 0 {
		t.Errorf("mode = %v, want a regular file within 0640", m)
	}
	if err := durable.ReplaceFile(filepath.Join(dir, "no-such-dir", "x"), nil, 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("write into a missing directory: err = %v, want not-exist", err)
	}
}

// A symbolic link stays a link: the file at the end of the chain is
// replaced, also through a relative link that climbs out of a linked
// directory, and a dangling link gets its file.
func TestSymlinkFollowed(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	real := filepath.Join(dir, "etc", "real.json")
	os.MkdirAll(filepath.Dir(real), 0o755)
	os.WriteFile(real, []byte("old"), 0o644)
	// config.json -> hop -> etc/real.json
	must(t, os.Symlink("etc/real.json", filepath.Join(dir, "hop")))
	must(t, os.Symlink("hop", filepath.Join(dir, "config.json")))
	if err := durable.WriteFile(ctx, filepath.Join(dir, "config.json"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"config.json", "hop"} {
		if m := mode(t, filepath.Join(dir, l)); m&fs.ModeSymlink == 0 {
			t.Errorf("%s is now %v, want it still a symbolic link", l, m)
		}
	}
	if got := readString(t, real); got != "new" {
		t.Errorf("real file = %q, want new", got)
	}

	// linked -> etc/sub; linked/up -> ../up.json, which the kernel reads
	// as etc/up.json (relative to etc/sub), not as up.json beside linked.
	must(t, os.Mkdir(filepath.Join(dir, "etc", "sub"), 0o755))
	must(t, os.Symlink("etc/sub", filepath.Join(dir, "linked")))
	must(t, os.Symlink("../up.json", filepath.Join(dir, "etc", "sub", "up")))
	if err := durable.ReplaceFile(filepath.Join(dir, "linked", "up"), []byte("up"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(dir, "etc", "up.json")); got != "up" {
		t.Errorf("etc/up.json = %q, want up", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "up.json")); err == nil {
		t.Errorf("up.json was created beside the link: the link target was cleaned lexically")
	}

	must(t, os.Symlink("later.json", filepath.Join(dir, "dangling")))
	if err := durable.WriteFile(ctx, filepath.Join(dir, "dangling"), []byte("created"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(dir, "later.json")); got != "created" {
		t.Errorf("later.json = %q, want created", got)
	}
	if m := mode(t, filepath.Join(dir, "dangling")); m&fs.ModeSymlink == 0 {
		t.Errorf("dangling is now %v, want it still a symbolic link", m)
	}

	must(t, os.Symlink("loop-b", filepath.Join(dir, "loop-a")))
	must(t, os.Symlink("loop-a", filepath.Join(dir, "loop-b")))
	if err := durable.ReplaceFile(filepath.Join(dir, "loop-a"), nil, 0o644); err == nil {
		t.Errorf("a loop of links was written")
	}
}

// A FIFO is written into, like a shell redirection: the reader gets the
// data and the FIFO stays.
func TestFIFOWrittenInto(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	mkfifo(t, p)
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(p) // blocks until the writer opens
		got <- string(b)
	}()
	if err := durable.WriteFile(t.Context(), p, []byte("plan"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "plan" {
		t.Errorf("reader got %q, want plan", s)
	}
	if m := mode(t, p); m&fs.ModeNamedPipe == 0 {
		t.Errorf("fifo is now %v", m)
	}
}

// A writer that comes first waits for its reader, as a shell redirection
// does.
func TestFIFOReaderComesLater(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	mkfifo(t, p)
	done := make(chan error, 1)
	go func() { done <- durable.WriteFile(t.Context(), p, []byte("late"), 0o644) }()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if string(b) != "late" {
		t.Errorf("reader got %q, want late", b)
	}
}

// Without a reader, the wait for one ends with the context, and the FIFO
// is left as it was.
func TestFIFOWithoutReader(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "fifo")
	mkfifo(t, p)
	ctx, cancel := context.WithCancelCause(t.Context())
	done := make(chan error, 1)
	go func() { done <- durable.WriteFile(ctx, p, []byte("plan"), 0o644) }()
	cancel(errors.New("interrupted")) // most likely while it waits
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("err = %v, want the context's cause", err)
	}
	if err := durable.ReplaceFile(p, []byte("plan"), 0o644); err != nil {
		notRegular(t, err, p, "a FIFO")
	} else {
		t.Errorf("ReplaceFile wrote a FIFO")
	}
	if m := mode(t, p); m&fs.ModeNamedPipe == 0 {
		t.Errorf("fifo is now %v", m)
	}
	if es := entries(t, dir); len(es) != 1 {
		t.Errorf("directory holds %v, want only the fifo", es)
	}
}

func TestCharDevice(t *testing.T) {
	p := mknull(t)
	if err := durable.WriteFile(t.Context(), p, []byte("discarded"), 0o644); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, p); m&fs.ModeCharDevice == 0 {
		t.Errorf("device is now %v", m)
	}
	notRegular(t, durable.ReplaceFile(p, nil, 0o644), p, "a character device")
}

func TestSocketRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Skipf("no unix sockets here: %v", err)
	}
	defer l.Close()
	notRegular(t, durable.WriteFile(t.Context(), p, []byte("x"), 0o644), p, "a socket")
	notRegular(t, durable.ReplaceFile(p, []byte("x"), 0o644), p, "a socket")
	_, _, err = durable.HashFile(p)
	notRegular(t, err, p, "a socket")
	if m := mode(t, p); m&fs.ModeSocket == 0 {
		t.Errorf("socket is now %v", m)
	}
}

func TestDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	must(t, os.Mkdir(p, 0o755))
	must(t, os.Symlink("out", filepath.Join(dir, "link")))
	notRegular(t, durable.WriteFile(t.Context(), p, []byte("x"), 0o644), p, "a directory")
	notRegular(t, durable.ReplaceFile(filepath.Join(dir, "link"), []byte("x"), 0o644), filepath.Join(dir, "link"), "a directory")
	if m := mode(t, p); !m.IsDir() {
		t.Errorf("directory is now %v", m)
	}
}

// A link in /proc names an open file: what it names is written into,
// never replaced. A pipe gets the data; a regular file opened for
// appending (a log) keeps what it had and gets the data at its end.
func TestProcLink(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		got <- string(b)
	}()
	if err := durable.WriteFile(t.Context(), "/proc/self/fd/"+strconv.Itoa(int(w.Fd())), []byte("to the pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if s := <-got; s != "to the pipe" {
		t.Errorf("pipe got %q", s)
	}

	dir := t.TempDir()
	logPath := filepath.Join(dir, "log")
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	log.WriteString("earlier\n")
	before := ino(t, logPath)
	// stdout -> /proc/self/fd/N, as /dev/stdout is.
	stdout := filepath.Join(dir, "stdout")
	must(t, os.Symlink("/proc/self/fd/"+strconv.Itoa(int(log.Fd())), stdout))
	if err := durable.WriteFile(t.Context(), stdout, []byte("plan\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, logPath); got != "earlier\nplan\n" {
		t.Errorf("log = %q, want the old line then the plan", got)
	}
	if ino(t, logPath) != before {
		t.Errorf("the log was replaced")
	}
	var nr *durable.NotRegularError
	if err := durable.ReplaceFile(stdout, nil, 0o644); !errors.As(err, &nr) || !nr.Proc {
		t.Errorf("ReplaceFile through /proc: err = %v, want a refusal", err)
	}
}

func TestHashFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("hello\n"), 0o644)
	sum, n, err := durable.HashFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if sum != "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" || n != 6 {
		t.Errorf("HashFile = %s %d", sum, n)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	mkfifo(t, fifo)
	_, _, err = durable.HashFile(fifo) // would block on open without O_NONBLOCK
	notRegular(t, err, fifo, "a FIFO")
}

func TestSyncDir(t *testing.T) {
	if err := durable.SyncDir(t.TempDir()); err != nil {
		t.Error(err)
	}
	missing := filepath.Join(t.TempDir(), "gone")
	if err := durable.SyncDir(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("SyncDir of a missing directory: err = %v", err)
	}
}

func TestHash(t *testing.T) {
	sum, n, err := durable.Hash(strings.NewReader("hello\n"))
	if err != nil || sum != "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" || n != 6 {
		t.Errorf("Hash = %s %d %v", sum, n, err)
	}
}

// openRoot returns an os.Root on a new directory holding etc/f ("hello\n"),
// and that directory.
func openRoot(t *testing.T) (*os.Root, string) {
	t.Helper()
	dir := t.TempDir()
	must(t, os.Mkdir(filepath.Join(dir, "etc"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "etc", "f"), []byte("hello\n"), 0o644))
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, dir
}

// HashIn reads only regular files inside the root: a final symbolic
// link, a FIFO (without waiting on it) and a directory are refused, and
// a link among the parents that leads out of the root is not followed.
func TestHashIn(t *testing.T) {
	r, dir := openRoot(t)
	sum, n, err := durable.HashIn(r, "etc/f")
	if err != nil || sum != "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" || n != 6 {
		t.Errorf("HashIn = %s %d %v", sum, n, err)
	}
	must(t, os.Symlink("f", filepath.Join(dir, "etc", "link")))
	_, _, err = durable.HashIn(r, "etc/link")
	notRegular(t, err, filepath.Join(dir, "etc", "link"), "a symbolic link")
	mkfifo(t, filepath.Join(dir, "etc", "fifo"))
	_, _, err = durable.HashIn(r, "etc/fifo")
	notRegular(t, err, filepath.Join(dir, "etc", "fifo"), "a FIFO")
	_, _, err = durable.HashIn(r, "etc")
	notRegular(t, err, filepath.Join(dir, "etc"), "a directory")

	outside := t.TempDir()
	must(t, os.WriteFile(filepath.Join(outside, "f"), []byte("secret"), 0o644))
	must(t, os.Symlink(outside, filepath.Join(dir, "out")))
	if _, _, err := durable.HashIn(r, "out/f"); err == nil {
		t.Errorf("HashIn followed a link out of the root")
	}
	if _, _, err := durable.HashIn(r, "../f"); err == nil {
		t.Errorf("HashIn read ../f")
	}
}

func TestSyncDirIn(t *testing.T) {
	r, dir := openRoot(t)
	for _, rel := range []string{".", "etc"} {
		if err := durable.SyncDirIn(r, rel); err != nil {
			t.Errorf("SyncDirIn(%q): %v", rel, err)
		}
	}
	missing := filepath.Join(dir, "gone")
	if err := durable.SyncDirIn(r, "gone"); err == nil || !strings.Contains(err.Error(), "sync directory "+missing+": ") {
		t.Errorf("SyncDirIn of a missing directory: err = %v, want it to name %s", err, missing)
	}
	must(t, os.Symlink(t.TempDir(), filepath.Join(dir, "out")))
	if err := durable.SyncDirIn(r, "out"); err == nil {
		t.Errorf("SyncDirIn followed a link out of the root")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
