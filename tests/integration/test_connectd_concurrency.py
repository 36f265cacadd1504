"""anki-connectd under parallel load: 100 simultaneous requests all succeed,
reads do not wait for a slow reader, writes go one at a time without
losing any, and the collection stays consistent."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from connectd_client import Daemon, basic_note, check_collection


@pytest.fixture
def d(procs, tmp_path):
    dm = Daemon(procs, tmp_path)
    yield dm
    if dm.proc.p.poll() is None:
        assert dm.stop() == 0
        check_collection(dm.col)


def test_hundred_parallel_requests(d):
    ids = d.result("addNotes", notes=[basic_note(f"word {i}", f"meaning {i}") for i in range(200)])

    def work(i):
        if i % 5 == 0:
            return d.call("addNote", note=basic_note(f"parallel {i}"))
        if i % 5 == 1:
            return d.call("canAddNotes", notes=[basic_note(f"word {i}"), basic_note(f"x{i}")])
        if i % 5 == 2:
            return d.call("findNotes", query=f"front:word*{i % 10}")
        return d.call("notesInfo", notes=ids[i:i + 20])

    with ThreadPoolExecutor(max_workers=100) as ex:
        replies = list(ex.map(work, range(100)))
    for r in replies:
        assert r["error"] is None, r
    added = [r["result"] for i, r in zip(range(100), replies) if i % 5 == 0]
    assert len(set(added)) == 20
    assert len(d.result("findNotes", query="parallel*")) == 20


def test_readers_do_not_wait_for_a_slow_reader(d):
    d.result("addNotes", notes=[basic_note(f"w{i} " + "a" * 30, "b" * 200) for i in range(1500)])
    cards = d.result("findCards", query="")
    # a slow reader: every card rendered
    t0 = time.monotonic()
    assert len(d.result("cardsInfo", cards=cards)) == 1500
    alone = time.monotonic() - t0
    stop = threading.Event()
    errors = []

    def slow():
        while not stop.is_set():
            r = d.call("cardsInfo", cards=cards)
            if r["error"] is not None:
                errors.append(r["error"])

    ts = [threading.Thread(target=slow) for _ in range(2)]
    for t in ts:
        t.start()
    time.sleep(min(alone / 2, 1.0))
    lat = []
    for i in range(10):
        t0 = time.monotonic()
        assert d.result("deckNames") == ["Default"]
        assert isinstance(d.result("addNote", note=basic_note(f"during {i}")), int)
        lat.append(time.monotonic() - t0)
    stop.set()
    for t in ts:
        t.join()
    assert not errors
    # fast calls finish well before a slow search would
    assert max(lat) < alone, (lat, alone)
