"""Full sync with anki-sync-server (sync-protocol.md §4, §7.3, §7.4, §9.7):
uploads and downloads by clients that follow the official algorithm, a
collection laid out in SYNC_BASE as the official server leaves it, the
legacy multipart path, and bad input that must never change stored data."""
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import fixture_path
from syncclient import (Client, content, local_meta, open_col, prepare_for_upload, start_server,
                        sync_decision, zstd_frame)

CORRUPT = "Your upload was corrupt. Please use Check Database, or restore from backup."
TOO_BIG = "collection exceeds size limit"
FUZZ_SEEDS = Path(__file__).resolve().parent.parent / "fuzz" / "corpus_col_upload"


def copy_fixture(name, dest):
    shutil.copy(fixture_path(name), dest)
    os.chmod(dest, 0o644)
    return str(dest)


@pytest.fixture
def srv(procs, tmp_path):
    p, url = start_server(procs, tmp_path / "base")
    c = Client(url)
    c.login("user", "pass")
    return p, url, tmp_path, c


def test_upload_then_download_by_a_second_client(srv):
    _, url, tmp, c1 = srv
    local1 = copy_fixture("v18-two-decks-revlog.anki2", tmp / "dev1.anki2")
    remote = c1.meta()
    assert sync_decision(local_meta(local1), remote) == "fullUpload"
    assert c1.full_upload(local1) == "OK"
    uploaded = content(local1)
    assert len(uploaded["notes"]) == 16 and len(uploaded["revlog"]) == 8
    after = c1.meta()
    lm = local_meta(local1)
    assert (after["mod"], after["scm"], after["usn"]) == (lm["mod"], lm["scm"], lm["usn"])
    assert after["empty"] is False
    assert sync_decision(lm, after) == "noChanges"

    # device 2: a new empty collection
    local2 = copy_fixture("new-empty-v18.anki2", tmp / "dev2.anki2")
    c2 = Client(url)
    c2.login("user", "pass")
    m = c2.meta()
    assert sync_decision(local_meta(local2), m) == "fullDownload"
    c2.full_download(local2)
    assert content(local2) == uploaded
    db = open_col(local2)
    usn, ver, mod, ls = db.execute("select usn, ver, mod, ls from col").fetchone()
    db.close()
    assert usn == after["usn"] + 1 and ver == 18 and ls == mod
    # after the download both devices agree with the server
    m2 = c2.meta()
    assert sync_decision(local_meta(local2), m2) == "noChanges"
    assert m2["usn"] == usn


def test_download_usn_plus_one_each_time(srv):
    _, url, tmp, c = srv
    m0 = c.meta()
    for i in range(1, 4):
        data = c.download_bytes()
        assert data[:16] == b"SQLite format 3\x00"
        p = tmp / f"d{i}.anki2"
        p.write_bytes(data)
        db = open_col(str(p))
        assert db.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert db.execute("select usn, ver from col").fetchone() == (m0["usn"] + i, 18)
        db.close()


def test_upload_replaces_atomically_and_keeps_uploaded_stamps(srv):
    _, url, tmp, c = srv
    local = copy_fixture("v18-two-decks-revlog.anki2", tmp / "a.anki2")
    prepare_for_upload(local)
    db = open_col(local)
    db.execute("update col set usn = 41, mod = 1700000000123, scm = 1700000000456, ls = 5")
    db.close()
    assert c.upload_bytes(open(local, "rb").read()) == "OK"
    stored = tmp / "base" / "user" / "collection.anki2"
    db = open_col(str(stored))
    assert db.execute("select usn, mod, scm, ls from col").fetchone() == (41, 1700000000123, 1700000000456, 5)
    db.close()
    assert sorted(os.listdir(stored.parent)) == [".ankihost.lock", "collection.anki2", "media"]


def test_official_layout_is_served_unchanged(procs, tmp_path):
    """A SYNC_BASE as the official server leaves it: user directory, WAL
    collection, media folder and a schema-v4 media.db."""
    base = tmp_path / "base"
    ud = base / "alice"
    (ud / "media").mkdir(parents=True)
    col = copy_fixture("v18-two-decks-revlog.anki2", ud / "collection.anki2")
    expect = content(col)
    m = sqlite3.connect(ud / "media.db")
    m.executescript("""
        pragma user_version = 4;
        create table media (fname text not null primary key, csum blob not null, size int not null,
                            usn int not null, mtime int not null);
        create index ix_usn on media (usn);
        create table meta (last_usn int not null, total_bytes int not null, total_nonempty_files int not null);
        insert into meta values (7, 0, 0);
    """)
    m.close()
    db = open_col(col)
    mod, scm, usn = db.execute("select mod, scm, usn from col").fetchone()
    db.close()
    p, url = start_server(procs, base, users=("alice:pw",))
    c = Client(url)
    c.login("alice", "pw")
    meta = c.meta()
    assert (meta["mod"], meta["scm"], meta["usn"], meta["media_usn"], meta["empty"]) == (mod, scm, usn, 7, False)
    dest = copy_fixture("new-empty-v18.anki2", tmp_path / "dev.anki2")
    c.full_download(dest)
    assert content(dest) == expect
    # and it can be handed back: still a plain collection.anki2 + media.db
    p.stop()
    assert sorted(os.listdir(ud)) == [".ankihost.lock", "collection.anki2", "media", "media.db"]
    db = open_col(str(ud / "collection.anki2"))
    assert db.execute("pragma integrity_check").fetchall() == [("ok",)]
    assert db.execute("pragma journal_mode").fetchone() == ("wal",)
    db.close()


def test_schema11_collection_in_base_is_upgraded_on_download(procs, tmp_path):
    base = tmp_path / "base"
    (base / "user").mkdir(parents=True)
    col = copy_fixture("schema11-mediacheck.anki2", base / "user" / "collection.anki2")
    want = content(col)
    p, url = start_server(procs, base)
    c = Client(url)
    c.login("user", "pass")
    assert c.meta()["empty"] is False
    d = tmp_path / "d.anki2"
    d.write_bytes(c.download_bytes())
    db = open_col(str(d))
    assert db.execute("select ver from col").fetchone() == (18,)
    db.close()
    got = content(str(d))
    assert got["notes"] == want["notes"] and got["cards"] == want["cards"]


def test_schema11_upload_is_accepted(srv):
    _, url, tmp, c = srv
    local = copy_fixture("schema11-mediacheck.anki2", tmp / "s11.anki2")
    assert c.full_upload(local) == "OK"
    m = c.meta()
    assert m["empty"] is False
    # stored as schema 18, like the official server (it upgrades on open)
    db = open_col(str(tmp / "base" / "user" / "collection.anki2"))
    assert db.execute("select ver from col").fetchone() == (18,)
    assert db.execute("pragma integrity_check").fetchall() == [("ok",)]
    db.close()
    d = tmp / "d.anki2"
    d.write_bytes(c.download_bytes())
    got, want = content(str(d)), content(local)
    assert got["notes"] == want["notes"] and got["cards"] == want["cards"]


# ---- bad input never changes stored data ----

@pytest.fixture
def stored(srv):
    """A server holding a known collection; returns a checker that downloads
    it and compares with what was uploaded."""
    p, url, tmp, c = srv
    local = copy_fixture("v18-two-decks-revlog.anki2", tmp / "good.anki2")
    assert c.full_upload(local) == "OK"
    expect = content(local)
    stored_path = tmp / "base" / "user" / "collection.anki2"

    def unchanged():
        m = c.meta()
        assert m["scm"] == expect["scm"]
        dest = tmp / "check.anki2"
        dest.write_bytes(c.download_bytes())
        assert content(str(dest)) == expect
        db = open_col(str(stored_path))
        assert db.execute("pragma integrity_check").fetchall() == [("ok",)]
        db.close()
    return c, tmp, unchanged


def test_corrupt_uploads_get_the_corrupt_text(stored):
    c, tmp, unchanged = stored
    good = open(fixture_path("v18-two-decks-revlog.anki2"), "rb").read()
    other = tmp / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("create table t (x)")
    db.execute("insert into t values (1)")
    db.commit()
    db.close()
    no_col = tmp / "nocol.sqlite"
    db = sqlite3.connect(no_col)
    db.executescript("create table notes(id); create table cards(id); create table revlog(id);")
    db.close()
    damaged = bytearray(good)
    for off in range(8192, 8192 + 4096, 7):
        damaged[off] ^= 0x5A
    # schema format number 5 (SQLite knows 1..4): SQLite refuses every
    # statement with SQLITE_ERROR, which was answered 500 (fuzz_col_upload)
    odd_format = bytearray(good)
    odd_format[44:48] = (5).to_bytes(4, "big")
    # a write version SQLite does not know (byte 18 > 2): SQLite reads the
    # file but will not write it, so every later sync would fail
    read_only = bytearray(good)
    read_only[18] = 3
    # a table without a column Anki reads passes SQLite's integrity check,
    # then failed every normal sync (fuzz_col_upload)
    renamed = {}
    for table, column in (("decks", "usn"), ("notes", "flds"), ("tags", "collapsed")):
        path = tmp / f"no-{table}-{column}.anki2"
        shutil.copy(fixture_path("v18-two-decks-revlog.anki2"), path)
        os.chmod(path, 0o644)
        db = open_col(str(path))
        db.execute(f"alter table {table} rename column {column} to x{column}")
        db.close()
        renamed[f"{table} without {column}"] = path.read_bytes()
    bad_ver = tmp / "badver.anki2"
    shutil.copy(fixture_path("v18-two-decks-revlog.anki2"), bad_ver)
    os.chmod(bad_ver, 0o644)
    db = open_col(str(bad_ver))
    db.execute("update col set ver = 12")
    db.close()
    cases = {
        "fake data": b"fake data",
        "random": os.urandom(50000),
        "empty": b"",
        "truncated sqlite": good[: len(good) // 2],
        "header only": good[:100],
        "damaged pages": bytes(damaged),
        "unknown schema format": bytes(odd_format),
        "read-only format": bytes(read_only),
        # damage SQLite answers with "out of memory" (fuzz_col_upload's
        # input, kept as its seed)
        "sqlite says out of memory": (FUZZ_SEEDS / "sqlite_says_nomem").read_bytes(),
        "non-anki sqlite": other.read_bytes(),
        "no col table": no_col.read_bytes(),
        "schema 12": bad_ver.read_bytes(),
        "schema 1 (2.0 alpha)": open(fixture_path("schema1-alpha.anki2"), "rb").read(),
    }
    cases.update(renamed)
    for name, data in cases.items():
        r = c.request("upload", data)
        assert r.status == 200, name
        assert r.body.decode() == CORRUPT, name
        assert r.headers["anki-original-size"] == str(len(CORRUPT))
    unchanged()


def test_bad_requests_change_nothing(stored):
    c, tmp, unchanged = stored
    good_zstd = zstd_frame(b'{"_pad":null}')
    bad = [
        dict(method="upload", raw_body=b"\x00not zstd"),
        dict(method="upload", raw_body=zstd_frame(open(fixture_path("v18-two-decks-revlog.anki2"), "rb").read())[:5000]),
        dict(method="download", payload={"unexpected": 1}),
        dict(method="download", payload=b"[1,2]"),
        dict(method="download", raw_body=b"garbage"),
        dict(method="meta", payload={"v": "eleven", "cv": 1}),
        dict(method="upload", payload=b"x", sync_header='{"v":11,"k":"nope","c":"x","s":"y"}'),
        dict(method="upload", payload=b"x", sync_header=False),
        dict(method="start", payload={"minUsn": "0", "lnewer": False, "graves": None}),
        dict(method="chunk", payload={}),
        dict(method="finish", payload={}),
        dict(method="sanityCheck2", payload={"client": []}),
        dict(method="..%2f..%2fetc", payload={}),
        dict(method="download", raw_body=good_zstd, sync_header='{"v":11,"k":"","c":"x","s":"y"}'),
    ]
    for b in bad:
        m = b.pop("method")
        r = c.request(m, b.pop("payload", b""), **b)
        assert r.status in (400, 403, 404, 409), (m, r)
    unchanged()


def test_upload_over_the_limit_gets_the_size_text(procs, tmp_path):
    # 1 MiB payload limit → uploads of >= 3 MiB decompressed are refused
    p, url = start_server(procs, tmp_path / "base", env={"MAX_SYNC_PAYLOAD_MEGS": "1"})
    c = Client(url)
    c.login("user", "pass")
    small = copy_fixture("v18-two-decks-revlog.anki2", tmp_path / "small.anki2")
    assert c.full_upload(small) == "OK"
    expect = content(small)
    big = os.urandom(1 << 20) * 3 + b"x"  # compressible? no: random, so also > 1 MiB on the wire
    r = c.request("upload", big)
    assert r.status == 200 and r.body.decode() == TOO_BIG
    r = c.request("upload", b"\x00" * (3 << 20))  # exactly the limit is refused too (>=)
    assert r.body.decode() == TOO_BIG
    dest = tmp_path / "d.anki2"
    dest.write_bytes(c.download_bytes())
    assert content(str(dest)) == expect
    # a legacy body over MAX_SYNC_PAYLOAD_MEGS is a 400, read to the end
    r = c.legacy_request("upload", os.urandom(1100 * 1024), compress=False)
    assert (r.status, r.raw) == (400, b"400")


# ---- legacy multipart full sync (versions < 11) ----

def test_legacy_full_sync(procs, tmp_path):
    p, url = start_server(procs, tmp_path / "base")
    c = Client(url)
    r = c.legacy_request("hostKey", {"u": "user", "p": "pass"})
    c.hkey = __import__("json").loads(r.raw)["key"]
    s11 = copy_fixture("schema11-mediacheck.anki2", tmp_path / "s11.anki2")
    prepare_for_upload(s11)
    r = c.legacy_request("upload", open(s11, "rb").read())
    assert (r.status, r.raw) == (200, b"OK")
    r = c.legacy_request("download", omit_data=True)  # AnkiDroid omits data
    assert r.status == 200 and r.raw[:16] == b"SQLite format 3\x00"
    d = tmp_path / "legacy.anki2"
    d.write_bytes(r.raw)
    db = open_col(str(d))
    assert db.execute("select ver from col").fetchone() == (11,)
    db.close()
    # a schema-18 collection goes to a legacy client as a schema-11 copy;
    # the stored file stays schema 18 (journal mode delete in the copy)
    v18 = copy_fixture("v18-two-decks-revlog.anki2", tmp_path / "v18.anki2")
    prepare_for_upload(v18)
    assert c.legacy_request("upload", open(v18, "rb").read()).raw == b"OK"
    r = c.legacy_request("download", {})
    assert r.status == 200 and "anki-original-size" not in r.headers
    d11 = tmp_path / "legacy18.anki2"
    d11.write_bytes(r.raw)
    db = open_col(str(d11))
    assert db.execute("pragma integrity_check").fetchall() == [("ok",)]
    assert db.execute("select ver from col").fetchone() == (11,)
    assert db.execute("pragma journal_mode").fetchone() == ("delete",)
    assert "notetypes" not in {t for (t,) in db.execute("select name from sqlite_master")}
    db.close()
    want = content(v18)
    got = content(str(d11))
    assert got["notes"] == want["notes"] and got["cards"] == want["cards"]
    assert got["revlog"] == want["revlog"]
    stored = open_col(str(tmp_path / "base" / "user" / "collection.anki2"))
    assert stored.execute("select ver from col").fetchone() == (18,)
    stored.close()
    # modern clients still get schema 18
    m = Client(url, hkey=c.hkey)
    data = m.download_bytes()
    (tmp_path / "m.anki2").write_bytes(data)
    db = open_col(str(tmp_path / "m.anki2"))
    assert db.execute("select ver from col").fetchone() == (18,)
    db.close()
