#!/usr/bin/env bash
# Benchmark: `runtimectl manifest show` of all five built-in plugins as a whole
# process, cold (empty cache: five plugin launches and CUE evaluations) vs
# warm (manifest cache hit: no plugin launched). Targets: warm median <= 50 ms,
# cold <= 500 ms. Needs hyperfine (Debian package hyperfine) and `make build`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "bench: install hyperfine (apt-get install hyperfine)" >&2; exit 1; }
[ -x bin/runtimectl ] || make build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RUNTIMECTL_CACHE_DIR=$work/cache
cmd="bin/runtimectl manifest show nginx node python nextjs deno --json"
$cmd >/dev/null # fill the cache for the warm run
sleep 2 # binaries changed less than 2 s ago are re-hashed on every run (see sdk/host)
hyperfine --style basic --warmup 3 --runs "${RUNS:-30}" --export-json "$work/warm.json" -n warm "$cmd"
hyperfine --style basic --runs "${RUNS:-30}" --prepare "rm -rf $work/cache" --export-json "$work/cold.json" -n cold "$cmd"
python3 - "$work/warm.json" "$work/cold.json" <<'PY'
import json, sys
med = {}
for f in sys.argv[1:]:
    r = json.load(open(f))["results"][0]
    med[r["command"]] = r["median"] * 1000
print(f"manifest show x5: warm median {med['warm']:.1f} ms (target <= 50), cold median {med['cold']:.1f} ms (target <= 500), cold/warm {med['cold']/med['warm']:.1f}x")
PY
