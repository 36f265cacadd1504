#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# bench-sync-normal.sh - issue 4: a normal sync moving 10,000 notes with
# cards each way through the release anki-sync-server, and the ratio to
# applying the same rows with plain SQLite (sqlite3 shell) in the same run.
# See bench/sync_normal.py.   BENCH_NOTES=10000;  BUILD=build.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
for t in sqlite3 /usr/bin/python3; do
	command -v "$t" >/dev/null || { echo "bench-sync-normal: needs $t" >&2; exit 1; }
done
exec /usr/bin/python3 bench/sync_normal.py "${BENCH_NOTES:-10000}"
