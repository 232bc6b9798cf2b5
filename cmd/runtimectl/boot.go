package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// bootCommand is the VM's start-up when nothing else is its init (WebVM
// runs one command; an emulator boots a kernel with init=): it mounts what
// a minbase root expects, brings up loopback (the only network a VM has),
// recovers an apply the last shutdown cut short and starts the supervisor,
// so that runtimes and apps come back, then runs the given command. As
// process 1 it also reaps orphans, and powers the machine off when the
// command ends, after a sync.
func (a *app) bootCommand() *cobra.Command {
	var mounts []string
	var noRecover bool
	cmd := &cobra.Command{
		Use:   "boot [--mount DEV:DIR]... [COMMAND [ARG...]]",
		Short: "Start the VM: mounts, loopback, recover, then run a command (default /bin/sh)",
		Long: "boot prepares a VM that has no init and runs COMMAND (default /bin/sh): it mounts /proc,\n" +
			"/sys, /dev, /dev/pts and /run when they are not, brings up the loopback interface,\n" +
			"mounts each --mount DEV:DIR (ext2/3/4), runs `runtimectl recover` (which also starts\n" +
			"the services of the installed runtimes and apps), and runs COMMAND. As process 1\n" +
			"(`init=/usr/local/bin/runtimectl -- boot` on a kernel command line) it reaps orphaned\n" +
			"processes and, when COMMAND ends, syncs and powers off; its last line on the console\n" +
			"is \"runtimectl boot: COMMAND exited with status N\". Flags end at COMMAND (a kernel\n" +
			"passes init no second \"--\").",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"/bin/sh"}
			}
			for _, m := range mounts {
				if _, _, ok := strings.Cut(m, ":"); !ok {
					return fmt.Errorf("--mount %q: give DEVICE:DIRECTORY", m)
				}
			}
			pid1 := os.Getpid() == 1
			if pid1 {
				os.Setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
				os.Setenv("HOME", "/root")
			}
			for _, err := range mountBasics() {
				fmt.Fprintln(a.stderr, "runtimectl boot:", err)
			}
			if err := loopbackUp(); err != nil {
				fmt.Fprintln(a.stderr, "runtimectl boot: loopback:", err)
			}
			for _, m := range mounts {
				dev, dir, _ := strings.Cut(m, ":")
				if err := mountDisk(dev, dir); err != nil {
					fmt.Fprintln(a.stderr, "runtimectl boot:", err)
				}
			}
			if !noRecover {
				res, err := a.executor(machineFlags{root: "/"}, false).Recover(cmd.Context(), false)
				if rerr := a.reportApply(res, err); rerr != nil {
					fmt.Fprintln(a.stderr, "runtimectl boot: recover:", rerr)
				}
			}
			fmt.Fprintf(a.stderr, "runtimectl boot: running %s\n", strings.Join(args, " "))
			status := runChild(args, pid1)
			fmt.Fprintf(a.stderr, "runtimectl boot: %s exited with status %d\n", args[0], status)
			if pid1 {
				unix.Sync()
				err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
				fmt.Fprintln(a.stderr, "runtimectl boot: power off:", err)
				for { // process 1 may not exit: the kernel would panic
					time.Sleep(time.Hour)
				}
			}
			if status != 0 {
				return exitError{code: status}
			}
			return nil
		},
	}
	// Flags end at COMMAND: its own flags are its own.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringArrayVar(&mounts, "mount", nil, "mount an ext2/3/4 DEVICE on DIRECTORY before recovering (repeatable)")
	cmd.Flags().BoolVar(&noRecover, "no-recover", false, "do not run recover (nor start the services)")
	return cmd
}

// mountBasics mounts the kernel's file systems a minbase root expects,
// each unless something is mounted there already; it returns what failed.
func mountBasics() []error {
	var errs []error
	const nosuid, noexec = unix.MS_NOSUID, unix.MS_NOEXEC
	for _, m := range []struct {
		dir, fstype, opts string
		flags             uintptr
		mode              os.FileMode
	}{
		{"/proc", "proc", "", nosuid | noexec, 0o555},
		{"/sys", "sysfs", "", nosuid | noexec, 0o555},
		{"/dev", "devtmpfs", "mode=0755", nosuid, 0o755},
		{"/dev/pts", "devpts", "gid=5,mode=620,ptmxmode=666", nosuid | noexec, 0o755},
		{"/dev/shm", "tmpfs", "mode=1777", nosuid, 0o1777},
		{"/run", "tmpfs", "mode=0755", nosuid, 0o755},
	} {
		if mounted(m.dir) {
			continue
		}
		if err := os.MkdirAll(m.dir, m.mode); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := unix.Mount(m.fstype, m.dir, m.fstype, m.flags, m.opts); err != nil {
			errs = append(errs, fmt.Errorf("mount %s on %s: %w", m.fstype, m.dir, err))
		}
	}
	return errs
}

// mounted reports whether dir is a mount point: a different device from
// its parent's (the root is always mounted).
func mounted(dir string) bool {
	var st, parent unix.Stat_t
	if unix.Stat(dir, &st) != nil || unix.Stat(dir+"/..", &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

// mountDisk mounts an ext2/3/4 device on dir (made if missing).
func mountDisk(dev, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for _, fs := range []string{"ext4", "ext2"} {
		err := unix.Mount(dev, dir, fs, 0, "")
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("as %s: %w", fs, err))
	}
	return fmt.Errorf("mount %s on %s: %w", dev, dir, errors.Join(errs...))
}

// loopbackUp sets the lo interface up (SIOCSIFFLAGS: a minbase root has
// no ip or ifconfig to do it).
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// runChild runs argv on this process's standard streams and returns its
// exit status (128+N for signal N). As process 1 it reaps every child
// meanwhile, its own among them.
func runChild(argv []string, pid1 bool) int {
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: pid1 && isTerminal(0)}
	// Termination signals go to the command's session: Go's default would
	// end this process, and process 1 must not end.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	if err := c.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "runtimectl boot:", err)
		return 127
	}
	go func() {
		for sig := range sigs {
			_ = syscall.Kill(-c.Process.Pid, sig.(syscall.Signal))
		}
	}()
	if !pid1 {
		err := c.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return exitStatus(ee.Sys().(syscall.WaitStatus))
		}
		if err != nil {
			return 1
		}
		return 0
	}
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return 1
		}
		if pid == c.Process.Pid {
			return exitStatus(ws)
		}
	}
}

func exitStatus(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
