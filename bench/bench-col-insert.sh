#!/usr/bin/env bash
# Issue 3 benchmark: 100,000 notes with cards through the collection library
# vs the same rows with plain SQLite, same run (ratio), and peak RSS.
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$B/bench/bench_col_insert" "$dir" "${BENCH_NOTES:-100000}"
