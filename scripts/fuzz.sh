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
# inputs counts the corpus files of a target (0 when it has none yet).
inputs() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }
while IFS=: read -r file target; do
	pkg=./$(dirname "$file")
	echo "fuzz: $target in $pkg for $time" >&2
	# Minimizing a new input is capped at 20 tries: the manifest target
	# starts a process per input, and go's default (a minute per new
	# input) would be most of a run.
	# go's fuzzer sometimes ends a clean run with "context deadline
	# exceeded" when the time is up while a worker is still busy: no input
	# failed and none is written. That run is repeated once; a real
	# failure writes its input to testdata/fuzz and stops the script.
	for attempt in 1 2; do
		corpus="$pkg/testdata/fuzz/$target"
		before=$(inputs "$corpus")
		log=$(mktemp)
		if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" -fuzzminimizetime 20x \
			${FUZZ_PARALLEL:+-parallel "$FUZZ_PARALLEL"} "$pkg" 2>&1 | tee "$log"; then
			rm -f "$log"
			break
		fi
		after=$(inputs "$corpus")
		if [ "$attempt" = 1 ] && [ "$after" = "$before" ] && grep -q "context deadline exceeded" "$log"; then
			echo "fuzz: $target ended with the fuzzer's own deadline error and no failing input: running it again" >&2
			rm -f "$log"
			continue
		fi
		rm -f "$log"
		exit 1
	done
	found=$((found + 1))
done < <(grep -rEo --include='*_test.go' --exclude-dir=bin --exclude-dir=testdata '^func Fuzz[A-Za-z0-9_]+' . |
	sed -e 's|^\./||' -e 's|:func |:|' | sort)
[ "$found" -gt 0 ] || { echo "fuzz: no fuzz targets found" >&2; exit 1; }
echo "fuzz: $found targets, $time each: no failure" >&2
