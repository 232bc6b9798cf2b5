package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// The test binary doubles as a fake dpkg (see TestMain): enough of dpkg
// for the executor's tests, on a root's var/lib/dpkg/status, and strict
// about what the executor promises: --root, the frontend lock held by the
// caller with DPKG_FRONTEND_LOCKED=1, DEBIAN_FRONTEND=noninteractive, a
// policy-rc.d that exits 101 during changes, and Pre-Depends that are
// configured before a package is unpacked.
//
// A package installed by it leaves usr/share/fake/<name> (its version) in
// the root. The file fake-dpkg.fail in the root injects failures, one per
// line: "unpack:<name>" (the unpack stops there, the package
// half-installed and an update record left, as a killed dpkg leaves
// them), "configure:<name>" (the package stays half-configured),
// "purge:<name>". Every run is logged to fake-dpkg.log in the root.

const fakeDpkgEnv = "RUNTIMEKIT_FAKE_DPKG"

type fakePkg struct {
	name, arch, version, status string
	reinstreq                   bool
}

func fakeDpkgMain() int {
	var root string
	var args []string
	forceReinstreq := false
	for _, a := range os.Args[1:] {
		switch {
		case strings.HasPrefix(a, "--root="):
			root = strings.TrimPrefix(a, "--root=")
		case a == "--force-remove-reinstreq":
			forceReinstreq = true
		case strings.HasPrefix(a, "--force-"):
		default:
			args = append(args, a)
		}
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "fake dpkg: no action")
		return 2
	}
	if args[0] == "--print-architecture" {
		fmt.Println("i386")
		return 0
	}
	if root == "" {
		fmt.Fprintln(os.Stderr, "fake dpkg: no --root")
		return 2
	}
	fd := &fakeDpkg{root: root, forceReinstreq: forceReinstreq}
	if err := fd.load(); err != nil {
		fmt.Fprintln(os.Stderr, "fake dpkg:", err)
		return 2
	}
	action := args[0]
	fd.log(action, args[1:])
	if action != "--audit" {
		if msg := fd.checkEnv(); msg != "" {
			fmt.Fprintln(os.Stderr, "fake dpkg:", msg)
			return 2
		}
	}
	code := fd.do(action, args[1:])
	if err := fd.save(); err != nil {
		fmt.Fprintln(os.Stderr, "fake dpkg:", err)
		return 2
	}
	return code
}

type fakeDpkg struct {
	root           string
	forceReinstreq bool
	pkgs           map[string]*fakePkg
	order          []string
	fails          map[string]bool
}

func (fd *fakeDpkg) path(rel string) string { return filepath.Join(fd.root, rel) }

func (fd *fakeDpkg) log(action string, args []string) {
	var names []string
	for _, a := range args {
		if strings.HasSuffix(a, ".deb") {
			if c, err := readDebControl(a); err == nil {
				names = append(names, c.Package)
				continue
			}
		}
		names = append(names, a)
	}
	f, err := os.OpenFile(fd.path("fake-dpkg.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		fmt.Fprintln(f, strings.TrimSpace(action+" "+strings.Join(names, " ")))
		f.Close()
	}
}

func (fd *fakeDpkg) checkEnv() string {
	if os.Getenv("DPKG_FRONTEND_LOCKED") != "1" {
		return "DPKG_FRONTEND_LOCKED is not set"
	}
	if os.Getenv("DEBIAN_FRONTEND") != "noninteractive" {
		return "DEBIAN_FRONTEND is not noninteractive"
	}
	b, err := os.ReadFile(fd.path(policyRCPath))
	if err != nil || !strings.Contains(string(b), "exit 101") {
		return "no policy-rc.d exiting 101 in place"
	}
	lf, err := os.Open(fd.path(dpkgFrontendLock))
	if err != nil {
		return "no frontend lock file: " + err.Error()
	}
	defer lf.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(lf.Fd(), unix.F_GETLK, &lk); err != nil || lk.Type == unix.F_UNLCK {
		return "the frontend lock is not held"
	}
	return ""
}

func (fd *fakeDpkg) load() error {
	fd.pkgs = map[string]*fakePkg{}
	fd.fails = map[string]bool{}
	if b, err := os.ReadFile(fd.path("fake-dpkg.fail")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			fd.fails[l] = true
		}
	}
	b, err := os.ReadFile(fd.path(dpkgStatus))
	if err != nil {
		return err
	}
	for _, para := range strings.Split(string(b), "\n\n") {
		p := &fakePkg{}
		for _, line := range strings.Split(para, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "Package":
				p.name = v
			case "Architecture":
				p.arch = v
			case "Version":
				p.version = v
			case "Status":
				if w := strings.Fields(v); len(w) == 3 {
					p.status = w[2]
					p.reinstreq = w[1] == "reinstreq"
				}
			}
		}
		if p.name != "" {
			fd.put(p)
		}
	}
	return nil
}

func (fd *fakeDpkg) put(p *fakePkg) {
	k := p.name + ":" + p.arch
	if _, ok := fd.pkgs[k]; !ok {
		fd.order = append(fd.order, k)
	}
	fd.pkgs[k] = p
}

func (fd *fakeDpkg) save() error {
	var b strings.Builder
	keys := append([]string(nil), fd.order...)
	sort.Strings(keys)
	for _, k := range keys {
		p, ok := fd.pkgs[k]
		if !ok {
			continue
		}
		want, flag := "install", "ok"
		if p.status == "config-files" {
			want = "deinstall"
		}
		if p.reinstreq {
			flag = "reinstreq"
		}
		fmt.Fprintf(&b, "Package: %s\nStatus: %s %s %s\nArchitecture: %s\nVersion: %s\n\n", p.name, want, flag, p.status, p.arch, p.version)
	}
	return os.WriteFile(fd.path(dpkgStatus), []byte(b.String()), 0o644)
}

func (fd *fakeDpkg) find(key string) *fakePkg {
	if p, ok := fd.pkgs[key]; ok {
		return p
	}
	name, _, _ := strings.Cut(key, ":")
	for _, p := range fd.pkgs {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (fd *fakeDpkg) interrupt() {
	os.MkdirAll(fd.path(dpkgUpdates), 0o755)
	os.WriteFile(fd.path(dpkgUpdates+"/0001"), []byte("interrupted\n"), 0o644)
}

func (fd *fakeDpkg) do(action string, args []string) int {
	marker := func(name string) string { return fd.path("usr/share/fake/" + name) }
	switch action {
	case "--unpack":
		for _, deb := range args {
			c, err := readDebControl(deb)
			if err != nil {
				fmt.Fprintln(os.Stderr, "fake dpkg:", err)
				return 2
			}
			for _, group := range c.PreDepends {
				ok := false
				for _, alt := range group {
					if p := fd.find(alt); p != nil && p.status == "installed" {
						ok = true
					}
				}
				if !ok {
					fmt.Fprintf(os.Stderr, "dpkg: regarding %s containing %s, pre-dependency problem: %v not configured\n", deb, c.Package, group)
					return 1
				}
			}
			p := &fakePkg{name: c.Package, arch: c.Architecture, version: c.Version, status: "unpacked"}
			if fd.fails["unpack:"+c.Package] {
				p.status, p.reinstreq = "half-installed", true
				fd.put(p)
				fd.interrupt()
				fmt.Fprintln(os.Stderr, "fake dpkg: unpack of", c.Package, "interrupted")
				return 1
			}
			fd.put(p)
			os.WriteFile(marker(c.Package), []byte(c.Version+"\n"), 0o644)
		}
	case "--configure":
		code := 0
		for _, k := range fd.order {
			p := fd.pkgs[k]
			if p == nil || (p.status != "unpacked" && p.status != "half-configured") {
				continue
			}
			if fd.fails["configure:"+p.name] {
				p.status = "half-configured"
				fmt.Fprintln(os.Stderr, "fake dpkg: postinst of", p.name, "failed")
				code = 1
				continue
			}
			p.status = "installed"
		}
		if code == 0 {
			os.RemoveAll(fd.path(dpkgUpdates))
			os.MkdirAll(fd.path(dpkgUpdates), 0o755)
		}
		return code
	case "--purge", "--remove":
		for _, k := range args {
			p := fd.find(k)
			if p == nil {
				continue
			}
			if fd.fails["purge:"+p.name] {
				fmt.Fprintln(os.Stderr, "fake dpkg: prerm of", p.name, "failed")
				return 1
			}
			if p.reinstreq && !fd.forceReinstreq {
				fmt.Fprintf(os.Stderr, "dpkg: error processing package %s (%s):\n package is in a very bad inconsistent state; you should\n reinstall it before attempting a removal\n", p.name, action)
				return 1
			}
			os.Remove(marker(p.name))
			if action == "--purge" {
				delete(fd.pkgs, p.name+":"+p.arch)
			} else {
				p.status = "config-files"
			}
		}
	case "--audit":
		bad := false
		for _, k := range fd.order {
			if p := fd.pkgs[k]; p != nil && !settled(p.status) {
				fmt.Printf("The following packages are in a mess: %s (%s)\n", p.name, p.status)
				bad = true
			}
		}
		if bad {
			return 1
		}
	default:
		fmt.Fprintln(os.Stderr, "fake dpkg: unknown action", action)
		return 2
	}
	return 0
}
