#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# check-fuzz.sh - the libFuzzer targets for what the daemons parse
# from their clients, built with clang + ASan/UBSan and run for
# FUZZ_SECONDS each (default 20; `make fuzz` runs them longer):
#   fuzz_ac_request  the request envelope, CORS decision and media names
#                    (seeds: tests/fuzz/corpus_ac_request);
#   fuzz_search      the search language: parse, format, compile to SQL,
#                    run on a small real collection under the PCRE2 match
#                    limit, kept statements against fresh ones
#                    (seeds: tests/fuzz/corpus_search);
#   fuzz_media_upload  anki-sync-server's uploadChanges body (a zip and its
#                    _meta) applied to a media folder and media.db, which
#                    must agree after every input
#                    (seeds: tests/fuzz/corpus_media_upload);
#   fuzz_col_sync    anki-sync-server's applyGraves, applyChanges and
#                    applyChunk applied to a real collection, aborted or
#                    finished (seeds: tests/fuzz/corpus_col_sync);
#   fuzz_sync_transport  the anki-sync header and the zstd and gzip body
#                    decoders, fed in pieces of every size
#                    (seeds: tests/fuzz/corpus_sync_transport);
#   fuzz_pkg_import  deck packages imported into a collection and its
#                    media folder, left as they were when refused
#                    (seeds: tests/fuzz/corpus_pkg_import);
#   fuzz_col_upload  a full upload's collection file, checked as
#                    anki-sync-server checks it; one it accepts must then
#                    serve meta, a full download and a normal sync
#                    (seeds: tests/fuzz/corpus_col_upload).
#   fuzz_ac_actions  anki-connectd's requests run on a real collection and
#                    media folder, which must pass col_check after each
#                    (seeds: tests/fuzz/corpus_ac_actions; built with
#                    src/anki-connectd/ but its main.c).
# The seeds of pkg_import and col_upload are made from real files by
# tests/fuzz/make_seeds.py.
# FUZZ_TARGETS (default "ac_request search media_upload col_sync
# sync_transport pkg_import col_upload ac_actions") picks targets.
# The library is compiled once into $BUILD/fuzz/obj with coverage
# instrumentation (only sources newer than their object, or all when a
# header changed, are recompiled).  New inputs go to a scratch directory,
# never into the repository; a crash input is kept as $BUILD/fuzz/<t>-*.
# Prints "N passed, M failed": per target 1 check for the build, 1 for
# the run.
set -u
cd "$(dirname "$0")/.." || exit 2
B=${BUILD:-build}
SECS=${FUZZ_SECONDS:-20}
TARGETS=${FUZZ_TARGETS:-ac_request search media_upload col_sync sync_transport pkg_import col_upload ac_actions}
out=$B/fuzz
SUITE=fuzz
. tests/suite.sh
command -v clang >/dev/null || broken "clang is needed for libFuzzer (Debian: apt-get install clang)"
PKGS="sqlite3 libzstd jansson libmicrohttpd libcurl libzip libcrypto libutf8proc libpcre2-8 zlib"
CF="-std=c17 -D_GNU_SOURCE -g -O1 $(pkg-config --cflags $PKGS) -Isrc/lib"
SAN="address,undefined"
mkdir -p "$out/obj"

# The library, instrumented for coverage.  A file that does not compile
# (work in progress elsewhere) is left out; the link says if a target
# needed it.
newest_h=$(ls -t src/lib/*.h | head -1)
stale=()
for f in src/lib/*.c; do
	o=$out/obj/$(basename "$f" .c).o
	if [ ! -e "$o" ] || [ "$f" -nt "$o" ] || [ "$newest_h" -nt "$o" ]; then
		stale+=("$f")
	fi
done
if [ "${#stale[@]}" -gt 0 ]; then
	# shellcheck disable=SC2086
	printf '%s\n' "${stale[@]}" | xargs -P "$(nproc)" -I{} sh -c \
		'clang '"$CF"' -fsanitize=fuzzer-no-link,'"$SAN"' -c {} \
		  -o '"$out"'/obj/$(basename {} .c).o 2>>'"$out"'/build-lib.log || \
		  { rm -f '"$out"'/obj/$(basename {} .c).o; echo "left out: {}"; }'
fi
rm -f "$out/libankihost-fuzz.a"
objs=()
for f in src/lib/*.c; do
	o=$out/obj/$(basename "$f" .c).o
	[ -e "$o" ] && objs+=("$o")
done
ar rcs "$out/libankihost-fuzz.a" "${objs[@]}"

for t in $TARGETS; do
	src=tests/fuzz/fuzz_$t.c
	corpus=tests/fuzz/corpus_$t
	# the actions live in the daemon, not the library
	extra=()
	if [ "$t" = ac_actions ]; then
		for f in src/anki-connectd/*.c; do
			[ "$f" = src/anki-connectd/main.c ] || extra+=("$f")
		done
	fi
	# shellcheck disable=SC2086
	if clang $CF -fsanitize=fuzzer,$SAN -fno-sanitize-recover=all "$src" "${extra[@]}" \
		"$out/libankihost-fuzz.a" $(pkg-config --libs $PKGS) -lm \
		-o "$out/fuzz_$t" 2>"$out/build-$t.log"; then
		ok "build fuzz_$t"
	else
		fail "build fuzz_$t (log: $out/build-$t.log)" "$(head -40 "$out/build-$t.log")"
		continue
	fi
	scratch=$(mktemp -d)
	# the targets that keep files between inputs make them under TMPDIR;
	# a crash skips their clean-up, this does not
	tmp=$(mktemp -d)
	# max_len: a request body vs a search query vs a zip of a few small
	# files vs a collection (in a package); timeout: a search may run regexes up to their match limit on
	# every note
	case $t in
	search) maxlen=512 tmo=30 ;;
	media_upload | col_sync | sync_transport) maxlen=16384 tmo=10 ;;
	pkg_import | col_upload) maxlen=65536 tmo=10 ;;
	ac_actions) maxlen=8192 tmo=10 ;;
	*) maxlen=4096 tmo=10 ;;
	esac
	if TMPDIR=$tmp "$out/fuzz_$t" -max_total_time="$SECS" -max_len=$maxlen -timeout=$tmo \
		-rss_limit_mb=2048 -artifact_prefix="$out/$t-" "$scratch" "$corpus" \
		>"$out/run-$t.log" 2>&1; then
		ok "fuzz_$t ran ${SECS}s: $(grep -oE '#[0-9]+' "$out/run-$t.log" | tail -1) runs"
	else
		fail "fuzz_$t (crash input in $out/$t-*; log: $out/run-$t.log)" "$(tail -40 "$out/run-$t.log")"
	fi
	rm -rf "$scratch" "$tmp"
done
finish
