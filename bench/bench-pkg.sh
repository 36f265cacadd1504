#!/usr/bin/env bash
# Issue 11 benchmark: .apkg export and import (latest and legacy) of a
# 20,000-note deck with 2,000 media files, as ratios to zipping/unzipping
# the same bytes with libzip alone in the same run, and peak RSS per step
# (media are streamed: a 96 MiB file does not raise it).
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$B/bench/bench_pkg" "$dir" "${BENCH_PKG_NOTES:-20000}" "${BENCH_PKG_MEDIA:-2000}"
