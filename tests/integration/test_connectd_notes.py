"""anki-connectd note and tag actions (ankiconnect.md §3.7, traps of §7)."""
import pytest

from connectd_client import Daemon, basic_note, check_collection, open_db


@pytest.fixture
def d(procs, tmp_path):
    dm = Daemon(procs, tmp_path)
    yield dm
    if dm.proc.p.poll() is None:
        assert dm.stop() == 0
        check_collection(dm.col)


def test_add_and_describe(d):
    nid = d.result("addNote", note=basic_note("dog", "<b>Hund</b>", tags=["b", "a", "A"]))
    assert isinstance(nid, int)
    info = d.result("notesInfo", notes=[nid, 12345])
    assert info[1] == {}
    n = info[0]
    assert n["noteId"] == nid and n["modelName"] == "Basic" and n["profile"] == "User 1"
    assert n["tags"] == ["a", "b"]  # canonical: de-duplicated case-insensitively, sorted
    assert n["fields"] == {"Front": {"value": "dog", "order": 0},
                           "Back": {"value": "<b>Hund</b>", "order": 1}}
    assert len(n["cards"]) == 1 and isinstance(n["mod"], int)
    assert d.result("notesInfo", query="dog") == [n]
    assert d.error("notesInfo") == 'Must provide either "notes" or a "query"'
    assert d.result("notesModTime", notes=[nid, 1]) == [{"noteId": nid, "mod": n["mod"]}, {}]
    assert d.result("getNoteTags", note=nid) == ["a", "b"]
    assert d.error("getNoteTags", note=1) == "Note was not found: 1"


def test_create_note_errors_in_order(d):
    assert d.error("addNote", note={"deckName": "Default"}) == "'modelName'"
    assert d.error("addNote", note={"modelName": "Nope", "deckName": "x"}) == \
        "model was not found: Nope"
    assert d.error("addNote", note={"modelName": "basic"}) == "'deckName'"
    assert d.error("addNote", note={"modelName": "basic", "deckName": "Nope"}) == \
        "deck was not found: Nope"
    assert d.error("addNote", note={"modelName": "basic", "deckName": "default"}) == "'fields'"
    assert d.error("addNote", note=basic_note("x", options={"allowDuplicate": "yes"})) == \
        'option parameter "allowDuplicate" must be boolean'
    assert d.error("addNote", note=basic_note("x", options={
        "duplicateScopeOptions": {"checkChildren": 1}})) == \
        'option parameter "duplicateScopeOptions.checkChildren" must be boolean'
    assert d.error("addNote", note=basic_note("x", options={
        "duplicateScopeOptions": {"checkAllModels": "no"}})) == \
        'option parameter "duplicateScopeOptions.checkAllModels" must be boolean'
    assert d.error("addNote", note=basic_note("")) == "cannot create note because it is empty"
    assert d.error("addNote", note=basic_note("<br> &nbsp;")) == \
        "cannot create note because it is empty"
    assert d.error("addNote", note=basic_note("{{c1::x}}")) == \
        "cannot create note for unknown reason"
    assert d.error("addNote", note=5) == "'int' object is not subscriptable"
    # nothing was added
    assert d.result("findNotes", query="") == []


def test_case_insensitive_lookups_and_fields(d):
    nid = d.result("addNote", note={"deckName": "default", "modelName": "BASIC",
                                    "fields": {"front": "one", "BACK": "two", "Other": "x"}})
    f = d.result("notesInfo", notes=[nid])[0]["fields"]
    assert f["Front"]["value"] == "one" and f["Back"]["value"] == "two"
    # control characters are dropped, text is NFC
    nid = d.result("addNote", note=basic_note("e\u0301\x01\x1fz"))
    assert d.result("notesInfo", notes=[nid])[0]["fields"]["Front"]["value"] == "\u00e9z"


def test_duplicates(d):
    d.result("createDeck", deck="A::B")
    d.result("createDeck", deck="C")
    d.result("addNote", note=basic_note("<b>dog</b>", deck="A::B"))
    dup = "cannot create note because it is a duplicate"
    assert d.error("addNote", note=basic_note("dog")) == dup
    # other note type: not a duplicate by default
    assert isinstance(d.result("canAddNotes", notes=[basic_note(
        "dog", model="Basic (and reversed card)")])[0], bool)
    assert d.result("canAddNotes", notes=[
        basic_note("dog", model="Basic (and reversed card)"),
        basic_note("dog", model="Basic (and reversed card)",
                   options={"duplicateScopeOptions": {"checkAllModels": True}}),
        basic_note("dog", deck="C", options={"duplicateScope": "deck"}),
        basic_note("dog", deck="A", options={"duplicateScope": "deck"}),
        basic_note("dog", deck="A", options={"duplicateScope": "deck",
                                             "duplicateScopeOptions": {"checkChildren": True}}),
        basic_note("dog", deck="C", options={"duplicateScope": "deck",
                                             "duplicateScopeOptions": {"deckName": "A::B"}}),
        basic_note("dog", deck="C", options={"duplicateScope": "deck",
                                             "duplicateScopeOptions": {"deckName": "Nope"}}),
        basic_note("dog", options={"allowDuplicate": True}),
    ]) == [True, False, True, True, False, False, True, True]
    detail = d.result("canAddNotesWithErrorDetail", notes=[basic_note("dog"),
                                                           basic_note("cat"), {"x": 1}])
    assert detail == [{"canAdd": False, "error": dup}, {"canAdd": True},
                      {"canAdd": False, "error": "'modelName'"}]
    assert d.result("canAddNote", note=basic_note("dog")) is False
    assert d.result("canAddNoteWithErrorDetail", note=basic_note("cow")) == {"canAdd": True}
    # the scoped path does not strip for the empty test but needs text
    assert d.error("addNote", note=basic_note(" ", options={"duplicateScope": "deck"})) == \
        "cannot create note because it is empty"
    nid = d.result("addNote", note=basic_note("dog", options={"allowDuplicate": True}))
    assert isinstance(nid, int)


def test_add_notes_all_or_nothing(d):
    ids = d.result("addNotes", notes=[basic_note("n1"), basic_note("n2")])
    assert len(ids) == 2
    err = d.error("addNotes", notes=[basic_note("n3"), basic_note("n1"), basic_note("")])
    assert err == ("['cannot create note because it is a duplicate', "
                   "'cannot create note because it is empty']")
    assert d.result("findNotes", query="n3") == []
    assert sorted(d.result("findNotes", query="")) == sorted(ids)


def test_cards_generated_per_template_and_cloze(d):
    nid = d.result("addNote", note={"deckName": "Default", "modelName": "Basic (and reversed card)",
                                    "fields": {"Front": "f", "Back": "b"}})
    assert len(d.result("notesInfo", notes=[nid])[0]["cards"]) == 2
    nid = d.result("addNote", note={"deckName": "Default",
                                    "modelName": "Basic (optional reversed card)",
                                    "fields": {"Front": "f2", "Back": "b"}})
    assert len(d.result("notesInfo", notes=[nid])[0]["cards"]) == 1
    d.result("updateNoteFields", note={"id": nid, "fields": {"Add Reverse": "y"}})
    assert len(d.result("notesInfo", notes=[nid])[0]["cards"]) == 2
    nid = d.result("addNote", note={"deckName": "Default", "modelName": "Cloze",
                                    "fields": {"Text": "{{c1::a}} {{c3::b}} {{c3::c}}"}})
    cards = d.result("cardsInfo", cards=d.result("notesInfo", notes=[nid])[0]["cards"])
    assert sorted(c["ord"] for c in cards) == [0, 2]
    assert d.error("addNote", note={"deckName": "Default", "modelName": "Cloze",
                                    "fields": {"Text": "no cloze"}}) == \
        "cannot create note for unknown reason"
    assert d.error("addNote", note={"deckName": "Default", "modelName": "Cloze",
                                    "fields": {"Text": "x", "Back Extra": "{{c1::y}}"}}) == \
        "cannot create note for unknown reason"


def test_update_fields_and_note(d):
    nid = d.result("addNote", note=basic_note("front", "back", tags=["t1"]))
    mod = d.result("notesModTime", notes=[nid])[0]["mod"]
    # exact field names; unknown ones ignored
    d.result("updateNoteFields", note={"id": nid, "fields": {"Front": "F2", "back": "ignored"}})
    f = d.result("notesInfo", notes=[nid])[0]["fields"]
    assert f["Front"]["value"] == "F2" and f["Back"]["value"] == "back"
    assert d.error("updateNoteFields", note={"id": 1, "fields": {}}) == "Note was not found: 1"
    assert d.error("updateNoteFields", note={"fields": {}}) == "'id'"
    assert d.error("updateNoteFields", note={"id": nid}) == "'fields'"
    assert d.error("updateNote", note={"id": nid}) == 'Must provide a "fields" or "tags" property.'
    d.result("updateNote", note={"id": nid, "fields": {"Back": "B2"}, "tags": ["x", "y"]})
    n = d.result("notesInfo", notes=[nid])[0]
    assert n["fields"]["Back"]["value"] == "B2" and n["tags"] == ["x", "y"]
    # an update that changes nothing writes nothing
    db = open_db(d.col)
    before = db.execute("select mod, usn from notes where id = ?", (nid,)).fetchone()
    db.close()
    d.result("updateNoteFields", note={"id": nid, "fields": {"Back": "B2"}})
    db = open_db(d.col)
    after = db.execute("select mod, usn from notes where id = ?", (nid,)).fetchone()
    db.close()
    assert before == after
    assert mod <= n["mod"]


def test_update_note_model(d):
    nid = d.result("addNote", note=basic_note("q", "a", tags=["keep"]))
    assert d.error("updateNoteModel", note={"modelName": "Basic", "fields": {"Front": "x"}}) == \
        "Note ID is required"
    assert d.error("updateNoteModel", note={"id": nid, "fields": {"Front": "x"}}) == \
        "Model name is required"
    assert d.error("updateNoteModel", note={"id": nid, "modelName": "Cloze"}) == \
        "Fields must be provided as a dictionary"
    assert d.error("updateNoteModel", note={"id": 7, "modelName": "Cloze",
                                            "fields": {"Text": "x"}}) == "Note was not found: 7"
    assert d.error("updateNoteModel", note={"id": nid, "modelName": "Nope",
                                            "fields": {"Text": "x"}}) == "Model 'Nope' not found"
    d.result("updateNoteModel", note={"id": nid, "modelName": "Basic (and reversed card)",
                                      "fields": {"back": "B"}})
    n = d.result("notesInfo", notes=[nid])[0]
    assert n["modelName"] == "Basic (and reversed card)" and n["tags"] == []
    assert n["fields"]["Front"]["value"] == "" and n["fields"]["Back"]["value"] == "B"


def test_tags(d):
    a = d.result("addNote", note=basic_note("a1", tags=["Japanese::N5", "verb"]))
    b = d.result("addNote", note=basic_note("b1", tags=["other"]))
    d.result("addTags", notes=[a, b, 999], tags="new1 New2")
    assert d.result("getNoteTags", note=b) == ["new1", "New2", "other"]
    d.result("removeTags", notes=[a, b], tags="NEW1 japanese")
    assert d.result("getNoteTags", note=a) == ["New2", "verb"]
    d.result("removeTags", notes=[a], tags="ne*")
    assert d.result("getNoteTags", note=a) == ["verb"]
    assert "japanese::N5" not in d.result("getTags")
    assert "Japanese::N5" in d.result("getTags")
    d.result("clearUnusedTags")
    assert d.result("getTags") == ["New2", "other", "verb"]
    d.result("updateNoteTags", note=a, tags="single tags")
    assert d.result("getNoteTags", note=a) == ["single", "tags"]
    d.result("updateNoteTags", note=a, tags=["z", "y"])
    assert d.result("getNoteTags", note=a) == ["y", "z"]
    assert d.error("updateNoteTags", note=a, tags=5) == "Must provide tags as a list of strings"
    assert d.error("updateNoteTags", note=a, tags=[1]) == "Must provide tags as a list of strings"
    d.result("replaceTags", notes=[a, b, 5], tag_to_replace="Y", replace_with_tag="yy")
    assert d.result("getNoteTags", note=a) == ["yy", "z"]
    d.result("replaceTagsInAllNotes", tag_to_replace="other", replace_with_tag="changed")
    assert d.result("getNoteTags", note=b) == ["changed", "New2"]
    assert d.result("addTags", notes=[a], tags="x", add=False) is None
    assert d.result("getNoteTags", note=a) == ["yy", "z"]


def test_find_and_delete(d):
    ids = d.result("addNotes", notes=[basic_note(w) for w in ("cat", "dog", "owl")])
    assert d.result("findNotes") == []
    assert sorted(d.result("findNotes", query="")) == sorted(ids)
    assert d.result("findNotes", query="front:dog") == [ids[1]]
    assert d.error("findNotes", query="(").startswith("Invalid search:")
    d.result("deleteNotes", notes=[ids[0], 42])
    assert sorted(d.result("findNotes", query="")) == sorted(ids[1:])
    db = open_db(d.col)
    graves = {(oid, t) for oid, t in db.execute("select oid, type from graves")}
    db.close()
    assert (ids[0], 1) in graves


def test_remove_empty_notes_removes_unused_note_types(d):
    d.result("addNote", note=basic_note("keep"))
    assert d.result("removeEmptyNotes") is None
    assert d.result("modelNames") == ["Basic"]


def test_note_media(d):
    import base64
    data = base64.b64encode(b"RIFF-fake-wav").decode()
    nid = d.result("addNote", note=basic_note("word", audio=[{
        "filename": "word.mp3", "data": data, "fields": ["Back"]}], picture={
        "filename": "pic.jpg", "data": base64.b64encode(b"jpegbytes").decode(),
        "fields": ["Front", "Nope"]}))
    f = d.result("notesInfo", notes=[nid])[0]["fields"]
    assert f["Back"]["value"] == "[sound:word.mp3]"
    assert f["Front"]["value"] == 'word<img src="pic.jpg">'
    assert (d.media_dir / "word.mp3").read_bytes() == b"RIFF-fake-wav"
    # a failing download: the error text goes into the field, the note is added
    nid = d.result("addNote", note=basic_note("w2", video={
        "filename": "v.mp4", "path": "/nonexistent/<x>", "fields": ["Back"]}))
    back = d.result("notesInfo", notes=[nid])[0]["fields"]["Back"]["value"]
    assert "No such file or directory" in back and "&lt;x&gt;" in back
    # ... unless the entry has no fields member
    assert d.error("addNote", note=basic_note("w3", audio={"filename": "a.mp3",
                                                           "path": "/nonexistent"})) == "'fields'"
    # skipHash of the bytes: nothing stored, nothing appended
    import hashlib
    raw = b"skip me"
    nid = d.result("addNote", note=basic_note("w4", audio={
        "filename": "skip.mp3", "data": base64.b64encode(raw).decode(),
        "skipHash": hashlib.md5(raw).hexdigest(), "fields": ["Back"]}))
    assert d.result("notesInfo", notes=[nid])[0]["fields"]["Back"]["value"] == ""
    assert not (d.media_dir / "skip.mp3").exists()
