// Package executor applies a step plan (sdk/plan) to a machine: inside
// the VM, offline, with a journal that lets an apply interrupted at any
// instant (a browser tab closing) be rolled back or finished.
//
// It runs inside WebVM, where every process spawn is slow, so it is
// small and does in Go what Go can do: it imports sdk/plan, sdk/state,
// sdk/service, sdk/bundle/format (bundles are read and checked by the
// same code as `runtimectl bundle verify`) and sdk/debian (dpkg's
// database and .debs are read by the same code as the host's), the
// standard library and a few small libraries, and never CUE, gRPC,
// plugins, the planner, the resolver (sdk/debian/resolve) or network
// code such as the index fetcher (sdk/debian/archive); a test enforces
// it. Per
// apply it spawns only dpkg: one --unpack and one --configure --pending
// per install (more only when a package pre-depends on another one of the
// same install), one --purge per removal, and one --audit after each.
// Packages are read from dpkg's status file and its updates journal,
// .deb control files from the .debs, users from the root's /etc/passwd —
// all without processes.
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
//   - a removal of what runtimekit does not own: a file, an archive's
//     tree, a service or a package that the state (the ownership ledger)
//     does not record as installed by runtimekit, whatever digests the
//     plan gives; a package that is Essential, Protected or of priority
//     required (the base system); a start or stop of a service neither
//     the state nor the plan installs;
//   - a package that would replace an installed version whose .deb the
//     state does not record by SHA-256, or the bundle does not hold (the
//     replacement could not be undone offline);
//   - a .deb whose control file names another package, version or
//     architecture than the plan, or whose data holds a device node or a
//     hard link to a file outside the package (read before dpkg sees it);
//   - a path that escapes: every file path and archive destination is
//     resolved inside Root with symbolic links followed as the root sees
//     them, and a link may only point into the directory that holds it
//     (so /lib -> usr/lib is fine, but /srv/www -> /etc or ../../etc is
//     refused); paths in /var/lib/runtimekit, /var/lib/dpkg, /proc, /sys
//     and /dev are refused, and so is an archive destination that holds
//     one of them; ".." never gets past the schema;
//   - an archive destination that exists, is not empty and is not an
//     installed runtime's;
//   - a bundle file that is missing, is a symbolic link, or has another
//     size or SHA-256 than bundle.json and the plan say (each file the
//     plan uses is hashed once; the verify-bundle step then has nothing
//     left to do);
//   - dpkg with unfinished work (when the plan changes packages);
//   - too little free disk space: before its first change an apply
//     reserves 8 MiB in /var/lib/runtimekit/reserve and frees it the
//     moment a rollback starts, so that a disk filled by the apply still
//     leaves room for the rollback's journal and dpkg's database.
//
// The state file and the journal are read and written through the root
// (os.Root); a state file that is a symbolic link, a FIFO or a device is
// refused, and a damaged one names its .prev copy.
//
// # Lock
//
// One operation at a time: an flock on the root directory itself (taking
// it creates nothing, so a refused plan leaves a fresh machine
// untouched), with the holder's pid and operation in
// /var/lib/runtimekit/lock.info once the apply has begun (before that,
// the pid comes from /proc/locks). A second apply fails
// at once with a [*LockedError] naming them, or waits (Options.Wait). The
// kernel drops the lock when its holder dies. dpkg's frontend lock
// (/var/lib/dpkg/lock-frontend, an fcntl lock as apt takes it) is taken
// before the first change of a plan that changes packages (apt running is
// then a refusal, not a failure half way) and held to the end of the
// operation; dpkg is run with DPKG_FRONTEND_LOCKED=1.
//
// # Root
//
// With a Root other than "/" (runtimectl apply --root, for staging a VM's
// disk), runsvdir — and so runsv, svlogd and the services — and exec
// health probes run chrooted into Root, from the programs installed there.
// A plan for such a root must install runit before it starts a service:
// the start is refused otherwise ("runsvdir is not installed in ROOT: the
// plan must install runit first").
//
// # Journal
//
// /var/lib/runtimekit/journal.json records the plan's digest, the package
// set before the apply, and per step its phase (pending, doing, done,
// undoing, undone) and what its undo needs. It is JSON Lines: its first
// line, written by rename, is the journal as the apply began; each change
// (a step's phase, the mode) is one line appended and fdatasynced before
// the executor acts on it, so journaling costs time linear in the steps.
// A last line cut short by a crash is ignored; any other damage makes it
// a [*DamagedJournalError], which Apply and Recover refuse to guess past:
// [Executor.DiscardJournal] (`runtimectl recover --discard-journal`) sets
// it aside, lets dpkg finish and reports how the machine differs from
// its state. A journal written by an older runtimectl (its format is
// journalFormat, 3) is refused the same way, saying so: each step kind has
// its own undo record now. Each kind has one handler (step_*.go, see
// handler.go) with its preflight check, prepare, do, undo and post-rollback
// check. Before a step is marked doing, its undo data is taken:
//
//   - install-packages: which of its packages were not installed (purged
//     on undo; a package that had only its configuration files left is
//     removed instead, back to that state; one cut off in the middle of
//     its unpack is unpacked again first, as dpkg requires) and which were
//     at another version (reinstalled from the bundle); and copies of the
//     account databases (/etc/passwd, group, shadow, gshadow and their
//     "-" backups), put back after the purge when the maintainer scripts'
//     new system users and groups are all that changed in them;
//   - remove-packages: the packages as they were, each with the SHA-256
//     of its .deb as the state recorded it: the undo reinstalls exactly
//     that file from the bundle (checking its control file names the
//     package), and without it the rollback is incomplete and says which
//     package it could not put back, never installing another .deb of the
//     same name and version;
//   - write-file, remove-file: a backup of the file as it was (a hard
//     link under /var/lib/runtimekit/backup/<plan digest>/; the file is
//     replaced by rename, so the old bytes are never rewritten), or that
//     there was none, and the directories the step will create;
//   - extract-archive, remove-archive: the destination and where the old
//     one is moved aside;
//   - services: the definition installed before, whether the service
//     was enabled and up, whether runsvdir was running, and the
//     directories the runit backend will create. Undoing the start of the
//     last service stops the runsvdir the apply started (SIGHUP, then it
//     waits for every runsv, svlogd and service under it, and kills what
//     is left after 10 s), and so does removing the last service: it must
//     not outlive a purge of the runit package;
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
// A rollback ends with a check against the journal (verify.go): the
// package set, dpkg settled, every file and tree a step replaced or
// removed, and no process the apply started. Where the machine differs,
// the error (a [*MismatchError]) lists exactly how, instead of saying it
// is as before. What maintainer scripts made outside their packages
// (runit's /etc/runit/runsvdir/current and /etc/sv/default-syslog,
// nginx's /var/www/html/index.nginx-debian.html), which `dpkg --purge`
// leaves, is removed by the undo of the install (leftovers.go); what a
// rollback leaves is dpkg's log and -old files and ldconfig's cache. The
// end-to-end test checks the rollback against that reference.
//
// # Recover
//
// [Executor.Recover] picks up an interrupted apply: it puts back the
// policy-rc.d that was in place, waits for a dpkg that still holds its
// database lock (dpkg is started with a parent-death signal, so it dies
// with the runtimectl that drives it; another one is waited for, never
// run over), runs `dpkg --configure -a` if dpkg was interrupted (dpkg
// refuses other work until then), and then rolls back
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
// In binaries built with -tags crashtest, Options.CrashAt
// ("<step-id>[:<phase>]", set by such a runtimectl from
// RUNTIMEKIT_CRASH_AT) makes the process SIGKILL itself at that point —
// and, for the dpkg phases, kill dpkg first once it has started changing
// its database — so that tests can cut an apply at any step boundary or
// inside dpkg and check what Recover makes of it. It has no other effect.
// Other builds, the runtimectl shipped into the VM among them, have no
// CrashAt and no code that kills the process on purpose.
package executor
