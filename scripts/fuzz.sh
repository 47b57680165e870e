#!/usr/bin/env bash
# Runs every fuzz target of the module for a short while (default 3s each),
# one after the other, so CI catches a parser that panics or breaks its
# property on new input. Longer runs: scripts/fuzz.sh 60, or one target:
#   go test -run '^$' -fuzz '^FuzzRedactCommand$' -fuzztime 5m ./discovery
#
# usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3}
n=0
while read -r pkg target; do
	if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "${secs}s" "$pkg" >/tmp/roster-fuzz.$$ 2>&1; then
		# The go command sometimes ends a run at -fuzztime with "context
		# deadline exceeded" while a worker is still busy, with no failing
		# input: that is the fuzzer's clock, not a finding. Run it once
		# more; a real failure writes its input to testdata/fuzz and fails.
		if grep -q 'Failing input written' /tmp/roster-fuzz.$$ || ! grep -q 'context deadline exceeded' /tmp/roster-fuzz.$$ ||
			! go test -run '^$' -fuzz "^${target}\$" -fuzztime "${secs}s" "$pkg" >/tmp/roster-fuzz.$$ 2>&1; then
			cat /tmp/roster-fuzz.$$ >&2
			rm -f /tmp/roster-fuzz.$$
			echo "fuzz: $target in $pkg failed" >&2
			exit 1
		fi
		echo "fuzz: $target in $pkg: the fuzzer's clock ran out mid-input (no failing input); passed on a second run"
	fi
	n=$((n + 1))
done < <(go list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r pkg dir; do
	grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed "s|^func |$pkg |" || true
done)
rm -f /tmp/roster-fuzz.$$
if [ "$n" -eq 0 ]; then
	echo "fuzz: no fuzz target found" >&2
	exit 1
fi
echo "fuzz: $n targets, ${secs}s each, no failure"
