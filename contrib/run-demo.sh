#!/usr/bin/env bash
# make run: the main job on loopback, in the foreground, data under ./var/.
#   anki-sync-server  http://127.0.0.1:27701/   user "demo", password printed below
#   anki-connectd     http://127.0.0.1:8765/    AnkiConnect API on var/connect/collection.anki2
# The demo password is generated once and kept in var/demo-password.
# Ctrl-C (SIGINT) stops every program cleanly.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
mkdir -p var/sync var/connect
chmod 700 var
if [ ! -s var/demo-password ]; then
	(umask 077; head -c 12 /dev/urandom | base64 | tr -d '/+=' >var/demo-password)
fi
pw=$(cat var/demo-password)

echo "ankihost demo"
echo "  sync server:  http://127.0.0.1:27701/   (in Anki: Preferences > Syncing > Self-hosted sync server)"
echo "  user:         demo"
echo "  password:     $pw"
echo "  data:         $PWD/var/sync"
echo "  AnkiConnect:  http://127.0.0.1:8765/   (collection $PWD/var/connect/collection.anki2)"
echo "                try: curl -s localhost:8765 -d '{\"action\":\"deckNames\",\"version\":6}'"
echo "Ctrl-C stops everything."

pids=()
stop() {
	trap - INT TERM
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	rc=0
	for p in "${pids[@]}"; do wait "$p" || rc=$?; done
	echo "stopped (exit $rc)"
	exit "$rc"
}
trap stop INT TERM

SYNC_HOST=127.0.0.1 SYNC_PORT=27701 SYNC_BASE="$PWD/var/sync" SYNC_USER1="demo:$pw" \
	"$B/bin/anki-sync-server" &
pids+=($!)
ANKICONNECT_BIND_ADDRESS=127.0.0.1 "$B/bin/anki-connectd" --collection "$PWD/var/connect/collection.anki2" &
pids+=($!)

# Wait for any program to exit on its own (a failure), or for Ctrl-C.
wait -n "${pids[@]}"
rc=$?
echo "a program exited on its own (exit $rc); stopping the rest" >&2
stop
