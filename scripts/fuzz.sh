#!/usr/bin/env bash
# Run every fuzz target (each `func FuzzX(f *testing.F)` in a _test.go file)
# for a while: `scripts/fuzz.sh [TIME]`, TIME as `go test -fuzztime` takes it
# (default 20s, or $FUZZTIME). `go test -fuzz` runs one target at a time, so
# the targets run one after another. FUZZ_PARALLEL sets the workers per
# target (default: GOMAXPROCS). A failing input is written to the package's
# testdata/fuzz/FuzzX/, where `go test` then replays it, and the run stops.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-${FUZZTIME:-20s}}
found=0
while IFS=: read -r file target; do
	pkg=./$(dirname "$file")
	echo "fuzz: $target in $pkg for $time" >&2
	# Minimizing a new input is capped at 20 tries: the manifest target
	# starts a process per input, and go's default (a minute per new
	# input) would be most of a run.
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" -fuzzminimizetime 20x \
		${FUZZ_PARALLEL:+-parallel "$FUZZ_PARALLEL"} "$pkg"
	found=$((found + 1))
done < <(grep -rEo --include='*_test.go' --exclude-dir=bin --exclude-dir=testdata '^func Fuzz[A-Za-z0-9_]+' . |
	sed -e 's|^\./||' -e 's|:func |:|' | sort)
[ "$found" -gt 0 ] || { echo "fuzz: no fuzz targets found" >&2; exit 1; }
echo "fuzz: $found targets, $time each: no failure" >&2
