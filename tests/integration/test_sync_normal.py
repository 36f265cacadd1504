"""Normal (incremental) sync against the real server, driven by a client
that follows the official algorithm (normalsync.py): edits, deletions,
new decks, changed notetypes and tags, more than 250 rows, both ways; a
failed sanity check and abort roll back; two devices of one user; bad
rows in a session never change stored data."""
import json
import subprocess

import pytest

from conftest import bin_path
from normalsync import (add_deck, add_notes, add_tag, delete_note, edit_note, normal_sync,
                        prepare_upload, touch_model, _cols)
from syncclient import Client, content, local_meta, open_col, start_server


def anki_col(*args):
    subprocess.run([bin_path("anki-col"), *map(str, args)], check=True, capture_output=True,
                   timeout=60)


def new_local(path):
    anki_col("create", path)
    anki_col("downgrade", path)
    return path


def objects(path):
    db = open_col(path)
    try:
        conf, models, decks, dconf, tags = _cols(db)
    finally:
        db.close()
    return ({d["name"] for d in decks.values()}, {m["name"]: m["css"] for m in models.values()},
            set(tags))


@pytest.fixture
def world(tmp_path, procs):
    """A server with one user; device A has uploaded 5 notes, device B has
    downloaded them."""
    base = tmp_path / "base"
    base.mkdir()
    _, url = start_server(procs, base, users=("user:pass",))
    a_path, b_path = str(tmp_path / "a.anki2"), str(tmp_path / "b.anki2")
    new_local(a_path)
    add_notes(a_path, [(f"a{i}", f"back {i}") for i in range(5)])
    a = Client(url)
    a.login("user", "pass")
    assert normal_sync(a, a_path)[0] == "fullUpload"
    prepare_upload(a_path)
    assert a.full_upload(a_path) == "OK"
    b = Client(url)
    b.login("user", "pass")
    new_local(b_path)
    assert normal_sync(b, b_path)[0] == "fullDownload"
    b.full_download(b_path)
    anki_col("downgrade", b_path)
    assert normal_sync(b, b_path)[0] == "noChanges"
    return {"url": url, "a": a, "b": b, "a_path": a_path, "b_path": b_path, "tmp": tmp_path}


def same(p, q):
    cp, cq = content(p), content(q)
    for k in ("notes", "cards", "revlog"):
        assert cp[k] == cq[k], k


def server_copy(world, name):
    c = Client(world["url"])
    c.login("user", "pass")
    path = str(world["tmp"] / name)
    c.full_download(path)
    return path


def test_changes_travel_both_ways(world):
    a, b, ap, bp = world["a"], world["b"], world["a_path"], world["b_path"]
    ids = add_notes(ap, [(f"new{i}", f"x{i}") for i in range(300)])  # 900 rows: 4 chunks
    first = content(ap)["notes"][0][0]
    edit_note(ap, first, "edited", "on A")
    delete_note(ap, ids[7])
    add_deck(ap, "Languages::日本語")
    touch_model(ap, "Basic", ".card { color: red; }")
    add_tag(ap, "Ünïcode::tag")
    decision, sanity = normal_sync(a, ap)
    assert decision == "normalSync" and sanity["status"] == "ok"
    assert local_meta(ap)["mod"] == a.meta()["mod"]
    assert normal_sync(a, ap)[0] == "noChanges"

    decision, sanity = normal_sync(b, bp)
    assert decision == "normalSync" and sanity["status"] == "ok"
    same(ap, bp)
    assert objects(ap) == objects(bp)
    assert "Languages::日本語" in objects(bp)[0]
    assert objects(bp)[1]["Basic"] == ".card { color: red; }"
    db = open_col(bp)
    assert db.execute("select flds from notes where id = ?", (first,)).fetchone()[0] == \
        "edited\x1fon A"
    assert db.execute("select count(*) from graves where oid = ?", (ids[7],)).fetchone()[0] == 2 \
        or db.execute("select count(*) from notes where id = ?", (ids[7],)).fetchone()[0] == 0
    db.close()

    # and back: B edits and deletes, A receives
    add_notes(bp, [(f"b{i}", "from B") for i in range(10)])
    delete_note(bp, ids[8])
    assert normal_sync(b, bp)[1]["status"] == "ok"
    assert normal_sync(a, ap)[1]["status"] == "ok"
    same(ap, bp)
    # a third device downloading the server's collection sees the same rows
    c = server_copy(world, "c.anki2")
    same(ap, c)
    anki_check = subprocess.run([bin_path("anki-col"), "check", c], capture_output=True,
                                text=True, timeout=60)
    assert anki_check.returncode == 0, anki_check.stdout


def test_sanity_mismatch_rolls_back(world):
    a, ap = world["a"], world["a_path"]
    before = content(server_copy(world, "before.anki2"))
    add_notes(ap, [("doomed", "x")])
    decision, sanity = normal_sync(a, ap, tamper_counts=True)
    assert decision == "sanityFailed" and sanity["status"] == "bad"
    after = content(server_copy(world, "after.anki2"))
    for k in ("notes", "cards", "revlog"):
        assert before[k] == after[k]
    assert a.meta()["usn"] == json.loads(json.dumps(a.meta()))["usn"]


def test_abort_and_second_device(world):
    a, b = world["a"], world["b"]
    before = content(server_copy(world, "before.anki2"))
    usn = a.meta()["usn"]
    a.call("start", {"minUsn": usn, "lnewer": True, "graves": None})
    # the other device (another skey) cannot step into A's session
    r = b.request("applyChanges", {"changes": {"models": [], "decks": [[], []], "tags": []}})
    assert r.status == 409
    mid = _cols_basic(world["a_path"])
    row = [4242, "g", mid, 1, usn, "", "x\x1fy", "", "", 0, ""]
    a.call("applyChunk", {"chunk": {"notes": [row]}})
    a.call("abort", {"_pad": None})
    assert a.request("chunk", {"_pad": None}).status == 409  # the session is gone
    after = content(server_copy(world, "after.anki2"))
    assert before["notes"] == after["notes"]

    # a bad row fails the step with 400, drops the session, changes nothing
    a.call("start", {"minUsn": usn, "lnewer": True, "graves": None})
    bad = [4243, "g", mid, 1, usn, "", "one field only", "", "", 0, ""]
    r = a.request("applyChunk", {"chunk": {"notes": [row, bad]}})
    assert r.status == 400
    assert a.request("finish", {"_pad": None}).status == 409
    after = content(server_copy(world, "after2.anki2"))
    assert before["notes"] == after["notes"]

    # a newer start by B replaces A's session
    a.call("start", {"minUsn": usn, "lnewer": True, "graves": None})
    b.call("start", {"minUsn": usn, "lnewer": True, "graves": None})
    assert a.request("chunk", {"_pad": None}).status == 409
    assert b.request("chunk", {"_pad": None}).status == 200
    b.call("abort", {"_pad": None})


def test_out_of_order_and_malformed(world):
    a = world["a"]
    for method in ("applyGraves", "applyChanges", "chunk", "applyChunk", "sanityCheck2",
                   "finish"):
        body = {"_pad": None} if method in ("chunk", "finish") else {"chunk": {}}
        assert a.request(method, body).status == 409, method
    assert a.request("start", {"minUsn": "x", "lnewer": True}).status == 400
    assert a.request("start", b"not json at all").status == 400
    # the collection is still intact
    c = server_copy(world, "c.anki2")
    same(world["a_path"], c)


def _cols_basic(path):
    from normalsync import basic_model_id
    return basic_model_id(path)
