#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# bench-media.sh - issue 5: a first media sync of 50,000 files / 2 GiB
# through the release anki-sync-server (upload by one device, download by
# another) as MB/s and as ratios to plain libzip + write(2) of the same
# bytes in the same run; a media sync with nothing changed; another user's
# meta latency during the big sync; the server's RSS idle and at its peak.
# See bench/media_bench.py.
#   BENCH_MEDIA_FILES=50000  BENCH_MEDIA_MB=2048 (MiB)  BENCH_META_PAUSE_MS=10
#   BUILD=build.  Needs about 7x BENCH_MEDIA_MB of free space in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
for t in /usr/bin/python3 "$BUILD/bin/anki-sync-server" "$BUILD/bench/bench_media_unzip"; do
	[ -x "$t" ] || { echo "bench-media: $t missing (make all bench-build)" >&2; exit 1; }
done
FILES=${BENCH_MEDIA_FILES:-50000}
MB=${BENCH_MEDIA_MB:-2048}
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-media.XXXXXX")
trap 'rm -rf "$W"' EXIT
avail=$(df -Pk "$W" | awk 'NR == 2 {print int($4 / 1024)}')
if [ "$avail" -lt $((MB * 7 + 512)) ]; then
	echo "bench-media: needs $((MB * 7 + 512)) MiB free in $W, has $avail" >&2
	exit 1
fi
/usr/bin/python3 bench/media_bench.py "$W" "$FILES" "$MB"
