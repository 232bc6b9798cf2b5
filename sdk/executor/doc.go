// Package executor applies a step plan (sdk/plan) to a machine: inside
// the VM, offline, with a journal that lets an apply interrupted at any
// instant (a browser tab closing) be rolled back or finished.
//
// It runs inside WebVM, where every process spawn is slow, so it is
// small and does in Go what Go can do: it imports sdk/plan, sdk/state
// and sdk/service, the standard library and a few small libraries, and
// never CUE, gRPC, plugins, the planner or lock code (a test enforces
// it). It reads bundle.json itself for that reason: sdk/bundle also builds
// bundles from locks, which brings in the lock, manifest and CUE packages. Per
// apply it spawns only dpkg: one --unpack and one --configure --pending
// per install (more only when a package pre-depends on another one of the
// same install), one --purge per removal, and one --audit after each.
// Packages are read from dpkg's status file, .deb control files from the
// .debs, users from the root's /etc/passwd — all without processes.
//
// # Before anything changes
//
// [Executor.Apply] parses the plan (schema/plan.schema.json and its
// references), takes the lock, and refuses with a [*RefusedError] listing
// every problem, with nothing changed:
//
//   - a stale plan: the plan's state lineage and serial are not the state
//     file's (a machine never applied to has no lineage and serial 0);
//   - a plan for another architecture than the machine's (the dpkg
//     package's architecture, as `dpkg --print-architecture` prints);
//   - a package that would replace an installed version the bundle does
//     not hold (the replacement could not be undone offline);
//   - a path that escapes: every file path and archive destination is
//     resolved inside Root with symbolic links followed as the root sees
//     them, and a link may only point into the directory that holds it
//     (so /lib -> usr/lib is fine, but /srv/www -> /etc or ../../etc is
//     refused); paths in /var/lib/runtimekit, /var/lib/dpkg, /proc, /sys
//     and /dev are refused; ".." never gets past the schema;
//   - an archive destination that exists, is not empty and is not an
//     installed runtime's;
//   - a bundle file that is missing, is a symbolic link, or has another
//     size or SHA-256 than bundle.json and the plan say (each file the
//     plan uses is hashed once; the verify-bundle step then has nothing
//     left to do);
//   - dpkg with unfinished work (when the plan changes packages).
//
// # Lock
//
// One operation at a time: an flock on /var/lib/runtimekit/lock, with the
// holder's pid and operation in lock.info beside it. A second apply fails
// at once with a [*LockedError] naming them, or waits (Options.Wait). The
// kernel drops the lock when its holder dies. dpkg's frontend lock
// (/var/lib/dpkg/lock-frontend, an fcntl lock as apt takes it) is taken
// before the first change of a plan that changes packages (apt running is
// then a refusal, not a failure half way) and held to the end of the
// operation; dpkg is run with DPKG_FRONTEND_LOCKED=1.
//
// # Journal
//
// /var/lib/runtimekit/journal.json records the plan's digest, the package
// set before the apply, and per step its phase (pending, doing, done,
// undoing, undone) and what its undo needs. It is rewritten (temporary
// file, fsync, rename, fsync of the directory) before a step starts and
// after it ends. Before a step is marked doing, its undo data is taken:
//
//   - install-packages: which of its packages were not installed (purged
//     on undo; a package that had only its configuration files left is
//     removed instead, back to that state; one cut off in the middle of
//     its unpack is unpacked again first, as dpkg requires) and which were
//     at another version (reinstalled from the bundle); and copies of the
//     account databases (/etc/passwd, group, shadow, gshadow and their
//     "-" backups), put back after the purge when the maintainer scripts'
//     new system users and groups are all that changed in them;
//   - remove-packages: the packages as they were (reinstalled from the
//     bundle on undo when it has them, else reported in
//     Result.Warnings);
//   - write-file, remove-file: a backup of the file as it was (a hard
//     link under /var/lib/runtimekit/backup/<plan digest>/; the file is
//     replaced by rename, so the old bytes are never rewritten), or that
//     there was none, and the directories the step will create;
//   - extract-archive, remove-archive: the destination and where the old
//     one is moved aside;
//   - services: the definition installed before, whether the service
//     was enabled and up, whether runsvdir was running, and the
//     directories the runit backend will create. Undoing the start of the
//     last service stops the runsvdir the apply started (SIGHUP), and so
//     does removing the last service: it must not outlive a purge of the
//     runit package;
//   - record-state: the state file and its .prev as they were.
//
// Every do and undo can be run again after being cut off half way. When
// a step fails, the steps that started are undone in reverse order and
// Apply returns a [*StepError]; the machine is as before (package list,
// files, services, state). A failed health check (wait-health) is such a
// failure. A user interrupt (the context cancelled) is one too, and the
// rollback then still runs to its end. When the apply ends (committed or
// rolled back), the journal is moved into the plan's backup directory in
// one rename, and the backups are deleted.
//
// What a rollback cannot take back is what Debian's own `dpkg --purge`
// leaves too: files maintainer scripts created outside their packages
// (runit's /etc/sv/default-syslog, nginx's /var/www/html/index.nginx-
// debian.html), dpkg's log and -old files, ldconfig's cache. The
// end-to-end test checks the rollback against exactly that reference.
//
// # Recover
//
// [Executor.Recover] picks up an interrupted apply: it puts back the
// policy-rc.d that was in place, runs `dpkg --configure -a` if dpkg was
// interrupted (dpkg refuses other work until then), and then rolls back
// every step that started — or, with resume, runs the remaining steps
// (Apply with Options.Resume and the same plan does the same; when a
// service was started already, runsvdir is started first, since the VM
// may have stopped since and the remaining health waits need it). A
// rollback that had begun is always finished as a rollback. Afterwards
// the machine is fully before or fully after, dpkg --audit is clean, the
// state file is valid, and the journal is gone. Last, when the state
// lists services, Recover makes sure runsvdir runs: the VM has no init,
// so `runtimectl recover` is what its start-up should run, and the
// services come back after the browser tab was closed and opened again.
//
// Rolling back is the default because it is the one outcome that is
// provably reachable from every crash point with only what the journal
// holds: each undo needs only data recorded before its step began, while
// finishing needs the bundle still in place and the remaining steps to
// succeed (a failing health check would then roll back anyway, after
// more work). A plan applied again after a rollback starts from a known
// state, and the state serial tells exactly which plan is current.
//
// # dpkg
//
// Packages are installed from the bundle's .debs with
// DEBIAN_FRONTEND=noninteractive, --force-confdef --force-confold, and a
// policy-rc.d that exits 101 (no maintainer script starts a service;
// whatever was at /usr/sbin/policy-rc.d is recorded in the journal first
// and put back after). One `dpkg --unpack` takes all the step's .debs in
// the plan's order, then one `dpkg --configure --pending`; a package
// whose Pre-Depends names a package unpacked in the same run starts a new
// unpack/configure pair, since dpkg does not accept a pre-dependency that
// was never configured. `dpkg --audit` must be empty afterwards.
//
// # Files
//
// write-file writes a temporary file beside the target (O_EXCL, with the
// mode and the owner and group as the root's /etc/passwd and /etc/group
// give them), fsyncs it, renames it over the target and fsyncs the
// directory; a symbolic link at the target is replaced, never followed. A
// user-config file that exists is kept and reported in Result.Kept.
// remove-file removes a file only when its SHA-256 is still the one
// runtimekit wrote; an edited file is kept and reported. Archives
// (tar.gz, tar.xz, zip) are unpacked into a directory beside the
// destination and renamed into place; entries that would leave it
// (absolute names, "..", links pointing out) are refused.
//
// # Fault injection
//
// Options.CrashAt ("<step-id>[:<phase>]", set by runtimectl from
// RUNTIMEKIT_CRASH_AT) makes the process SIGKILL itself at that point —
// and, for the dpkg phases, kill dpkg first once it has started changing
// its database — so that tests can cut an apply at any step boundary or
// inside dpkg and check what Recover makes of it. It has no other effect
// and must not be set outside tests.
package executor
