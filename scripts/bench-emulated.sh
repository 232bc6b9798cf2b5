#!/usr/bin/env bash
# The product's metrics timed inside an emulated CPU (qemu-system-i386,
# TCG), as root:
#
#   sudo scripts/bench-emulated.sh
#
# Boots the image of `runtimectl image build --boot` (built, and its
# Debian root and kernel cached, by internal/vmtest) once per measurement,
# each from a fresh overlay, and reports:
#   BenchmarkQEMUInstall/R   runtimectl apply of runtime R (and of nginx,
#                            node and python together) beside plain dpkg -i
#                            of the same .debs in another fresh machine, and
#                            the memory in use after the apply;
#   BenchmarkQEMUDeploy      the boot to the first command, the apply of a
#                            deploy of examples/static (with nginx) and of
#                            examples/express onto a machine that has node.
# Then the same image in v86 (tools/v86, npm v86 under Node): nginx by
# runtimectl apply and by plain dpkg -i, each from the image, and the boot.
# Times are the guest's clock around each command. Needs qemu-system-x86,
# qemu-utils, seabios, debootstrap, e2fsprogs, node and npm, and the Debian
# mirror of apt's sources.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
RUNTIMEKIT_E2E=1 go test -run '^$' -bench 'QEMU' -benchtime 1x -timeout 120m ./internal/vmtest/
echo "load after qemu: $(cut -d' ' -f1-3 /proc/loadavg)" >&2


# The browser-class figures: the same image booted in v86 (npm v86, in
# tools/v86) under Node, for nginx: runtimectl apply beside plain dpkg -i of
# the same .debs, each in a fresh copy of the image, and the boot. Times are
# the guest's clock around the command.
command -v node >/dev/null || { echo "node is not installed: no v86 figures" >&2; exit 1; }
[ -d tools/v86/node_modules/v86 ] || (cd tools/v86 && npm install --no-audit --no-fund >/dev/null)
make -s build build-vm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
host() { RUNTIMECTL_CACHE_DIR="${RUNTIMEKIT_CACHE:-/var/cache/runtimekit}/cli" bin/runtimectl "$@"; }
host image build --boot -o "$work/image" >/dev/null
mkdir "$work/t"
host plan --add nginx -o "$work/t/plan.json" >/dev/null
host bundle --plan "$work/t/plan.json" --out "$work/t/bundle" --keep-downloads >/dev/null 2>&1
debs=$(python3 - "$work/t/plan.json" "$work/t/bundle/bundle.json" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
files = {f["sha256"]: f["path"] for f in json.load(open(sys.argv[2]))["files"]}
print(" ".join("/mnt/t/bundle/" + files[p["sha256"]] for s in plan["steps"] if s["kind"] == "install-packages" for p in s["inputs"]["packages"]))
PY
)
# v86run NAME SCRIPT: boot the image in v86 running SCRIPT. v86 reads the
# disk into memory and never writes it back: every run starts from the image.
v86run() {
	printf '%s\n' "$2" >"$work/t/run.sh"
	mke2fs -q -F -t ext2 -d "$work/t" "$work/t.ext2" 256M
	(cd tools/v86 && node boot.mjs "$work/image" "$work/t.ext2" "/bin/sh /mnt/t/run.sh") >"$work/$1.log" 2>"$work/$1.err" || { tail -30 "$work/$1.log" >&2; exit 1; }
	grep -o "${1}_MS=[0-9]*" "$work/$1.log" | tail -1
	grep -o "MEM_USED_KB=[0-9]*" "$work/$1.log" | tail -1 || true
	grep "from start" "$work/$1.err" || true
}
t() { echo "s=\$(date +%s%N); $2; echo \"${1}_RC=\$? ${1}_MS=\$(( (\$(date +%s%N) - s) / 1000000 ))\""; }
mem="awk '/^MemTotal:/ {t=\$2} /^MemAvailable:/ {a=\$2} END {print \"MEM_USED_KB=\" t-a}' /proc/meminfo"
echo "v86 nginx: runtimectl apply" >&2
v86run APPLY "$(t APPLY "runtimectl apply /mnt/t/plan.json --bundle /mnt/t/bundle >/dev/null"); $mem"
echo "v86 nginx: dpkg -i of the same .debs" >&2
v86run DPKG "printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; $(t DPKG "DEBIAN_FRONTEND=noninteractive LC_ALL=C dpkg -i $debs >/dev/null")"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
