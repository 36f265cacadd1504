#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Issue 11 benchmark through the daemon: AnkiConnect answerCards for
# BENCH_CARDS cards (default 1,000) in one HTTP call, on new cards and on
# review cards (made due today with setDueDate "0"), SM-2 then FSRS,
# against baselines measured in the same run by bench_sched: the library
# call alone and the plain-SQL floor (the same card updates and review-log
# inserts with prepared statements).  Release build ($BUILD/bin).
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
N=${BENCH_CARDS:-1000}
dir=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

mkdir -p "$dir/lib" "$dir/profile"
"$B/bench/bench_sched" "$dir/lib" "$N" | tee "$dir/lib.txt"

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
col=$dir/profile/collection.anki2
start() {
	LOG_LEVEL=warn ANKICONNECT_BIND_PORT=$port "$B/bin/anki-connectd" --collection "$col" \
		2>>"$dir/daemon.log" &
	pid=$!
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "anki-connectd did not start" >&2
	return 1
}
stop() {
	kill -TERM "$pid"
	wait "$pid"
	pid=
}

# one daemon run: N notes added, then answerCards on new and on review cards
run() { # label
	/usr/bin/python3 - "$port" "$pid" "$N" "$1" "$dir/lib.txt" <<'EOF'
import http.client, json, os, re, sys, time
port, pid, n, label, libtxt = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

def call(action, **params):
    conn.request("POST", "/", json.dumps({"action": action, "version": 6, "params": params}),
                 {"Content-Type": "application/json"})
    r = json.loads(conn.getresponse().read())
    assert r["error"] is None, (action, r["error"])
    return r["result"]

def cpu_ticks():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])

# the library's figures from the same run: "answerCards N cards (KIND): L ms ...; plain SQL floor P ms"
lib = {}
for line in open(libtxt):
    m = re.search(r"\((.*)\): ([0-9.]+) ms .* floor ([0-9.]+) ms", line)
    if m:
        lib[m.group(1)] = (float(m.group(2)), float(m.group(3)))

tag = label.lower()
notes = [{"deckName": "Default", "modelName": "Basic",
          "fields": {"Front": f"{tag} word {i}", "Back": "x"}} for i in range(n)]
call("addNotes", notes=notes)
cids = sorted(set(call("findCards", query=f'"Front:{tag} word *"')))
assert len(cids) == n
for kind in ("new", "review"):
    if kind == "review":
        assert call("setDueDate", cards=cids, days="0") is True
    answers = [{"cardId": c, "ease": 3} for c in cids]
    c0 = cpu_ticks()
    t0 = time.perf_counter()
    r = call("answerCards", answers=answers)
    wall = (time.perf_counter() - t0) * 1000
    cpu = (cpu_ticks() - c0) / os.sysconf("SC_CLK_TCK") * 1000
    assert r == [True] * n
    key = f"{kind}, {label}"
    lt, floor = lib.get(key, (float("nan"), float("nan")))
    print(f"answerCards over HTTP, {n} cards ({key}): {wall:.1f} ms wall "
          f"({wall * 1000 / n:.0f} us/card), daemon CPU {cpu:.0f} ms; library call {lt:.1f} ms; "
          f"plain SQL floor {floor:.1f} ms; ratio to floor {wall / floor:.1f}, "
          f"to library {wall / lt:.2f}")
EOF
}

start
run SM-2
stop
sqlite3 -cmd ".load $B/unicase" "$col" \
	"insert or replace into config (KEY, usn, mtime_secs, val) values ('fsrs', -1, strftime('%s'), cast('true' as blob))"
start
run FSRS
stop
