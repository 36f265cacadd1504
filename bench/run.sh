#!/usr/bin/env bash
# Runs every bench/bench-*.sh in turn.  Each prints its figures as ratios to a
# baseline measured in the same run (see DEVELOPERS.md: never absolute timings
# in tests).
set -u
cd "$(dirname "$0")/.."
rc=0
for b in bench/bench-*.sh; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b" || rc=1
done
exit $rc
