"""anki-col on real files: every fixture collection (bare and inside .apkg /
.colpkg packages) checks clean, dumps, survives downgrade + upgrade with
its notes, cards and review log unchanged, and broken files are refused
without being modified."""
import hashlib
import json
import sqlite3
import subprocess
import zipfile

import pytest
import zstandard

from conftest import bin_path, fixture_path, unicase_ext

PACKAGES = ["latest-20notes.apkg", "latest-459notes-revlog.apkg", "latest-empty-backup.colpkg",
            "legacy2-fsrs-revlog-media.apkg", "legacy2-empty.colpkg", "media.apkg",
            "diffmodels2-1.apkg", "diffmodeltemplates-1.apkg", "update1.apkg"]
BARE = ["new-empty-v18.anki2", "schema11-mediacheck.anki2", "schema16-empty.anki2",
        "v18-two-decks-revlog.anki2"]


def anki_col(*args, check=True):
    r = subprocess.run([bin_path("anki-col"), *map(str, args)], capture_output=True, text=True,
                       timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"anki-col {args} exited {r.returncode}: {r.stderr}{r.stdout}")
    return r


def extract_collection(pkg, dest):
    """The real collection member of a package (§9.1): anki21b (zstd) >
    anki21 > anki2."""
    with zipfile.ZipFile(pkg) as z:
        names = set(z.namelist())
        if "collection.anki21b" in names:
            data = zstandard.ZstdDecompressor().decompressobj().decompress(
                z.read("collection.anki21b"))
        elif "collection.anki21" in names:
            data = z.read("collection.anki21")
        else:
            data = z.read("collection.anki2")
    dest.write_bytes(data)
    return dest


def collection_file(name, tmp_path):
    src = fixture_path(name)
    dst = tmp_path / (name + ".anki2")
    if name.endswith("pkg"):
        return extract_collection(src, dst)
    dst.write_bytes(src.read_bytes())
    return dst


def sqlite3_integrity(path):
    """The stock sqlite3 shell's verdict, with our collation extension."""
    r = subprocess.run(["sqlite3", "-cmd", f".load {unicase_ext()}", str(path),
                        "pragma integrity_check"], capture_output=True, text=True, timeout=60)
    return r.stdout.strip() + r.stderr.strip()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", BARE + PACKAGES)
def test_check_and_dump_do_not_change_the_file(name, tmp_path):
    col = collection_file(name, tmp_path)
    before = digest(col)
    r = anki_col("check", col)
    assert r.stdout.strip().endswith("0 problems"), r.stdout
    dump = json.loads(anki_col("dump", col).stdout)
    assert digest(col) == before
    db = sqlite3.connect(f"file:{col}?immutable=1", uri=True)
    assert len(dump["notes"]) == db.execute("select count(*) from notes").fetchone()[0]
    assert len(dump["cards"]) == db.execute("select count(*) from cards").fetchone()[0]
    assert len(dump["revlog"]) == db.execute("select count(*) from revlog").fetchone()[0]
    db.close()
    assert dump["col"]["ver"] == 18
    assert "1" in dump["decks"]
    for ntid, nt in dump["notetypes"].items():
        assert str(nt["id"]) == ntid
        assert len(nt["flds"]) >= 1


@pytest.mark.parametrize("name", BARE + PACKAGES)
def test_downgrade_upgrade_keeps_data(name, tmp_path):
    col = collection_file(name, tmp_path)
    anki_col("upgrade", col)
    first = json.loads(anki_col("dump", col).stdout)
    anki_col("downgrade", col)
    info = anki_col("info", col).stdout
    assert "schema: 11" in info
    db = sqlite3.connect(col)
    ver, models, journal = db.execute("select ver, models, (select * from pragma_journal_mode) "
                                      "from col").fetchone()
    db.close()
    assert ver == 11 and journal == "delete"
    assert set(json.loads(models)) == set(first["notetypes"])
    assert sqlite3_integrity(col) == "ok"
    anki_col("upgrade", col)
    assert sqlite3_integrity(col) == "ok"
    second = json.loads(anki_col("dump", col).stdout)
    for key in ("notes", "cards", "revlog", "graves", "tags", "config", "decks", "notetypes"):
        assert first[key] == second[key], key
    # Presets pass through Anki's read-time range fixes on downgrade (§4.3).
    assert set(first["deckConfigs"]) == set(second["deckConfigs"])


def test_create_info_check(tmp_path):
    col = tmp_path / "new.anki2"
    anki_col("create", col)
    assert anki_col("create", col, check=False).returncode == 2
    info = anki_col("info", col).stdout
    assert "schema: 18" in info and "notetypes: 6" in info and "decks: 1" in info
    assert anki_col("check", col).stdout.strip().endswith("0 problems")
    assert sqlite3_integrity(col) == "ok"


def test_check_reports_problems(tmp_path):
    col = collection_file("v18-two-decks-revlog.anki2", tmp_path)
    db = sqlite3.connect(col)
    db.create_collation("unicase", lambda a, b: (a.casefold() > b.casefold()) -
                        (a.casefold() < b.casefold()))
    nid = db.execute("select id from notes limit 1").fetchone()[0]
    db.execute("update notes set flds = flds || char(31) || 'extra' where id = ?", (nid,))
    db.execute("update cards set factor = -1 where id = (select max(id) from cards)")
    db.execute("insert into cards select id + 1000000, 42, did, ord, mod, usn, type, queue, due, "
               "ivl, factor, reps, lapses, left, odue, odid, flags, data from cards limit 1")
    db.commit()
    db.close()
    before = digest(col)
    r = anki_col("check", col, check=False)
    assert r.returncode == 1
    out = r.stdout
    assert f"note {nid} has 3 fields; its notetype has 2" in out
    assert "cannot read" in out
    assert "its note 42 does not exist" in out
    assert digest(col) == before


def test_refuses_bad_files(tmp_path):
    alpha = tmp_path / "alpha.anki2"
    alpha.write_bytes(fixture_path("schema1-alpha.anki2").read_bytes())
    before = digest(alpha)
    for cmd in ("info", "check", "upgrade", "dump"):
        r = anki_col(cmd, alpha, check=False)
        assert r.returncode == 2
        assert "too old" in r.stderr
    assert digest(alpha) == before
    junk = tmp_path / "junk.anki2"
    junk.write_bytes(bytes(range(256)) * 64)
    r = anki_col("upgrade", junk, check=False)
    assert r.returncode == 2 and r.stderr
    assert anki_col("info", tmp_path / "missing", check=False).returncode == 2
    assert anki_col("bogus", junk, check=False).returncode == 2
