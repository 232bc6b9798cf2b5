//go:build !vm

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/runtimekit/runtimekit/internal/human"
	"github.com/runtimekit/runtimekit/sdk/image"
	"github.com/runtimekit/runtimekit/targets"
)

func (a *app) imageCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "Build the VM's disk image"}
	var target, out, vmBin, mirror string
	var boot bool
	var fsType string
	var size int
	build := &cobra.Command{
		Use:   "build [--target NAME] -o DIR [--boot]",
		Short: "Build a target's minimal disk image (ext4, or ext2) with runtimectl installed, and its target profile",
		Long: "image build makes the disk image of a target on this (connected) machine, as root: a\n" +
			"Debian minbase root (debootstrap, as the target profile says) with the VM runtimectl\n" +
			"installed as /usr/local/bin/runtimectl, written by mke2fs -d as DIR/rootfs.ext4 (or, with\n" +
			"--fs ext2, DIR/rootfs.ext2: ext2 has no journal, so a power cut can corrupt it), and the\n" +
			"target profile that root matches (DIR/NAME.status and DIR/NAME.cue, its base packages\n" +
			"read from the root itself). --boot also writes a Debian kernel and initrd (DIR/vmlinuz,\n" +
			"DIR/initrd.img) that qemu and v86 boot it with; image.json gives the kernel command line.\n" +
			"The root and kernel are cached by their inputs. SOURCE_DATE_EPOCH, when set, is the time\n" +
			"of every file, so that the same archive state gives the same image.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("give -o DIR, the directory to write the image to")
			}
			prof, err := targets.Load(cmd.Context(), target)
			if err != nil {
				return err
			}
			t := image.Target{Name: prof.Name, Description: prof.Description, Release: prof.Debian.Release,
				Version: prof.Debian.Version, Arch: debArch(prof.Arch), MemoryMiB: prof.Budget.MemoryMiB, DiskMiB: prof.Budget.DiskMiB}
			if vmBin == "" {
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				vmBin = filepath.Join(filepath.Dir(exe), "linux-"+prof.Arch+"-vm", "runtimectl")
				if _, err := os.Stat(vmBin); err != nil {
					return fmt.Errorf("no VM runtimectl for linux/%s beside this one (%s): build it (make build-vm) or give --runtimectl PATH", prof.Arch, vmBin)
				}
			}
			if mirror == "" {
				if mirror, err = aptMirror(t.Release); err != nil {
					return err
				}
			}
			cache, err := a.cacheRoot()
			if err != nil {
				return err
			}
			o := image.Options{Target: t, Out: out, Runtimectl: vmBin, Boot: boot, Mirror: mirror,
				CacheDir: cache, SizeMiB: size, FS: fsType, Log: a.stderr}
			if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return fmt.Errorf("SOURCE_DATE_EPOCH=%q: not a number of seconds", s)
				}
				o.Epoch = time.Unix(n, 0)
			}
			start := time.Now()
			res, err := image.Build(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "image %s: %s (%s of files, %d packages, file system of %s) in %s\n",
				filepath.Join(out, res.Image), res.Target, human.Bytes(res.Used), res.Packages, human.Bytes(res.Size), time.Since(start).Round(time.Second))
			fmt.Fprintf(a.stdout, "target profile: %s, %s\n", filepath.Join(out, res.Profile), filepath.Join(out, res.Status))
			if res.Kernel != "" {
				fmt.Fprintf(a.stdout, "boot it: qemu-system-i386 -m 512 -nographic -no-reboot -kernel %s -initrd %s -drive file=%s,format=raw,if=virtio -append %q\n",
					filepath.Join(out, res.Kernel), filepath.Join(out, res.Initrd), filepath.Join(out, res.Image), res.Cmdline)
			}
			return nil
		},
	}
	fl := build.Flags()
	fl.StringVar(&target, "target", "", "the target profile (`runtimectl targets` lists them; default webvm-i386)")
	fl.StringVarP(&out, "output", "o", "", "the directory to write the image to")
	fl.StringVar(&vmBin, "runtimectl", "", "the VM runtimectl to install (default: linux-ARCH-vm/runtimectl beside this one, from make build-vm)")
	fl.StringVar(&mirror, "mirror", "", "the Debian mirror (default: this machine's apt sources)")
	fl.BoolVar(&boot, "boot", false, "also write a kernel and initrd that qemu and v86 boot the image with")
	fl.StringVar(&fsType, "fs", "ext4", "the file system: ext4, or ext2 (no journal: not consistent after a power cut until e2fsck runs)")
	fl.IntVar(&size, "size", 0, "the file system's size in MiB (default: the target's disk budget)")
	cmd.AddCommand(build)
	return cmd
}

// debArch is Debian's name of a Go architecture.
func debArch(goarch string) string {
	switch goarch {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	}
	return goarch
}
