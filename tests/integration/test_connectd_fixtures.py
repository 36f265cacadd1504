"""anki-connectd on real collections written by Anki (bare files and the
collections inside packages, schema 11 to 18): reads agree with the file,
writes of every kind leave a collection that passes SQLite's integrity
check and anki-col check, with every note's cards right."""
import zipfile

import pytest
import zstandard

from conftest import fixture_path
from connectd_client import Daemon, check_collection, open_db

FIXTURES = ["new-empty-v18.anki2", "v18-two-decks-revlog.anki2", "schema11-mediacheck.anki2",
            "schema16-empty.anki2", "latest-459notes-revlog.apkg", "latest-20notes.apkg",
            "legacy2-fsrs-revlog-media.apkg"]


def extract(name, dest):
    src = fixture_path(name)
    if not name.endswith("pkg"):
        dest.write_bytes(src.read_bytes())
        return
    with zipfile.ZipFile(src) as z:
        names = set(z.namelist())
        if "collection.anki21b" in names:
            data = zstandard.ZstdDecompressor().decompressobj().decompress(
                z.read("collection.anki21b"))
        elif "collection.anki21" in names:
            data = z.read("collection.anki21")
        else:
            data = z.read("collection.anki2")
    dest.write_bytes(data)


def sample_fields(fields, cloze):
    if cloze:
        return {fields[0]: "{{c1::image-occlusion:rect:left=.1:top=.1:width=.2:height=.2}} "
                           "{{c2::two}}"}
    return {f: f"value of {f} 日本語" for f in fields}


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture(procs, tmp_path, name):
    col = tmp_path / "p" / "collection.anki2"
    col.parent.mkdir()
    extract(name, col)
    d = Daemon(procs, tmp_path, col=col)
    # reads agree with the file
    notes = d.result("findNotes", query="")
    db = open_db(col)
    assert sorted(notes) == sorted(i for (i,) in db.execute("select id from notes"))
    flds = dict(db.execute("select id, flds from notes"))
    db.close()
    infos = d.result("notesInfo", notes=notes)
    for n in infos:
        assert [v["value"] for v in sorted(n["fields"].values(), key=lambda v: v["order"])] == \
            flds[n["noteId"]].split("\x1f")
    cards = d.result("findCards", query="")
    for c in d.result("cardsInfo", cards=cards[:200]):
        assert c["question"].startswith("<style>")
    # writes of every kind
    deck = d.result("createDeck", deck="anki-connectd::test")
    models = d.result("modelNames")
    added = []
    for m in models:
        fields = d.result("modelFieldNames", modelName=m)
        cloze = d.result("findModelsByName", modelNames=[m])[0]["type"] == 1
        r = d.call("addNote", note={"deckName": "anki-connectd::test", "modelName": m,
                                    "fields": sample_fields(fields, cloze), "tags": ["t", m[:3]]})
        if r["error"] is None:
            added.append(r["result"])
        else:  # only refusals Anki would make too
            assert r["error"].startswith("cannot create note"), (m, r["error"])
    assert added
    if notes:
        first = infos[0]
        fname = min(first["fields"], key=lambda f: first["fields"][f]["order"])
        d.result("updateNoteFields", note={"id": first["noteId"],
                                           "fields": {fname: "changed <b>text</b>"}})
        d.result("addTags", notes=notes[:50], tags="bulk::tag")
        d.result("forgetCards", cards=cards[:3])
        d.result("suspend", cards=cards[3:6])
        d.result("changeDeck", cards=cards[6:9], deck="anki-connectd::test")
    basic_like = [m for m in models
                  if d.result("findModelsByName", modelNames=[m])[0]["type"] == 0]
    if basic_like:
        d.result("modelFieldAdd", modelName=basic_like[0], fieldName="Added by test", index=0)
        d.result("modelFieldRename", modelName=basic_like[0], oldFieldName="Added by test",
                 newFieldName="Renamed")
    d.result("updateModelStyling", model={"name": models[0], "css": ".card{}"})
    d.result("deleteNotes", notes=added[:1])
    d.result("deleteDecks", decks=["anki-connectd::test"], cardsToo=True)
    d.result("clearUnusedTags")
    assert deck not in d.result("deckNamesAndIds").values()
    assert d.stop() == 0
    check_collection(col)
