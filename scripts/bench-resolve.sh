#!/usr/bin/env bash
# Benchmark: `runtimectl resolve nginx-light nodejs python3 runit` against the
# bookworm i386 Packages index and the webvm-i386 minbase status, as a whole
# process, vs `apt-get install -s --no-install-recommends` of the same request
# on the same two files, with apt's binary cache (pkgcache.bin, srcpkgcache.bin)
# removed before every run, both timed in the same hyperfine run. Target: our
# median <= 0.5x apt's (aim 0.25x), the identical package set, and peak RSS
# reported for both.
#
# Both read the plain (uncompressed, ~49 MB) index: apt reads its lists
# uncompressed, and for us xz decoding would dominate (about 1.1 s of a 1.1 s
# run from Packages.xz against 0.4 s from the plain file), measuring the xz
# decoder rather than the reader and resolver.
#
# The index is, in order: $INDEX (plain, .gz or .xz); the verified fixture in
# the test cache ($RUNTIMEKIT_CACHE, default /var/cache/runtimekit, made by
# `go test ./sdk/debian/...`); else fetched from this machine's apt sources by
# `runtimectl lock` (InRelease signature and index digest verified).
#
# apt is kept to exactly these files as in sdk/debian/resolve/apt_equivalence_test.go:
# apt reads only indexes of configured sources, from its lists directory under
# a name derived from the source URI, so the index is linked there under the
# name of a trusted file: source, and APT_CONFIG points at a file that shuts
# out the host's apt.conf(.d), preferences and sources.
#
# Needs hyperfine, apt-get, xz and GNU time (Debian packages hyperfine, apt,
# xz-utils, time). RUNS sets the number of timed runs (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine apt-get xz /usr/bin/time python3; do
	command -v "$tool" >/dev/null || { echo "bench-resolve: $tool is missing (apt-get install hyperfine apt xz-utils time python3)" >&2; exit 1; }
done
[ -x bin/runtimectl ] || make build
runtimectl=$PWD/bin/runtimectl
status=$PWD/targets/webvm-i386.status
request=(nginx-light nodejs python3 runit)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

index=${INDEX:-}
if [ -z "$index" ]; then
	for d in "${RUNTIMEKIT_CACHE:-/var/cache/runtimekit}"/debian-index/bookworm-i386-*/; do
		if [ -e "$d/.complete" ]; then
			index=$d/dists/bookworm/main/binary-i386/Packages.xz
			break
		fi
	done
fi
if [ -z "$index" ]; then
	cache=${RUNTIMECTL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/runtimekit}
	echo "bench-resolve: fetching the bookworm i386 index" >&2
	"$runtimectl" --cache-dir "$cache" lock nginx --target webvm-i386 -o /dev/null 2>"$work/lock.log" ||
		{ cat "$work/lock.log" >&2; exit 1; }
	sum=$(sed -n 's/^index dists\/bookworm\/main\/binary-i386\/Packages.xz sha256 \([0-9a-f]*\) .*/\1/p' "$work/lock.log")
	index=$cache/debian-index/by-hash/SHA256/$sum
fi
[ -f "$index" ] || { echo "bench-resolve: no index at $index" >&2; exit 1; }

# The one plain index both read.
packages=$work/Packages
case $(head -c 6 "$index" | od -An -tx1 | tr -d ' \n') in
fd377a585a00) xz -dc "$index" >"$packages" ;;
1f8b*) gzip -dc "$index" >"$packages" ;;
*) cp "$index" "$packages" ;;
esac

# apt's private world.
mkdir -p "$work/empty" "$work/lists/partial" "$work/apt-cache/archives/partial"
ln -s "$packages" "$work/lists/_runtimekit-index_dists_bookworm_main_binary-i386_Packages"
echo "deb [trusted=yes arch=i386] file:/runtimekit-index bookworm main" >"$work/sources.list"
printf 'Dir::Etc::parts "%s";\nDir::Etc::main "/dev/null";\n' "$work/empty" >"$work/apt.conf"
apt_cmd=(env "APT_CONFIG=$work/apt.conf" LC_ALL=C apt-get
	-o "Dir::State::status=$status"
	-o "Dir::State::Lists=$work/lists"
	-o "Dir::State::extended_states=$work/extended_states"
	-o "Dir::Cache=$work/apt-cache"
	-o "Dir::Etc::SourceList=$work/sources.list"
	-o "Dir::Etc::SourceParts=$work/empty"
	-o "Dir::Etc::preferences=/dev/null"
	-o "Dir::Etc::preferencesparts=$work/empty"
	-o "Dir::Etc::Trusted=/dev/null"
	-o "Dir::Etc::TrustedParts=$work/empty"
	-o "Dir::Log=$work"
	-o "APT::Architecture=i386"
	-o "APT::Architectures::=i386"
	-o "Debug::NoLocking=1"
	install -s --no-install-recommends "${request[@]}")
our_cmd=("$runtimectl" resolve "${request[@]}" --index "$packages" --status "$status" --arch i386)
drop_apt_cache="rm -f $work/apt-cache/pkgcache.bin $work/apt-cache/srcpkgcache.bin"

# Same package set: "Inst name version arch" / "Remv name version", sorted.
"${our_cmd[@]}" 2>/dev/null | sed -nE 's/^Inst (\S+) \((\S+) (\S+)\)$/Inst \1 \2 \3/p; s/^Remv (\S+) \((\S+) \S+\)$/Remv \1 \2/p' | sort >"$work/ours.txt"
sh -c "$drop_apt_cache"
"${apt_cmd[@]}" >"$work/apt.out" 2>&1 || { cat "$work/apt.out" >&2; exit 1; }
sed -nE 's/^Inst (\S+) (\[\S+\] )?\((\S+) [^)]*\[(\S+)\]\).*/Inst \1 \3 \4/p; s/^Remv (\S+) \[(\S+)\].*/Remv \1 \2/p' "$work/apt.out" | sort >"$work/apt.txt"
if ! cmp -s "$work/ours.txt" "$work/apt.txt"; then
	echo "bench-resolve: package sets differ (< runtimectl, > apt):" >&2
	diff "$work/ours.txt" "$work/apt.txt" >&2 || true
	exit 1
fi
[ -s "$work/ours.txt" ] || { echo "bench-resolve: empty package set" >&2; exit 1; }

# Peak RSS of one cold run each, in KiB.
rss_ours=$(/usr/bin/time -f %M "${our_cmd[@]}" 2>&1 >/dev/null | tail -1)
sh -c "$drop_apt_cache"
rss_apt=$(/usr/bin/time -f %M "${apt_cmd[@]}" 2>&1 >/dev/null | tail -1)

# -N: no intermediate shell; commands are split like shell words.
quote() { printf '%q ' "$@"; }
hyperfine -N --style basic --warmup 2 --runs "${RUNS:-20}" \
	--prepare "sh -c '$drop_apt_cache'" \
	--export-json "$work/bench.json" \
	-n runtimectl "$(quote "${our_cmd[@]}")" \
	-n apt-get "$(quote "${apt_cmd[@]}")" >&2

python3 - "$work/bench.json" "$(wc -l <"$work/ours.txt")" "$rss_ours" "$rss_apt" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
n, rss_ours, rss_apt = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ours, apt = res["runtimectl"]["median"] * 1000, res["apt-get"]["median"] * 1000
ratio = ours / apt
print(f"resolve nginx-light nodejs python3 runit (bookworm i386, {n} packages, identical sets):")
print(f"  runtimectl median {ours:.0f} ms, peak RSS {rss_ours / 1024:.0f} MiB")
print(f"  apt-get -s median {apt:.0f} ms (binary cache removed each run), peak RSS {rss_apt / 1024:.0f} MiB")
print(f"  ratio {ratio:.2f}x (target <= 0.5x, aim 0.25x): {'ok' if ratio <= 0.5 else 'MISSED'}")
sys.exit(0 if ratio <= 0.5 else 1)
PY
