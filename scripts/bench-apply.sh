#!/usr/bin/env bash
# Benchmark: `runtimectl apply` of the nginx runtime vs plain `dpkg -i` of the
# same .debs, in the same i386 bookworm minbase chroot, in the same run, with
# the health wait excluded. Target: ratio <= 1.2. Also reported: the
# executor's peak RSS during the apply (target <= 40 MiB) and the size of the
# stripped linux/386 runtimectl (the executor-only `-tags vm` build, aim
# < 8 MiB, and the full one).
#
# Usage (as root): scripts/bench-apply.sh
#   RUNS=5        timed runs of each (median reported)
#   RSS_RUNS=3    untimed applies whose peak RSS is read (largest reported)
#   TAGS=vm       build tags of the linux/386 runtimectl that applies; TAGS=
#                 (empty) applies with the full build
#   ROOTFS=DIR    the i386 bookworm minbase root (default: the one the tests
#                 cache under $RUNTIMEKIT_CACHE, built by them when missing)
#
# Method
# - Each run makes two fresh copies of the cached base root (not timed),
#   each with the bundle at /bundle, and runs one command in each, under
#   `unshare --net --pid --mount --fork --mount-proc` + chroot exactly as the
#   end-to-end tests do: a namespace init (sleep) is started first and the
#   command is run in it with nsenter, so runtimectl is not pid 1 and
#   the services it starts live until the namespace is torn down. The loopback
#   is brought up beforehand (nginx's health check goes through it).
#   `sync` runs before each timed command so that writeback of the copy
#   does not land on either; the two commands alternate in order run by run.
# - dpkg: /usr/sbin/policy-rc.d exiting 101 is put in place first (as the
#   executor does around its dpkg calls, so no maintainer script starts
#   nginx), then `dpkg -i` of exactly the .debs of the plan's
#   install-packages steps, from the bundle, with DEBIAN_FRONTEND=noninteractive
#   and LC_ALL=C (the executor's dpkg environment). Timed: that command.
# - runtimectl: `runtimectl apply --json /plan.json --bundle /bundle` of the
#   plan `runtimectl plan --add nginx` makes on the host (default target,
#   webvm-i386). Timed: that whole process (start-up, plan and bundle
#   checks with every SHA-256, journal, dpkg, files, runit service start,
#   state), minus the health wait. The health wait is excluded by
#   subtracting the `took` that apply's --json result reports for each
#   wait-health step: the executor times every step itself, so nothing has
#   to be cut out of the plan (a plan without its wait-health step would
#   not be the nginx plan, and killing the executor at that step with the
#   crash hook leaves an interrupted apply, not an applied one). A step's
#   `took` also spans its two journal writes, so the subtraction also drops
#   those few milliseconds of runtimectl's own work; the unsubtracted wall
#   time is printed beside it.
# - After each run both roots must hold the same package list and
#   `dpkg --audit` must be clean in both, or the run fails.
# - Peak RSS: RSS_RUNS extra applies (not timed: the sampling loads the
#   CPU) on fresh copies; the largest is reported, since it varies with
#   when Go's garbage collector gets to run. The figure is the runtimectl
#   process's own VmHWM (the kernel's high-water mark of its resident set,
#   which only grows), read from /proc/<pid>/status every 10 ms from the
#   host until the process exits: it misses only growth in the last 10 ms
#   of its life. GNU time around nsenter (`/usr/bin/time -f
#   %M`) is printed too when installed, as an upper bound only: its
#   figure is the largest of the whole waited-for process tree (nsenter,
#   runtimectl, dpkg and the maintainer scripts), not runtimectl's.
#
# Needs: root, go, python3, unshare/nsenter (util-linux), chroot, ip
# (iproute2), sync; the network on the first run (the bundle's .debs are
# kept in the CLI cache under $RUNTIMEKIT_CACHE for later runs).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
RSS_RUNS=${RSS_RUNS:-3}
TAGS=${TAGS-vm}
CACHE=${RUNTIMEKIT_CACHE:-/var/cache/runtimekit}
PATH_IN='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

die() { echo "bench-apply: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (chroot, unshare)"
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 (EPOCHREALTIME)"
for t in go python3 unshare nsenter chroot ip cp sync; do
	command -v "$t" >/dev/null || die "$t is not installed"
done
[ "$RUNS" -ge 1 ] 2>/dev/null || die "RUNS must be a positive number"
[ "$RSS_RUNS" -ge 1 ] 2>/dev/null || die "RSS_RUNS must be a positive number"

find_rootfs() {
	local d
	for d in "$CACHE"/rootfs/bookworm-i386-minbase-*/; do
		if [ -e "$d/.complete" ]; then
			echo "${d%/}"
			return
		fi
	done
}
base=${ROOTFS:-$(find_rootfs)}
if [ -z "$base" ]; then
	echo "bench-apply: building the i386 minbase root (debootstrap, once)..." >&2
	RUNTIMEKIT_E2E=1 RUNTIMEKIT_CACHE=$CACHE go test ./internal/testenv -run '^TestFixtures$' -count=1 >&2
	base=$(find_rootfs)
	[ -n "$base" ] || die "no i386 bookworm minbase root under $CACHE/rootfs"
fi
[ -x "$base/usr/bin/dpkg" ] || die "$base is not a Debian root"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/bench-apply.XXXXXX")
INIT= UNSHARE=
cleanup() {
	if [ -n "$INIT" ]; then kill -9 "$INIT" 2>/dev/null || true; fi
	if [ -n "$UNSHARE" ]; then wait "$UNSHARE" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# --- build --------------------------------------------------------------
echo "bench-apply: building runtimectl (host + nginx plugin, linux/386 stripped)" >&2
go build -trimpath -o "$work/host/" ./cmd/runtimectl ./plugins/nginx/cmd/runtimectl-plugin-nginx
GOOS=linux GOARCH=386 CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$work/runtimectl-386-full" ./cmd/runtimectl
GOOS=linux GOARCH=386 CGO_ENABLED=0 go build -tags vm -trimpath -ldflags='-s -w' -o "$work/runtimectl-386-vm" ./cmd/runtimectl
if [ "$TAGS" = vm ]; then
	vmbin=$work/runtimectl-386-vm
elif [ -z "$TAGS" ]; then
	vmbin=$work/runtimectl-386-full
else
	vmbin=$work/runtimectl-386-tags
	GOOS=linux GOARCH=386 CGO_ENABLED=0 go build -tags "$TAGS" -trimpath -ldflags='-s -w' -o "$vmbin" ./cmd/runtimectl
fi

# --- plan and bundle, on the host -----------------------------------------
host() {
	RUNTIMECTL_CACHE_DIR=$CACHE/cli RUNTIMECTL_PLUGIN_PATH= RUNTIMECTL_PLUGINS_LOCK= "$work/host/runtimectl" "$@"
}
host plugins lock >/dev/null
host plan --add nginx -o "$work/plan.json" >/dev/null
host bundle --plan "$work/plan.json" --out "$work/bundle" --keep-downloads >"$work/bundle.log" 2>&1 ||
	{ cat "$work/bundle.log" >&2; die "runtimectl bundle failed"; }
tail -n1 "$work/bundle.log" >&2

# The .debs of the plan's install-packages steps, as paths in the root.
mapfile -t debs < <(python3 - "$work/plan.json" "$work/bundle/bundle.json" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
files = {f["sha256"]: f["path"] for f in json.load(open(sys.argv[2]))["files"]}
for s in plan["steps"]:
    if s["kind"] == "install-packages":
        for p in s["inputs"]["packages"]:
            print("/bundle/" + files[p["sha256"]])
PY
)
[ "${#debs[@]}" -gt 0 ] || die "the nginx plan installs no packages"

# --- the VM: a root copy in its own namespaces ---------------------------
# fresh NAME: a new copy of the base root with the bundle in it.
fresh() {
	local r=$work/$1
	cp -a "$base" "$r"
	rm -f "$r/.complete"
	chmod 755 "$r"
	cp -a "$work/bundle" "$r/bundle"
	cp "$work/plan.json" "$r/plan.json"
	cp "$vmbin" "$r/runtimectl"
}
# boot ROOT: start the namespaces with a sleeping init; sets INIT.
boot() {
	# unshare's stderr is kept aside: killing the init makes it complain.
	unshare --net --pid --mount --fork --mount-proc="$1/proc" chroot "$1" /bin/sleep infinity 2>"$work/unshare.err" &
	UNSHARE=$!
	INIT=
	local i
	for i in $(seq 1000); do
		read -r INIT _ <"/proc/$UNSHARE/task/$UNSHARE/children" 2>/dev/null || true
		[ -n "$INIT" ] && break
		sleep 0.01
	done
	[ -n "$INIT" ] || die "the namespace's init did not start: $(cat "$work/unshare.err")"
	nsenter -t "$INIT" -n ip link set lo up
}
# halt: kill the namespace's init, and so every process in it.
halt() {
	kill -9 "$INIT" 2>/dev/null || true
	wait "$UNSHARE" 2>/dev/null || true
	INIT= UNSHARE=
}
# inside CMD...: run CMD in the booted root.
inside() {
	nsenter -t "$INIT" -m -n -p -r -w /usr/bin/env -i "$PATH_IN" LANG=C.UTF-8 "$@"
}

# run_apply N: apply in a fresh root; appends "wall health" seconds to
# $work/apply.times and keeps the --json result.
run_apply() {
	local r=apply-$1 t0 t1
	boot "$work/$r"
	sync
	t0=$EPOCHREALTIME
	if ! inside /runtimectl apply --json /plan.json --bundle /bundle >"$work/$r.json" 2>"$work/$r.err"; then
		cat "$work/$r.err" "$work/$r.json" >&2
		die "runtimectl apply failed (run $1)"
	fi
	t1=$EPOCHREALTIME
	python3 - "$work/$r.json" "$t0" "$t1" >>"$work/apply.times" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["result"]
health = sum(s["took"] for s in res["steps"] if s["kind"] == "wait-health") / 1e9
print(f"{float(sys.argv[3]) - float(sys.argv[2]):.6f} {health:.6f}")
PY
	inside dpkg-query -W -f '${Package}:${Architecture} ${Version} ${db:Status-Abbrev}\n' >"$work/$r.pkgs"
	[ -z "$(inside dpkg --audit)" ] || die "dpkg --audit is not clean after the apply (run $1)"
	halt
}

# run_dpkg N: dpkg -i in a fresh root; appends seconds to $work/dpkg.times.
run_dpkg() {
	local r=dpkg-$1 t0 t1
	printf '#!/bin/sh\nexit 101\n' >"$work/$r/usr/sbin/policy-rc.d"
	chmod 755 "$work/$r/usr/sbin/policy-rc.d"
	boot "$work/$r"
	sync
	t0=$EPOCHREALTIME
	if ! inside DEBIAN_FRONTEND=noninteractive LC_ALL=C dpkg -i "${debs[@]}" >"$work/$r.out" 2>&1; then
		cat "$work/$r.out" >&2
		die "dpkg -i failed (run $1)"
	fi
	t1=$EPOCHREALTIME
	python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.6f}")' "$t0" "$t1" >>"$work/dpkg.times"
	inside dpkg-query -W -f '${Package}:${Architecture} ${Version} ${db:Status-Abbrev}\n' >"$work/$r.pkgs"
	[ -z "$(inside dpkg --audit)" ] || die "dpkg --audit is not clean after dpkg -i (run $1)"
	halt
}

echo "bench-apply: base $base; ${#debs[@]} .debs; $RUNS runs; runtimectl $(basename "$vmbin"); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
: >"$work/apply.times"
: >"$work/dpkg.times"
for i in $(seq "$RUNS"); do
	fresh "apply-$i"
	fresh "dpkg-$i"
	if [ $((i % 2)) = 1 ]; then
		run_apply "$i"
		run_dpkg "$i"
	else
		run_dpkg "$i"
		run_apply "$i"
	fi
	cmp -s "$work/apply-$i.pkgs" "$work/dpkg-$i.pkgs" ||
		die "run $i: the two roots hold different packages: $(diff "$work/apply-$i.pkgs" "$work/dpkg-$i.pkgs" | head -20)"
	echo "bench-apply: run $i/$RUNS: apply $(tail -n1 "$work/apply.times") (wall, health wait) s; dpkg -i $(tail -n1 "$work/dpkg.times") s" >&2
	rm -rf "$work/apply-$i" "$work/dpkg-$i"
done

# --- peak RSS: RSS_RUNS more applies, not timed ----------------------------
# rss_pid ROOT: the pid of the runtimectl apply process whose root is ROOT.
rss_pid() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$1" ] || continue
		[ "$(cat "$p/comm" 2>/dev/null)" = runtimectl ] || continue
		echo "${p#/proc/}"
		return
	done
}
# rss_run N: one apply in a fresh root; appends "VmHWM tree-max" (KiB; the
# second is empty without GNU time) to $work/rss.kib.
rss_run() {
	local r=rss-$1 bg pid= peak=0 tree= k v
	fresh "$r"
	boot "$work/$r"
	sync
	local timecmd=()
	if [ -x /usr/bin/time ]; then timecmd=(/usr/bin/time -f %M -o "$work/$r.tree"); fi
	"${timecmd[@]}" nsenter -t "$INIT" -m -n -p -r -w /usr/bin/env -i "$PATH_IN" LANG=C.UTF-8 \
		/runtimectl apply /plan.json --bundle /bundle >"$work/$r.out" 2>&1 &
	bg=$!
	while kill -0 "$bg" 2>/dev/null; do
		[ -n "$pid" ] || pid=$(rss_pid "$work/$r")
		if [ -n "$pid" ]; then
			while read -r k v _; do
				if [ "$k" = VmHWM: ] && [ "$v" -gt "$peak" ]; then peak=$v; fi
			done 2>/dev/null <"/proc/$pid/status" || true
		fi
		sleep 0.01
	done
	wait "$bg" || { cat "$work/$r.out" >&2; die "runtimectl apply failed (peak RSS run $1)"; }
	halt
	[ "$peak" -gt 0 ] || die "could not read runtimectl's VmHWM (peak RSS run $1)"
	if [ -s "$work/$r.tree" ]; then tree=$(tail -n1 "$work/$r.tree"); fi
	echo "$peak $tree" >>"$work/rss.kib"
	rm -rf "${work:?}/$r"
}
: >"$work/rss.kib"
for i in $(seq "$RSS_RUNS"); do rss_run "$i"; done

# --- report ---------------------------------------------------------------
python3 - "$work/apply.times" "$work/dpkg.times" "$work/rss.kib" \
	"$(stat -c %s "$work/runtimectl-386-vm")" "$(stat -c %s "$work/runtimectl-386-full")" \
	"$(basename "$vmbin")" "${#debs[@]}" "$work/apply-$RUNS.json" <<'PY'
import json, statistics, sys
apply = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
dpkg = [float(l) for l in open(sys.argv[2])]
rss = [l.split() for l in open(sys.argv[3])]
vm_size, full_size, binary, ndebs = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
wall = statistics.median(w for w, _ in apply)
excl = statistics.median(w - h for w, h in apply)
health = statistics.median(h for _, h in apply)
d = statistics.median(dpkg)
ms = lambda s: f"{s * 1000:.0f} ms"
print(f"runs: {len(apply)}; {ndebs} .debs; linux/386 runtimectl applying: {binary}")
print(f"runtimectl apply, health wait excluded: median {ms(excl)} (runs: {', '.join(ms(w - h) for w, h in apply)})")
print(f"  whole apply median {ms(wall)}, of which health wait median {ms(health)}")
print(f"dpkg -i, same .debs: median {ms(d)} (runs: {', '.join(ms(x) for x in dpkg)})")
print(f"ratio apply/dpkg: {excl / d:.2f} (target <= 1.2)")
# The runs are pairs made back to back: the median of the per-run ratios
# is less sensitive to load that changes during the benchmark.
paired = [(w - h) / x for (w, h), x in zip(apply, dpkg)]
print(f"  median of the per-run ratios: {statistics.median(paired):.2f} ({', '.join(f'{r:.2f}' for r in paired)})")
mib = lambda kib: f"{int(kib) / 1024:.1f}"
print(f"runtimectl peak RSS during apply (VmHWM), largest of {len(rss)} applies: {mib(max(int(r[0]) for r in rss))} MiB "
      f"(each: {', '.join(mib(r[0]) for r in rss)} MiB; target <= 40 MiB)")
if all(len(r) > 1 for r in rss):
    print(f"  process tree max RSS (GNU time %M, upper bound incl. dpkg): {', '.join(mib(r[1]) for r in rss)} MiB")
print(f"stripped linux/386 runtimectl: -tags vm {vm_size / 2**20:.2f} MiB ({vm_size} bytes), full {full_size / 2**20:.2f} MiB ({full_size} bytes)")
# The executor's own per-step times of the last timed apply: where the
# time goes.
last = sys.argv[8]
try:
    res = json.load(open(last))["result"]
    print("steps of the last timed apply:")
    for s in res["steps"]:
        print(f"  {s['took'] / 1e6:8.0f} ms  {s['id']}")
except OSError:
    pass
PY
