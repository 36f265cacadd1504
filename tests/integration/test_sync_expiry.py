"""Abandoned normal-sync sessions expire (SYNC_SESSION_TIMEOUT, default 1800 s)
and are rolled back; idle collections are closed (issue 4; sync-protocol.md
§1.9, §3.11).  "Closed" is observable from outside: while the server has a
user's collection open it holds an flock on <user>/.ankihost.lock, and
anki-sync-admin waits for that lock.

The timeout counts idle time from the end of a session's last request, so a
slow client whose requests are each less than the timeout apart keeps its
session however long the whole sync takes."""
import fcntl
import os
import sqlite3
import subprocess
import time

import pytest

from conftest import bin_path
from normalsync import add_deck, add_notes, add_tag, basic_model_id, csum, delete_note, \
    normal_sync, now_ms, prepare_upload
from syncclient import Client, content, open_col, start_server, unicase_collation

TIMEOUT = 2


def anki_col(*args):
    subprocess.run([bin_path("anki-col"), *map(str, args)], check=True, capture_output=True,
                   timeout=60)


def admin_check(base, user="user"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    env["SYNC_BASE"] = str(base)
    t0 = time.monotonic()
    r = subprocess.run([bin_path("anki-sync-admin"), "check", user], env=env,
                       capture_output=True, timeout=60)
    return r.returncode, r.stdout.decode() + r.stderr.decode(), time.monotonic() - t0


def flock_free(lockfile):
    """True when nobody holds the admin flock (taken and released at once,
    so the server never waits for us)."""
    fd = os.open(lockfile, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the lock if we got it
    return True


def server_rows(path):
    """What the server has stored (read-only, beside the running server)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.create_collation("unicase", unicase_collation)
    try:
        return {
            "notes": db.execute("select id, mod, flds from notes order by id").fetchall(),
            "cards": db.execute("select id, nid, did from cards order by id").fetchall(),
            "revlog": db.execute("select id from revlog order by id").fetchall(),
            "decks": db.execute("select id, name from decks order by id").fetchall(),
            "graves": db.execute("select oid, type from graves order by oid").fetchall(),
            "col": db.execute("select mod, usn, ls from col").fetchall(),
        }
    finally:
        db.close()


def add_notes_and_cards(path, n):
    """n pending notes with a card each (no reviews), in one transaction.
    Chunks of 125 notes + 125 cards, 3000 of them: a size at which, with
    SQLite's default temp_store, the session's statement journal spilled to
    a temporary file (see below)."""
    mid = basic_model_id(path)
    db = open_col(path)
    try:
        db.execute("begin")
        base = max(now_ms(), (db.execute("select max(id) from notes").fetchone()[0] or 0) + 1,
                   (db.execute("select max(id) from cards").fetchone()[0] or 0) + 1)
        secs = int(time.time())
        for i in range(n):
            front = f"b {i} <b>word</b>"
            db.execute("insert into notes values (?,?,?,?,-1,' bench ',?,?,?,0,'')",
                       (base + i, f"b{base + i}", mid, secs,
                        f"{front}\x1fback of b {i} &nbsp; <i>example</i>", front, csum(front)))
            db.execute("insert into cards values (?,?,1,0,?,-1,0,0,?,0,0,0,0,0,0,0,0,'{}')",
                       (base + i, base + i, secs, i + 100))
        db.execute("update col set mod = ?", (now_ms(),))
        db.execute("commit")
    finally:
        db.close()


def sqlite_temp_files(pid):
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if "etilqs_" in target:
            out.append(target)
    return out


class Abandon(Exception):
    pass


class AbandoningClient(Client):
    """Runs a normal sync up to and including applyChunk, then vanishes:
    no sanityCheck2, no finish, and no abort either."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.last_reply = None

    def request(self, method, payload=b"", **kw):
        if method in ("sanityCheck2", "abort"):
            raise Abandon(method)
        r = super().request(method, payload, **kw)
        self.last_reply = time.monotonic()
        return r


class SlowClient(Client):
    """Waits `gap` seconds before each request of the sync proper."""

    def __init__(self, *a, gap, **kw):
        super().__init__(*a, **kw)
        self.gap, self.methods = gap, []

    def request(self, method, payload=b"", **kw):
        if method not in ("meta", "hostKey"):
            time.sleep(self.gap)
        self.methods.append(method)
        return super().request(method, payload, **kw)


@pytest.fixture
def world(tmp_path, procs):
    base = tmp_path / "base"
    p, url = start_server(procs, base, env={"SYNC_SESSION_TIMEOUT": str(TIMEOUT)})
    local = str(tmp_path / "a.anki2")
    anki_col("create", local)
    anki_col("downgrade", local)
    ids = add_notes(local, [(f"n{i}", "x") for i in range(10)])
    c = Client(url)
    c.login("user", "pass")
    prepare_upload(local)
    assert c.full_upload(local) == "OK"
    assert normal_sync(c, local)[0] == "noChanges"
    return {"p": p, "url": url, "base": base, "local": local, "ids": ids, "hkey": c.hkey,
            "stored": base / "user" / "collection.anki2",
            "lock": base / "user" / ".ankihost.lock"}


def test_abandoned_session_expires_and_rolls_back(world):
    local, stored, lock = world["local"], world["stored"], world["lock"]
    add_notes_and_cards(local, 3000)  # 24 applyChunk requests
    delete_note(local, world["ids"][0])
    add_deck(local, "Abandoned::deck")
    add_tag(local, "abandoned")
    before = server_rows(stored)
    admin_before = admin_check(world["base"])
    assert admin_before[0] == 0, admin_before

    c = AbandoningClient(world["url"], hkey=world["hkey"])
    with pytest.raises(Abandon):
        normal_sync(c, local)
    gone = c.last_reply
    # The session holds the collection (and its flock) while it lives ...
    assert not flock_free(lock)
    # ... and keeps its statement journal in memory: SQLite spills it to a
    # temporary file ("etilqs_...") past 64 KiB, after which every row of
    # every later chunk costs page writes to that file.
    assert sqlite_temp_files(world["p"].p.pid) == []
    time.sleep(TIMEOUT * 0.5)
    assert not flock_free(lock), "expired before the timeout"
    # ... and is rolled back and closed once idle for the timeout.
    deadline = gone + TIMEOUT + 5
    while not flock_free(lock):
        assert time.monotonic() < deadline, "the abandoned session never expired"
        time.sleep(0.05)
    idle = time.monotonic() - gone
    assert idle >= TIMEOUT * 0.9, idle
    assert "aborting the open sync session (expired)" in world["p"].log()

    # Nothing of it is stored; the admin tool gets the lock at once.
    assert server_rows(stored) == before
    rc, out, took = admin_check(world["base"])
    assert rc == 0 and out == admin_before[1] and took < 5, (rc, out, took)
    # The client's late steps find no session.
    assert c.request("chunk", {"_pad": None}).status == 409
    assert Client(world["url"], hkey=world["hkey"]).request(
        "finish", {"_pad": None}, ).status == 409

    # The client (which rolled back) syncs again and everything arrives.
    again = Client(world["url"], hkey=world["hkey"])
    decision, sanity = normal_sync(again, local)
    assert decision == "normalSync" and sanity["status"] == "ok"
    after = server_rows(stored)
    assert len(after["notes"]) == len(before["notes"]) + 3000 - 1
    assert any(name == "Abandoned\x1fdeck" for _, name in after["decks"]), after["decks"]
    assert [(r[0], r[3], r[5]) for r in content(local)["notes"]] == server_rows(stored)["notes"]


def test_slow_session_survives_and_idle_collection_closes(world):
    local, stored, lock = world["local"], world["stored"], world["lock"]
    add_notes(local, [(f"slow{i}", "z") for i in range(20)])
    gap = TIMEOUT * 0.6
    c = SlowClient(world["url"], hkey=world["hkey"], gap=gap)
    t0 = time.monotonic()
    decision, sanity = normal_sync(c, local)
    took = time.monotonic() - t0
    assert decision == "normalSync" and sanity["status"] == "ok"
    assert took > 2.5 * TIMEOUT, (took, c.methods)  # the session outlived the timeout
    assert "expired" not in world["p"].log()
    # After finish nothing holds the collection for long: closed when idle.
    done = time.monotonic()
    while not flock_free(lock):
        assert time.monotonic() < done + 8, "the idle collection stayed open"
        time.sleep(0.05)
    rc, out, _ = admin_check(world["base"])
    assert rc == 0 and ", 30 notes, 30 cards, 30 revlog" in out, out
    assert [(r[0], r[3], r[5]) for r in content(local)["notes"]] == server_rows(stored)["notes"]
    # A status check (meta) keeps the collection open for the sync that
    # usually follows; idle, it is closed again.
    c.meta()
    assert not flock_free(lock)
    done = time.monotonic()
    while not flock_free(lock):
        assert time.monotonic() < done + 8, "the collection stayed open after meta"
        time.sleep(0.05)
