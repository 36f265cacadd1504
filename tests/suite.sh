# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck shell=bash
#
# suite.sh - sourced by the tests/check-*.sh suites: the result lines that
# tests/run-all.sh and CI logs read ("ok   TEXT", "FAIL TEXT" with its
# details indented under it), the counters, and the closing
# "N passed, M failed".  A suite sets SUITE (its name, as in check-SUITE)
# before sourcing this file.
passed=0
failed=0

ok() { # ok TEXT
	echo "ok   $*"
	passed=$((passed + 1))
}

fail() { # fail TEXT [DETAILS]: at most 40 lines of DETAILS, indented
	echo "FAIL $1"
	if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -n 40 | sed 's/^/     /'; fi
	failed=$((failed + 1))
}

broken() { # broken WHY: the suite cannot run as it must; one failure, exit
	echo "check-$SUITE: $*"
	echo "0 passed, 1 failed (check-$SUITE: $*)"
	exit 1
}

finish() { # the summary line; exits 0 only when nothing failed
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

pytest_result() { # pytest_result RC LOG TEXT: one line for a pytest run
	local line
	line=$(grep -E '(passed|failed|error)' "$2" | tail -1)
	if [ "$1" -eq 0 ]; then
		ok "$3: $line"
	else
		fail "$3: $line (log: $2)" "$(grep -E '^(FAILED|ERROR)' "$2" | head -10)"
	fi
}
