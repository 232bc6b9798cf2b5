#!/usr/bin/env bash
# Benchmark: `runtimectl plan --add nginx --add node --add python --add nextjs`
# as a whole process with warm caches (manifests cached by plugin digest, no
# plugin launched), on the default target with its shipped lock.
# Target: median <= 50 ms. Needs hyperfine and `make build`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "bench: install hyperfine (apt-get install hyperfine)" >&2; exit 1; }
[ -x bin/runtimectl ] || make build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RUNTIMECTL_CACHE_DIR=$work/cache
cmd="bin/runtimectl plan --add nginx --add node --add python --add nextjs"
$cmd >/dev/null
sleep 2 # binaries changed less than 2 s ago are re-hashed on every run (see sdk/host)
hyperfine -N --style basic --warmup 3 --runs "${RUNS:-30}" --export-json "$work/plan.json" "$cmd"
python3 - "$work/plan.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"plan x4 warm: median {r['median']*1000:.1f} ms (target <= 50)")
PY
