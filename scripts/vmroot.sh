# shellcheck shell=bash
# Sourced by demo.sh and bench-deploy.sh: a Debian bookworm i386 root with
# no network, as the end-to-end tests make it (sdk/executor's startVM).
#
#   vmroot_base            the cached debootstrap minbase root (made once)
#   vmroot_start DIR       copy it to DIR/root with bin/linux-386-vm/runtimectl,
#                          start its namespaces (net, pid, mount); sets $vmroot_init
#   vm CMD...              run CMD inside the root
#   vmroot_stop            kill every process of the root
vmroot_cache=${RUNTIMEKIT_CACHE:-/var/cache/runtimekit}
vmroot_mirror=${RUNTIMEKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
vmroot_init=

vmroot_base() {
	local base="$vmroot_cache/demo-rootfs/bookworm-i386-minbase"
	if [ ! -e "$base/.complete" ]; then
		echo "making the i386 root (debootstrap, about a minute; cached in $base)" >&2
		rm -rf "$base.tmp" && mkdir -p "$(dirname "$base")"
		debootstrap --variant=minbase --arch=i386 bookworm "$base.tmp" "$vmroot_mirror" >/dev/null
		touch "$base.tmp/.complete" && rm -rf "$base" && mv "$base.tmp" "$base"
	fi
	echo "$base"
}

vmroot_start() {
	local root="$1/root" base
	base=$(vmroot_base)
	cp -a "$base" "$root" && rm -f "$root/.complete"
	cp bin/linux-386-vm/runtimectl "$root/runtimectl"
	unshare --net --pid --mount --fork --mount-proc="$root/proc" chroot "$root" /bin/sleep infinity 2>/dev/null &
	local pid=$! i
	for i in $(seq 200); do
		vmroot_init=$(awk '{print $1}' "/proc/$pid/task/$pid/children" 2>/dev/null || true)
		[ -n "$vmroot_init" ] && break
		sleep 0.05
	done
	[ -n "$vmroot_init" ] || { echo "the root's namespaces did not start" >&2; return 1; }
	nsenter -t "$vmroot_init" -n ip link set lo up
}

vm() { nsenter -t "$vmroot_init" -m -n -p -r -w /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# vm_get URL: GET from inside the root's network with this machine's node.
vm_get() {
	nsenter -t "$vmroot_init" -n node -e "require('http').get(process.argv[1], r => { console.log('HTTP', r.statusCode); r.pipe(process.stdout) }).on('error', e => { console.error(e.message); process.exit(1) })" "$1"
}

vmroot_stop() {
	[ -n "$vmroot_init" ] && kill -9 "$vmroot_init" 2>/dev/null || true
	vmroot_init=
	wait 2>/dev/null || true
}
