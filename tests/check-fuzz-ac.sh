#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# check-fuzz-ac.sh - builds the libFuzzer target tests/fuzz/fuzz_ac_request.c
# (anki-connectd's request envelope, CORS decision and media names) with
# clang + ASan/UBSan and runs it for FUZZ_SECONDS (default 20; `make fuzz`
# runs it longer) from the seed corpus in tests/fuzz/corpus_ac_request.
# New inputs go to a scratch directory, never into the repository.
# Prints "N passed, M failed": 1 check for the build, 1 for the run.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
SECS=${FUZZ_SECONDS:-20}
out=$B/fuzz
passed=0
failed=0
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}
if ! command -v clang >/dev/null; then
	echo "clang is needed for libFuzzer (Debian: apt-get install clang)"
	echo "0 passed, 1 failed"
	exit 1
fi
PKGS="sqlite3 libzstd jansson libmicrohttpd libcurl libzip libcrypto libutf8proc libpcre2-8 zlib"
CF="-std=c17 -D_GNU_SOURCE -g -O1 $(pkg-config --cflags $PKGS) -Isrc/lib"
SRCS="src/lib/ac_request.c src/lib/ac_media.c src/lib/text.c src/lib/buf.c src/lib/status.c
      src/lib/path.c src/lib/afile.c src/lib/log.c"
mkdir -p "$out"
# shellcheck disable=SC2086
if clang $CF -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	tests/fuzz/fuzz_ac_request.c $SRCS $(pkg-config --libs $PKGS) -lm \
	-o "$out/fuzz_ac_request" 2>"$out/build-ac.log"; then
	echo "ok   build fuzz_ac_request"
	passed=$((passed + 1))
else
	cat "$out/build-ac.log"
	echo "FAIL build fuzz_ac_request"
	failed=$((failed + 1))
	finish
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if "$out/fuzz_ac_request" -max_total_time="$SECS" -max_len=4096 -timeout=10 \
	-rss_limit_mb=2048 -artifact_prefix="$out/ac-" "$scratch" tests/fuzz/corpus_ac_request \
	>"$out/run-ac.log" 2>&1; then
	echo "ok   fuzz_ac_request ran ${SECS}s: $(grep -oE '#[0-9]+' "$out/run-ac.log" | tail -1) runs"
	passed=$((passed + 1))
else
	tail -40 "$out/run-ac.log"
	echo "FAIL fuzz_ac_request (crash input in $out/ac-*)"
	failed=$((failed + 1))
fi
finish
