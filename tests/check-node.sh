#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# check-node.sh - real AnkiConnect clients against anki-connectd: the
# yanki-connect package from the npm registry (version pinned in
# tests/node/package.json and package-lock.json), unmodified, drives the
# daemon through tests/node/yanki.test.mjs on a free loopback port with a
# fresh collection.  Afterwards the daemon must stop cleanly on SIGTERM and
# the collection must pass anki-col check.
#
# Installs the node dependencies itself (npm ci into tests/node/node_modules,
# git-ignored).  Uses the sanitizer build ($ANKIHOST_BIN, else
# $BUILD/san/bin).  Prints one line per check and "N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 2
B=${BUILD:-build}
BIN=${ANKIHOST_BIN:-$PWD/$B/san/bin}
SUITE=node
. tests/suite.sh

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	fail "node and npm are needed (Debian: apt-get install nodejs npm)"
	finish
fi
if [ ! -x "$BIN/anki-connectd" ] || [ ! -x "$BIN/anki-col" ]; then
	fail "$BIN/anki-connectd is not built (make san)"
	finish
fi
if ! (cd tests/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 ||
	npm install --no-audit --no-fund --loglevel=error >/dev/null 2>&1); then
	fail "npm could not install tests/node dependencies"
	finish
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ANKICONNECT_BIND_PORT=$port "$BIN/anki-connectd" --collection "$tmp/profile/collection.anki2" \
	>"$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done

ANKICONNECTD_PORT=$port node tests/node/yanki.test.mjs >"$tmp/node.log" 2>&1
grep -E '^(ok|FAIL) ' "$tmp/node.log"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$tmp/node.log" | tail -1)
if [ -n "$line" ]; then
	p=$(grep -oE '^[0-9]+' <<<"$line")
	f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
	passed=$((passed + p))
	failed=$((failed + f))
else
	fail "the node test did not finish" "$(tail -20 "$tmp/node.log")"
fi

kill -TERM "$pid" 2>/dev/null
if wait "$pid"; then
	ok "daemon stopped cleanly"
else
	fail "daemon exit status" "$(tail -20 "$tmp/daemon.log")"
fi
if out=$("$BIN/anki-col" check "$tmp/profile/collection.anki2" 2>&1) &&
	grep -q ' 0 problems$' <<<"$out"; then
	ok "anki-col check"
else
	fail "anki-col check" "$(tail -10 <<<"$out")"
fi
finish
