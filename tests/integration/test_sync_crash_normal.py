"""Crash safety of the normal sync (sync-protocol.md §3, §3.11; issue 4): the
server is killed with SIGKILL at random points of normal syncs that carry a
few hundred rows both ways plus graves and notetype/deck/tag changes.
After every kill the stored collection (as a restarted server finds it on
disk: the file and its -wal) passes PRAGMA integrity_check with Anki's real
unicase collation and equals either the state before the sync or the state
a completed sync leaves; a restarted server then completes the client's
next sync (a re-sync of the same changes when the client saw no finish),
and client and server end with the same rows.

Each run: device B pushes a few changes (so the killed sync also carries
rows, graves and objects from server to client), device A makes its
changes and syncs; a timer kills the server during the n-th request of
A's sync, at a random delay within that request (or just after it), with
n drawn uniformly over the sync's requests in 70% of the runs and n =
finish (where the commit is) in the others, so that kills also fall
between the commit and the reply the client never sees.  RUNS defaults to
50 (ANKIHOST_CRASH_RUNS overrides it for quick local runs)."""
import os
import random
import shutil
import sqlite3
import subprocess
import threading
import time

from conftest import bin_path, unicase_ext
from normalsync import _cols, _set_cols, add_notes, basic_model_id, csum, normal_sync, now_ms, \
    prepare_upload
from syncclient import Client, content, open_col, start_server

RUNS = int(os.environ.get("ANKIHOST_CRASH_RUNS", "50"))
A_NOTES, B_NOTES = 90, 12  # 270 + 36 rows of notes, cards and review log
ID_BASE = {"a": 2 * 10**12, "b": 3 * 10**12}


def anki_col(*args):
    subprocess.run([bin_path("anki-col"), *map(str, args)], check=True, capture_output=True,
                   timeout=60)


def open_server_col(path, readonly=False):
    """A connection with Anki's own unicase collation (the sqlite3 extension
    built beside the programs), so integrity_check verifies the unicase
    indexes exactly as Anki orders them."""
    db = sqlite3.connect(f"file:{path}?mode=ro" if readonly else str(path), uri=readonly,
                         isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(unicase_ext())
    db.enable_load_extension(False)
    return db


# Columns a later (re-)sync may legitimately stamp differently from the sync
# that was cut short: usn everywhere, the config rows' mtime, col.mod/ls.
LOOSE_SKIP = {"*": {"usn"}, "config": {"mtime_secs"}, "col": {"mod", "ls"}}


def server_state(db):
    """Every row of every table, by table: (exact, loose)."""
    exact, loose = {}, {}
    tables = [r[0] for r in db.execute("select name from sqlite_master where type = 'table' "
                                       "and name not like 'sqlite_%' order by name")]
    for t in tables:
        cols = [r[1] for r in db.execute(f"pragma table_info({t})")]
        keep = [c for c in cols if c not in LOOSE_SKIP["*"] | LOOSE_SKIP.get(t, set())]
        exact[t] = sorted(db.execute(f"select * from {t}").fetchall(), key=repr)
        loose[t] = sorted(db.execute(f"select {', '.join(keep)} from {t}").fetchall(), key=repr)
    return exact, loose


def live_state(stored):
    """The server's collection while the server runs (idle between syncs):
    a read-only snapshot in one read transaction."""
    db = open_server_col(stored, readonly=True)
    try:
        db.execute("begin")
        s = server_state(db)
        db.execute("commit")
    finally:
        db.close()
    return s


def server_rows(stored):
    """The rows syncclient.content() compares, read-only from the server."""
    db = open_server_col(stored, readonly=True)
    try:
        return {
            "notes": db.execute("select id, guid, mid, mod, tags, flds from notes order by id")
                       .fetchall(),
            "cards": db.execute("select id, nid, did, ord, type, queue, due, ivl from cards "
                                "order by id").fetchall(),
            "revlog": db.execute("select * from revlog order by id").fetchall(),
        }
    finally:
        db.close()


def same_rows(client_path, stored, what):
    """Client and server hold the same notes, cards and reviews.  A review's
    usn may differ: after a commit the client never saw, the client re-sends
    its reviews stamped with the next usn and the server keeps its copy
    (insert-or-ignore, §3.7), as the official server does."""
    c, s = content(client_path), server_rows(stored)
    for t in ("notes", "cards", "revlog"):
        if t == "revlog":
            c[t] = [r[:2] + r[3:] for r in c[t]]
            s[t] = [r[:2] + r[3:] for r in s[t]]
        assert c[t] == s[t], f"{what}: {t} differ between client and server"


def crashed_state(stored, tmp):
    """What a restarted server finds: a copy of the file and its -wal (the
    -shm is rebuilt), checked with integrity_check, then read."""
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    copy = tmp / "collection.anki2"
    shutil.copy(stored, copy)
    if os.path.exists(str(stored) + "-wal"):
        shutil.copy(str(stored) + "-wal", str(copy) + "-wal")
    db = open_server_col(copy)
    try:
        check = db.execute("pragma integrity_check").fetchall()
        s = server_state(db)
    finally:
        db.close()
    return check, s


class KillingClient(Client):
    """A client that records (method, seconds) of its requests and arms a
    timer killing the server during its n-th request."""

    def __init__(self, url, hkey, proc=None, kill_at=None):
        super().__init__(url, hkey=hkey, timeout=30)
        self.proc, self.kill_at = proc, kill_at
        self.trace, self.timer = [], None

    def request(self, method, payload=b"", **kw):
        if self.kill_at and len(self.trace) + 1 == self.kill_at[0] and self.timer is None:
            self.timer = threading.Timer(self.kill_at[1], self.proc.p.kill)
            self.timer.start()
        t0 = time.monotonic()
        try:
            return super().request(method, payload, **kw)
        finally:
            self.trace.append((method, time.monotonic() - t0))


def local_changes(path, run, own, prefix, adds, edits, deletes, objects):
    """One device's edits between two syncs, in one local transaction (the
    same rows normalsync's helpers write: pending usn -1, col.mod bumped):
    `adds` new notes with a card and a review each, `edits` edited and
    `deletes` deleted notes of its own (graves), and with `objects` a new
    deck, a changed notetype and a new tag."""
    mid = basic_model_id(path)
    db = open_col(path)
    try:
        db.execute("begin")
        # Each device takes ids from a range of its own (Anki's are creation
        # times; two devices adding notes a second apart would collide).
        lo = ID_BASE[prefix]
        nid = max([lo] + [db.execute(f"select max(id) + 1 from {t} where id >= ? and id < ?",
                                     (lo, lo + 10**12)).fetchone()[0] or lo
                          for t in ("notes", "cards", "revlog")])
        pos = (db.execute("select max(due) from cards where type = 0").fetchone()[0] or 0) + 1
        secs = int(time.time())
        for i in range(adds):
            front = f"{prefix}{run}-{i}"
            db.execute("insert into notes values (?,?,?,?,-1,' test ',?,?,?,0,'')",
                       (nid + i, f"{prefix}{nid + i}", mid, secs, f"{front}\x1fback {run}", front,
                        csum(front)))
            db.execute("insert into cards values (?,?,1,0,?,-1,0,0,?,0,0,0,0,0,0,0,0,'{}')",
                       (nid + i, nid + i, secs, pos + i))
            db.execute("insert into revlog values (?,?,-1,3,1,0,2500,1000,0)", (nid + i, nid + i))
            own.append(nid + i)
        for k in range(edits):
            front = f"{prefix}-edit {run}.{k}"
            db.execute("update notes set flds = ?, sfld = ?, csum = ?, mod = ?, usn = -1 "
                       "where id = ?", (f"{front}\x1f{prefix}", front, csum(front), secs + 1,
                                        own[(run * 7 + k) % len(own)]))
        for _ in range(deletes):
            victim = own.pop(0)
            for (cid,) in db.execute("select id from cards where nid = ?", (victim,)).fetchall():
                db.execute("delete from cards where id = ?", (cid,))
                db.execute("insert into graves values (-1, ?, 0)", (cid,))
            db.execute("delete from notes where id = ?", (victim,))
            db.execute("insert into graves values (-1, ?, 1)", (victim,))
        if objects:
            conf, models, decks, dconf, tags = _cols(db)
            did = nid + adds
            deck = dict(decks["1"], id=did, name=f"Run {run}::Ünïcode {run}", mod=secs, usn=-1)
            decks[str(did)] = deck
            for m in models.values():
                if m["name"] == "Basic":
                    m.update({"css": f".card {{ font-size: {10 + run}px; }}", "mod": secs + 1,
                              "usn": -1})
            tags[f"run{run}::Tag"] = -1
            _set_cols(db, conf, models, decks, dconf, tags)
        db.execute("update col set mod = ?", (now_ms(),))
        db.execute("commit")
    finally:
        db.close()


def b_changes(path, run, own):
    local_changes(path, run, own, "b", B_NOTES, 1, 1, False)


def a_changes(path, run, own):
    local_changes(path, run, own, "a", A_NOTES, 2, 3, True)


def test_kill9_during_normal_syncs(procs, tmp_path):
    base = tmp_path / "base"
    stored = base / "user" / "collection.anki2"
    a_path, b_path = str(tmp_path / "a.anki2"), str(tmp_path / "b.anki2")
    p, url = start_server(procs, base)
    a, b = Client(url), Client(url)
    a.login("user", "pass")
    b.hkey = a.hkey
    # A uploads a start collection, B downloads it (both then schema 11 locally).
    anki_col("create", a_path)
    anki_col("downgrade", a_path)
    a_own = add_notes(a_path, [(f"start{i}", "x") for i in range(40)])
    prepare_upload(a_path)
    assert a.full_upload(a_path) == "OK"
    b.full_download(b_path)
    anki_col("downgrade", b_path)
    b_own = add_notes(b_path, [(f"bstart{i}", "y") for i in range(10)])
    assert normal_sync(b, b_path)[1]["status"] == "ok"
    assert normal_sync(a, a_path)[1]["status"] == "ok"

    rnd = random.Random(20261202)
    # old: rolled back; new: committed and answered; unacked: committed but
    # the client never saw finish (the kill fell between commit and reply)
    outcomes = {"old": 0, "new": 0, "unacked": 0}
    phases = {}
    trace = None
    for run in range(RUNS):
        b_changes(b_path, run, b_own)
        assert normal_sync(b, b_path)[1]["status"] == "ok", f"run {run}: B"
        a_changes(a_path, run, a_own)
        before_exact, _ = live_state(stored)
        if trace is None:  # the first run measures the requests of a whole sync
            k = KillingClient(url, a.hkey)
            assert normal_sync(k, a_path)[1]["status"] == "ok"
            trace = k.trace
            a_changes(a_path, run + 1000, a_own)
            before_exact, _ = live_state(stored)
        # every request alike, but finish (where the commit is) more often
        n = len(trace) if rnd.random() < 0.3 else rnd.randrange(1, len(trace) + 1)
        delay = rnd.uniform(0, trace[n - 1][1] * 1.3)
        k = KillingClient(url, a.hkey, p, (n, delay))
        saw = None
        try:
            saw = normal_sync(k, a_path)
        except Exception:  # the kill cuts the connection; the client rolled back
            pass
        k.timer.join()
        p.p.wait()
        phase = trace[n - 1][0]
        phases[phase] = phases.get(phase, 0) + 1

        check, (kill_exact, kill_loose) = crashed_state(stored, tmp_path / "crash")
        assert check == [("ok",)], f"run {run} (killed in {phase}): {check}"

        p, url = start_server(procs, base)
        a, b = Client(url, hkey=a.hkey), Client(url, hkey=a.hkey)
        again = normal_sync(a, a_path)
        if saw is not None:  # A saw finish: nothing left to do
            assert again[0] == "noChanges", f"run {run}: {again}"
        else:
            assert again[0] == "normalSync" and again[1]["status"] == "ok", f"run {run}: {again}"
        _, after_loose = live_state(stored)
        if kill_exact == before_exact:
            outcomes["old"] += 1
            assert saw is None, f"run {run}: finish was answered but the old state remains"
        else:
            assert kill_loose == after_loose, \
                f"run {run} (killed in {phase}): neither the old nor the synced state"
            outcomes["new" if saw is not None else "unacked"] += 1
        same_rows(a_path, stored, f"run {run}")
    # B catches up with everything A sent: the three agree.
    assert normal_sync(b, b_path)[1]["status"] == "ok"
    same_rows(b_path, stored, "B at the end")
    print("trace", [(m, round(t, 3)) for m, t in trace], "outcomes", outcomes, "phases", phases)
    # Kills landed on both sides of the commit, in most kinds of request.
    assert outcomes["old"] > 0 and outcomes["new"] + outcomes["unacked"] > 0, outcomes
    assert len(phases) >= 5, phases
    p.stop()
    assert p.p.returncode == 0
