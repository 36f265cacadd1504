"""anki-col export-apkg / import-apkg / inspect-apkg, with the packages we
write read back by independent code (Python's zipfile, zstandard, sqlite3
and a hand-written protobuf walk): members and encodings as Anki writes
them (collection-format.md §9.1), the latest media map's sizes and SHA-1s,
and the legacy JSON map.  Fixture packages import through the CLI with
the expected counts, and a hostile package is refused with the
collection left unchanged."""
import hashlib
import json
import sqlite3
import subprocess
import zipfile

import zstandard

from conftest import bin_path, fixture_path


def anki_col(*args, check=True):
    r = subprocess.run([bin_path("anki-col"), *map(str, args)], capture_output=True, text=True,
                       timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"anki-col {args} exited {r.returncode}: {r.stderr}{r.stdout}")
    return r


def kv(out):
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines())}


def unzstd(data):
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def media_entries(pb):
    """MediaEntries { repeated MediaEntry entries = 1 } with
    MediaEntry { string name = 1; uint32 size = 2; bytes sha1 = 3 }."""
    out, i = [], 0
    while i < len(pb):
        key, i = varint(pb, i)
        assert key == 0x0A
        n, i = varint(pb, i)
        sub, i = pb[i:i + n], i + n
        ent, j = {"size": 0}, 0
        while j < len(sub):
            k, j = varint(sub, j)
            if k & 7 == 2:
                ln, j = varint(sub, j)
                val, j = sub[j:j + ln], j + ln
                ent["name" if k >> 3 == 1 else "sha1"] = val
            else:
                ent["size"], j = varint(sub, j)
        ent["name"] = ent["name"].decode()
        out.append(ent)
    return out


def collection_with(tmp_path, fixture, sched=True):
    col = tmp_path / "col.anki2"
    anki_col("create", col)
    args = ["import-apkg", col, fixture_path(fixture)]
    if sched:
        args.append("--scheduling")
    anki_col(*args)
    return col


def test_export_latest_read_independently(tmp_path):
    col = collection_with(tmp_path, "legacy2-fsrs-revlog-media.apkg")
    out = tmp_path / "out.apkg"
    r = kv(anki_col("export-apkg", col, out, "--deck", "Test - Mixed Types", "--scheduling").stdout)
    assert r["notes"] == "8" and r["cards"] == "13" and r["revlog"] == "26" and r["media"] == "1"
    with zipfile.ZipFile(out) as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == ["meta", "collection.anki21b", "collection.anki2",
                                               "0", "media"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
        assert z.read("meta") == b"\x08\x03"
        db = tmp_path / "c.db"
        db.write_bytes(unzstd(z.read("collection.anki21b")))
        dummy = tmp_path / "d.db"
        dummy.write_bytes(z.read("collection.anki2"))
        entries = media_entries(unzstd(z.read("media")))
        assert len(entries) == 1
        data = unzstd(z.read("0"))
        assert entries[0]["name"] == "paste-ab21b25dd3e4ba4af2a1d8bdfa4c47455e53abac.jpg"
        assert entries[0]["size"] == len(data) == 10701
        assert entries[0]["sha1"] == hashlib.sha1(data).digest()
        assert hashlib.sha1(data).hexdigest() == "ab21b25dd3e4ba4af2a1d8bdfa4c47455e53abac"
    c = sqlite3.connect(db)
    assert c.execute("select ver from col").fetchone()[0] == 18
    assert c.execute("select count(*) from notes").fetchone()[0] == 8
    assert c.execute("select count(*) from cards where type = 2 and queue = 2").fetchone()[0] == 13
    assert c.execute("select count(*) from revlog").fetchone()[0] == 26
    # the stock notetypes of the new collection are gone, fields and all
    assert c.execute("select count(*) from fields where ntid not in"
                     " (select id from notetypes)").fetchone()[0] == 0
    c.close()
    d = sqlite3.connect(dummy)
    assert d.execute("select ver from col").fetchone()[0] == 11
    assert d.execute("pragma page_size").fetchone()[0] == 512
    assert d.execute("select flds from notes").fetchone()[0].startswith("Please update")
    d.close()


def test_export_legacy_read_independently(tmp_path):
    col = collection_with(tmp_path, "legacy2-fsrs-revlog-media.apkg", sched=False)
    out = tmp_path / "out.apkg"
    anki_col("export-apkg", col, out, "--legacy")
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert names == ["meta", "collection.anki21", "collection.anki2", "0", "media"]
        assert z.getinfo("collection.anki21").compress_type == zipfile.ZIP_DEFLATED
        assert z.getinfo("0").compress_type == zipfile.ZIP_STORED
        assert z.read("meta") == b"\x08\x02"
        m = json.loads(z.read("media"))
        assert m == {"0": "paste-ab21b25dd3e4ba4af2a1d8bdfa4c47455e53abac.jpg"}
        assert hashlib.sha1(z.read("0")).hexdigest() == \
            "ab21b25dd3e4ba4af2a1d8bdfa4c47455e53abac"
        db = tmp_path / "c.db"
        db.write_bytes(z.read("collection.anki21"))
    c = sqlite3.connect(db)
    assert c.execute("select ver from col").fetchone()[0] == 11
    assert c.execute("select count(*) from notes").fetchone()[0] == 8
    models = json.loads(c.execute("select models from col").fetchone()[0])
    assert len(models) == 6
    # exported without scheduling: all new, no review log
    assert c.execute("select count(*) from cards where type != 0").fetchone()[0] == 0
    assert c.execute("select count(*) from revlog").fetchone()[0] == 0
    c.close()
    r = kv(anki_col("inspect-apkg", out).stdout)
    assert r == {"version": "2", "collection": "collection.anki21",
                 "collection_bytes": str(db.stat().st_size), "members": "5", "media": "1"}


def test_fixture_imports_through_cli(tmp_path):
    expect = {"latest-20notes.apkg": ("3", "20", "20"),
              "latest-459notes-revlog.apkg": ("3", "459", "459"),
              "legacy2-fsrs-revlog-media.apkg": ("2", "8", "13"),
              "media.apkg": ("1", "1", "1")}
    for i, (name, (ver, notes, cards)) in enumerate(expect.items()):
        col = tmp_path / f"c{i}.anki2"
        anki_col("create", col)
        r = kv(anki_col("import-apkg", col, fixture_path(name)).stdout)
        assert (r["version"], r["notes_added"], r["cards_added"]) == (ver, notes, cards)
        again = kv(anki_col("import-apkg", col, fixture_path(name)).stdout)
        assert again["notes_added"] == "0" and again["notes_duplicate"] == notes
        info = kv(anki_col("info", col).stdout)
        assert info["notes"] == notes and info["cards"] == cards
        assert anki_col("check", col).returncode == 0


def test_hostile_package_refused(tmp_path):
    col = tmp_path / "col.anki2"
    anki_col("create", col)
    before = anki_col("info", col).stdout
    bad = tmp_path / "bad.apkg"
    with zipfile.ZipFile(fixture_path("media.apkg")) as src, zipfile.ZipFile(bad, "w") as dst:
        for i in src.infolist():
            dst.writestr(i.filename, src.read(i.filename))
        dst.writestr("../escape.txt", b"x")
    r = anki_col("import-apkg", col, bad, check=False)
    assert r.returncode == 2
    assert "not a plain file name" in r.stderr
    assert not (tmp_path / "escape.txt").exists()
    assert not (tmp_path / "col.media").exists() or not any((tmp_path / "col.media").iterdir())
    after = anki_col("info", col).stdout
    strip = lambda s: [x for x in s.splitlines() if not x.startswith("modified")]
    assert strip(before) == strip(after)
