"""anki-connectd deck and deck-options actions (ankiconnect.md §3.2)."""
import pytest

from connectd_client import Daemon, basic_note, check_collection, open_db


@pytest.fixture
def d(procs, tmp_path):
    dm = Daemon(procs, tmp_path)
    yield dm
    if dm.proc.p.poll() is None:
        assert dm.stop() == 0
        check_collection(dm.col)


def test_names_create_and_order(d):
    assert d.result("deckNames") == ["Default"]
    assert d.result("deckNamesAndIds") == {"Default": 1}
    ab = d.result("createDeck", deck="A::B")
    assert d.result("createDeck", deck="a::b") == ab  # existing, case-insensitive
    assert d.result("createDeck", deck=" A :: B ") == ab  # components trimmed
    d.result("createDeck", deck="A B")
    d.result("createDeck", deck="AB")
    # stored names use \x1f, so "A::B" sorts before "A B" and "AB"
    assert d.result("deckNames") == ["A", "A::B", "A B", "AB", "Default"]
    assert d.result("createDeck", deck="default") == 1
    assert d.result("deckNameFromId", deckId=ab) == "A::B"
    assert d.error("deckNameFromId", deckId=12345) == "deck was not found: 12345"
    # parents adopt the existing spelling
    child = d.result("createDeck", deck="a::New")
    assert d.result("deckNameFromId", deckId=child) == "A::New"


def test_change_and_get_decks(d):
    n1 = d.result("addNote", note=basic_note("one"))
    cards = d.result("notesInfo", notes=[n1])[0]["cards"]
    assert d.result("getDecks", cards=cards + [999]) == {"Default": cards + [999]}
    d.result("changeDeck", cards=cards + [999], deck="Moved::Here")
    assert d.result("getDecks", cards=cards) == {"Moved::Here": cards}
    assert d.result("cardsInfo", cards=cards)[0]["deckName"] == "Moved::Here"


def test_delete_decks(d):
    d.result("createDeck", deck="X::Y")
    n1 = d.result("addNote", note=basic_note("in y", deck="X::Y"))
    n2 = d.result("addNote", note=basic_note("in default"))
    assert d.error("deleteDecks", decks=["X"]) == \
        "Since Anki 2.1.28 it's not possible to delete decks without deleting cards as well"
    d.result("deleteDecks", decks=["x", "Nope"], cardsToo=True)  # exact names only
    assert "X" in d.result("deckNames")
    d.result("deleteDecks", decks=["X"], cardsToo=True)
    assert d.result("deckNames") == ["Default"]
    assert d.result("notesInfo", notes=[n1, n2])[0] == {}
    # Default is emptied, never removed
    d.result("deleteDecks", decks=["Default"], cardsToo=True)
    assert d.result("deckNames") == ["Default"] and d.result("findNotes", query="") == []
    db = open_db(d.col)
    types = {t for (t,) in db.execute("select type from graves")}
    db.close()
    assert types == {0, 1, 2}


def test_deck_config(d):
    conf = d.result("getDeckConfig", deck="Default")
    assert conf["id"] == 1 and conf["name"] == "Default" and conf["dyn"] is False
    assert conf["new"]["perDay"] == 20 and conf["new"]["delays"] == [1.0, 10.0]
    assert conf["rev"]["perDay"] == 200 and conf["lapse"]["leechFails"] == 8
    assert d.result("getDeckConfig", deck="default") is False  # exact match
    new_id = d.result("cloneDeckConfigId", name="Copy", cloneFrom=1)
    assert isinstance(new_id, int)
    assert d.result("cloneDeckConfigId", name="Bad", cloneFrom="999") is False
    assert d.error("cloneDeckConfigId", name="Bad", cloneFrom="abc") == \
        "invalid literal for int() with base 10: 'abc'"
    d.result("createDeck", deck="D2")
    assert d.result("setDeckConfigId", decks=["D2"], configId=new_id) is True
    assert d.result("setDeckConfigId", decks=["D2", "Nope"], configId=new_id) is False
    assert d.result("setDeckConfigId", decks=["D2"], configId=424242) is False
    c2 = d.result("getDeckConfig", deck="D2")
    assert c2["id"] == new_id and c2["name"] == "Copy"
    c2["new"]["perDay"] = 77
    c2["name"] = "Renamed"
    assert d.result("saveDeckConfig", config=c2) is True
    c3 = d.result("getDeckConfig", deck="D2")
    assert c3["new"]["perDay"] == 77 and c3["name"] == "Renamed" and c3["mod"] > 0
    bad = dict(c3, id=31337)
    assert d.result("saveDeckConfig", config=bad) is False
    del bad["id"]
    assert d.error("saveDeckConfig", config=bad) == "'id'"
    assert d.result("removeDeckConfigId", configId=1) is False
    assert d.result("removeDeckConfigId", configId=new_id) is True
    assert d.result("removeDeckConfigId", configId=new_id) is False
    assert d.result("getDeckConfig", deck="D2")["id"] == 1


def test_deck_stats_creates_and_counts(d):
    d.result("createDeck", deck="Japanese::JLPT N5")
    d.result("addNotes", notes=[basic_note(f"w{i}", deck="Japanese::JLPT N5") for i in range(25)])
    st = d.result("getDeckStats", decks=["Japanese", "Japanese::JLPT N5", "Brand New"])
    assert "Brand New" in d.result("deckNames")
    by_name = {v["name"]: v for v in st.values()}
    assert by_name["JLPT N5"]["total_in_deck"] == 25
    assert by_name["JLPT N5"]["new_count"] == 20  # capped by the preset's 20 new per day
    assert by_name["Japanese"]["total_in_deck"] == 0
    assert by_name["Brand New"]["new_count"] == 0
    for k, v in st.items():
        assert int(k) == v["deck_id"]
        assert set(v) == {"deck_id", "name", "new_count", "learn_count", "review_count",
                          "total_in_deck"}
