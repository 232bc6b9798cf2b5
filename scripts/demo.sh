#!/usr/bin/env bash
# Deploy an example app into a fresh Debian bookworm i386 root that has no
# network, the way WebVM runs it, and show it answering:
#
#   sudo scripts/demo.sh [APP_DIR]        (default examples/express)
#
# It builds runtimectl (make build build-vm), makes the i386 root once with
# debootstrap (cached in $RUNTIMEKIT_CACHE, default /var/cache/runtimekit),
# runs `runtimectl deploy` on this machine (node and the app's
# node_modules, built for linux/ia32, into a plan and a bundle), then, in
# a copy of the root with no network (a network, pid and mount namespace
# of its own), `runtimectl apply` with the vm build, and GETs the app.
# Needs root; on Debian it installs what it lacks (debootstrap, util-linux,
# iproute2, nodejs, npm, make).
set -euo pipefail
cd "$(dirname "$0")/.."
app=$(realpath "${1:-examples/express}")
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it makes a chroot and namespaces)" >&2; exit 2; }
# What a fresh Debian machine lacks, installed as .ci/run does.
need=()
for t in debootstrap:debootstrap unshare:util-linux nsenter:util-linux ip:iproute2 node:nodejs npm:npm make:make; do
	command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
	command -v apt-get >/dev/null || { echo "demo: install ${need[*]} first" >&2; exit 2; }
	echo "demo: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

make -s build build-vm
. scripts/vmroot.sh
work=$(mktemp -d)
trap 'vmroot_stop; rm -rf "$work"' EXIT
echo "demo: runtimectl deploy $app" >&2
RUNTIMECTL_CACHE_DIR="$vmroot_cache/cli" bin/runtimectl deploy "$app" -o "$work/plan.json" --bundle "$work/bundle"

vmroot_start "$work"
root="$work/root"
cp -a "$work/plan.json" "$work/bundle" "$root/"
echo "demo: in the root (i386, no network): runtimectl apply /plan.json --bundle /bundle" >&2
vm /runtimectl apply /plan.json --bundle /bundle
vm /runtimectl status
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$root"/srv/apps/*/live | head -1)
echo "demo: GET http://127.0.0.1:$port/ inside the root's network:" >&2
vm_get "http://127.0.0.1:$port/"
