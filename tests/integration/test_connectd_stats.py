"""anki-connectd getCollectionStatsHTML (ankiconnect.md §3.8): the legacy
statistics report as HTML, on a collection prepared through the API and on
a collection written by Anki, whose numbers are checked against SQL written
here, for the whole collection and for the current deck."""
import re
import time
import zipfile

import pytest
import zstandard

from conftest import fixture_path
from connectd_client import Daemon, basic_note, check_collection, open_db

HEADINGS = ["Today", "Forecast", "Review Count", "Review Time", "Added", "Intervals",
            "Hourly Breakdown", "Answer Buttons", "Card Types"]

DAY = 86400
NOW = 1773576000          # 2026-03-15 12:00:00 UTC
CUT = NOW + 16 * 3600     # the next rollover (04:00 UTC)


def section(html, title):
    """The HTML of one section: from its heading to the next."""
    m = re.search(r"<h1>" + re.escape(title) + r"</h1>(.*?)(?=<h1>|class=\"section foot\")",
                  html, re.S)
    assert m, f"no section {title}"
    return m.group(1)


def line(html, title, label):
    """The bold value of a 'Label:' row in a section."""
    m = re.search(re.escape(label) + r":</td><td><b>(.*?)</b>", section(html, title))
    assert m, f"{title}: no line {label}"
    return m.group(1)


def stats(d, **params):
    html = d.result("getCollectionStatsHTML", **params)
    assert isinstance(html, str) and html
    pos = [html.find(f"<h1>{h}</h1>") for h in HEADINGS]
    assert all(p >= 0 for p in pos) and pos == sorted(pos), pos
    assert "<script" not in html
    return html


def fnum(v):
    """A number as Anki's Fluent arguments print it (two decimals at most)."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def timespan(secs):
    units = [(1, "second", True), (60, "minute", False), (3600, "hour", False),
             (DAY, "day", True), (DAY * 365 / 12, "month", False), (DAY * 365, "year", False)]
    size, name, integral = units[0]
    for u in units[1:]:
        if abs(secs) >= u[0]:
            size, name, integral = u
    amount = secs / size
    amount = float(int(amount + 0.5)) if integral else int(amount * 10 + 0.5) / 10
    n = fnum(amount)
    return f"{n} {name}" + ("" if n == "1" else "s")


@pytest.fixture
def d(procs, tmp_path):
    dm = Daemon(procs, tmp_path, env={"ANKIHOST_FAKE_NOW_MS": str(NOW * 1000), "TZ": "UTC"})
    yield dm
    if dm.proc.p.poll() is None:
        assert dm.stop() == 0
        check_collection(dm.col)


def test_empty_collection(d):
    html = stats(d)
    assert "No cards have been studied today." in html
    assert line(html, "Forecast", "Total") == "0 reviews"
    assert line(html, "Card Types", "Total cards") == "0"
    assert "Scope: whole collection" in html
    assert "Generated on Sun Mar 15 12:00:00 2026" in html


def test_prepared_collection(d):
    for name in ("Alpha", "Beta"):
        d.result("createDeck", deck=name)
    d.result("addNotes", notes=[basic_note(f"a{i}", deck="Alpha") for i in range(3)] +
             [basic_note(f"b{i}", deck="Beta") for i in range(2)])
    a = sorted(d.result("findCards", query="deck:Alpha"))
    b = sorted(d.result("findCards", query="deck:Beta"))
    assert len(a) == 3 and len(b) == 2

    def review(cid, ivl, due, factor):
        assert d.result("setSpecificValueOfCard", card=cid,
                        keys=["type", "queue", "ivl", "due", "factor"],
                        newValues=[2, 2, ivl, due, factor], warning_check=True) == [True]
    # the collection was made at NOW: today is day 0
    review(a[0], 30, 1, 2300)   # mature, due tomorrow
    review(a[1], 4, 3, 2500)    # young, in 3 days
    review(b[0], 100, 0, 2100)  # mature, due today
    d.result("suspend", cards=[b[1]])
    ms = lambda secs: secs * 1000  # noqa: E731
    # id, cid, usn, ease, ivl, lastIvl, factor, time, type
    d.result("insertReviews", reviews=[
        [ms(CUT - 10 * 3600), a[0], -1, 3, 30, 25, 2300, 6000, 1],      # today 18:00, mature
        [ms(CUT - 9 * 3600), a[1], -1, 1, -600, 0, 2500, 4000, 0],      # today 19:00, learn
        [ms(CUT - 2 * DAY - 3600), b[0], -1, 2, 100, 50, 2100, 10000, 1],  # 2 days ago
        [ms(CUT - 40 * DAY), b[0], -1, 3, 50, 20, 2100, 10000, 1],     # before the period
    ])

    whole = stats(d)
    assert stats(d, wholeCollection=True) == whole
    today = section(whole, "Today")
    assert "Studied 2 cards in 10 seconds today (5s/card)" in today
    assert "Again count: <b>1</b> (<b>50.0%</b> correct)" in today
    assert "Learn: <b>1</b>, Review: <b>1</b>, Relearn: <b>0</b>, Filtered: <b>0</b>" in today
    assert "Correct answers on mature cards: 1/1 (100.0%)" in today
    assert line(whole, "Forecast", "Total") == "3 reviews"
    assert line(whole, "Forecast", "Average") == "1.0 reviews/day"
    assert line(whole, "Forecast", "Due tomorrow") == "1 card"
    assert line(whole, "Forecast", "Overdue") == "0 cards"
    assert line(whole, "Review Count", "Total") == "3 reviews"
    assert "<b>6%</b> (2 of 31)" in section(whole, "Review Count")
    assert line(whole, "Review Time", "Average answer time") == \
        f"{fnum(20 / 3)}s ({fnum(3 / (20 / 60))} cards/minute)"
    assert line(whole, "Added", "Total") == "5 cards"
    assert line(whole, "Intervals", "Average interval") == timespan((30 + 4 + 100) / 3 * DAY)
    assert line(whole, "Intervals", "Longest interval") == "3.3 months"
    assert "Correct: <b>0.00%</b> (0 of 1)" in section(whole, "Answer Buttons")  # learning
    assert "Correct: <b>100.00%</b> (2 of 2)" in section(whole, "Answer Buttons")  # mature
    assert line(whole, "Card Types", "Total cards") == "5"
    assert line(whole, "Card Types", "Total notes") == "5"
    assert line(whole, "Card Types", "Lowest ease") == "210%"
    assert line(whole, "Card Types", "Average ease") == "230%"
    assert "Suspended 1, Buried 0" in section(whole, "Card Types")
    assert "Scope: whole collection" in whole

    # the current deck: guiDeckOverview selects it
    assert d.result("guiDeckOverview", name="Alpha") is True
    deck = stats(d, wholeCollection=False)
    assert deck != whole
    assert stats(d, wholeCollection=None) == deck  # Python truthiness
    assert stats(d, wholeCollection=0) == deck
    assert "Scope: Alpha" in deck
    assert "Studied 2 cards in 10 seconds today (5s/card)" in deck
    assert line(deck, "Forecast", "Total") == "2 reviews"
    assert line(deck, "Review Count", "Total") == "2 reviews"
    assert "<b>3%</b> (1 of 31)" in section(deck, "Review Count")
    assert line(deck, "Added", "Total") == "3 cards"
    assert line(deck, "Intervals", "Longest interval") == "30 days"
    assert line(deck, "Card Types", "Total cards") == "3"
    assert line(deck, "Card Types", "Lowest ease") == "230%"
    assert "Suspended 0, Buried 0" in section(deck, "Card Types")
    assert d.result("guiDeckOverview", name="Beta") is True
    beta = stats(d, wholeCollection=False)
    assert "Scope: Beta" in beta and "No cards have been studied today." in beta
    assert line(beta, "Review Count", "Total") == "1 review"


def test_deck_name_escaped(d):
    d.result("createDeck", deck="<i>x</i> & y")
    assert d.result("guiDeckOverview", name="<i>x</i> & y") is True
    html = stats(d, wholeCollection=False)
    assert "Scope: &lt;i&gt;x&lt;/i&gt; &amp; y" in html
    assert "<i>x</i>" not in html


def next_rollover_utc(now, hour=4):
    t = now - now % DAY + hour * 3600
    return t if t > now else t + DAY


def expected(db, now, cur):
    """The figures of the report, by SQL written here, for the whole
    collection (cur None) or deck cur and its children (TZ=UTC)."""
    cut = next_rollover_utc(now)
    crt, = db.execute("select crt from col").fetchone()
    # v2 with creationOffset: calendar days between the creation date (in
    # the creation offset) and now (UTC), minus one before the rollover
    off = int(db.execute("select cast(val as text) from config where key = 'creationOffset'"
                         ).fetchone()[0])
    before_rollover = now < now - now % DAY + 4 * 3600
    today = (now // DAY) - ((crt - off * 60) // DAY) - (1 if before_rollover else 0)
    if cur is None:
        dids = [i for (i,) in db.execute("select id from decks")]
        rl = "1"
    else:
        name, = db.execute("select name from decks where id = ?", (cur,)).fetchone()
        dids = [i for (i,) in db.execute("select id from decks where id = ? or name like ?",
                                         (cur, name + "\x1f%"))]
        rl = f"cid in (select id from cards where did in ({','.join(map(str, dids))}))"
    cl = f"did in ({','.join(map(str, dids))})"
    q = lambda s, *a: db.execute(s, a).fetchone()  # noqa: E731
    e = {}
    t0 = (cut - DAY) * 1000
    p0 = (cut - 31 * DAY) * 1000
    e["today"] = q(f"select count(), coalesce(sum(time), 0) / 1000, sum(ease = 1) from revlog "
                   f"where type != 4 and id > ? and {rl}", t0)
    e["due"] = q(f"select count() from cards where {cl} and queue in (2, 3) "
                 f"and due between ? and ?", today, today + 30)[0]
    e["tomorrow"] = q(f"select count() from cards where {cl} and queue in (2, 3) and due = ?",
                      today + 1)[0]
    e["reps"] = q(f"select count() from revlog where type between 0 and 3 and id > ? and {rl}",
                  p0)[0]
    e["days"] = len({(cut * 1000 - i) // (DAY * 1000) for (i,) in
                     db.execute(f"select id from revlog where id > ? and {rl}", (p0,))})
    e["added"] = q(f"select count() from cards where {cl} and id > ?", p0)[0]
    e["ivl"] = q(f"select count(), avg(ivl), max(ivl) from cards where {cl} and queue = 2")
    e["cards"] = q(f"select count(), count(distinct nid), coalesce(sum(queue = 0), 0), "
                   f"coalesce(sum(queue < 0), 0) "
                   f"from cards where {cl}")
    e["ease"] = q(f"select min(factor), avg(factor), max(factor) from cards "
                  f"where {cl} and queue = 2")
    e["buttons"] = {cls: (tot, good) for cls, tot, good in db.execute(
        f"select case when type in (0, 2) then 0 when lastIvl < 21 then 1 else 2 end as c, "
        f"count(), sum(ease != 1) from revlog where type != 4 and id > ? and {rl} group by c",
        (p0,))}
    return e


def check(html, e):
    cards, secs, again = e["today"]
    if cards:
        amount = fnum(secs) if secs < 60 else fnum(secs / 60)
        unit = ("second" if secs < 60 else "minute") + ("" if amount == "1" else "s")
        assert f"Studied {cards} card{'' if cards == 1 else 's'} in {amount} {unit} today " \
               f"({fnum(secs / cards)}s/card)" in html
        assert f"Again count: <b>{again}</b>" in html
    else:
        assert "No cards have been studied today." in html
    assert line(html, "Forecast", "Total") == f"{e['due']} review" + ("" if e["due"] == 1 else "s")
    assert line(html, "Forecast", "Due tomorrow").split()[0] == str(e["tomorrow"])
    if e["days"]:
        assert line(html, "Review Count", "Total").split()[0] == str(e["reps"])
        assert f"<b>{int(e['days'] / 31 * 100)}%</b> ({e['days']} of 31)" in html
    if e["added"]:
        assert line(html, "Added", "Total").split()[0] == str(e["added"])
    n, avg, mx = e["ivl"]
    if n:
        assert line(html, "Intervals", "Average interval") == timespan(avg * DAY)
        assert line(html, "Intervals", "Longest interval") == timespan(mx * DAY)
    total, notes, new, susp = e["cards"]
    assert line(html, "Card Types", "Total cards") == str(total)
    assert line(html, "Card Types", "Total notes") == str(notes)
    assert re.search(r"<td>Unseen</td><td class=n>%d</td>" % new, html)
    lo, av, hi = e["ease"]
    if lo:
        assert line(html, "Card Types", "Lowest ease") == f"{int(lo / 10)}%"
        assert line(html, "Card Types", "Average ease") == f"{int(av / 10)}%"
        assert line(html, "Card Types", "Highest ease") == f"{int(hi / 10)}%"
    buttons = section(html, "Answer Buttons")
    for cls in range(3):
        tot, good = e["buttons"].get(cls, (0, 0))
        pct = good / tot * 100 if tot else 0
        assert f"Correct: <b>{pct:.2f}%</b> ({good} of {tot})" in buttons


def extract(name, dest):
    """A fixture's collection as a plain SQLite file at dest."""
    src = fixture_path(name)
    if not name.endswith("pkg"):
        dest.write_bytes(src.read_bytes())
        return
    with zipfile.ZipFile(src) as z:
        names = set(z.namelist())
        if "collection.anki21b" in names:
            data = zstandard.ZstdDecompressor().decompressobj().decompress(
                z.read("collection.anki21b"))
        else:
            data = z.read("collection.anki21" if "collection.anki21" in names
                          else "collection.anki2")
    dest.write_bytes(data)


@pytest.mark.parametrize("name,later", [
    ("v18-two-decks-revlog.anki2", 0),           # reviews today
    ("v18-two-decks-revlog.anki2", 9 * DAY),     # reviews 9 days ago, reviews overdue
    ("latest-459notes-revlog.apkg", 0),          # schema 18, 459 new cards
    ("legacy2-fsrs-revlog-media.apkg", 0),       # schema 11, review cards, 26 reviews
])
def test_fixture_matches_sql(procs, tmp_path, name, later):
    col = tmp_path / "p" / "collection.anki2"
    col.parent.mkdir()
    extract(name, col)
    db = open_db(col)
    last, = db.execute("select max(id) / 1000 from revlog").fetchone()
    db.close()
    when = last + 3600 + later
    d = Daemon(procs, tmp_path, col=col,
               env={"ANKIHOST_FAKE_NOW_MS": str(when * 1000), "TZ": "UTC"})
    whole = stats(d)
    deck = stats(d, wholeCollection=False)
    assert d.stop() == 0
    # the report only reads: the figures are those of the file as left
    db = open_db(col)
    cur = int(db.execute("select cast(val as text) from config where key = 'curDeck'"
                         ).fetchone()[0])
    want_whole = expected(db, when, None)
    want_deck = expected(db, when, cur)
    deck_name, = db.execute("select name from decks where id = ?", (cur,)).fetchone()
    db.close()
    assert want_whole != want_deck and whole != deck
    check(whole, want_whole)
    check(deck, want_deck)
    assert f"Scope: {deck_name}" in deck
    assert "Generated on " + time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(when)) in whole
    if name.startswith("v18") and not later:
        assert want_whole["today"][0] == 8  # the fixture's reviews are all of that day
        assert "Studied 8 cards in 26 seconds today (3.25s/card)" in whole
