#!/usr/bin/env bash
# App deployment against its peer, in fresh i386 roots that have node
# (see scripts/vmroot.sh), as root:
#
#   sudo scripts/bench-deploy.sh [ROUNDS]     (default 3)
#
# Each round times, in the same root:
#   deploy    runtimectl apply of the deploy plan of examples/express (its
#             641 files, node_modules built on the host), until the
#             health-gated switch is done;
#   peer      cp -a of the very same files into the root, then starting
#             `node server.js` on a port and polling until it answers;
#   redeploy  a one-file change: runtimectl deploy on the host (--state of
#             the root) and apply in the root, end to end.
# and prints each with the median ratio deploy/peer (target <= 1.5) and the
# median redeploy (target <= 2 s natively).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
make -s build build-vm
. scripts/vmroot.sh
work=$(mktemp -d)
trap 'vmroot_stop; rm -rf "$work"' EXIT
cli() { RUNTIMECTL_CACHE_DIR="$vmroot_cache/cli" bin/runtimectl "$@"; }
now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

cp -a examples/express "$work/app"
cli plan --add node --for-apps -o "$work/node.json" >/dev/null
cli bundle --plan "$work/node.json" --out "$work/node-bundle" >/dev/null 2>&1
declare -a dep peer redep
for i in $(seq "$rounds"); do
	r="$work/r$i" && mkdir "$r"
	vmroot_start "$r"
	root="$r/root"
	cp -a "$work/node.json" "$root/node.json" && cp -a "$work/node-bundle" "$root/node-bundle"
	vm /runtimectl apply /node.json --bundle /node-bundle >/dev/null 2>&1
	cp "$root/var/lib/runtimekit/state.json" "$work/state.json"
	cli deploy "$work/app" --state "$work/state.json" -o "$root/plan.json" --bundle "$root/bundle" >/dev/null 2>&1
	sync # neither side pays for the root just copied
	t0=$(now)
	vm /runtimectl apply /plan.json --bundle /bundle >/dev/null 2>&1
	t1=$(now)
	dep+=("$(ms "$t0" "$t1")")

	# The peer copies the same tree from outside the root, and starts it.
	[ -d "$work/tree" ] || cp -a "$root/srv/apps/app/releases/1" "$work/tree"
	sync
	t0=$(now)
	cp -a "$work/tree" "$root/srv/peer"
	vm /usr/bin/env PORT=9000 /usr/bin/node /srv/peer/server.js >/dev/null 2>&1 &
	until vm_get http://127.0.0.1:9000/ >/dev/null 2>&1; do sleep 0.02; done
	t1=$(now)
	peer+=("$(ms "$t0" "$t1")")

	# A one-file change, planned on the host and applied.
	echo "// round $i" >>"$work/app/server.js"
	cp "$root/var/lib/runtimekit/state.json" "$work/state.json"
	sync
	t0=$(now)
	cli deploy "$work/app" --state "$work/state.json" -o "$root/plan.json" --bundle "$work/rebundle" >/dev/null 2>&1
	rm -rf "$root/bundle" && cp -a "$work/rebundle" "$root/bundle"
	vm /runtimectl apply /plan.json --bundle /bundle >/dev/null 2>&1
	t1=$(now)
	redep+=("$(ms "$t0" "$t1")")
	rm -rf "$work/rebundle"
	vmroot_stop
	echo "round $i: deploy ${dep[-1]} ms, peer ${peer[-1]} ms, one-file redeploy ${redep[-1]} ms (load $(cut -d' ' -f1-3 /proc/loadavg))"
done
d=$(printf '%s\n' "${dep[@]}" | median)
p=$(printf '%s\n' "${peer[@]}" | median)
r=$(printf '%s\n' "${redep[@]}" | median)
echo "median: deploy $d ms, peer (cp -a + start) $p ms, ratio $(awk -v a="$d" -v b="$p" 'BEGIN {printf "%.2f", a / b}'); one-file redeploy $r ms"
