// Package image builds the VM's disk image on the connected host: a
// Debian minbase root of a target profile (debootstrap, as the profile
// says), with the VM runtimectl installed, written as an ext4 (or ext2, see
// Options.FS) file system by mke2fs -d the way WebVM's custom images are
// made (no Docker, no loop mount), and the target profile it matches, its base dpkg status read from
// that very root. With Boot it also writes a Debian kernel and initrd that
// qemu and v86 boot the image with (CheerpX needs none).
//
// Building needs root, debootstrap and mke2fs; the kernel needs the
// Debian archive (apt-get in a chroot). The debootstrap root and the kernel
// are cached by their inputs (mirror, release, architecture).
package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/runtimekit/runtimekit/internal/durable"
	"github.com/runtimekit/runtimekit/internal/human"
)

// Options says what to build.
type Options struct {
	// Target names the profile (name, description, Debian release,
	// budget); its base package list and status are what the image has,
	// and are written anew from the image's root.
	Target Target
	// Out is the directory written: rootfs.ext4 (or .ext2), TARGET.status,
	// TARGET.cue, image.json and, with Boot, vmlinuz and initrd.img.
	Out string
	// Runtimectl is the VM build of runtimectl for the target's
	// architecture, installed as /usr/local/bin/runtimectl.
	Runtimectl string
	// Boot also writes the kernel and initrd.
	Boot bool
	// Mirror is the Debian mirror (http URL).
	Mirror string
	// CacheDir keeps the debootstrap root and the kernel.
	CacheDir string
	// SizeMiB is the file system's size; 0 is the target's disk budget.
	SizeMiB int
	// FS is the file system: "ext4" (the default) or "ext2". ext2 has no
	// journal: a power cut in the middle of a write leaves its metadata
	// inconsistent (an inode allocated twice, seen in the power-cut tests)
	// until e2fsck runs, which nothing in a VM without init does before
	// mounting its root; ext4's journal keeps it consistent, and
	// runtimekit's fsyncs keep the data. ext2 is for a loader that mounts
	// nothing else.
	FS string
	// Epoch, when not zero, is the modification time of every file and
	// the file system's own time (SOURCE_DATE_EPOCH). Inode change times
	// are still the build's: two builds are alike, not byte for byte.
	Epoch time.Time
	// Log receives the build's progress; nil discards it.
	Log io.Writer
}

// Target is what the image builder needs of a target profile.
type Target struct {
	Name, Description string
	Release, Version  string // Debian codename and version: bookworm, 12
	Arch              string // Debian architecture: i386, amd64
	MemoryMiB         int
	DiskMiB           int
}

// Result describes what Build wrote; it is also image.json.
type Result struct {
	Target   string `json:"target"`
	Image    string `json:"image"`
	FS       string `json:"fs"` // ext4 or ext2
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`     // the file system's size
	Used     int64  `json:"used"`     // bytes of the root's files
	Packages int    `json:"packages"` // Debian packages installed
	Status   string `json:"status"`   // the target profile's base status
	Profile  string `json:"profile"`  // the target profile
	Kernel   string `json:"kernel,omitempty"`
	Initrd   string `json:"initrd,omitempty"`
	// Cmdline is the kernel command line that boots the image under qemu
	// (root on virtio) with runtimectl boot as its init.
	Cmdline string `json:"cmdline,omitempty"`
}

// KernelPackage is the Debian kernel that boots under qemu and v86.
func KernelPackage(arch string) (string, error) {
	switch arch {
	case "i386":
		return "linux-image-686", nil
	case "amd64":
		return "linux-image-amd64", nil
	}
	return "", fmt.Errorf("no kernel known for architecture %s", arch)
}

// Build builds the image.
func Build(ctx context.Context, o Options) (*Result, error) {
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	for _, tool := range []string{"debootstrap", "mke2fs", "chroot"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed: building an image needs debootstrap and e2fsprogs (apt-get install debootstrap e2fsprogs)", tool)
		}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("building an image runs debootstrap and chroot: run it as root")
	}
	if fi, err := os.Stat(o.Runtimectl); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the VM runtimectl %q: %v (make build-vm builds it)", o.Runtimectl, err)
	}
	fsType := o.FS
	if fsType == "" {
		fsType = "ext4"
	}
	if fsType != "ext4" && fsType != "ext2" {
		return nil, fmt.Errorf("file system %q: give ext4 or ext2", fsType)
	}
	size := o.SizeMiB
	if size == 0 {
		size = o.Target.DiskMiB
	}
	if size < 256 {
		return nil, fmt.Errorf("an image of %d MiB is too small: give --size 256 or more (a minbase root is about 130 MiB)", size)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	base, err := cachedRoot(ctx, o, logw)
	if err != nil {
		return nil, err
	}

	// The image's tree: the root, the VM runtimectl, no apt lists or
	// caches (the VM has no network to use them).
	work, err := os.MkdirTemp(o.Out, ".image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	tree := filepath.Join(work, "root")
	if err := run(ctx, logw, "cp", "-a", base, tree); err != nil {
		return nil, err
	}
	for _, g := range []string{"var/cache/apt/*.bin", "var/lib/apt/lists/*_*", "var/cache/apt/archives/*.deb", "var/log/*.log", "var/log/apt/*"} {
		ms, _ := filepath.Glob(filepath.Join(tree, g))
		for _, m := range ms {
			if err := os.RemoveAll(m); err != nil {
				return nil, err
			}
		}
	}
	if err := copyFile(o.Runtimectl, filepath.Join(tree, "usr/local/bin/runtimectl"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tree, "etc/hostname"), []byte("runtimekit\n"), 0o644); err != nil {
		return nil, err
	}
	used, err := treeSize(tree)
	if err != nil {
		return nil, err
	}

	// The profile from this root.
	statusRaw, err := os.ReadFile(filepath.Join(tree, "var/lib/dpkg/status"))
	if err != nil {
		return nil, err
	}
	status, pkgs := ReduceStatus(statusRaw)
	res := &Result{Target: o.Target.Name, Image: "rootfs." + fsType, FS: fsType, Used: used, Packages: len(pkgs),
		Status: o.Target.Name + ".status", Profile: o.Target.Name + ".cue"}
	if err := os.WriteFile(filepath.Join(o.Out, res.Status), status, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Out, res.Profile), ProfileCUE(o.Target, pkgs), 0o644); err != nil {
		return nil, err
	}

	if o.Boot {
		kernel, initrd, err := cachedKernel(ctx, o, base, logw)
		if err != nil {
			return nil, err
		}
		res.Kernel, res.Initrd = "vmlinuz", "initrd.img"
		for src, dst := range map[string]string{kernel: res.Kernel, initrd: res.Initrd} {
			if err := copyFile(src, filepath.Join(o.Out, dst), 0o644); err != nil {
				return nil, err
			}
		}
		res.Cmdline = "root=/dev/vda rw console=ttyS0 panic=1 init=/usr/local/bin/runtimectl -- boot"
	}

	// The file system: mke2fs -d (a small journal for ext4: the VM's
	// writes are small), its UUID and hash seed from the
	// target's name, its times from Epoch when given.
	env := os.Environ()
	if !o.Epoch.IsZero() {
		if err := clampTimes(tree, o.Epoch); err != nil {
			return nil, err
		}
		env = append(env, fmt.Sprintf("E2FSPROGS_FAKE_TIME=%d", o.Epoch.Unix()))
	}
	uuid := nameUUID("runtimekit image " + o.Target.Name)
	img := filepath.Join(work, res.Image)
	fmt.Fprintf(logw, "writing the %s file system (%d MiB, %s of files)\n", fsType, size, human.Bytes(used))
	args := []string{"-q", "-F", "-t", fsType, "-b", "4096", "-L", "runtimekit", "-U", uuid, "-E", "root_owner=0:0,hash_seed=" + uuid}
	if fsType == "ext4" {
		args = append(args, "-J", "size=16")
	}
	mk := exec.CommandContext(ctx, "mke2fs", append(args, "-d", tree, img, fmt.Sprintf("%dM", size))...)
	mk.Env = env
	if out, err := mk.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mke2fs: %v: %s", err, strings.TrimSpace(string(out)))
	}
	sum, n, err := durable.HashFile(img)
	if err != nil {
		return nil, err
	}
	res.SHA256, res.Size = sum, n
	if err := os.Rename(img, filepath.Join(o.Out, res.Image)); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(o.Out, "image.json"), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

// cachedRoot is the debootstrap minbase root of the target, built once
// per mirror, release and architecture.
func cachedRoot(ctx context.Context, o Options, logw io.Writer) (string, error) {
	dir := filepath.Join(o.CacheDir, "image", fmt.Sprintf("%s-%s-minbase-%s", o.Target.Release, o.Target.Arch, key(o.Mirror, o.Target.Release, o.Target.Arch)))
	return dir, buildOnce(dir, func(tmp string) error {
		fmt.Fprintf(logw, "debootstrap --variant=minbase %s %s (%s)\n", o.Target.Release, o.Target.Arch, o.Mirror)
		return run(ctx, logw, "debootstrap", "--variant=minbase", "--arch="+o.Target.Arch, o.Target.Release, tmp, o.Mirror)
	})
}

// cachedKernel installs the target's kernel package in a copy of the root
// (apt-get, from the mirror the root was made from) and keeps its kernel
// and initrd; the image itself carries neither, nor the modules: the
// initrd has the disk drivers a plain boot needs.
func cachedKernel(ctx context.Context, o Options, root string, logw io.Writer) (kernel, initrd string, err error) {
	pkg, err := KernelPackage(o.Target.Arch)
	if err != nil {
		return "", "", err
	}
	dir := filepath.Join(o.CacheDir, "image", fmt.Sprintf("%s-%s-%s", o.Target.Release, o.Target.Arch, pkg), key(filepath.Base(root), pkg))
	err = buildOnce(dir, func(tmp string) error {
		chroot := filepath.Join(tmp, "root")
		if err := run(ctx, logw, "cp", "-a", root, chroot); err != nil {
			return err
		}
		defer os.RemoveAll(chroot)
		proc := filepath.Join(chroot, "proc")
		if err := run(ctx, logw, "mount", "-t", "proc", "proc", proc); err != nil {
			return err
		}
		defer exec.Command("umount", "-l", proc).Run()
		fmt.Fprintf(logw, "apt-get install %s (in a copy of the root)\n", pkg)
		sh := "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends " + pkg
		if err := run(ctx, logw, "chroot", chroot, "/bin/sh", "-c", sh); err != nil {
			return err
		}
		for _, g := range []struct{ glob, name string }{{"boot/vmlinuz-*", "vmlinuz"}, {"boot/initrd.img-*", "initrd.img"}} {
			ms, _ := filepath.Glob(filepath.Join(chroot, g.glob))
			if len(ms) != 1 {
				return fmt.Errorf("%s installed %d files %s, want one", pkg, len(ms), g.glob)
			}
			if err := copyFile(ms[0], filepath.Join(tmp, g.name), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	return filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "initrd.img"), err
}

// buildOnce makes dir by build(tmp) unless it is complete, under a lock
// (another build of the same key waits), renaming tmp into place.
func buildOnce(dir string, build func(tmp string) error) error {
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	lk := flock.New(dir + ".lock")
	if err := lk.Lock(); err != nil {
		return err
	}
	defer lk.Unlock()
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return nil
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := build(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return err
	}
	os.RemoveAll(dir)
	return os.Rename(tmp, dir)
}

// statusFields are the fields of dpkg's status a target profile keeps:
// those the resolver reads.
var statusFields = map[string]bool{
	"Package": true, "Status": true, "Priority": true, "Essential": true, "Architecture": true, "Multi-Arch": true,
	"Version": true, "Provides": true, "Depends": true, "Pre-Depends": true, "Conflicts": true, "Breaks": true,
	"Replaces": true, "Installed-Size": true,
}

// ReduceStatus keeps statusFields of each stanza of a dpkg status file,
// in their order (as scripts/make-target-base.sh does), and returns the
// packages' names, sorted.
func ReduceStatus(status []byte) ([]byte, []string) {
	var out bytes.Buffer
	var pkgs []string
	keep := false
	sc := bufio.NewScanner(bytes.NewReader(status))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l == "":
			out.WriteString("\n")
			continue
		case l[0] == ' ' || l[0] == '\t':
		default:
			f, v, _ := strings.Cut(l, ":")
			keep = statusFields[f]
			if f == "Package" {
				pkgs = append(pkgs, strings.TrimSpace(v))
			}
		}
		if keep {
			out.WriteString(l + "\n")
		}
	}
	sort.Strings(pkgs)
	return out.Bytes(), pkgs
}

// ProfileCUE is the target profile of an image with packages installed,
// in the form of the built-in ones (see targets/).
func ProfileCUE(t Target, pkgs []string) []byte {
	var b bytes.Buffer
	goarch := map[string]string{"i386": "386", "armhf": "arm"}[t.Arch]
	if goarch == "" {
		goarch = t.Arch
	}
	fmt.Fprintf(&b, "// %s\n", t.Description)
	fmt.Fprintf(&b, "// Generated by scripts/make-target-base.sh from a real Debian %s minbase root.\n", t.Release)
	fmt.Fprintf(&b, "name:        %q\n", t.Name)
	fmt.Fprintf(&b, "description: %q\n", t.Description)
	fmt.Fprintf(&b, "os:          \"linux\"\n")
	fmt.Fprintf(&b, "arch:        %q\n", goarch)
	fmt.Fprintf(&b, "debian: {release: %q, version: %q}\n", t.Release, t.Version)
	fmt.Fprintf(&b, "budget: {memoryMiB: %d, diskMiB: %d}\n", t.MemoryMiB, t.DiskMiB)
	fmt.Fprintf(&b, "base: {\n\tstatus: %q\n\tpackages: [\n", t.Name+".status")
	for _, p := range pkgs {
		fmt.Fprintf(&b, "\t\t%q,\n", p)
	}
	b.WriteString("\t]\n}\n")
	return b.Bytes()
}

func run(ctx context.Context, logw io.Writer, name string, args ...string) error {
	var out bytes.Buffer
	c := exec.CommandContext(ctx, name, args...)
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		tail := out.String()
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail)
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(mode); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// treeSize is the bytes of the regular files under dir.
func treeSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return err
	})
	return n, err
}

// clampTimes sets every file's times to t (links themselves, not their
// targets).
func clampTimes(dir string, t time.Time) error {
	return run(context.Background(), io.Discard, "find", dir, "-exec", "touch", "-h", "-d", "@"+fmt.Sprint(t.Unix()), "{}", "+")
}

// nameUUID is a UUID (version 5 form) derived from name.
func nameUUID(name string) string {
	s := sha256.Sum256([]byte(name))
	s[6] = s[6]&0x0f | 0x50
	s[8] = s[8]&0x3f | 0x80
	h := hex.EncodeToString(s[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func key(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:6])
}
