#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# bench-sync-headline.sh - issue 4 headline: 20 users syncing on loopback
# (bounded loop, stops by itself) while one user does a 300 MB full upload
# and 10 logins per second arrive; errors (target 0), meta p99 of the other
# users (target < 20 ms) against the same users with an idle server in the
# same run, and the server's RSS idle (target <= 5 MB) and peak (<= 32 MB).
# See bench/sync_headline.py.  BENCH_MB=300 BENCH_USERS=20; BUILD=build.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
for t in zstd /usr/bin/python3; do
	command -v "$t" >/dev/null || { echo "bench-sync-headline: needs $t" >&2; exit 1; }
done
[ -x "$BUILD/bin/anki-sync-server" ] || { echo "bench-sync-headline: $BUILD/bin not built" >&2; exit 1; }
exec /usr/bin/python3 bench/sync_headline.py
