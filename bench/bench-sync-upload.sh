#!/usr/bin/env bash
# bench-sync-upload.sh - a full upload of a ~100 MB collection to
# anki-sync-server, against the same work done by stock tools in the same
# run:  zstd -d of the identical request body + sqlite3 PRAGMA
# integrity_check (with our unicase extension, which schema 18 needs).
# Modern clients (sync v11) upload schema 18: that is the headline figure.
# A schema 11 upload (legacy clients) is reported too; the server upgrades
# it to 18 before storing it, as the official server does, so it costs
# more than the baseline by the upgrade.  Also reports the server's resident memory idle and at
# its peak (it must stay far below the collection size: bodies are
# streamed).  Prints ratios, never bare timings as pass/fail.
#   BENCH_MB=100  collection size;  BUILD=build  which build to use.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
SERVER=$PWD/$B/bin/anki-sync-server
MB=${BENCH_MB:-100}
PY=/usr/bin/python3
[ -x "$SERVER" ] || { echo "bench-sync-upload: $SERVER not built" >&2; exit 1; }
for t in zstd sqlite3 "$PY"; do command -v "$t" >/dev/null || { echo "bench-sync-upload: needs $t" >&2; exit 1; }; done
FIX=${ANKIHOST_SHARED:-$PWD/../shared}/fixtures/schema11-mediacheck.anki2
[ -r "$FIX" ] || FIX=$PWD/tests/fixtures/schema11-mediacheck.anki2
[ -r "$FIX" ] || { echo "bench-sync-upload: fixture schema11-mediacheck.anki2 not found" >&2; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/bench-sync.XXXXXX")
SPID=
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

# A schema-11 collection (sqlite3 can check it without Anki's collation),
# grown with notes of semi-compressible text to about $MB MiB.
cp "$FIX" "$W/col.anki2"
chmod 644 "$W/col.anki2"
"$PY" - "$W/col.anki2" "$MB" <<'EOF'
import random, sqlite3, sys, time
path, mb = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
mid = db.execute("select mid from notes limit 1").fetchone()[0]
rnd = random.Random(1)
words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(3, 10))) for _ in range(5000)]
n, i = 0, 0
db.execute("begin")
while n < mb * 1024 * 1024:
    text = " ".join(rnd.choice(words) for _ in range(150))
    db.execute("insert into notes values (?,?,?,?,0,'',?,?,0,0,'')", (10**12 + i, f"g{i}", mid, int(time.time()), text + "\x1f" + str(i), text[:20]))
    n += len(text) + 40
    i += 1
db.execute("update col set usn = 1, mod = ?, scm = ?, ls = ?", (int(time.time()*1000),)*3)
db.execute("commit")
db.execute("vacuum")
db.close()
EOF
cp "$W/col.anki2" "$W/col11.anki2"
"$PWD/$B/bin/anki-col" upgrade "$W/col.anki2" >/dev/null
EXT=$PWD/$B/unicase
[ -r "$EXT.so" ] || { echo "bench-sync-upload: $EXT.so not built" >&2; exit 1; }
SIZE=$(stat -c %s "$W/col.anki2")
zstd -q -3 "$W/col.anki2" -o "$W/body.zst"
zstd -q -3 "$W/col11.anki2" -o "$W/body11.zst"
ZSIZE=$(stat -c %s "$W/body.zst")

now() { date +%s.%N; }

# Baseline: the same bytes through the stock tools.
baseline() {
	local t0 t1 ok
	t0=$(now)
	zstd -q -d -f "$1" -o "$W/base.anki2"
	ok=$(sqlite3 -cmd ".load $EXT" "$W/base.anki2" "PRAGMA integrity_check")
	t1=$(now)
	[ "$ok" = ok ] || { echo "bench-sync-upload: baseline integrity check: $ok" >&2; exit 1; }
	rm -f "$W/base.anki2"
	awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
}
BASE=$(baseline "$W/body.zst")
BASE11=$(baseline "$W/body11.zst")

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$W/base"
env -i PATH="$PATH" SYNC_HOST=127.0.0.1 SYNC_PORT="$PORT" SYNC_BASE="$W/base" SYNC_USER1=user:pass \
	LOG_LEVEL=warn "$SERVER" >"$W/server.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && break; sleep 0.05; done
rss() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
# One meta so the idle figure includes a created user and a loaded table.
"$PY" - "$PORT" <<'EOF'
import http.client, json, sys, zstandard
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
c.request("POST", "/sync/meta", body=zstandard.ZstdCompressor().compress(b'{"v":11,"cv":"bench"}'),
          headers={"anki-sync": json.dumps({"v": 11, "k": "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d", "c": "bench", "s": "b"})})
assert c.getresponse().status == 200
EOF
IDLE=$(rss "$SPID" VmRSS)

# The upload as the official client sends it: chunked, one zstd frame.
upload() {
"$PY" - "$PORT" "$1" <<'EOF'
import http.client, json, sys, time, zstandard
port, body = int(sys.argv[1]), sys.argv[2]
def chunks():
    with open(body, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                return
            yield b
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
t0 = time.monotonic()
c.request("POST", "/sync/upload", body=chunks(), encode_chunked=True,
          headers={"anki-sync": json.dumps({"v": 11, "k": "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d", "c": "bench", "s": "b"})})
r = c.getresponse()
out = zstandard.ZstdDecompressor().decompressobj().decompress(r.read())
t1 = time.monotonic()
assert r.status == 200 and out == b"OK", (r.status, out)
print(f"{t1 - t0:.3f}")
EOF
}
T=$(upload "$W/body.zst")
PEAK=$(rss "$SPID" VmHWM)
T11=$(upload "$W/body11.zst")
kill -TERM "$SPID"
wait "$SPID" || true
SPID=

calc() { awk "BEGIN {print $1}"; }
printf 'collection %.1f MiB (%.1f MiB zstd)\n' "$(calc "$SIZE/1048576")" "$(calc "$ZSIZE/1048576")"
printf 'schema 18 (modern clients): baseline (zstd -d + sqlite3 integrity_check): %.2f s\n' "$BASE"
printf 'schema 18: server upload (receive, decode, check, replace): %.2f s\n' "$T"
printf 'schema 18: ratio upload/baseline: %.2f (target <= 1.3)\n' "$(calc "$T / $BASE")"
printf 'schema 11 (legacy clients): baseline %.2f s, server upload incl. upgrade to 18 %.2f s, ratio %.2f\n' \
	"$BASE11" "$T11" "$(calc "$T11 / $BASE11")"
printf 'server RSS idle %d KiB, peak %d KiB; peak/collection size: %.3f\n' "$IDLE" "$PEAK" \
	"$(calc "$PEAK * 1024 / $SIZE")"
