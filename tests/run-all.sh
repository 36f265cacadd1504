#!/usr/bin/env bash
# Runs the test suites and prints one closing line "N passed, M failed".
#   tests/run-all.sh            unit + integration + extra suites
#   tests/run-all.sh unit       only the cmocka unit tests
#   tests/run-all.sh integration
# Unit tests are the sanitizer builds in build/san/tests; integration tests
# (pytest, Debian's /usr/bin/python3) start the sanitizer programs in
# build/san/bin; each tests/check-*.sh is an extra suite that prints its own
# "N passed, M failed" line.
set -u
cd "$(dirname "$0")/.."
what=${1:-all}
passed=0
failed=0
B=${BUILD:-build}
logdir=$B/test-logs
mkdir -p "$logdir"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ANKIHOST_BIN=${ANKIHOST_BIN:-$PWD/$B/san/bin}
export ANKIHOST_SHARED=${ANKIHOST_SHARED:-$PWD/../shared}

add_counts() { # from a line "... N passed, M failed"
	local line=$1 p f
	p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' | head -1)
	f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' | head -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
}

run_unit() {
	local t out rc p f
	for t in "$B"/san/tests/test_*; do
		[ -x "$t" ] || continue
		out="$logdir/$(basename "$t").log"
		(cd tests/unit && "$OLDPWD/$t") >"$out" 2>&1
		rc=$?
		p=$(grep -oE '\[  PASSED  \] [0-9]+' "$out" | grep -oE '[0-9]+$' | tail -1)
		f=$(grep -oE '\[  FAILED  \] [0-9]+' "$out" | grep -oE '[0-9]+$' | tail -1)
		p=${p:-0}
		f=${f:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed or sanitizer report
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$f" -ne 0 ]; then
			echo "FAIL unit $(basename "$t") (exit $rc); log: $out"
			grep -E 'FAILED|ERROR|error|Sanitizer|runtime error' "$out" | head -20
		else
			echo "ok   unit $(basename "$t"): $p passed"
		fi
	done
}

run_integration() {
	[ -d tests/integration ] || return 0
	local out=$logdir/pytest.log rc line
	/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration >"$out" 2>&1
	rc=$?
	line=$(grep -E '(passed|failed|error|no tests ran)' "$out" | tail -1)
	if [ "$rc" -eq 5 ]; then
		echo "integration: no tests collected"
		return 0
	fi
	add_counts "$line"
	local errs
	errs=$(grep -oE '[0-9]+ errors?' <<<"$line" | grep -oE '[0-9]+' | head -1)
	failed=$((failed + ${errs:-0}))
	if [ "$rc" -ne 0 ]; then
		[ -z "$line" ] && failed=$((failed + 1))
		echo "FAIL integration (exit $rc): $line; log: $out"
		grep -E '^(FAILED|ERROR)' "$out" | head -40
	else
		echo "ok   integration: $line"
	fi
}

run_extra() {
	local s out rc line
	for s in tests/check-*.sh; do
		[ -x "$s" ] || continue
		out="$logdir/$(basename "$s" .sh).log"
		"$s" >"$out" 2>&1
		rc=$?
		line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
		if [ -z "$line" ]; then
			[ "$rc" -ne 0 ] && failed=$((failed + 1))
			echo "$([ $rc -eq 0 ] && echo 'ok  ' || echo FAIL) $(basename "$s") (exit $rc, no summary); log: $out"
			[ "$rc" -ne 0 ] && tail -n 20 "$out" | sed 's/^/     /'
			continue
		fi
		add_counts "$line"
		if [ "$rc" -ne 0 ]; then
			grep -qE ' [1-9][0-9]* failed' <<<"$line" || failed=$((failed + 1))
			echo "FAIL $(basename "$s"): $line (exit $rc); log: $out"
			# The failing lines (and their indented details), so that a CI
			# log says what failed without the build directory it ran in.
			awk '/^(FAIL|not ok)/ { f = 1; print; next } f && /^[ \t]/ { print; next } { f = 0 }' "$out" |
				head -40 | sed 's/^/     /'
		else
			echo "ok   $(basename "$s"): $line"
		fi
	done
}

case "$what" in
unit) run_unit ;;
integration) run_integration ;;
all) run_unit; run_integration; run_extra ;;
*) echo "usage: $0 [unit|integration|all]" >&2; exit 2 ;;
esac

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
