#!/usr/bin/env bash
# Issue 11 benchmark: answerCards for 1,000 cards in one call (new and
# review cards, SM-2 and FSRS) through the scheduler library, against plain
# SQLite card updates + review-log inserts in the same run (ratio).
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$B/bench/bench_sched" "$dir" "${BENCH_CARDS:-1000}"
