#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# check-tsan.sh - the programs built with ThreadSanitizer ($BUILD/tsan/bin)
# under the integration tests where their threads meet: several users and
# one user twice at once, parallel AnkiConnect readers and writers, media
# replies built ahead on the connection's thread, full and media syncs.
# Run by `make check` (tests/run-all.sh) and `make check-tsan`.  Every
# report (data race, lock order, unsafe call in a signal handler) goes to
# a log file per process; any such file is a failure, and so is a failing
# test.
#
# Environment: BUILD, TSAN_PYTESTS (test files under tests/integration),
# ANKIHOST_SHARED.
set -u
cd "$(dirname "$0")/.." || exit 2
B=${BUILD:-build}
T=$B/tsan
PY=/usr/bin/python3
PYTESTS=${TSAN_PYTESTS:-test_sync_concurrency.py test_connectd_concurrency.py test_sync_media_prefetch.py
test_sync_media.py test_sync_full.py test_sync_normal.py test_sync_expiry.py test_backup_concurrent.py}

SUITE=tsan
. tests/suite.sh

make --no-print-directory BUILD="$B" tsan >"$B/tsan-make.log" 2>&1 ||
	broken "make tsan failed (log: $B/tsan-make.log)"
# A build without the instrumentation would report nothing, ever.
nm "$T/bin/anki-sync-server" 2>/dev/null | grep -q '__tsan_init' ||
	broken "$T/bin/anki-sync-server is not built with -fsanitize=thread"
rm -rf "$T/logs" "$T/tmp"
mkdir -p "$T/logs"
export ANKIHOST_SHARED=${ANKIHOST_SHARED:-$PWD/../shared}
files=
for f in $PYTESTS; do files="$files tests/integration/$f"; done
# shellcheck disable=SC2086
TSAN_OPTIONS="log_path=$PWD/$T/logs/report second_deadlock_stack=1" ANKIHOST_BIN=$PWD/$T/bin \
	$PY -m pytest -q -p no:cacheprovider --basetemp="$PWD/$T/tmp" $files >"$T/pytest.log" 2>&1
pytest_result $? "$T/pytest.log" "tsan: integration tests with the ThreadSanitizer programs"
reports=$(find "$T/logs" -type f | sort)
if [ -z "$reports" ]; then
	ok "tsan: no data race, lock-order or signal report from any program run"
else
	# shellcheck disable=SC2086
	fail "tsan: $(wc -l <<<"$reports") program runs reported (logs: $(head -3 <<<"$reports" | tr '\n' ' '))" \
		"$(grep -hE '^(WARNING: ThreadSanitizer|    #[0-4] |SUMMARY)' $reports | head -30)"
fi
finish
