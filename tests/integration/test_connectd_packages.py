"""anki-connectd exportPackage / importPackage (ankiconnect.md §3.5, §7;
collection-format.md §9) through the real daemon: a deck with children,
media stored with storeMediaFile and scheduling goes out as an .apkg whose
members are read here with zipfile and sqlite3, and comes back into a
second daemon on an empty collection with equal notes, cards, decks,
notetypes, review log and media; importing twice duplicates nothing; an
older note in a package never overwrites a newer one; every fixture
package imports with the counts its own collection (read here, not by our
code) promises; hostile packages are refused with a clear error and leave
the collection and the media folder exactly as they were."""
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest
import zstandard

from conftest import ROOT, fixture_path
from connectd_client import Daemon, basic_note, check_collection, open_db

STOCK = {"Basic", "Basic (and reversed card)", "Basic (optional reversed card)",
         "Basic (type in the answer)", "Cloze", "Image Occlusion"}


def b64(data):
    return base64.b64encode(data).decode()


def unzstd(data):
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def daemon(procs, where):
    """A daemon on its own new collection in the folder where."""
    where.mkdir()
    return Daemon(procs, where)


def stop_and_check(d):
    assert d.stop() == 0
    check_collection(d.col)


# ---- the source collection ---------------------------------------------------

MEDIA = {"pic.png": b"\x89PNG not really " * 50, "snd.mp3": b"ID3 sound bytes",
         "_pkg.css": b".x { color: red }", "unused.txt": b"nobody refers to me",
         "other.png": b"only the other deck uses this"}


def make_source(d):
    """Decks Pkg, Pkg::Child, Pkg::Child::Grand (exported) and Elsewhere
    (not); a custom notetype whose CSS imports _pkg.css, and Basic; notes
    referencing media; review state, review log, a suspended card, a
    'marked' tag and a preset of its own on Pkg::Child."""
    for name, data in MEDIA.items():
        assert d.result("storeMediaFile", filename=name, data=b64(data)) == name
    for deck in ("Pkg", "Pkg::Child", "Pkg::Child::Grand", "Elsewhere"):
        d.result("createDeck", deck=deck)
    d.result("createModel", modelName="PkgModel", inOrderFields=["Word", "Meaning"],
             css='@import url("_pkg.css");',
             cardTemplates=[{"Name": "Forward", "Front": "{{Word}}", "Back": "{{Meaning}}"},
                            {"Name": "Back", "Front": "{{Meaning}}", "Back": "{{Word}}"}])
    notes = [
        basic_note('top <img src="pic.png">', "back 1", deck="Pkg", tags=["t1"]),
        basic_note("child [sound:snd.mp3]", "back 2", deck="Pkg::Child", tags=["marked", "t2"]),
        basic_note("grand", "back 3", deck="Pkg::Child::Grand"),
        {"deckName": "Pkg::Child", "modelName": "PkgModel",
         "fields": {"Word": "wort", "Meaning": 'word <img src="pic.png">'}},
        basic_note('elsewhere <img src="other.png">', deck="Elsewhere"),
    ]
    nids = d.result("addNotes", notes=notes)
    assert all(nids)
    cid = lambda nid: d.result("findCards", query=f"nid:{nid}")
    review = cid(nids[1])[0]
    # a card in review with a review log; another one suspended
    assert d.result("setSpecificValueOfCard", card=review,
                    keys=["type", "queue", "due", "ivl", "factor", "reps", "lapses"],
                    newValues=[2, 2, 5, 12, 2300, 6, 1], warning_check=True) == [True]
    now = int(time.time() * 1000)
    d.result("insertReviews", reviews=[[now - 86400000 * 3, review, -1, 3, 4, 1, 2500, 6000, 1],
                                       [now - 86400000, review, -1, 3, 12, 4, 2300, 4000, 1]])
    d.result("suspend", cards=cid(nids[2]))
    conf = d.result("cloneDeckConfigId", name="PkgConf", cloneFrom=1)
    assert d.result("setDeckConfigId", decks=["Pkg::Child"], configId=conf) is True
    return nids


# ---- reading a collection independently ---------------------------------------


def snapshot(d):
    """Everything the comparisons look at, through the API, keyed by the
    first field (ids may differ between collections)."""
    nids = d.result("findNotes", query="deck:*")
    notes = {}
    for n in d.result("notesInfo", notes=nids):
        first = min(n["fields"].values(), key=lambda f: f["order"])["value"]
        model = n["modelName"]
        notes[first] = {"model": model,
                        "fields": {k: v["value"] for k, v in n["fields"].items()},
                        "tags": sorted(n["tags"]), "mod": n["mod"], "ncards": len(n["cards"]),
                        "structure": (d.result("modelFieldNames", modelName=model),
                                      d.result("modelTemplates", modelName=model),
                                      d.result("modelStyling", modelName=model))}
    cids = d.result("findCards", query="deck:*")
    cards = {}
    reviews = d.result("getReviewsOfCards", cards=cids) if cids else {}
    for c in d.result("cardsInfo", cards=cids):
        first = min(c["fields"].values(), key=lambda f: f["order"])["value"]
        revs = sorted((r["id"], r["ease"], r["ivl"], r["lastIvl"], r["factor"], r["time"],
                       r["type"]) for r in reviews.get(str(c["cardId"]), []))
        cards[(first, c["ord"])] = {k: c[k] for k in ("deckName", "type", "queue", "due",
                                                     "interval", "factor", "reps", "lapses",
                                                     "left", "question", "answer")}
        cards[(first, c["ord"])]["reviews"] = revs
    return {"notes": notes, "cards": cards, "decks": sorted(d.result("deckNames")),
            "models": sorted(d.result("modelNames")),
            "media": {n: base64.b64decode(d.result("retrieveMediaFile", filename=n))
                      for n in d.result("getMediaFilesNames")}}


def db_dump(col):
    """Every row of every table of the collection file (read-only, beside
    the running daemon), and the col row; the daemon's WAL is read too."""
    db = sqlite3.connect(f"file:{col}?mode=ro", uri=True)
    db.create_collation("unicase", lambda a, b: (a.casefold() > b.casefold()) -
                        (a.casefold() < b.casefold()))
    try:
        out = {}
        for (t,) in db.execute("select name from sqlite_master where type = 'table'"
                               " and name not like 'sqlite_%' order by name"):
            out[t] = sorted(repr(r) for r in db.execute(f'select * from "{t}"'))
        return out
    finally:
        db.close()


def folder(path):
    """name -> sha1 of every entry, hidden ones included (a leftover
    temporary file counts)."""
    p = Path(path)
    if not p.exists():
        return {}
    return {e.name: hashlib.sha1(e.read_bytes()).hexdigest() if e.is_file() else "dir"
            for e in p.iterdir()}


# ---- export, then import into an empty collection --------------------------------


def read_package(path, tmp):
    """Members, media map, and the collection (a sqlite3 file in tmp)."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        meta = z.read("meta") if "meta" in names else None
        media = json.loads(z.read("media"))
        files = {name: z.read(num) for num, name in media.items()}
        member = "collection.anki21" if "collection.anki21" in names else "collection.anki2"
        colfile = Path(tmp) / f"extracted-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}.db"
        colfile.write_bytes(z.read(member))
        dummy = z.read("collection.anki2")
        infos = {i.filename: i.compress_type for i in z.infolist()}
    return names, meta, files, colfile, dummy, infos


@pytest.mark.parametrize("sched", [True, False], ids=["includeSched", "noSched"])
def test_round_trip(procs, tmp_path, sched):
    a = daemon(procs, tmp_path / "a")
    make_source(a)
    out = tmp_path / "pkg.apkg"
    assert a.result("exportPackage", deck="Pkg", path=str(out), includeSched=sched) is True
    src = snapshot(a)

    # the package, read independently: the legacy layout every Anki reads
    names, meta, files, colfile, dummy, infos = read_package(out, tmp_path)
    assert names[:3] == ["meta", "collection.anki21", "collection.anki2"]
    assert names[-1] == "media" and sorted(names[3:-1]) == ["0", "1", "2"]
    assert meta == b"\x08\x02"
    assert infos["collection.anki21"] == zipfile.ZIP_DEFLATED
    assert files == {n: MEDIA[n] for n in ("pic.png", "snd.mp3", "_pkg.css")}
    c = open_db(colfile)
    assert c.execute("select ver from col").fetchone()[0] == 11
    assert c.execute("select count() from notes").fetchone()[0] == 4
    assert c.execute("select count() from cards").fetchone()[0] == 5
    decks = {v["name"] for v in json.loads(c.execute("select decks from col").fetchone()[0])
             .values()}
    assert {"Pkg", "Pkg::Child", "Pkg::Child::Grand"} <= decks and "Elsewhere" not in decks
    assert c.execute("select count() from revlog").fetchone()[0] == (2 if sched else 0)
    assert c.execute("select count() from cards where queue != 0").fetchone()[0] == \
        (2 if sched else 0)
    assert c.execute("select count() from notes where tags like '%marked%'").fetchone()[0] == \
        (1 if sched else 0)
    dconf = json.loads(c.execute("select dconf from col").fetchone()[0])
    assert any(v["name"] == "PkgConf" for v in dconf.values()) == sched
    c.close()
    (tmp_path / "dummy.db").write_bytes(dummy)
    d = sqlite3.connect(tmp_path / "dummy.db")
    assert d.execute("select flds from notes").fetchone()[0].startswith("Please update")
    d.close()

    b = daemon(procs, tmp_path / "b")
    assert b.result("importPackage", path=str(out)) is True
    dst = snapshot(b)
    exported = {k: v for k, v in src["notes"].items() if not k.startswith("elsewhere")}
    assert set(dst["notes"]) == set(exported)
    for key, n in exported.items():
        m = dst["notes"][key]
        # a notetype named like one of the target's gets a unique name
        assert m["model"] == n["model"] or (n["model"] in STOCK and
                                            m["model"].startswith(n["model"]))
        assert m["structure"] == n["structure"]
        assert m["fields"] == n["fields"] and m["ncards"] == n["ncards"]
        assert m["mod"] == n["mod"]
        want_tags = n["tags"] if sched else [t for t in n["tags"] if t != "marked"]
        assert m["tags"] == want_tags
    want_cards = {k: v for k, v in src["cards"].items() if not k[0].startswith("elsewhere")}
    assert set(dst["cards"]) == set(want_cards)
    for key, c in want_cards.items():
        got = dst["cards"][key]
        assert (got["deckName"], got["question"], got["answer"]) == \
            (c["deckName"], c["question"], c["answer"])
        sched_cols = ("type", "queue", "due", "interval", "factor", "reps", "lapses", "left")
        if sched:
            assert [got[k] for k in sched_cols] == [c[k] for k in sched_cols], key
            assert got["reviews"] == c["reviews"]
        else:
            assert (got["type"], got["queue"], got["interval"], got["reps"]) == (0, 0, 0, 0)
            assert got["reviews"] == []
    assert sum(len(c["reviews"]) for c in dst["cards"].values()) == (2 if sched else 0)
    assert dst["decks"] == ["Default", "Pkg", "Pkg::Child", "Pkg::Child::Grand"]
    assert set(dst["models"]) - STOCK == {n["model"] for n in dst["notes"].values()} - STOCK
    assert len(dst["models"]) == 6 + 2
    assert dst["media"] == {n: MEDIA[n] for n in ("pic.png", "snd.mp3", "_pkg.css")}
    conf = b.result("getDeckConfig", deck="Pkg::Child")
    assert conf["name"] == ("PkgConf" if sched else "Default")

    # the same package again: nothing new, nothing changed
    before = db_dump(b.col)
    assert b.result("importPackage", path=str(out)) is True
    assert snapshot(b) == dst
    after = db_dump(b.col)
    for table in ("notes", "cards", "revlog", "decks", "notetypes", "fields", "templates",
                  "deck_config", "tags", "graves"):
        assert after[table] == before[table], table
    assert sorted(os.listdir(b.media_dir)) == sorted(dst["media"])
    stop_and_check(a)
    stop_and_check(b)


def test_older_note_never_overwrites_newer(procs, tmp_path):
    a = daemon(procs, tmp_path / "a")
    a.result("createDeck", deck="U")
    nx, ny = a.result("addNotes", notes=[basic_note("x", "x0", deck="U"),
                                         basic_note("y", "y0", deck="U")])
    old = tmp_path / "old.apkg"
    assert a.result("exportPackage", deck="U", path=str(old)) is True
    b = daemon(procs, tmp_path / "b")
    assert b.result("importPackage", path=str(old)) is True
    bx = b.result("findNotes", query="Front:x")[0]
    time.sleep(1.1)  # mtimes are seconds
    b.result("updateNoteFields", note={"id": bx, "fields": {"Back": "x edited in b"}})
    time.sleep(1.1)
    a.result("updateNoteFields", note={"id": ny, "fields": {"Back": "y edited in a"}})
    new = tmp_path / "new.apkg"
    assert a.result("exportPackage", deck="U", path=str(new)) is True

    def backs():
        return {n["fields"]["Front"]["value"]: (n["fields"]["Back"]["value"], n["mod"])
                for n in b.result("notesInfo", notes=b.result("findNotes", query="deck:U"))}
    edited = backs()
    # the old package: both of its notes are older -> nothing changes
    assert b.result("importPackage", path=str(old)) is True
    assert backs() == edited
    # the new one: y is newer there and replaces ours, x is older and does not
    assert b.result("importPackage", path=str(new)) is True
    now = backs()
    assert now["x"] == edited["x"] and now["x"][0] == "x edited in b"
    ay = a.result("notesInfo", notes=[ny])[0]
    assert now["y"] == ("y edited in a", ay["mod"])
    assert len(b.result("findNotes", query="deck:*")) == 2
    assert len(b.result("findCards", query="deck:*")) == 2
    stop_and_check(a)
    stop_and_check(b)


def test_parameters_paths_and_errors(procs, tmp_path):
    a = daemon(procs, tmp_path / "a")
    a.result("addNote", note=basic_note("in default"))
    # no such deck: false, nothing written
    assert a.result("exportPackage", deck="Nope", path=str(tmp_path / "n.apkg")) is False
    assert not (tmp_path / "n.apkg").exists()
    # deck names are matched as Anki does (case-insensitively)
    assert a.result("exportPackage", deck="default", path=str(tmp_path / "d.apkg")) is True
    # a relative path is taken from the media folder, both ways
    assert a.result("exportPackage", deck="Default", path="rel.apkg") is True
    assert (a.media_dir / "rel.apkg").is_file()
    missing_dir = tmp_path / "no" / "such" / "x.apkg"
    assert a.error("exportPackage", deck="Default", path=str(missing_dir)) == \
        f"[Errno 2] No such file or directory: '{missing_dir}'"
    assert a.error("exportPackage", deck="Default", path=str(tmp_path)) == \
        f"[Errno 21] Is a directory: '{tmp_path}'"
    assert a.error("exportPackage", deck="Default", path=5) == \
        "'int' object has no attribute 'replace'"
    assert "AnkiConnect.exportPackage() missing 1 required positional argument: 'path'" == \
        a.error("exportPackage", deck="Default")
    assert a.error("importPackage", path=str(tmp_path / "none.apkg")) == \
        f"[Errno 2] No such file or directory: '{tmp_path / 'none.apkg'}'"
    assert a.error("importPackage", path="none.apkg") == \
        "[Errno 2] No such file or directory: 'none.apkg'"
    assert a.error("importPackage", path=str(tmp_path)) == \
        f"[Errno 21] Is a directory: '{tmp_path}'"
    assert a.error("importPackage", path=None) == "'NoneType' object has no attribute 'seek'"
    stop_and_check(a)

    b = daemon(procs, tmp_path / "b")
    shutil.copy(tmp_path / "d.apkg", b.media_dir / "in-media.apkg")
    assert b.result("importPackage", path="in-media.apkg") is True
    n = b.result("notesInfo", notes=b.result("findNotes", query="deck:Default"))
    assert [x["fields"]["Front"]["value"] for x in n] == ["in default"]
    # the deck-1 notes land in the target's Default; no second Default
    assert b.result("deckNames") == ["Default"]
    # through multi, as clients batch it
    r = b.result("multi", actions=[{"action": "importPackage",
                                    "params": {"path": "in-media.apkg"}},
                                   {"action": "exportPackage",
                                    "params": {"deck": "Default",
                                               "path": str(tmp_path / "m.apkg")}}])
    assert r == [True, True]
    assert len(b.result("findNotes", query="deck:*")) == 1
    stop_and_check(b)


# ---- every fixture package ---------------------------------------------------------


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def latest_media_names(pb):
    """MediaEntries { repeated MediaEntry { string name = 1; ... } = 1 }"""
    out, i = [], 0
    while i < len(pb):
        key, i = varint(pb, i)
        n, i = varint(pb, i)
        sub, i = pb[i:i + n], i + n
        j, name = 0, None
        while j < len(sub):
            k, j = varint(sub, j)
            if k & 7 == 2:
                ln, j = varint(sub, j)
                if k >> 3 == 1:
                    name = sub[j:j + ln].decode()
                j += ln
            else:
                _, j = varint(sub, j)
        out.append(name)
    return out


def expectation(pkg, tmp):
    """Notes, cards, review log, decks and media the package's own
    collection says an import into an empty collection must give."""
    with zipfile.ZipFile(pkg) as z:
        names = z.namelist()
        version = z.read("meta")[1] if "meta" in names else (
            2 if "collection.anki21" in names else 1)
        member = {1: "collection.anki2", 2: "collection.anki21", 3: "collection.anki21b"}[version]
        raw = z.read(member)
        if version == 3:
            raw = unzstd(raw)
            entries = latest_media_names(unzstd(z.read("media")))
            media = {name: unzstd(z.read(str(i))) for i, name in enumerate(entries)}
        else:
            m = json.loads(z.read("media"))
            media = {name: z.read(num) for num, name in m.items()}
    db_path = Path(tmp) / f"expect-{Path(pkg).name}.db"
    db_path.write_bytes(raw)
    db = open_db(db_path)
    try:
        notes = db.execute("select count() from notes").fetchone()[0]
        cards = db.execute("select count() from cards where nid in (select id from notes)"
                           ).fetchone()[0]
        revlog = db.execute("select count() from revlog where cid in"
                            " (select id from cards where nid in (select id from notes))"
                            ).fetchone()[0]
        states = sorted(db.execute("select type, queue, ivl, reps, lapses from cards"
                                   " where odid = 0").fetchall())
        dids = {r[0] for r in db.execute("select did from cards union select odid from cards"
                                         " where odid != 0")}
        ver = db.execute("select ver from col").fetchone()[0]
        if ver < 15:
            by_id = {int(k): v["name"] for k, v in
                     json.loads(db.execute("select decks from col").fetchone()[0]).items()}
        else:
            by_id = {i: n.replace("\x1f", "::") for i, n in
                     db.execute("select id, name from decks")}
        decks = {"Default"}
        for did in dids:
            parts = by_id[did].split("::")
            decks |= {"::".join(parts[:k + 1]) for k in range(len(parts))}
        flds = "\n".join(f for (f,) in db.execute("select flds from notes"))
    finally:
        db.close()
    # a media file comes along when a note refers to it, or when its name
    # marks it as a notetype's file (_*, latex-*)
    used = {n: data for n, data in media.items()
            if n in flds or n.startswith("_") or n.startswith("latex-")}
    return {"notes": notes, "cards": cards, "revlog": revlog, "states": states,
            "decks": decks, "media": used}


FIXTURES = sorted(p.name for p in
                  (Path(os.environ.get("ANKIHOST_SHARED", ROOT.parent / "shared")) /
                   "fixtures").glob("*") if p.suffix in (".apkg", ".colpkg")) or ["media.apkg"]


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_package(procs, tmp_path, name):
    src = fixture_path(name)
    pkg = tmp_path / name
    shutil.copy(src, pkg)  # fixtures are read-only: never open them in place
    want = expectation(pkg, tmp_path)
    d = daemon(procs, tmp_path / "d")
    assert d.result("importPackage", path=str(pkg)) is True
    nids = d.result("findNotes", query="deck:*")
    cids = d.result("findCards", query="deck:*")
    assert (len(nids), len(cids)) == (want["notes"], want["cards"])
    assert set(d.result("deckNames")) == want["decks"]
    got_media = {n: base64.b64decode(d.result("retrieveMediaFile", filename=n))
                 for n in d.result("getMediaFilesNames")}
    assert got_media == want["media"]
    revs = d.result("getReviewsOfCards", cards=cids) if cids else {}
    assert sum(len(v) for v in revs.values()) == want["revlog"]
    info = d.result("cardsInfo", cards=cids) if cids else []
    assert sorted((c["type"], c["queue"], c["interval"], c["reps"], c["lapses"])
                  for c in info) == want["states"]
    # twice: nothing is duplicated
    models = d.result("modelNames")
    assert d.result("importPackage", path=str(pkg)) is True
    assert len(d.result("findNotes", query="deck:*")) == want["notes"]
    assert len(d.result("findCards", query="deck:*")) == want["cards"]
    assert d.result("modelNames") == models
    assert set(d.result("getMediaFilesNames")) == set(want["media"])
    stop_and_check(d)


# ---- hostile packages -----------------------------------------------------------


def raw_zip(path, members):
    """A zip written by hand, so that headers can lie: members are
    (name, stored bytes, method, crc, claimed uncompressed size)."""
    out, central = bytearray(), bytearray()
    for name, data, method, crc, usize in members:
        off = len(out)
        nb = name.encode()
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data),
                           usize, len(nb), 0) + nb + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21,
                               crc, len(data), usize, len(nb), 0, 0, 0, 0, 0, off) + nb
    cd = len(out)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                                 len(central), cd, 0)
    Path(path).write_bytes(bytes(out))


def rezip(src, dst, replace=None, add=None, drop=()):
    """Copy a package, replacing / adding / dropping members."""
    replace = replace or {}
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w") as zo:
        for info in zi.infolist():
            if info.filename in drop:
                continue
            data = replace.get(info.filename, None)
            zo.writestr(info.filename, zi.read(info.filename) if data is None else data,
                        compress_type=zipfile.ZIP_STORED)
        for name, data in (add or {}).items():
            zo.writestr(name, data)


def enc_varint(v):
    out = bytearray()
    while True:
        if v < 0x80:
            return bytes(out + bytes([v]))
        out.append(v & 0x7F | 0x80)
        v >>= 7


def deflate_zeros(mib):
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    return b"".join(co.compress(chunk) for _ in range(mib)) + co.flush()


def hostile_packages(base, latest, tmp):
    """(file, words the error must contain) for each attack.  base is a
    legacy package of ours whose notes refer to pic.png; latest one of
    Anki's (no media)."""
    t = Path(tmp)
    out = []

    def mk(name):
        return str(t / name)

    with zipfile.ZipFile(base) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
        pic = next(k for k, v in json.loads(z.read("media")).items() if v == "pic.png")
    # zip bombs: a 200 MiB media file in 200 KiB, once with honest headers
    # (refused unread), once with headers claiming 1000 bytes (stopped while
    # inflating at the 100 MiB media limit)
    bomb = deflate_zeros(200)
    p = mk("bomb-honest.apkg")
    raw_zip(p, [(n, bomb, 8, 0, 200 << 20) if n == pic else
                (n, d, 0, zlib.crc32(d), len(d)) for n, d in members])
    out.append((p, "claims"))
    p = mk("bomb-lying.apkg")
    raw_zip(p, [(n, bomb, 8, 0x12345678, 1000) if n == pic else
                (n, d, 0, zlib.crc32(d), len(d)) for n, d in members])
    out.append((p, "larger than 104857600 bytes"))
    # the collection member as a lying bomb: damaged, never a collection
    p = mk("bomb-collection.apkg")
    raw_zip(p, [(n, deflate_zeros(64), 8, 0x12345678, 4096) if n == "collection.anki21" else
                (n, d, 0, zlib.crc32(d), len(d)) for n, d in members])
    out.append((p, "collection.anki21"))
    # names that climb out of the folder
    p = mk("dotdot.apkg")
    rezip(base, p, add={"../escape.txt": b"x"})
    out.append((p, "not a plain file name"))
    p = mk("dotdot-media.apkg")
    raw_zip(p, [("../" + n if n == pic else n, d, 0, zlib.crc32(d), len(d))
                for n, d in members])
    out.append((p, "not a plain file name"))
    p = mk("abs.apkg")
    rezip(base, p, add={"/tmp/escape.txt": b"x"})
    out.append((p, "not a plain file name"))
    # media maps pointing outside the folder
    for i, m in enumerate(({pic: "../../escape.png"}, {pic: "/tmp/escape.png"}, {pic: ".."},
                           {"../" + pic: "pic.png"})):
        p = mk(f"map{i}.apkg")
        rezip(base, p, replace={"media": json.dumps(m).encode()})
        out.append((p, "media map"))
    # a collection member that is not SQLite
    p = mk("notsqlite.apkg")
    rezip(base, p, replace={"collection.anki21": b"this is no database " * 400})
    out.append((p, "not a SQLite database"))
    # latest format: truncated zstd collection, truncated zstd media file
    with zipfile.ZipFile(latest) as z:
        col = z.read("collection.anki21b")
    p = mk("trunc-col.apkg")
    rezip(latest, p, replace={"collection.anki21b": col[:len(col) // 2]})
    out.append((p, "zstd input ends inside the frame"))
    data = b"static file of a notetype " * 100
    frame = zstandard.ZstdCompressor().compress(data)
    name = b"_tr.dat"
    entry = (b"\x0a" + enc_varint(len(name)) + name + b"\x10" + enc_varint(len(data)) +
             b"\x1a\x14" + hashlib.sha1(data).digest())
    pb = b"\x0a" + enc_varint(len(entry)) + entry
    p = mk("trunc-media.apkg")
    rezip(latest, p, replace={"media": zstandard.ZstdCompressor().compress(pb)},
          add={"0": frame[:-5]})
    out.append((p, "_tr.dat"))
    # not a zip at all
    p = mk("plain.apkg")
    Path(p).write_bytes(b"PK but not really a zip archive" * 10)
    out.append((p, "not a valid package"))
    return out


def test_hostile_packages_change_nothing(procs, tmp_path):
    a = daemon(procs, tmp_path / "a")
    make_source(a)
    base = tmp_path / "base.apkg"
    assert a.result("exportPackage", deck="Pkg", path=str(base), includeSched=True) is True
    stop_and_check(a)
    # the target already holds content: notes, decks, a notetype, media
    b = daemon(procs, tmp_path / "b")
    shutil.copy(fixture_path("media.apkg"), tmp_path / "media.apkg")
    assert b.result("importPackage", path=str(tmp_path / "media.apkg")) is True
    b.result("createDeck", deck="Local::Sub")
    b.result("addNote", note=basic_note("local note", deck="Local::Sub"))
    b.result("storeMediaFile", filename="local.png", data=b64(b"local bytes"))
    latest = tmp_path / "latest.apkg"
    shutil.copy(fixture_path("latest-20notes.apkg"), latest)
    hdir = tmp_path / "h"
    hdir.mkdir()
    attacks = hostile_packages(base, latest, hdir)
    outside_before = (set(os.listdir(tmp_path)), set(os.listdir(hdir)))
    before, media_before, snap = db_dump(b.col), folder(b.media_dir), snapshot(b)
    for path, words in attacks:
        err = b.error("importPackage", path=path)
        assert words in err, (path, err)
        assert db_dump(b.col) == before, path
        assert folder(b.media_dir) == media_before, path
    assert snapshot(b) == snap
    assert (set(os.listdir(tmp_path)), set(os.listdir(hdir))) == outside_before
    assert not (tmp_path / "escape.txt").exists() and not Path("/tmp/escape.txt").exists()
    assert not (tmp_path / "escape.png").exists() and not Path("/tmp/escape.png").exists()
    # and a good package still imports afterwards
    assert b.result("importPackage", path=str(latest)) is True
    assert len(b.result("findNotes", query="deck:*")) == len(snap["notes"]) + 20
    stop_and_check(b)
