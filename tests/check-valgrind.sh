#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# check-valgrind.sh - memcheck over the release build (no sanitizers), run
# by `make check` (tests/run-all.sh) and `make check-valgrind`:
#   1. every cmocka unit test ($BUILD/tests/test_*), two at a time;
#   2. the real programs under valgrind while a share of the integration
#      tests (two groups, side by side) drive them: $BUILD/valgrind/bin holds one wrapper
#      per program that execs it under valgrind with a log file per
#      process; a program run whose log is not empty is a failure, and so
#      is a test that fails only because valgrind made a program slow.
# Errors count: invalid reads and writes, uses of uninitialised values,
# bad frees, and leaks (definite and indirect) at exit.  PCRE2's JIT is
# turned off in every run (tests/valgrind/nojit.c says why).
#
# Environment: BUILD, VALGRIND_UNITS (test names, default all),
# VALGRIND_PYTESTS_A and _B (test files under tests/integration),
# ANKIHOST_SHARED.
set -u
cd "$(dirname "$0")/.." || exit 2
B=${BUILD:-build}
V=$B/valgrind
PY=/usr/bin/python3
# Files whose tests drive each program's main paths, in two groups run side
# by side (valgrind runs one thread at a time); test_pkg_cli.py sits in A
# because B took 8.2 min to A's 4.4 with it.
# The timing tests (concurrency, crash, expiry, prefetch races) stay with the
# sanitizer run, and so does test_sync_ops.py: its many PBKDF2 logins at the
# official rounds take minutes under valgrind and add no other path.
GROUP_A=${VALGRIND_PYTESTS_A:-test_sync_full.py test_sync_normal.py test_sync_media.py
test_backup_cli.py test_tailscale_wait.py test_pkg_cli.py}
GROUP_B=${VALGRIND_PYTESTS_B:-test_connectd_notes.py test_connectd_cards.py test_connectd_models.py
test_connectd_packages.py test_connectd_media.py test_anki_col.py}

SUITE=valgrind
. tests/suite.sh

command -v valgrind >/dev/null || broken "valgrind missing: apt-get install valgrind (make deps)"
rm -rf "$V"
mkdir -p "$V/bin" "$V/logs" "$V/units"
make --no-print-directory BUILD="$B" valgrind-build >"$V/make.log" 2>&1 ||
	broken "make valgrind-build failed (log: $V/make.log)"
cc -shared -fPIC -O2 -o "$V/nojit.so" tests/valgrind/nojit.c 2>"$V/nojit.log" ||
	broken "cannot build tests/valgrind/nojit.c: $(cat "$V/nojit.log")"
VG="env LD_PRELOAD=$PWD/$V/nojit.so valgrind -q --error-exitcode=99 --leak-check=full
--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --num-callers=30"
export ANKIHOST_SHARED=${ANKIHOST_SHARED:-$PWD/../shared}

first_errors() { # the first lines of valgrind's report in a log
	grep -E '^==[0-9]+== ' "$1" | head -14
}

# ------------------------------------------------------------ unit tests
unit() { # unit TEST: one unit test under valgrind; prints one result line
	local t=$1 log=$V/units/$1.log rc
	(cd tests/unit && timeout 1200 $VG "../../$B/tests/$t") >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok   valgrind: unit $t ($(grep -oE '\[  PASSED  \] [0-9]+' "$log" | grep -oE '[0-9]+$') tests)"
	elif [ $rc -eq 99 ]; then
		echo "FAIL valgrind: unit $t: memcheck errors (log: $log)"
		first_errors "$log" | sed 's/^/     /'
	else
		echo "FAIL valgrind: unit $t: exit $rc (log: $log)"
		grep -E '^\[  (ERROR|FAILED) |^\[   LINE' "$log" | head -6 | sed 's/^/     /'
	fi
}
export -f unit first_errors
export V B VG
units=${VALGRIND_UNITS:-$(cd "$B/tests" && ls test_*)}
# Slowest first (PBKDF2 with the official rounds), so two workers end together.
# shellcheck disable=SC2086
out=$(printf '%s\n' $units | awk '/^test_(auth|pkg_hostile|pkg|sqlfn|users)$/ { print; next }
	{ rest = rest $0 "\n" } END { printf "%s", rest }' | xargs -P 2 -I{} bash -c 'unit {}')
echo "$out"
passed=$((passed + $(grep -c '^ok ' <<<"$out")))
failed=$((failed + $(grep -c '^FAIL ' <<<"$out")))

# -------------------------------------------------------------- programs
for p in "$B"/bin/*; do
	[ -x "$p" ] || continue
	n=$(basename "$p")
	cat >"$V/bin/$n" <<-EOF
		#!/bin/sh
		exec $(tr '\n' ' ' <<<"$VG") --log-file=$PWD/$V/logs/$n.%p.log $PWD/$p "\$@"
	EOF
	chmod +x "$V/bin/$n"
done
pytest_group() { # pytest_group NAME FILES...: one pytest run, its own log and temp dir
	local name=$1 f files=
	shift
	for f in "$@"; do files="$files tests/integration/$f"; done
	# shellcheck disable=SC2086
	ANKIHOST_BIN=$PWD/$V/bin $PY -m pytest -q -p no:cacheprovider --durations=5 \
		--basetemp="$PWD/$V/tmp-$name" $files >"$V/pytest-$name.log" 2>&1
}
# shellcheck disable=SC2086
pytest_group a $GROUP_A &
pida=$!
# shellcheck disable=SC2086
pytest_group b $GROUP_B
rcb=$?
wait $pida
rca=$?
pytest_result $rca "$V/pytest-a.log" "valgrind: integration tests (group a) with the programs under valgrind"
pytest_result $rcb "$V/pytest-b.log" "valgrind: integration tests (group b) with the programs under valgrind"
for p in "$B"/bin/*; do
	n=$(basename "$p")
	runs=$(find "$V/logs" -name "$n.*.log" | wc -l)
	[ "$runs" -gt 0 ] || continue
	bad=$(find "$V/logs" -name "$n.*.log" -size +0 | sort)
	if [ -z "$bad" ]; then
		ok "valgrind: $n: $runs runs, no memcheck errors or leaks"
	else
		fail "valgrind: $n: $(wc -l <<<"$bad") of $runs runs reported errors (logs: $(head -3 <<<"$bad" | tr '\n' ' '))" \
			"$(first_errors "$(head -1 <<<"$bad")")"
	fi
done
finish
