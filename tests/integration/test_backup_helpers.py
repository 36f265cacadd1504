"""Helpers shared by the anki-backup integration tests (no tests here).

A source directory is laid out like a sync server's SYNC_BASE
(sync-protocol.md §6.2): <user>/collection.anki2 (WAL), <user>/media.db
(schema 4, §5.7, WAL) and <user>/media/.  `python3 test_backup_helpers.py
writer USERDIR SECONDS` runs the concurrent writer used while backups run.
"""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

FIXTURE = "v18-two-decks-revlog.anki2"
REVLOG_BASE = 9_000_000_000_000  # revlog ids the writer adds start above this
MOD_BASE = 8_000_000_000_000     # col.mod = MOD_BASE + transactions done

MEDIA_SCHEMA = """
PRAGMA journal_mode=wal;
CREATE TABLE media (fname TEXT NOT NULL PRIMARY KEY, csum BLOB NOT NULL,
                    size INT NOT NULL, usn INT NOT NULL, mtime INT NOT NULL);
CREATE INDEX ix_usn ON media (usn);
CREATE TABLE meta (last_usn INT NOT NULL, total_bytes INT NOT NULL,
                   total_nonempty_files INT NOT NULL);
INSERT INTO meta VALUES (0, 0, 0);
PRAGMA user_version = 4;
"""


def unicase(a, b):
    """Case folding: equal to Anki's unicase on the ASCII names the fixture holds."""
    fa, fb = a.casefold(), b.casefold()
    return (fa > fb) - (fa < fb)


def open_col(path):
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.create_collation("unicase", unicase)
    return db


def sha1(data):
    return hashlib.sha1(data).digest()


def media_put(userdir, name, data, record=True):
    """File first (written under a temporary name and renamed, like a
    server), then the media DB row, in that order (sync-protocol.md §8.5)."""
    mdir = Path(userdir) / "media"
    tmp = mdir / (".in-" + name)
    tmp.write_bytes(data)
    os.replace(tmp, mdir / name)
    if record:
        db = sqlite3.connect(Path(userdir) / "media.db", isolation_level=None, timeout=30)
        db.execute("BEGIN IMMEDIATE")
        usn = db.execute("SELECT last_usn FROM meta").fetchone()[0] + 1
        db.execute("INSERT OR REPLACE INTO media VALUES (?, ?, ?, ?, ?)",
                   (name, sha1(data), len(data), usn, int(time.time())))
        db.execute("UPDATE meta SET last_usn = ?", (usn,))
        db.execute("COMMIT")
        db.close()


def make_user(base, user, fixture_file, nmedia=5, media_size=2000, seed=0):
    """SYNC_BASE/<user>/ with a copy of the fixture collection (WAL), a
    schema-4 media DB and nmedia files of random bytes."""
    udir = Path(base) / user
    (udir / "media").mkdir(parents=True, exist_ok=True)
    col = udir / "collection.anki2"
    shutil.copyfile(fixture_file, col)
    os.chmod(col, 0o600)
    db = open_col(col)
    db.execute("PRAGMA journal_mode=wal")
    db.close()
    db = sqlite3.connect(udir / "media.db")
    db.executescript(MEDIA_SCHEMA)
    db.close()
    rnd = __import__("random").Random(seed)
    for i in range(nmedia):
        media_put(udir, f"{user}-{i:03d}.jpg", rnd.randbytes(media_size + i))
    return udir


def run(binpath, *args, env=None, timeout=300, check=None):
    full_env = dict(os.environ)
    full_env.setdefault("TZ", "UTC")
    full_env.update(env or {})
    p = subprocess.run([binpath, *map(str, args)], env=full_env, capture_output=True,
                       text=True, timeout=timeout)
    if check is not None and p.returncode != check:
        raise AssertionError(f"{args[0]} exit {p.returncode} (wanted {check})\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def snapshots(dest):
    """Complete snapshot directory names, sorted."""
    return sorted(n for n in os.listdir(dest)
                  if len(n) >= 16 and n[8] == "T" and n[15] == "Z" and not n.startswith("."))


def manifest(dest, snap):
    lines = (Path(dest) / snap / "manifest.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines]


def check_media_consistent(userdir):
    """Every file media.db lists as present is on disk with the recorded
    SHA-1; meta.last_usn is the largest usn (sync-protocol.md §5.7)."""
    db = sqlite3.connect(f"file:{Path(userdir) / 'media.db'}?mode=ro", uri=True)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT fname, csum, size, usn FROM media").fetchall()
    last = db.execute("SELECT last_usn FROM meta").fetchone()[0]
    db.close()
    if rows:
        assert last == max(r[3] for r in rows), (last, max(r[3] for r in rows))
    present = 0
    for fname, csum, size, _ in rows:
        if size == 0:
            continue
        data = (Path(userdir) / "media" / fname).read_bytes()
        assert len(data) == size, fname
        assert sha1(data) == csum, fname
        present += 1
    return present


def check_collection_consistent(colpath):
    """The writer's invariant: each of its transactions added one revlog row
    (ids REVLOG_BASE+1..k, no gaps) and set col.mod = MOD_BASE + k.  A torn
    or non-transactional copy breaks it.  Returns k."""
    db = open_col(f"file:{colpath}?mode=ro")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n, hi = db.execute("SELECT count(*), max(id) FROM revlog WHERE id > ?",
                       (REVLOG_BASE,)).fetchone()
    mod = db.execute("SELECT mod FROM col").fetchone()[0]
    db.close()
    if n == 0:
        assert mod < MOD_BASE
        return 0
    assert hi - REVLOG_BASE == n, (hi, n)
    assert mod - MOD_BASE == n, (mod, n)
    return n


def writer(userdir, seconds):
    """Real concurrent writes, through SQLite in WAL mode, the way a sync
    server changes a user's data: collection transactions, media added,
    replaced and deleted (file before DB row; DB row before unlink)."""
    udir = Path(userdir)
    col = open_col(udir / "collection.anki2")
    col.execute("PRAGMA journal_mode=wal")
    cid = col.execute("SELECT id FROM cards LIMIT 1").fetchone()[0]
    rnd = __import__("random").Random(42)
    deadline = time.monotonic() + seconds
    k = 0
    names = []
    while time.monotonic() < deadline and not (udir / "STOP").exists():
        k += 1
        col.execute("BEGIN IMMEDIATE")
        col.execute("INSERT INTO revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) "
                    "VALUES (?, ?, -1, 3, 1, 0, 2500, ?, 1)", (REVLOG_BASE + k, cid, k))
        # Grow the file too, so pages split and move during copies.
        col.execute("UPDATE notes SET flds = flds || ? WHERE id = (SELECT min(id) FROM notes)",
                    ("x" * 200,))
        col.execute("UPDATE col SET mod = ?", (MOD_BASE + k,))
        col.execute("COMMIT")
        if k % 40 == 0:
            col.execute("PRAGMA wal_checkpoint(PASSIVE)")
        op = k % 3
        if op == 0 or not names:
            name = f"w{k:05d}.bin"
            media_put(udir, name, rnd.randbytes(rnd.randint(100, 60000)))
            names.append(name)
        elif op == 1:
            media_put(udir, rnd.choice(names), rnd.randbytes(rnd.randint(100, 60000)))
        elif len(names) > 5:
            name = names.pop(rnd.randrange(len(names)))
            db = sqlite3.connect(udir / "media.db", isolation_level=None, timeout=30)
            db.execute("BEGIN IMMEDIATE")
            usn = db.execute("SELECT last_usn FROM meta").fetchone()[0] + 1
            db.execute("UPDATE media SET size = 0, usn = ? WHERE fname = ?", (usn, name))
            db.execute("UPDATE meta SET last_usn = ?", (usn,))
            db.execute("COMMIT")
            db.close()
            (udir / "media" / name).unlink()
        time.sleep(0.002)
    col.close()
    print(k)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "writer":
        writer(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit("usage: test_backup_helpers.py writer USERDIR SECONDS")
