# SPDX-License-Identifier: AGPL-3.0-or-later
"""bench-sync-normal: a normal sync moving N notes with cards each way
(default 10,000: device A sends N new notes + N cards while it receives the
N notes + N cards device B synced before), through the release
anki-sync-server and the official-algorithm test client, against applying
the same rows with plain SQLite (the stock sqlite3 shell, one transaction
per side: insert the incoming notes and cards, read the outgoing ones) in
the same run.

Reported: the client's wall time, the server's share (sum of its request
times from the access log), the one-way sync before it, and the ratios
  sync wall / plain SQLite on both sides,
  server time / plain SQLite on the server side.
Usage: sync_normal.py [N]    (BUILD selects the build, default build)"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from syncbench import KeepAliveClient, Server, access_lines, add_notes_fast, anki_col, new_local
from normalsync import normal_sync, prepare_upload
from syncclient import open_col

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000


def sql_lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, (int, float)):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def rows_sql(db, ids, usn):
    """INSERT statements for the notes and cards of note ids (one card per
    note, card id = note id here), stamped with usn."""
    out = []
    q = ",".join(map(str, ids))
    for r in db.execute(f"select id, guid, mid, mod, tags, flds, sfld, csum from notes "
                        f"where id in ({q})"):
        out.append("insert or replace into notes values (" +
                   ",".join(sql_lit(v) for v in (r[0], r[1], r[2], r[3], usn, r[4], r[5], r[6],
                                                 r[7], 0, "")) + ");")
    for r in db.execute(f"select * from cards where nid in ({q})"):
        r = list(r)
        r[5] = usn
        out.append("insert or replace into cards values (" + ",".join(map(sql_lit, r)) + ");")
    return out


def plain_sqlite(path, inserts, read_ids):
    """Time the sqlite3 shell applying `inserts` and reading the notes and
    cards of read_ids, in one transaction: (wall, CPU) seconds."""
    q = ",".join(map(str, read_ids))
    script = "\n".join([".bail on", ".output /dev/null", "begin;", *inserts,
                        f"select * from notes where id in ({q});",
                        f"select * from cards where nid in ({q});", "commit;", ""])
    c0 = os.times()
    t0 = time.monotonic()
    r = subprocess.run(["sqlite3", path], input=script.encode(), capture_output=True)
    t = time.monotonic() - t0
    c1 = os.times()
    if r.returncode != 0:
        sys.exit(f"sqlite3 baseline failed: {r.stderr.decode()}")
    return t, (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)


def snapshot(src, dst):
    s = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    d = sqlite3.connect(dst)
    s.backup(d)
    d.close()
    s.close()


def server_time(srv, mark, user="user"):
    lines = [x for x in access_lines(srv.log(), mark) if x[0] == user]
    bad = [x for x in lines if x[2] != 200]
    if bad:
        sys.exit(f"server answered errors: {bad[:5]}")
    return sum(x[3] for x in lines) / 1000, len(lines)


def main():
    if not shutil.which("sqlite3"):
        sys.exit("bench-sync-normal: needs the sqlite3 shell")
    w = tempfile.mkdtemp(prefix="bench-sync-normal.")
    srv = None
    try:
        base = os.path.join(w, "base")
        srv = Server(base, ["user:pass"])
        a_path, b_path = os.path.join(w, "a.anki2"), os.path.join(w, "b.anki2")
        new_local(a_path)
        add_notes_fast(a_path, 10, "start")
        a = KeepAliveClient(srv.url)
        a.login("user", "pass")
        assert normal_sync(a, a_path)[0] == "fullUpload"
        prepare_upload(a_path)
        assert a.full_upload(a_path) == "OK"
        b = KeepAliveClient(srv.url, hkey=a.hkey)
        b.full_download(b_path)
        anki_col("downgrade", b_path)
        assert normal_sync(b, b_path)[0] == "noChanges"

        # One way: B sends N notes with cards.
        b_ids = add_notes_fast(b_path, N, "b")
        mark = len(srv.log())
        t0 = time.monotonic()
        assert normal_sync(b, b_path)[1]["status"] == "ok"
        one_wall = time.monotonic() - t0
        one_srv, _ = server_time(srv, mark)

        # Each way: A sends N and receives B's N.
        a_ids = add_notes_fast(a_path, N, "a", id_offset=10**9)
        stored = os.path.join(base, "user", "collection.anki2")
        srv_copy, a_copy = os.path.join(w, "srv-copy.anki2"), os.path.join(w, "a-copy.anki2")
        snapshot(stored, srv_copy)
        shutil.copy(a_path, a_copy)
        usn = a.meta()["usn"]
        mark = len(srv.log())
        cpu0 = srv.cpu()
        t0 = time.monotonic()
        decision, sanity = normal_sync(a, a_path)
        wall = time.monotonic() - t0
        cpu = srv.cpu() - cpu0
        assert decision == "normalSync" and sanity["status"] == "ok", (decision, sanity)
        srv_t, nreq = server_time(srv, mark)
        db = open_col(a_path)
        have = db.execute("select count(*) from notes").fetchone()[0]
        db.close()
        assert have == 10 + 2 * N, have

        # Plain SQLite, same rows: the server side applies A's rows and reads
        # B's; the client side applies B's and reads A's.
        dba, dbb = open_col(a_copy), open_col(b_path)
        a_rows, b_rows = rows_sql(dba, a_ids, usn), rows_sql(dbb, b_ids, usn)
        dba.close()
        dbb.close()
        base_srv = plain_sqlite(srv_copy, a_rows, b_ids)
        base_cli = plain_sqlite(a_copy, b_rows, a_ids)
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(w, ignore_errors=True)

    rows = 4 * N
    print(f"normal sync, {N} notes with cards each way ({rows} rows), release server, "
          f"Python test client")
    print(f"  one way first (B sends {N} notes + cards): wall {one_wall:.2f} s, "
          f"server {one_srv:.2f} s")
    print(f"  each way: wall {wall:.2f} s ({rows / wall:.0f} rows/s), server {srv_t:.2f} s "
          f"in {nreq} requests (CPU {cpu:.2f} s), test client {wall - srv_t:.2f} s")
    print(f"  plain SQLite (sqlite3 shell, same rows): server side {base_srv[0]:.3f} s "
          f"(CPU {base_srv[1]:.2f} s), client side {base_cli[0]:.3f} s")
    print(f"  ratio sync wall / plain SQLite both sides: "
          f"{wall / (base_srv[0] + base_cli[0]):.2f}")
    print(f"  ratio server time / plain SQLite server side: {srv_t / base_srv[0]:.2f}")
    print(f"  ratio server CPU / plain SQLite CPU, server side: {cpu / base_srv[1]:.2f}")


if __name__ == "__main__":
    main()
