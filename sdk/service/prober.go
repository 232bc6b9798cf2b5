package service

import (
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/runtimekit/runtimekit/sdk/unit"
)

// Prober runs health checks for the machine whose root directory is
// Root. The zero value is the running machine: its [Prober.Probe] and
// [Prober.Wait] are [Probe] and [Wait].
//
// http and tcp probes connect to the loopback, which a chroot does not
// separate. An exec probe runs the way the machine's own services do:
// chrooted into Root when Root is not "/", so that it sees the root's
// programs and files and what it writes lands inside the root, with
// only PATH (DefaultPath) in its environment, its program found in that
// PATH inside the root, and "/" as its working directory. It runs as the
// check's User when that is set and not root (with the uid, gid and home
// directory of Root's /etc/passwd, and that gid as its only supplementary
// group, as chpst -u runs the services); an exec probe on "/" is run the
// same way, with the user from this machine's /etc/passwd.
type Prober struct {
	Root string // default "/"
}

// Probe runs one attempt of the health check, as [Probe] does.
func (p Prober) Probe(ctx context.Context, hc unit.HealthCheck) (Result, error) {
	return Probe(p.context(ctx), hc)
}

// Wait probes the health check until it passes, as [Wait] does.
func (p Prober) Wait(ctx context.Context, hc unit.HealthCheck, log *slog.Logger) error {
	return Wait(p.context(ctx), hc, log)
}

// proberKey carries a Prober's root from Prober.Wait and Prober.Probe to
// the exec probe, through Wait's retry loop, so that Probe and Wait keep
// their signatures for their callers.
type proberKey struct{}

func (p Prober) context(ctx context.Context) context.Context {
	if p.Root == "" || filepath.Clean(p.Root) == "/" {
		return ctx
	}
	return context.WithValue(ctx, proberKey{}, p.Root)
}

// execCommand returns the command of an exec probe of argv, run as user
// when not empty, chrooted into the root of the Prober that ctx comes
// from (none for Probe and Wait), in a process group of its own so that a
// timeout kills what it started too.
func execCommand(ctx context.Context, argv []string, user string) (*exec.Cmd, error) {
	attr := &syscall.SysProcAttr{Setpgid: true}
	root, _ := ctx.Value(proberKey{}).(string)
	var cmd *exec.Cmd
	if root == "" {
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	} else {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, err
		}
		prog, err := lookIn(abs, argv[0])
		if err != nil {
			return nil, err
		}
		// prog has a slash: exec does not look it up in this machine's PATH.
		cmd = exec.CommandContext(ctx, prog, argv[1:]...)
		cmd.Args[0] = argv[0]
		// Applied after the chroot; without it the probe would start in
		// this process's working directory, outside the root.
		cmd.Dir = "/"
		cmd.Env = []string{"PATH=" + DefaultPath}
		attr.Chroot = abs
		root = abs
	}
	if user != "" && user != "root" {
		if root == "" {
			root = "/"
		}
		acct, err := lookupUser(root, user)
		if err != nil {
			return nil, err
		}
		// As chpst -u does for the services: the user's uid and gid, and
		// that group alone as the supplementary groups.
		attr.Credential = &syscall.Credential{Uid: acct.uid, Gid: acct.gid, Groups: []uint32{acct.gid}}
		if cmd.Env != nil {
			cmd.Env = append(cmd.Env, "HOME="+acct.home, "USER="+user, "LOGNAME="+user)
		}
	}
	cmd.SysProcAttr = attr
	return cmd, nil
}
