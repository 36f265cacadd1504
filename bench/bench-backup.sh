#!/usr/bin/env bash
# bench-backup.sh - anki-backup throughput on one ~500 MB user (issue 7).
#
# Builds SYNC_BASE/alice with a collection grown from the v18 fixture
# (compressible text, ~16% of the bytes) and incompressible media files
# (~84%, like JPEG/MP3) listed in a schema-4 media.db, then times, in the
# same run and on the same warm page cache:
#   baseline  sqlite3 .backup of both databases + cp -r media/ + tar | zstd -3
#   first     anki-backup create into an empty destination
#   second    anki-backup create again, nothing changed
# and prints MB/s and the ratios.  Targets: first <= 1.3 x baseline,
# second < 5% of first.  Exits 1 when a target is missed.
#
#   BENCH_BACKUP_MB  total size (default 500)   BENCH_REPEAT  rounds, median kept (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
BIN=$PWD/$B/bin/anki-backup
FIXTURE=${ANKIHOST_SHARED:-$PWD/../shared}/fixtures/v18-two-decks-revlog.anki2
TOTAL_MB=${BENCH_BACKUP_MB:-500}
REPEAT=${BENCH_REPEAT:-3}
export REPEAT
PY=/usr/bin/python3

[ -x "$BIN" ] || { echo "bench-backup: $BIN not built (make all)" >&2; exit 1; }
[ -r "$FIXTURE" ] || { echo "bench-backup: fixture $FIXTURE missing" >&2; exit 1; }
for t in sqlite3 zstd tar "$PY"; do
	command -v "$t" >/dev/null || { echo "bench-backup: needs $t" >&2; exit 1; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/bench-backup.XXXXXX")
trap 'rm -rf "$W"' EXIT
SRC=$W/src
U=$SRC/alice
mkdir -p "$U/media"

COL_MB=$((TOTAL_MB * 16 / 100))
MEDIA_MB=$((TOTAL_MB - COL_MB))

# The collection: the fixture's notes copied until it is COL_MB big; fields
# are text with some repetition, as real notes are.
cp "$FIXTURE" "$U/collection.anki2"
chmod 600 "$U/collection.anki2"
rows=$((COL_MB * 1024 * 1024 / 1100))
sqlite3 "$U/collection.anki2" >/dev/null <<EOF
PRAGMA journal_mode=wal;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data)
SELECT 1700000000000 + i, hex(randomblob(5)), (SELECT mid FROM notes LIMIT 1), 1700000000, -1,
       ' bench ', 'question ' || i || ' ' || hex(randomblob(150)) || char(31) ||
       'answer text that repeats itself a little, as notes do, number ' || i ||
       ' ' || hex(randomblob(200)), 'question ' || i, i, 0, ''
FROM n;
EOF

# Media: incompressible files of ~200 KiB, recorded in media.db (§5.7).
head -c "$((MEDIA_MB * 1024 * 1024))" /dev/urandom | split -b 200K -a 4 - "$U/media/img-"
"$PY" - "$U" <<'EOF'
import hashlib, os, sqlite3, sys
u = sys.argv[1]
db = sqlite3.connect(os.path.join(u, "media.db"))
db.executescript("""PRAGMA journal_mode=wal;
CREATE TABLE media (fname TEXT NOT NULL PRIMARY KEY, csum BLOB NOT NULL, size INT NOT NULL,
                    usn INT NOT NULL, mtime INT NOT NULL);
CREATE INDEX ix_usn ON media (usn);
CREATE TABLE meta (last_usn INT NOT NULL, total_bytes INT NOT NULL,
                   total_nonempty_files INT NOT NULL);""")
usn = 0
for name in sorted(os.listdir(os.path.join(u, "media"))):
    data = open(os.path.join(u, "media", name), "rb").read()
    usn += 1
    db.execute("INSERT INTO media VALUES (?, ?, ?, ?, 0)",
               (name, hashlib.sha1(data).digest(), len(data), usn))
db.execute("INSERT INTO meta VALUES (?, 0, 0)", (usn,))
db.execute("PRAGMA user_version = 4")
db.commit()
EOF
# Older than the fast-path margin, as on a server between syncs.
touch -d '-1 hour' "$U/collection.anki2" "$U/media.db"

bytes=$(du -sb "$SRC" | cut -f1)
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
nfiles=$(ls "$U/media" | wc -l)
echo "bench-backup: user of ${mb} MB: collection $(du -m "$U/collection.anki2" | cut -f1) MiB," \
	"$nfiles media files; $(nproc) CPUs"

cat "$U/collection.anki2" "$U/media.db" "$U"/media/* >/dev/null # warm the page cache
# Flush what the generation wrote, so that no timed step pays for it (the
# tool's syncfs would, when source and destination share a file system).
sync

# One timed command: "wall user+sys" of it and its children, in seconds.
timed() {
	/usr/bin/time -f "%e %U %S" -o "$W/time" "$@" >/dev/null
	awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$W/time"
}
baseline() {
	local T=$W/base
	sqlite3 "$U/collection.anki2" ".backup '$T/collection.anki2'"
	sqlite3 "$U/media.db" ".backup '$T/media.db'"
	cp -r "$U/media" "$T/media"
	tar -C "$T" -cf - . | zstd -q -3 -T1 -o "$W/base.tar.zst"
}
export -f baseline
export U W

# Baseline and anki-backup run back to back in each round and are compared
# within the round (the machine may be shared: rounds differ more than the
# two commands of one round); the median round is reported.
: >"$W/rounds"
for r in $(seq "$REPEAT"); do
	rm -rf "$W/base" "$W/base.tar.zst"
	mkdir -p "$W/base"
	sync
	read -r bw bc < <(timed bash -c baseline)
	t0=$(date +%s.%N)
	sync -f "$W/base.tar.zst" # what durability adds (anki-backup flushes its snapshot)
	bs=$(awk -v w="$bw" -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print w + b - a }')
	rm -rf "$W/base" "$W/base.tar.zst"
	D=$W/dest
	rm -rf "$D"
	mkdir -p "$D"
	sync
	read -r fw fc < <(timed env LOG_LEVEL=warn "$BIN" create --source "$SRC" --dest "$D")
	read -r sw sc < <(timed env LOG_LEVEL=warn "$BIN" create --source "$SRC" --dest "$D")
	echo "bench-backup: round $r: baseline ${bw}s (cpu ${bc}s, ${bs}s with sync)," \
		"first ${fw}s (cpu ${fc}s), second ${sw}s (cpu ${sc}s)"
	echo "$bw $bc $bs $fw $fc $sw $sc" >>"$W/rounds"
done
stored=$(du -sb "$D" | cut -f1)
LOG_LEVEL=warn "$BIN" verify --dest "$D" --tmpdir "$W" >/dev/null

# Medians over the rounds: of the first-run/baseline ratio (that round's
# figures are printed) and, separately, of the second-run/first-run ratio.
mid=$(((REPEAT + 1) / 2))
r2=$(awk '{ print $6 / $4 }' "$W/rounds" | sort -g | sed -n "${mid}p")
awk '{ print $4 / $1, $0 }' "$W/rounds" | sort -g | sed -n "${mid}p" |
	awk -v mb="$mb" -v stored="$stored" -v bytes="$bytes" -v r2="$r2" '{
	bw = $2; bc = $3; bs = $4; fw = $5; fc = $6; sw = $7; sc = $8
	r1 = fw / bw
	printf "bench-backup: median of %s rounds:\n", ENVIRON["REPEAT"]
	printf "bench-backup:   baseline %.2fs (%.0f MB/s), cpu %.2fs: sqlite3 .backup x2 + cp -r media + tar|zstd -3 -T1\n", bw, mb / bw, bc
	printf "bench-backup:   baseline + sync of its output %.2fs\n", bs
	printf "bench-backup:   anki-backup first run %.2fs (%.0f MB/s), cpu %.2fs\n", fw, mb / fw, fc
	printf "bench-backup:   ratio to baseline %.2fx wall (target <= 1.30), %.2fx cpu, %.2fx wall vs baseline+sync\n", r1, fc / bc, fw / bs
	printf "bench-backup:   second run, no changes: %.1f%% of the first (median; target < 5%%)\n", 100 * r2
	printf "bench-backup:   stored %.1f MB for two snapshots of %.1f MB\n", stored / 1e6, bytes / 1e6
	bad = (r1 > 1.30) + (r2 >= 0.05)
	print (bad ? "bench-backup: TARGET MISSED" : "bench-backup: targets met")
	exit bad ? 1 : 0
}'
