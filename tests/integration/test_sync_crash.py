"""Crash safety of full uploads (sync-protocol.md §4.1 step 5): the server is
killed with SIGKILL at random moments while clients upload; afterwards the
stored collection always passes PRAGMA integrity_check and equals either
the state before the upload or the uploaded one, and a restarted server
serves it and cleans up what the crash left."""
import os
import random
import shutil
import threading
import time

from conftest import fixture_path
from syncclient import Client, content, open_col, prepare_for_upload, start_server

RUNS = 50
HKEY = "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d"


def make_collection(path, fixture, filler_kb, seed):
    shutil.copy(fixture_path(fixture), path)
    os.chmod(path, 0o644)
    db = open_col(str(path))
    rnd = random.Random(seed)
    # Incompressible note text makes the upload big enough that kills land
    # in every phase: body transfer, integrity check, rename.
    mid = db.execute("select id from notetypes limit 1").fetchone()[0]
    for i in range(filler_kb // 64):
        blob = rnd.randbytes(48 * 1024).hex()[: 64 * 1024]
        db.execute("insert into notes values (?, ?, ?, 0, 0, '', ?, '', 0, 0, '')",
                   (10_000 + seed * 1000 + i, f"g{seed}-{i}", mid, blob + "\x1f"))
    db.close()
    prepare_for_upload(str(path))
    return str(path)


def test_kill9_during_uploads(procs, tmp_path):
    base = tmp_path / "base"
    a = make_collection(tmp_path / "a.anki2", "v18-two-decks-revlog.anki2", 3000, 1)
    b = make_collection(tmp_path / "b.anki2", "new-empty-v18.anki2", 2000, 2)
    data = {a: open(a, "rb").read(), b: open(b, "rb").read()}
    states = {a: content(a), b: content(b)}
    stored = base / "user" / "collection.anki2"

    # One clean upload to measure how long an upload takes here.
    p, url = start_server(procs, base)
    t0 = time.monotonic()
    assert Client(url, hkey=HKEY).upload_bytes(data[a]) == "OK"
    window = time.monotonic() - t0
    p.stop()
    current = states[a]
    rnd = random.Random(20261201)
    outcomes = {"old": 0, "new": 0}
    for run in range(RUNS):
        src = b if current == states[a] else a
        p, url = start_server(procs, base)
        result = {}

        def upload():
            try:
                result["r"] = Client(url, hkey=HKEY, timeout=30).upload_bytes(data[src])
            except Exception as exc:  # the kill cuts the connection
                result["e"] = exc
        t = threading.Thread(target=upload)
        t.start()
        time.sleep(rnd.uniform(0, window * 1.3))
        p.p.kill()
        p.p.wait()
        t.join()
        # What a restarted server (or the admin) finds on disk.
        db = open_col(str(stored))
        assert db.execute("pragma integrity_check").fetchall() == [("ok",)], f"run {run}"
        db.close()
        now = content(str(stored))
        assert now in (current, states[src]), f"run {run}: neither old nor new state"
        if result.get("r") == "OK":
            assert now == states[src], f"run {run}: OK was answered but the old state remains"
        outcomes["new" if now == states[src] and now != current else "old"] += 1
        current = now
    # Random kills hit both sides of the rename at least once.
    assert outcomes["old"] > 0 and outcomes["new"] > 0, outcomes

    # A restarted server serves the last state and removes crash leftovers.
    p, url = start_server(procs, base)
    c = Client(url, hkey=HKEY)
    m = c.meta()
    assert m["scm"] == current["scm"]
    d = tmp_path / "final.anki2"
    d.write_bytes(c.download_bytes())
    assert content(str(d)) == current
    leftovers = [n for n in os.listdir(stored.parent) if ".tmp." in n]
    assert leftovers == []
    p.stop()
