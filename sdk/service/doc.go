// Package service runs runtimekit's services under runit and checks that
// they answer.
//
// The target VM has no init system, so services need a supervisor; runit
// (runsvdir, runsv, svlogd, chpst from the Debian package "runit") is a
// small, proven one. [Runit] writes one service directory per
// [unit.Service], links it into the directory runsvdir scans, starts
// runsvdir when none is running ([Runit.EnsureSupervisor]), and drives and
// reads runsv directly through the files it keeps in the service's
// supervise/ directory. [Probe] and [Wait] run the health checks (http, tcp,
// exec) of a [unit.HealthCheck]; a [Prober] runs them for a machine whose
// root is another directory.
//
// This package runs inside the VM, where every process spawn is slow
// (5–10x under emulation): it imports only the standard library,
// sdk/state and renameio, and does in Go what Go can do. It never spawns
// sv(8): it writes runsv's control FIFO and reads its status file itself,
// exactly as sv does.
//
// # Service directory
//
// For a service NAME, [Runit] writes (each file atomically: temporary file,
// fsync, rename, then fsync of the directory):
//
//	/etc/runtimekit/sv/NAME/run            exec of the argv (see below)
//	/etc/runtimekit/sv/NAME/log/run        exec svlogd -tt /var/log/runtimekit/NAME
//	/etc/runtimekit/sv/NAME/finish         restart "on-failure" only
//	/etc/runtimekit/sv/NAME/down           restart "never" only
//	/etc/runtimekit/sv/NAME/control/t      stop signals other than TERM
//	/etc/runtimekit/sv/NAME/runtimekit.json  the unit.Service it was written from
//
// and enables it with the symlink /etc/runtimekit/service/NAME. runsv
// creates NAME/supervise/ and NAME/log/supervise/ itself. runtimekit.json
// is not read by runit: [Runit.Stop] takes StopTimeout from it. Every
// operation is idempotent, so an interrupted apply can simply run it again.
//
// The run script redirects stderr to stdout (the log pipe), changes to the
// working directory, and replaces itself with the service, so that the
// service is runsv's direct child and runsv signals the service itself:
//
//	exec chpst -u USER env -i -- 'K=V'... 'argv0' 'argv1'...
//
// The working directory is Workdir, or / when empty.
// env -i makes the environment exactly the service's Env, plus PATH
// (a standard one) when Env does not set it; every argument and value is
// single-quoted. chpst is used only when the user is not root.
//
// # Restart policies
//
//   - always: runsv's own behaviour: it restarts the service whenever it
//     exits (at most once a second).
//   - on-failure: a finish script, which runsv runs after ./run exits with
//     the exit code (-1 when killed by a signal) as $1, writes 'd' to
//     supervise/control when the exit code is 0, so runsv does not start it
//     again. [Runit.Start] brings it back up.
//   - never: a down file, so runsv does not start it when it starts or when
//     it exits, and [Runit.Start] sends 'o' (run once) instead of 'u'.
//
// # Stop signals
//
// runsv stops a service (on 'd', 't' and 'x') by running control/t, when
// that file is executable, in the service directory; if control/t exits 0,
// runsv does not send its own SIGTERM. Upstream runit after 2.1.2 passes
// the service's pid as $1; runit 2.1.2 (Debian 12) passes nothing, but
// keeps the pid in the text file supervise/pid. So for a stop signal other
// than TERM, control/t takes the pid from either, sends the signal with
// the shell's kill builtin and exits 0; for TERM there is no control/t.
// runsv then sends SIGCONT, and runs control/d (on 'd') or control/x (on
// 'x') afterwards, ignoring their exit status: they can add actions after
// the signal but cannot replace it, so this package writes neither. runsv
// has no stop timeout; [Runit.Stop] waits for StopTimeout itself and then
// writes 'k', on which runsv sends SIGKILL.
//
// # runsv's status file
//
// runsv rewrites supervise/status (write status.new, rename) on every
// change. [Runit.Status] decodes its 20 bytes as runit's sv does (runit
// 2.1.2, src/runsv.c update_status and src/sv.c svstatus_print):
//
//	bytes  0..7   TAI64 label of the last state change, big-endian:
//	              2^62 + 10 + Unix seconds (runit's tai_now)
//	bytes  8..11  nanoseconds of that instant, big-endian
//	bytes 12..15  pid of ./run (or ./finish), little-endian; 0 when down
//	byte  16      1 when paused ('p'), else 0
//	byte  17      'u' when runsv wants the service up, 'd' when down
//	              (also for "want exit")
//	byte  18      1 after runsv itself sent SIGTERM (not when control/t
//	              did the signalling) until the process exits, else 0
//	byte  19      0 down, 1 running ./run, 2 running ./finish
//
// Whether a runsv is running for the directory at all is read, like sv
// does, by opening the supervise/ok FIFO for writing without blocking: that
// fails with ENXIO when no runsv holds it open for reading.
//
// # Health checks
//
// [Probe] runs one attempt; [Wait] repeats it every Interval until it
// passes, ignoring failures during StartPeriod and giving up after Retries
// consecutive failures, with an error ([HealthError]) that names the check,
// what was probed ("GET http://127.0.0.1:8080/healthz") and the last
// failure ("status 503, want 200", "connection refused", "exit status 1:
// <end of stderr>"). The http probe speaks the little HTTP/1.1 it needs
// over a TCP connection rather than import net/http, which would add about
// 3.5 MB to the linux/386 executor.
//
// # runsvdir
//
// runsvdir looks at its directory's mtime every five seconds. Upstream
// runit 2.1.2 has no way to make it look sooner: SIGHUP makes it send
// SIGTERM to every runsv and exit, and SIGALRM, which it does not catch,
// kills it. Debian's runsvdir (2.1.2-34 and later, so Debian 12) rescans
// on SIGALRM, at most once a second. So [Runit.Enable] sends SIGALRM, and
// again every 1.1 s, to a runsvdir whose /proc/PID/status shows that it
// catches SIGALRM, and otherwise waits for the periodic scan; either way it
// polls for supervise/ok. Services enabled before
// [Runit.EnsureSupervisor] starts runsvdir are picked up by its first scan.
//
// [Runit.StopSupervisor] sends SIGHUP and then waits for runsvdir, every
// runsv and everything they started (runsvdir's session and descendants)
// to exit, killing what is left after DefaultStopTimeout: each runsv exits
// only once its service is down, which a service that ignores SIGTERM
// never is.
//
// # Another machine's root
//
// With [Runit.Chroot], the supervision tree runs chrooted into
// [Runit.Root]: EnsureSupervisor starts the runsvdir installed in the root
// (and refuses when there is none) with the root as its root directory,
// and the scan directory, the scan directory's symlinks and the scripts'
// paths are written as the root sees them. runsv, chpst, svlogd and the
// services are then the root's programs, and users are the root's. A
// runsvdir is recognised as the Runit's only when /proc/PID/root is the
// root it would run in, so runsvdirs on the same scan path in other roots
// (or on the machine itself) are never mistaken for it. A [Prober] with a
// Root runs exec probes chrooted into it in the same way.
package service
