// Package release makes the files of an app release on the connected
// host: the app directory walked under its ignore rules, each file by
// digest, the tar of the files a redeploy must carry, the env file, and
// the app's process types from its Procfile. Which files a redeploy
// carries is the planner's (planner.Link); applying a release is the
// executor's (install-release).
package release

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// IgnoreFile holds .gitignore-style patterns of what a deploy leaves out,
// at the app directory's top.
const IgnoreFile = ".runtimekitignore"

// DefaultIgnore is left out of every release: version control, and what
// the deploy itself rebuilds for the target (node_modules, when a
// package-lock.json says how).
var DefaultIgnore = []string{".git/", ".hg/", ".svn/", ".DS_Store"}

// Tree is an app directory as a release ships it.
type Tree struct {
	// Dir is the app directory; Extra maps release paths to files
	// outside it (a node_modules built for the target).
	Dir   string
	Files []state.ReleaseFile
	src   map[string]string // release path -> file on this machine
}

// Walk lists the files of dir a release ships: every regular file and
// symbolic link not matched by DefaultIgnore, ignore or dir's
// .runtimekitignore (and .gitignore, whose rules the app's own
// repository already states). A link must stay inside the app; sockets,
// devices and FIFOs are refused, as are files no one may read.
func Walk(dir string, ignore []string) (*Tree, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	var ps []gitignore.Pattern
	for _, p := range append(slices.Clone(DefaultIgnore), ignore...) {
		ps = append(ps, gitignore.ParsePattern(p, nil))
	}
	for _, f := range []string{".gitignore", IgnoreFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimRight(l, "\r"); l != "" && !strings.HasPrefix(l, "#") {
				ps = append(ps, gitignore.ParsePattern(l, nil))
			}
		}
	}
	m := gitignore.NewMatcher(ps)
	t := &Tree{Dir: dir, src: map[string]string{}}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if m.Match(strings.Split(rel, "/"), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		return t.add(rel, p)
	})
	if err != nil {
		return nil, err
	}
	t.sort()
	return t, nil
}

// AddTree adds the files below dir (a node_modules built for the target)
// under the release path prefix, replacing any the walk found there.
func (t *Tree) AddTree(prefix, dir string) error {
	t.Files = slices.DeleteFunc(t.Files, func(f state.ReleaseFile) bool {
		return f.Path == prefix || strings.HasPrefix(f.Path, prefix+"/")
	})
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		return t.add(path.Join(prefix, filepath.ToSlash(rel)), p)
	})
	t.sort()
	return err
}

// Drop takes out of the release the files that are any of the given files
// of this machine (the same file, by device and inode, whatever the path
// or link it is reached by), and returns their release paths. A deploy
// drops the files its secrets and env were read from, so that a secret
// kept in the app directory is not shipped as one of the app's files.
func (t *Tree) Drop(files ...string) []string {
	var gone []os.FileInfo
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			gone = append(gone, fi)
		}
	}
	var dropped []string
	t.Files = slices.DeleteFunc(t.Files, func(f state.ReleaseFile) bool {
		if f.Link != "" {
			return false
		}
		fi, err := os.Stat(t.src[f.Path])
		if err != nil || !slices.ContainsFunc(gone, func(g os.FileInfo) bool { return os.SameFile(fi, g) }) {
			return false
		}
		dropped = append(dropped, f.Path)
		delete(t.src, f.Path)
		return true
	})
	return dropped
}

func (t *Tree) sort() {
	sort.Slice(t.Files, func(i, j int) bool { return t.Files[i].Path < t.Files[j].Path })
}

func (t *Tree) add(rel, p string) error {
	if why := state.CheckReleasePath(rel); why != "" {
		return fmt.Errorf("%s: %s", p, why)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		if path.IsAbs(target) || strings.HasPrefix(path.Clean(path.Join(path.Dir(rel), target)), "../") || path.Clean(path.Join(path.Dir(rel), target)) == ".." {
			return fmt.Errorf("%s links to %s, outside the app: a release holds only the app's own files (copy it in, or add it to %s)", p, target, IgnoreFile)
		}
		t.Files = append(t.Files, state.ReleaseFile{Path: rel, Mode: 0o777, Link: target})
	case fi.Mode().IsRegular():
		sum, n, err := durable.HashFile(p)
		if err != nil {
			return fmt.Errorf("%w (a release ships every file of the app: fix its permissions or add it to %s)", err, IgnoreFile)
		}
		mode := uint32(0o644)
		if fi.Mode().Perm()&0o111 != 0 {
			mode = 0o755
		}
		t.Files = append(t.Files, state.ReleaseFile{Path: rel, Mode: mode, Size: n, SHA256: sum})
	default:
		return fmt.Errorf("%s is a %s, not a file or a link: a release cannot hold it (add it to %s)", p, fi.Mode().Type(), IgnoreFile)
	}
	t.src[rel] = p
	return nil
}

// WriteTar writes the tar of the given files of the tree to w, in order,
// owned by root and dated 1970: the same files give the same bytes.
func (t *Tree) WriteTar(w io.Writer, files []state.ReleaseFile) error {
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	epoch := time.Unix(0, 0)
	for _, f := range files {
		for d := path.Dir(f.Path); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	ds := make([]string, 0, len(dirs))
	for d := range dirs {
		ds = append(ds, d)
	}
	sort.Strings(ds) // parents first
	for _, d := range ds {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	for _, f := range files {
		h := &tar.Header{Name: f.Path, Mode: int64(f.Mode), ModTime: epoch, Format: tar.FormatPAX}
		if f.Link != "" {
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.Link
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		h.Typeflag, h.Size = tar.TypeReg, f.Size
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		src, err := os.Open(t.src[f.Path])
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, io.LimitReader(src, f.Size))
		src.Close()
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Reserved are the variables runtimekit sets for each release.
var Reserved = []string{"PORT"}

// CheckEnvName says why name cannot be an app's variable, or "".
func CheckEnvName(name string) string {
	switch {
	case !envName.MatchString(name):
		return fmt.Sprintf("%q is not a variable name (letters, digits and _, not starting with a digit)", name)
	case slices.Contains(Reserved, name):
		return fmt.Sprintf("%s is set by runtimekit for each release", name)
	}
	return ""
}

// ReadEnvFile reads KEY=VALUE lines (# comments and blank lines skipped;
// a value may be quoted with ' or "), as --env-file takes them.
func ReadEnvFile(name string) (map[string]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(l, "export "), "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: %q is not KEY=VALUE", name, n, l)
		}
		k = strings.TrimSpace(k)
		if why := CheckEnvName(k); why != "" {
			return nil, fmt.Errorf("%s:%d: %s", name, n, why)
		}
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out, sc.Err()
}

// EnvFileBytes renders variables as the env file a release's processes
// read (KEY='value' lines, sorted), as sh sources it.
func EnvFileBytes(vars map[string]string) []byte {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(k + "='" + strings.ReplaceAll(vars[k], "'", `'\''`) + "'\n")
	}
	return b.Bytes()
}

// ReadProcfile reads dir's Procfile, if it has one: "NAME: COMMAND" lines,
// each command run by sh (as Heroku and foreman run them).
func ReadProcfile(dir string) ([]state.Process, error) {
	name := filepath.Join(dir, "Procfile")
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []state.Process
	for n, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, cmd, ok := strings.Cut(l, ":")
		k, cmd = strings.TrimSpace(k), strings.TrimSpace(cmd)
		if !ok || cmd == "" || !regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`).MatchString(k) {
			return nil, fmt.Errorf("%s:%d: %q is not \"NAME: COMMAND\" with a process name of lower-case letters and digits (web, worker)", name, n+1, l)
		}
		out = append(out, state.Process{Name: k, Argv: []string{"/bin/sh", "-c", "exec " + cmd}})
	}
	// The web process first: it is the one that serves $PORT.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name == "web" && out[j].Name != "web" })
	return out, nil
}
