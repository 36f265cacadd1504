"""anki-connectd card and statistics actions (ankiconnect.md §3.1, §3.8),
on a fresh collection and on a real one with review history."""
import shutil
import time

import pytest

from conftest import fixture_path
from connectd_client import Daemon, basic_note, check_collection


def stop_check(d):
    if d.proc.p.poll() is None:
        assert d.stop() == 0
        check_collection(d.col)


@pytest.fixture
def d(procs, tmp_path):
    dm = Daemon(procs, tmp_path)
    yield dm
    stop_check(dm)


@pytest.fixture
def reviewed(procs, tmp_path):
    """v18-two-decks-revlog: 16 notes, 5 review cards with 8 revlog rows."""
    col = tmp_path / "rev" / "collection.anki2"
    col.parent.mkdir()
    shutil.copy(fixture_path("v18-two-decks-revlog.anki2"), col)
    dm = Daemon(procs, tmp_path, col=col)
    yield dm
    stop_check(dm)


def one_card(d, front="x", **kw):
    nid = d.result("addNote", note=basic_note(front, **kw))
    return nid, d.result("notesInfo", notes=[nid])[0]["cards"][0]


def test_cards_to_notes_distinct_in_card_order(d):
    # two-card notes, cards given out of order and repeated: each note once,
    # where its first card stands; missing cards are skipped
    notes = [d.result("addNote", note=basic_note(f"n{i}", "b", model="Basic (and reversed card)"))
             for i in range(3)]
    cards = {nid: d.result("notesInfo", notes=[nid])[0]["cards"] for nid in notes}
    assert all(len(c) == 2 for c in cards.values())
    ask = [cards[notes[2]][1], 7, cards[notes[0]][0], cards[notes[2]][0], cards[notes[1]][1],
           cards[notes[0]][1], cards[notes[2]][1]]
    assert d.result("cardsToNotes", cards=ask) == [notes[2], notes[0], notes[1]]
    assert d.result("cardsToNotes", cards=[]) == []
    assert d.result("cardsToNotes", cards=[7, 8]) == []


def test_cards_info_renders_the_home_deck_of_a_moved_card(d):
    # {{Deck}} names the card's home deck (odid) when it sits in another
    # deck, while cardsInfo's deckName is the deck it is in now
    d.result("createModel", modelName="WithDeck", inOrderFields=["Front"],
             cardTemplates=[{"Name": "C", "Front": "[{{Deck}}] {{Front}}", "Back": "{{FrontSide}}"}])
    home, away = d.result("createDeck", deck="Home::Sub"), d.result("createDeck", deck="Away")
    nid = d.result("addNote", note={"deckName": "Home::Sub", "modelName": "WithDeck",
                                    "fields": {"Front": "x"}})
    cid = d.result("notesInfo", notes=[nid])[0]["cards"][0]
    c = d.result("cardsInfo", cards=[cid])[0]
    assert c["question"].endswith("[Home::Sub] x") and c["deckName"] == "Home::Sub"
    assert d.result("setSpecificValueOfCard", card=cid, keys=["did", "odid"],
                    newValues=[away, home], warning_check=True) == [True]
    c = d.result("cardsInfo", cards=[cid])[0]
    assert c["question"].endswith("[Home::Sub] x") and c["deckName"] == "Away"
    assert d.result("setSpecificValueOfCard", card=cid, keys=["did", "odid"],
                    newValues=[home, 0], warning_check=True) == [True]


def test_card_columns(d):
    nid, cid = one_card(d, "front", back="back")
    assert d.result("getEaseFactors", cards=[cid, 5]) == [0, None]
    assert d.result("setEaseFactors", cards=[cid, 5], easeFactors=[2700, 2000]) == [True, False]
    assert d.result("getEaseFactors", cards=[cid]) == [2700]
    assert d.error("setEaseFactors", cards=[cid], easeFactors=[]) == "list index out of range"
    assert d.result("cardsToNotes", cards=[cid, cid, 7]) == [nid]
    mt = d.result("cardsModTime", cards=[cid, 7])
    assert mt[0]["cardId"] == cid and isinstance(mt[0]["mod"], int) and mt[1] == {}
    info = d.result("cardsInfo", cards=[cid, 7])
    assert info[1] == {}
    c = info[0]
    assert c["question"].startswith("<style>") and c["question"].endswith("front")
    assert "<hr id=answer>" in c["answer"] and c["answer"].endswith("back")
    assert c["modelName"] == "Basic" and c["deckName"] == "Default" and c["note"] == nid
    assert c["fields"]["Front"] == {"value": "front", "order": 0}
    assert (c["type"], c["queue"], c["ord"], c["fieldOrder"], c["factor"]) == (0, 0, 0, 0, 2700)
    assert c["css"].startswith(".card {")
    for k in ("interval", "due", "reps", "lapses", "left", "mod", "flags", "nextReviews"):
        assert k in c


def test_set_specific_value(d):
    nid, cid = one_card(d)
    assert d.result("setSpecificValueOfCard", card=cid, keys=["flags", "factor"],
                    newValues=[3, 2100]) == [True]
    c = d.result("cardsInfo", cards=[cid])[0]
    assert c["flags"] == 3 and c["factor"] == 2100
    assert d.result("setSpecificValueOfCard", card=cid, keys=["odue"], newValues=[1]) is False
    assert d.result("setSpecificValueOfCard", card=cid, keys=["flags"], newValues=[1, 2]) is False
    assert d.result("setSpecificValueOfCard", card=[cid], keys=["flags"], newValues=[1]) is False
    assert d.result("setSpecificValueOfCard", card=cid, keys=["odue"], newValues=[5],
                    warning_check=True) == [True]
    assert d.result("setSpecificValueOfCard", card=123, keys=["flags"], newValues=[1]) == \
        [[False, "Card was not found: 123"]]
    r = d.result("setSpecificValueOfCard", card=cid, keys=["flags"], newValues=["1"])
    assert r[0][0] is False
    r = d.result("setSpecificValueOfCard", card=cid, keys=["flags"], newValues=[999])
    assert r[0][0] is False  # out of range for Anki: refused, not written


def test_suspend(d):
    _, a = one_card(d, "a")
    _, b = one_card(d, "b")
    assert d.result("areSuspended", cards=[a, b, 3]) == [False, False, None]
    assert d.result("suspend", cards=[a]) is True
    assert d.result("suspend", cards=[a]) is False
    assert d.result("suspended", card=a) is True
    assert d.error("suspended", card=3) == "Card was not found: 3"
    assert d.error("suspend", cards=[b, 3]) == "Card was not found: 3"
    assert d.result("areSuspended", cards=[a, b]) == [True, False]
    assert d.result("unsuspend", cards=[a]) is None
    assert d.result("cardsInfo", cards=[a])[0]["queue"] == 0


def test_find_cards_and_due(d):
    _, a = one_card(d, "apple")
    assert d.result("findCards") == []
    assert d.result("findCards", query="apple") == [a]
    assert a in d.result("findCards", query="")
    assert d.result("areDue", cards=[a]) == [True]  # new cards count as due
    assert d.result("getIntervals", cards=[a]) == [0]
    assert d.result("getIntervals", cards=[a], complete=True) == [0]
    assert d.error("areDue", cards=[999]) == "list index out of range"
    assert d.error("getIntervals", cards=[999]) == "list index out of range"
    assert d.result("getIntervals", cards=[999], complete=True) == [[]]


def test_relearn_and_forget(d):
    _, a = one_card(d)
    d.result("setSpecificValueOfCard", card=a, keys=["type", "queue", "ivl", "due", "reps"],
             newValues=[2, 2, 12, 10, 4], warning_check=True)
    assert d.result("forgetCards", cards=[a, 5]) is None
    c = d.result("cardsInfo", cards=[a])[0]
    assert (c["type"], c["queue"], c["interval"], c["factor"], c["reps"]) == (0, 0, 0, 0, 4)
    revs = d.result("getReviewsOfCards", cards=[a])[str(a)]
    assert len(revs) == 1 and revs[0]["ease"] == 0 and revs[0]["type"] == 4
    assert revs[0]["lastIvl"] == 12
    assert d.result("relearnCards", cards=[a]) is None
    c = d.result("cardsInfo", cards=[a])[0]
    assert (c["type"], c["queue"]) == (3, 1)


def test_reviews(reviewed):
    d = reviewed
    assert len(d.result("findCards", query="is:review")) == 5
    rev_cards = d.result("findCards", query="is:review")
    ivals = d.result("getIntervals", cards=rev_cards)
    assert all(isinstance(i, int) for i in ivals)
    full = d.result("getIntervals", cards=rev_cards, complete=True)
    assert sum(len(x) for x in full) == 8
    assert isinstance(d.result("areDue", cards=rev_cards)[0], bool)
    by_card = d.result("getReviewsOfCards", cards=rev_cards + ["1"])
    assert sum(len(v) for k, v in by_card.items() if k != "1") == 8
    assert by_card["1"] == []
    row = next(v for v in by_card.values() if v)[0]
    assert set(row) == {"id", "usn", "ease", "ivl", "lastIvl", "factor", "time", "type"}
    decks = d.result("deckNames")
    total = 0
    for name in decks:
        rows = d.result("cardReviews", deck=name, startID=0)
        total += len(rows)
        for r in rows:
            assert len(r) == 9
        latest = d.result("getLatestReviewID", deck=name)
        assert latest == (max(r[0] for r in rows) if rows else 0)
    assert total == 8
    assert isinstance(d.result("getNumCardsReviewedToday"), int)
    days = d.result("getNumCardsReviewedByDay")
    assert sum(c for _, c in days) == 8 and all(len(day) == 10 for day, _ in days)
    # unknown decks are created by these lookups
    assert d.result("getLatestReviewID", deck="Made By Lookup") == 0
    assert "Made By Lookup" in d.result("deckNames")


def test_insert_reviews(d):
    _, a = one_card(d)
    now = int(time.time() * 1000)
    rows = [[now, a, -1, 3, 4, 1, 2500, 6000, 1], [now + 1, a, -1, 1, -600, 4, 2300, 3000, 2]]
    assert d.result("insertReviews", reviews=rows) is None
    assert d.result("getLatestReviewID", deck="Default") == now + 1
    assert d.result("getNumCardsReviewedToday") == 2
    # a duplicate id inserts nothing at all
    err = d.error("insertReviews", reviews=[[now + 5, a, -1, 3, 1, 1, 1, 1, 1], rows[0]])
    assert "UNIQUE constraint failed: revlog.id" in err
    assert len(d.result("getReviewsOfCards", cards=[a])[str(a)]) == 2
    assert d.error("insertReviews", reviews=[[1, 2]]).startswith("each review")
