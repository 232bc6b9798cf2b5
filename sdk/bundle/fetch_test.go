package bundle_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/sdk/bundle"
	"github.com/runtimekit/runtimekit/sdk/lock"
	"github.com/runtimekit/runtimekit/sdk/plan"
)

// fixture is a fake mirror and registry holding a few files.
type fixture struct {
	srv   *server
	items []bundle.Item
	data  map[string][]byte // bundle path → bytes
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{srv: newServer(t), data: map[string][]byte{}}
	deb1, b1 := debItem("hello", "2.10-3", 1, 200_000)
	deb2, b2 := debItem("libfoo1", "1:3.2-1", 2, 5_000)
	npm, b3 := npmItem("@scope/tool", "1.4.0", 3, 70_000)
	arcBytes := content(4, 3_000)
	arc := bundle.Item{Kind: bundle.KindArchive, Name: "thing", Version: "9",
		SHA256: sum(arcBytes), Size: int64(len(arcBytes))}
	arc.URL = f.srv.URL + "/dl/thing-9.tar.gz"
	f.srv.add("/debian/"+deb1.Filename, b1)
	f.srv.add("/debian/"+deb2.Filename, b2)
	f.srv.add("/npm/@scope/tool/-/tool-1.4.0.tgz", b3)
	f.srv.add("/dl/thing-9.tar.gz", arcBytes)
	f.items = []bundle.Item{deb1, deb2, npm, arc}
	for i, b := range [][]byte{b1, b2, b3, arcBytes} {
		p, err := f.items[i].BundlePath()
		if err != nil {
			t.Fatal(err)
		}
		f.data[p] = b
	}
	return f
}

func (f *fixture) opts(out string) bundle.FetchOptions {
	return bundle.FetchOptions{Out: out, Mirror: f.srv.URL + "/debian/", NPMRegistry: f.srv.URL + "/npm"}
}

func TestFetch(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "bundle")
	opts := f.opts(out)
	opts.Target = &lock.Target{Name: "webvm-i386", Arch: "386", DebianArch: "i386", Release: "bookworm"}
	var prog bytes.Buffer
	opts.Progress = &prog
	res, err := bundle.Fetch(context.Background(), f.items, opts)
	if err != nil {
		t.Fatal(err)
	}
	var gotPaths []string
	for _, fd := range res.Bundle.Index.Files {
		gotPaths = append(gotPaths, fd.Path)
	}
	wantPaths := []string{
		"artifacts/scope-tool-1.4.0.tgz",
		"artifacts/thing-9.tar.gz",
		"debs/hello_2.10-3_i386.deb",
		"debs/libfoo1_3.2-1_i386.deb",
	}
	if diff := cmp.Diff(wantPaths, gotPaths); diff != "" {
		t.Errorf("bundle files (-want +got):\n%s", diff)
	}
	for p, want := range f.data {
		got, err := os.ReadFile(filepath.Join(out, p))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: content differs (err %v)", p, err)
		}
	}
	for _, fd := range res.Files {
		if fd.Source != bundle.SourceDownload {
			t.Errorf("%s: source %s, want download", fd.File.Path, fd.Source)
		}
	}
	if res.Downloaded != 200_000+5_000+70_000+3_000 {
		t.Errorf("Downloaded = %d", res.Downloaded)
	}
	b, err := bundle.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f, ok := b.Lookup(f.items[0].SHA256); !ok || f.Name != "hello" || f.Arch != "i386" {
		t.Errorf("Lookup = %+v, %v", f, ok)
	}
	if lines := strings.Count(prog.String(), "\n"); lines != 4 {
		t.Errorf("progress: %d lines, want one per file:\n%s", lines, prog.String())
	}
	if leftovers(t, out) != nil {
		t.Errorf("temporary directories left: %v", leftovers(t, out))
	}

	// The same items in another order give the same bundle.json bytes.
	out2 := filepath.Join(dir, "bundle2")
	rev := []bundle.Item{f.items[3], f.items[2], f.items[1], f.items[0], f.items[0]}
	opts.Out, opts.Progress = out2, nil
	if _, err := bundle.Fetch(context.Background(), rev, opts); err != nil {
		t.Fatal(err)
	}
	j1, _ := os.ReadFile(filepath.Join(out, bundle.IndexName))
	j2, _ := os.ReadFile(filepath.Join(out2, bundle.IndexName))
	if !bytes.Equal(j1, j2) {
		t.Errorf("bundle.json is not deterministic:\n%s\n---\n%s", j1, j2)
	}
	for _, want := range []string{`"formatVersion": 1`, `"debianArch": "i386"`, `"integrity": "sha512-`} {
		if !bytes.Contains(j1, []byte(want)) {
			t.Errorf("bundle.json lacks %s:\n%s", want, j1)
		}
	}
}

func TestFetchResumesAfterDrop(t *testing.T) {
	f := newFixture(t)
	deb := f.items[0]
	path := "/debian/" + deb.Filename
	f.srv.dropAfter[path] = 80_000
	out := filepath.Join(t.TempDir(), "bundle")
	res, err := bundle.Fetch(context.Background(), f.items[:1], f.opts(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{path, path + " bytes=80000-"}
	if diff := cmp.Diff(want, f.srv.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if res.Files[0].Resumed != 80_000 {
		t.Errorf("Resumed = %d, want 80000", res.Files[0].Resumed)
	}
	if res.Downloaded != deb.Size {
		t.Errorf("Downloaded = %d, want %d: resumed bytes were fetched again", res.Downloaded, deb.Size)
	}
	verify(t, out)
}

func TestFetchResumesAcrossRuns(t *testing.T) {
	f := newFixture(t)
	deb := f.items[0]
	path := "/debian/" + deb.Filename
	f.srv.dropAfter[path] = 123_456
	dir := t.TempDir()
	out := filepath.Join(dir, "bundle")
	cache := filepath.Join(dir, "cache")
	opts := f.opts(out)
	opts.CacheDir, opts.Retries = cache, -1
	_, err := bundle.Fetch(context.Background(), f.items[:1], opts)
	if err == nil || !strings.Contains(err.Error(), "debs/hello_2.10-3_i386.deb") || !strings.Contains(err.Error(), "broke off") {
		t.Fatalf("err = %v, want a broken download naming the file", err)
	}
	assertAbsent(t, out)
	part := filepath.Join(cache, "partial", deb.SHA256+".part")
	if fi, err := os.Stat(part); err != nil || fi.Size() != 123_456 {
		t.Fatalf("partial download: %v %v", fi, err)
	}
	res, err := bundle.Fetch(context.Background(), f.items[:1], opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.srv.requests(); got[len(got)-1] != path+" bytes=123456-" {
		t.Errorf("second run requested %q, want a range request from byte 123456", got[len(got)-1])
	}
	if res.Downloaded != deb.Size-123_456 {
		t.Errorf("second run downloaded %d bytes, want %d", res.Downloaded, deb.Size-123_456)
	}
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Errorf("partial file still in the cache after success: %v", err)
	}
	verify(t, out)
}

func TestFetchResumesAfterStall(t *testing.T) {
	f := newFixture(t)
	path := "/debian/" + f.items[0].Filename
	f.srv.stallAfter[path] = 1000
	out := filepath.Join(t.TempDir(), "bundle")
	opts := f.opts(out)
	opts.StallTimeout = 300 * time.Millisecond
	start := time.Now()
	if _, err := bundle.Fetch(context.Background(), f.items[:1], opts); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s: stall not detected", d)
	}
	if got := f.srv.requests(); len(got) != 2 || got[1] != path+" bytes=1000-" {
		t.Errorf("requests = %q", got)
	}
	verify(t, out)
}

func TestFetchServerIgnoresRange(t *testing.T) {
	f := newFixture(t)
	f.srv.dropAfter["/debian/"+f.items[0].Filename] = 50_000
	f.srv.noRange = true
	out := filepath.Join(t.TempDir(), "bundle")
	if _, err := bundle.Fetch(context.Background(), f.items[:1], f.opts(out)); err != nil {
		t.Fatal(err)
	}
	verify(t, out)
}

func TestFetchLocalDirs(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	deb1, deb2, npm := f.items[0], f.items[1], f.items[2]
	// A flat directory holding the first .deb by its pool name and a
	// decoy of the right size for the npm tarball.
	flat := filepath.Join(dir, "flat")
	write(t, filepath.Join(flat, "hello_2.10-3_i386.deb"), f.data["debs/hello_2.10-3_i386.deb"])
	write(t, filepath.Join(flat, "tool-1.4.0.tgz"), content(99, int(npm.Size)))
	// An apt cache, which keeps the epoch in the name.
	apt := filepath.Join(dir, "archives")
	write(t, filepath.Join(apt, "libfoo1_1%3a3.2-1_i386.deb"), f.data["debs/libfoo1_3.2-1_i386.deb"])
	out := filepath.Join(dir, "bundle")
	opts := f.opts(out)
	opts.LocalDirs = []string{flat, apt}
	res, err := bundle.Fetch(context.Background(), f.items[:3], opts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, fd := range res.Files {
		got[fd.File.Name] = fd.Source
	}
	want := map[string]string{deb1.Name: bundle.SourceLocal, deb2.Name: bundle.SourceLocal, npm.Name: bundle.SourceDownload}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/npm/@scope/tool/-/tool-1.4.0.tgz"}, f.srv.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	verify(t, out)

	// A mirror copy on disk, named as a file:// mirror or as a local dir.
	mirror := filepath.Join(dir, "mirror")
	write(t, filepath.Join(mirror, filepath.FromSlash(deb1.Filename)), f.data["debs/hello_2.10-3_i386.deb"])
	for _, o := range []bundle.FetchOptions{
		{Out: filepath.Join(dir, "b-file-url"), Mirror: "file://" + mirror},
		{Out: filepath.Join(dir, "b-mirror-dir"), LocalDirs: []string{mirror}},
	} {
		if _, err := bundle.Fetch(context.Background(), f.items[:1], o); err != nil {
			t.Fatalf("%s: %v", o.Out, err)
		}
		verify(t, o.Out)
	}
}

func TestFetchKeepDownloads(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	opts := f.opts(filepath.Join(dir, "b1"))
	opts.CacheDir, opts.KeepDownloads = filepath.Join(dir, "cache"), true
	if _, err := bundle.Fetch(context.Background(), f.items, opts); err != nil {
		t.Fatal(err)
	}
	n := len(f.srv.requests())
	opts.Out = filepath.Join(dir, "b2")
	res, err := bundle.Fetch(context.Background(), f.items, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(f.srv.requests()); got != n {
		t.Errorf("second fetch made %d requests, want none", got-n)
	}
	for _, fd := range res.Files {
		if fd.Source != bundle.SourceCache {
			t.Errorf("%s: source %s, want cache", fd.File.Path, fd.Source)
		}
	}
	verify(t, opts.Out)
}

func TestFetchReplacesBundle(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(t.TempDir(), "bundle")
	if _, err := bundle.Fetch(context.Background(), f.items[:2], f.opts(out)); err != nil {
		t.Fatal(err)
	}
	n := len(f.srv.requests())
	res, err := bundle.Fetch(context.Background(), f.items[1:3], f.opts(out))
	if err != nil {
		t.Fatal(err)
	}
	if res.Files[0].Source != bundle.SourceLocal {
		t.Errorf("file of the old bundle was not reused: %+v", res.Files[0])
	}
	if got := len(f.srv.requests()) - n; got != 1 {
		t.Errorf("%d requests, want 1 (the new file only)", got)
	}
	verify(t, out) // the old bundle's hello .deb must be gone
	if l := leftovers(t, out); l != nil {
		t.Errorf("left beside the bundle: %v", l)
	}
}

// TestFetchBadInput checks that each kind of bad input is an error naming
// the file, and that the output directory is left as it was: absent, or
// holding the earlier bundle untouched.
func TestFetchBadInput(t *testing.T) {
	tests := []struct {
		name string
		// break changes the fixture; it returns the items to fetch.
		breakIt func(f *fixture) []bundle.Item
		opts    func(o *bundle.FetchOptions)
		want    []string // substrings of the error
		// noRequests: the input must be refused before any download.
		noRequests bool
	}{{
		name: "corrupt deb",
		breakIt: func(f *fixture) []bundle.Item {
			b := bytes.Clone(f.data["debs/hello_2.10-3_i386.deb"])
			b[1000] ^= 0xff
			f.srv.add("/debian/"+f.items[0].Filename, b)
			return f.items
		},
		want: []string{"debs/hello_2.10-3_i386.deb", "sha256 is ", "the lock says " + f0sum},
	}, {
		name: "truncated download",
		breakIt: func(f *fixture) []bundle.Item {
			f.srv.add("/debian/"+f.items[1].Filename, f.data["debs/libfoo1_3.2-1_i386.deb"][:4000])
			return f.items
		},
		want: []string{"debs/libfoo1_3.2-1_i386.deb", "4000 bytes", "5000"},
	}, {
		name: "too long",
		breakIt: func(f *fixture) []bundle.Item {
			f.srv.add("/debian/"+f.items[1].Filename, append(bytes.Clone(f.data["debs/libfoo1_3.2-1_i386.deb"]), 'x'))
			return f.items
		},
		want: []string{"debs/libfoo1_3.2-1_i386.deb", "more than the 5000 bytes"},
	}, {
		name: "dotdot filename",
		breakIt: func(f *fixture) []bundle.Item {
			items := append([]bundle.Item(nil), f.items...)
			items[1].Filename = "pool/main/../../../etc/libfoo1_3.2-1_i386.deb"
			return items
		},
		want:       []string{"pool/main/../../../etc/libfoo1_3.2-1_i386.deb", "'..'"},
		noRequests: true,
	}, {
		name: "absolute filename",
		breakIt: func(f *fixture) []bundle.Item {
			items := append([]bundle.Item(nil), f.items...)
			items[0].Filename = "/etc/hello_2.10-3_i386.deb"
			return items
		},
		want:       []string{"/etc/hello_2.10-3_i386.deb", "absolute"},
		noRequests: true,
	}, {
		name: "not a deb name",
		breakIt: func(f *fixture) []bundle.Item {
			items := append([]bundle.Item(nil), f.items...)
			items[0].Filename = "pool/main/h/hello/.hidden"
			return items
		},
		want:       []string{"pool/main/h/hello/.hidden"},
		noRequests: true,
	}, {
		name: "bad digest in lock",
		breakIt: func(f *fixture) []bundle.Item {
			items := append([]bundle.Item(nil), f.items...)
			items[0].SHA256 = "abc"
			return items
		},
		want:       []string{"debs/hello_2.10-3_i386.deb", "sha256"},
		noRequests: true,
	}, {
		name: "npm integrity",
		breakIt: func(f *fixture) []bundle.Item {
			items := append([]bundle.Item(nil), f.items...)
			items[2].Integrity = sri([]byte("something else"))
			return items
		},
		want: []string{"artifacts/scope-tool-1.4.0.tgz", "integrity is sha512-"},
	}, {
		name: "not found",
		breakIt: func(f *fixture) []bundle.Item {
			items := append([]bundle.Item(nil), f.items...)
			items[3].URL = f.srv.URL + "/dl/thing-10.tar.gz"
			return items
		},
		want: []string{"artifacts/thing-10.tar.gz", "404"},
	}, {
		name:    "no mirror",
		breakIt: func(f *fixture) []bundle.Item { return f.items },
		opts:    func(o *bundle.FetchOptions) { o.Mirror = "" },
		want: []string{"debs/hello_2.10-3_i386.deb", "debs/libfoo1_3.2-1_i386.deb",
			"no Debian mirror is set"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, existing := range []bool{false, true} {
				f := newFixture(t)
				out := filepath.Join(t.TempDir(), "bundle")
				if existing {
					// An earlier bundle of other files must survive.
					other, b := debItem("other", "1.0", 42, 100)
					f.srv.add("/debian/"+other.Filename, b)
					if _, err := bundle.Fetch(context.Background(), []bundle.Item{other}, f.opts(out)); err != nil {
						t.Fatal(err)
					}
				}
				var before map[string]string
				if existing {
					before = tree(t, out)
				}
				items := tt.breakIt(f)
				n := len(f.srv.requests())
				opts := f.opts(out)
				opts.Retries = 1
				if tt.opts != nil {
					tt.opts(&opts)
				}
				_, err := bundle.Fetch(context.Background(), items, opts)
				if err == nil {
					t.Fatal("want an error")
				}
				if !existing {
					t.Logf("%v", err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not mention %q:\n%v", w, err)
					}
				}
				var fe *bundle.FileError
				if !errors.As(err, &fe) {
					t.Errorf("error %v is not a *FileError", err)
				}
				if tt.noRequests && len(f.srv.requests()) != n {
					t.Errorf("bad input not refused before fetching: requests %q", f.srv.requests()[n:])
				}
				if existing {
					if diff := cmp.Diff(before, tree(t, out)); diff != "" {
						t.Errorf("existing bundle changed (-before +after):\n%s", diff)
					}
					if l := leftovers(t, out); l != nil {
						t.Errorf("left beside the bundle: %v", l)
					}
				} else {
					assertAbsent(t, out)
				}
			}
		})
	}
}

// f0sum is the digest of the first fixture file, which is fixed.
var f0sum = sum(content(1, 200_000))

func TestFetchRefusesOtherOutput(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "stuff")
	write(t, filepath.Join(out, "notes.txt"), []byte("mine"))
	before := tree(t, out)
	_, err := bundle.Fetch(context.Background(), f.items, f.opts(out))
	if err == nil || !strings.Contains(err.Error(), "not a bundle") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if diff := cmp.Diff(before, tree(t, out)); diff != "" {
		t.Errorf("directory changed:\n%s", diff)
	}
	if len(f.srv.requests()) != 0 {
		t.Errorf("fetched before refusing: %q", f.srv.requests())
	}
	// An empty directory is fine.
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Fetch(context.Background(), f.items[:1], f.opts(empty)); err != nil {
		t.Fatal(err)
	}
	verify(t, empty)
}

func TestFetchCancel(t *testing.T) {
	f := newFixture(t)
	f.srv.stallAfter["/debian/"+f.items[0].Filename] = 10
	out := filepath.Join(t.TempDir(), "bundle")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := bundle.Fetch(ctx, f.items, f.opts(out))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's error", err)
	}
	assertAbsent(t, out)
}

func TestFetchProgressBar(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	opts := f.opts(filepath.Join(t.TempDir(), "bundle"))
	opts.Progress, opts.ProgressBar = &buf, true
	if _, err := bundle.Fetch(context.Background(), f.items, opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "100%") {
		t.Errorf("bar did not reach 100%%: %q", buf.String())
	}
}

func TestItemsFromLock(t *testing.T) {
	pkg := lock.Package{Name: "libc6", Version: "2.36-9", Arch: "i386", Filename: "pool/main/g/glibc/libc6_2.36-9_i386.deb",
		SHA256: strings.Repeat("a", 64), Size: 10}
	nginx := lock.Package{Name: "nginx-light", Version: "1.22.1-9", Arch: "i386", Filename: "pool/main/n/nginx/nginx-light_1.22.1-9_i386.deb",
		SHA256: strings.Repeat("b", 64), Size: 10}
	l := &lock.Lock{Runtimes: []lock.Runtime{
		{Name: "nginx", Packages: []lock.Package{pkg, nginx}},
		{Name: "node", Packages: []lock.Package{pkg}, Artifacts: []lock.Artifact{{Kind: "npm", Name: "npm", Version: "10.0.0",
			Integrity: "sha512-AAAA", SHA256: strings.Repeat("c", 64), Size: 5, Dest: "/opt/npm", Format: "tar.gz"}}},
	}}
	items, err := bundle.ItemsFromLock(l)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.String())
	}
	want := []string{"deb libc6 2.36-9 i386", "deb nginx-light 1.22.1-9 i386", "npm npm 10.0.0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	if items, err := bundle.ItemsFromLock(l, "node"); err != nil || len(items) != 2 {
		t.Errorf("ItemsFromLock(node) = %v, %v", items, err)
	}
	if _, err := bundle.ItemsFromLock(l, "deno"); err == nil || !strings.Contains(err.Error(), `"deno"`) {
		t.Errorf("unknown runtime: err = %v", err)
	}
}

func TestItemsFromPlan(t *testing.T) {
	p := &plan.Plan{Artifacts: []plan.Artifact{
		{Kind: plan.ArtifactDeb, Name: "nginx-light", Version: "1.22.1-9", Arch: "i386", Filename: "pool/main/n/nginx/nginx-light_1.22.1-9_i386.deb",
			SHA256: strings.Repeat("b", 64), Size: 10},
		{Kind: plan.ArtifactNPM, Name: "@deno/linux-x64-glibc", Version: "2.9.6", Integrity: "sha512-AAAA", SHA256: strings.Repeat("c", 64), Size: 5},
		{Kind: plan.ArtifactArchive, Name: "app", Version: "1", URL: "https://example.org/app.tgz", SHA256: strings.Repeat("d", 64), Size: 7},
	}}
	want := []bundle.Item{
		{Kind: bundle.KindDeb, Name: "nginx-light", Version: "1.22.1-9", Arch: "i386", Filename: "pool/main/n/nginx/nginx-light_1.22.1-9_i386.deb",
			SHA256: strings.Repeat("b", 64), Size: 10},
		{Kind: bundle.KindNPM, Name: "@deno/linux-x64-glibc", Version: "2.9.6", Integrity: "sha512-AAAA", SHA256: strings.Repeat("c", 64), Size: 5},
		{Kind: bundle.KindArchive, Name: "app", Version: "1", URL: "https://example.org/app.tgz", SHA256: strings.Repeat("d", 64), Size: 7},
	}
	if diff := cmp.Diff(want, bundle.ItemsFromPlan(p)); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
}

func TestNPMTarballURL(t *testing.T) {
	for _, tt := range []struct{ reg, name, version, want string }{
		{"https://r.test", "left-pad", "1.3.0", "https://r.test/left-pad/-/left-pad-1.3.0.tgz"},
		{"https://r.test/", "@types/node", "20.1.0", "https://r.test/@types/node/-/node-20.1.0.tgz"},
		{"https://r.test/npm/", "@deno/linux-x64-glibc", "2.9.6", "https://r.test/npm/@deno/linux-x64-glibc/-/linux-x64-glibc-2.9.6.tgz"},
	} {
		if got := bundle.NPMTarballURL(tt.reg, tt.name, tt.version); got != tt.want {
			t.Errorf("NPMTarballURL(%q, %q, %q) = %q, want %q", tt.reg, tt.name, tt.version, got, tt.want)
		}
	}
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, dir string) {
	t.Helper()
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
}
