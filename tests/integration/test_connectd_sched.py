"""anki-connectd's scheduler actions (ankiconnect.md §3.1): answerCards,
setDueDate and cardsInfo's nextReviews, through the real daemon on a
collection it creates, with the clock fixed by ANKIHOST_FAKE_NOW_MS.

Expected values are derived here, independently of the daemon, from
Anki's rules (rslib/src/scheduler/states/*.rs, answering/*.rs,
reviews.rs; fsrs-rs 6.6 model.rs/inference.rs; rand 0.9's StdRng for the
fuzz, whose ChaCha/PCG code below is checked against the published test
vectors), and from AnkiConnect 25.x's Python code for results and errors.
Every test ends with the collection checked by sqlite3's integrity_check
and anki-col check."""
import json
import math
import struct

import pytest

from connectd_client import Daemon, basic_note, check_collection, open_db

T0 = 1741608000000  # 2025-03-10 12:00 UTC; the collection's day 0 (rollover 4:00)
DAY_MS = 86400 * 1000
ISO_L, ISO_R = "\u2068", "\u2069"


# ---- reference: rand 0.9 StdRng::seed_from_u64 and Anki's fuzz ----

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def rround(x):
    """Rust's f32::round (half away from zero)."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def _pcg_key(state):
    """rand_core 0.9 seed_from_u64: eight PCG32 (XSH-RR) outputs."""
    words = []
    for _ in range(8):
        state = (state * 6364136223846793005 + 11634580027462260723) & M64
        xs = (((state >> 18) ^ state) >> 27) & M32
        rot = state >> 59
        words.append(((xs >> rot) | (xs << ((32 - rot) & 31))) & M32)
    return words


def _rotl(v, n):
    return ((v << n) | (v >> (32 - n))) & M32


def _chacha_block(key, counter, rounds=12):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574] + list(key) + [
        counter & M32, counter >> 32, 0, 0]
    x = list(s)

    def qr(a, b, c, d):
        x[a] = (x[a] + x[b]) & M32
        x[d] = _rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & M32
        x[b] = _rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & M32
        x[d] = _rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & M32
        x[b] = _rotl(x[b] ^ x[c], 7)
    for _ in range(rounds // 2):
        qr(0, 4, 8, 12), qr(1, 5, 9, 13), qr(2, 6, 10, 14), qr(3, 7, 11, 15)
        qr(0, 5, 10, 15), qr(1, 6, 11, 12), qr(2, 7, 8, 13), qr(3, 4, 9, 14)
    return [(x[i] + s[i]) & M32 for i in range(16)]


class StdRng:
    def __init__(self, seed):
        self.key = _pcg_key(seed & M64)
        self.counter = 0
        self.buf = []

    def u32(self):
        if not self.buf:
            self.buf = _chacha_block(self.key, self.counter)
            self.counter += 1
        return self.buf.pop(0)

    def unit_f32(self):  # random_range(0.0f32..1.0)
        bits = (self.u32() >> 9) | 0x3F800000
        return struct.unpack("<f", struct.pack("<I", bits))[0] - 1.0

    def range_u32(self, low, high_excl):  # random_range(low..high), widening multiply
        rng = (high_excl - low) & M32
        p = self.u32() * rng
        hi, lo = p >> 32, p & M32
        if lo > ((-rng) & M32):
            hi += (lo + ((self.u32() * rng) >> 32)) > M32
        return low + hi


def test_reference_rng_vectors():
    """The reference against ChaCha20 (RFC 7539 §2.3.2 zero key), rand's
    StdRng from_seed and rand_core's seed_from_u64(0) vectors."""
    assert _chacha_block([0] * 8, 0, 20)[:2] == [0xADE0B876, 0x903DF1A0]
    b = _chacha_block([1, 23, 456, 7890, 0, 0, 0, 0], 0, 12)
    assert b[0] | b[1] << 32 == 10719222850664546238
    k = _pcg_key(0)
    assert k[0] | k[1] << 32 == 5029875928683246316


def fuzz_factor(cid, reps):
    return StdRng(cid + reps).unit_f32()


def learn_fuzz(cid, reps, secs):
    """answering/learning.rs learning_ivl_with_fuzz: + up to 25 %, <= 5 min."""
    upper = secs + math.floor(min(secs * 0.25, 300.0))
    return secs if secs >= upper else StdRng(cid + reps).range_u32(secs, upper)


def fuzz_bounds(ivl, minimum, maximum):
    """states/fuzz.rs constrained_fuzz_bounds."""
    minimum = min(minimum, maximum)
    ivl = f32(min(max(ivl, minimum), maximum))
    delta = 0.0
    if ivl >= 2.5:
        delta = 1.0
        for start, end, fac in ((2.5, 7.0, 0.15), (7.0, 20.0, 0.1), (20.0, 3.4e38, 0.05)):
            delta = f32(delta + f32(fac * max(f32(min(ivl, end) - start), 0.0)))
    lo = min(max(rround(f32(ivl - delta)), minimum), maximum)
    hi = min(max(rround(f32(ivl + delta)), minimum), maximum)
    if hi == lo and 2 < hi < maximum:
        hi = lo + 1
    return lo, hi


def with_fuzz(factor, ivl, minimum, maximum=36500):
    lo, hi = fuzz_bounds(ivl, minimum, maximum)
    return math.floor(f32(lo + f32(factor * (1 + hi - lo))))


def sm2_passing(cid, reps, ivl, days_late, ease, hard_mult=1.2, easy_mult=1.3):
    """states/review.rs passing_nonearly_review_intervals (modifier 1)."""
    ff = fuzz_factor(cid, reps)
    cur = float(max(ivl, 1))
    late = float(max(days_late, 0))
    hard = with_fuzz(ff, f32(cur * f32(hard_mult)), ivl + 1)
    good = with_fuzz(ff, f32(f32(cur + late / 2) * f32(ease)), hard + 1)
    easy = with_fuzz(ff, f32(f32(f32(cur + late) * f32(ease)) * f32(easy_mult)), good + 1)
    return hard, good, easy


# ---- reference: FSRS-6 (fsrs-rs model.rs), single precision ----

FSRS6_DEFAULT = [0.212, 1.2931, 2.3065, 8.2956, 6.4133, 0.8334, 3.0194, 0.001, 1.8722,
                 0.1666, 0.796, 1.4835, 0.0614, 0.2629, 1.6483, 0.6014, 1.8729, 0.5425,
                 0.0912, 0.0658, 0.1542]
CUSTOM = [0.4, 0.9, 2.3, 10.9, 4.93, 0.94, 0.86, 0.01, 1.49, 0.14, 0.94, 2.18, 0.05, 0.34,
          1.26, 0.29, 2.61, 0.5, 0.3, 0.1, 0.2]


def fsrs_init(w, rating):
    return f32(w[rating - 1]), min(max(f32(w[4] - math.exp(w[5] * (rating - 1)) + 1), 1.0), 10.0)


def fsrs_interval(w, s, dr):
    decay = -w[20]
    factor = math.exp(math.log(0.9) / decay) - 1
    return f32(s / factor * (dr ** (1 / decay) - 1))


def fsrs_step(w, t, rating, s, d):
    decay = -w[20]
    factor = math.exp(math.log(0.9) / decay) - 1
    r = (t / s * factor + 1) ** decay
    if t == 0:
        sinc = math.exp(w[17] * (rating - 3 + w[18])) * s ** -w[19]
        ns = s * (max(sinc, 1.0) if rating >= 2 else sinc)
    elif rating == 1:
        ns = min(w[11] * d ** -w[12] * ((s + 1) ** w[13] - 1) * math.exp((1 - r) * w[14]),
                 s / math.exp(w[17] * w[18]))
    else:
        bonus = w[15] if rating == 2 else w[16] if rating == 4 else 1.0
        ns = s * (math.exp(w[8]) * (11 - d) * s ** -w[9] * (math.exp((1 - r) * w[10]) - 1)
                  * bonus + 1)
    nd = d + (10 - d) * (-w[6] * (rating - 3)) / 9
    nd = w[7] * (fsrs_init_d_raw(w, 4) - nd) + nd  # mean reversion to D0(4), unclamped
    return f32(min(max(ns, 0.001), 36500.0)), f32(min(max(nd, 1.0), 10.0))


def fsrs_init_d_raw(w, rating):
    return w[4] - math.exp(w[5] * (rating - 1)) + 1


def shifted(d):
    """revlog factor of an FSRS answer: difficulty shifted to 100..1100."""
    return rround(((d - 1) / 9 + 0.1) * 1000)


# ---- helpers ----

def day_label(n):
    """timespan.rs: days below a month (365/12 days), then months to 0.1."""
    if n * 86400 < 365 * 86400 / 12:
        return f"{n}d"
    m = rround(n * 86400 / (365 * 86400 / 12) * 10) / 10
    return f"{m:g}mo" if m < 12 or n < 365 else f"{rround(n / 365 * 10) / 10:g}y"


def strip_iso(labels):
    return [x.replace(ISO_L, "").replace(ISO_R, "") for x in labels]


def iso(label):
    """The desktop string: the number wrapped in U+2068/U+2069."""
    i = 1 if label.startswith("<") else 0
    j = i
    while j < len(label) and (label[j].isdigit() or label[j] == "."):
        j += 1
    return label[:i] + ISO_L + label[i:j] + ISO_R + label[j:]


def env_at(ms):
    return {"ANKIHOST_FAKE_NOW_MS": str(ms), "TZ": "UTC"}


def start(procs, tmp_path, ms=T0, col=None):
    return Daemon(procs, tmp_path, col=col, env=env_at(ms))


@pytest.fixture
def run(procs, tmp_path):
    """Start the daemon at T0; the test may restart it (day boundaries);
    the last one is stopped and its collection checked."""
    state = {}

    def go(ms=T0, col=None):
        if "d" in state and state["d"].proc.p.poll() is None:
            assert state["d"].stop() == 0
            check_collection(state["d"].col)
        state["d"] = start(procs, tmp_path, ms, col=col)
        return state["d"]
    yield go
    d = state.get("d")
    if d is not None and d.proc.p.poll() is None:
        assert d.stop() == 0
        check_collection(d.col)


def new_cards(d, n, deck="Default"):
    out = []
    for _ in range(n):
        front = f"q{len(d.result('findNotes', query='deck:*'))}"
        nid = d.result("addNote", note=basic_note(front, deck=deck))
        out.append(d.result("notesInfo", notes=[nid])[0]["cards"][0])
    return out


def card(d, cid):
    return d.result("cardsInfo", cards=[cid])[0]


def cols(c):
    return (c["type"], c["queue"], c["due"], c["interval"], c["factor"], c["left"], c["reps"],
            c["lapses"])


def last_review(d, cid):
    revs = d.result("getReviewsOfCards", cards=[cid])[str(cid)]
    r = max(revs, key=lambda x: x["id"])
    return (r["ease"], r["ivl"], r["lastIvl"], r["factor"], r["time"], r["type"])


def card_data(d, cid):
    db = open_db(d.col)
    try:
        return json.loads(db.execute("select data from cards where id = ?", (cid,)).fetchone()[0])
    finally:
        db.close()


def set_config(path, key, value):
    db = open_db(path)
    try:
        db.execute("insert or replace into config (KEY, usn, mtime_secs, val) "
                   "values (?, -1, ?, ?)", (key, T0 // 1000, json.dumps(value).encode()))
        db.commit()
    finally:
        db.close()


def make_review(d, cid, ivl, due, factor=2500, reps=5, lapses=0):
    assert d.result("setSpecificValueOfCard", card=cid,
                    keys=["type", "queue", "ivl", "due", "factor", "reps", "lapses"],
                    newValues=[2, 2, ivl, due, factor, reps, lapses], warning_check=True) == [True]


NOW = T0 // 1000


# ---- the spec's examples ----

def test_spec_examples(run):
    d = run()
    a, b, c = new_cards(d, 3)
    # answerCards: [{"cardId": .., "ease": 2}, {"cardId": .., "ease": 4}] -> [true, true]
    assert d.result("answerCards", answers=[{"cardId": a, "ease": 2},
                                            {"cardId": b, "ease": 4}]) == [True, True]
    # setDueDate: "3-7" -> true, a review card due in 3 to 7 days
    assert d.result("setDueDate", cards=[c], days="3-7") is True
    x = card(d, c)
    assert (x["type"], x["queue"]) == (2, 2) and 3 <= x["due"] <= 7
    # cardsInfo.nextReviews of a new card with default steps (Easy fuzzed, see below)
    (e,) = new_cards(d, 1)
    easy = with_fuzz(fuzz_factor(e, 0), 4.0, 1)
    assert card(d, e)["nextReviews"] == [iso("<1m"), iso("<6m"), iso("<10m"), iso(f"{easy}d")]
    # the answers landed: one review-log row each, and setDueDate's manual
    # row, which AnkiConnect's count of today's reviews includes
    assert d.result("getNumCardsReviewedToday") == 3
    rows = d.result("cardReviews", deck="Default", startID=0)
    assert sorted((r[1], r[3], r[8]) for r in rows) == [(a, 2, 0), (b, 4, 0), (c, 0, 4)]


# ---- answerCards on new cards, every ease ----

def test_answer_new_cards_each_ease(run):
    d = run()
    cids = new_cards(d, 4)
    assert d.result("answerCards",
                    answers=[{"cardId": c, "ease": i + 1} for i, c in enumerate(cids)]) == \
        [True] * 4
    again, hard, good, easy = cids
    # Again: first step (1 min), Hard: average of 1 and 10 min, Good: 10 min;
    # due = now + step + learning fuzz seeded with card id + reps (0)
    assert cols(card(d, again)) == (1, 1, NOW + learn_fuzz(again, 0, 60), 0, 0, 2, 1, 0)
    assert cols(card(d, hard)) == (1, 1, NOW + learn_fuzz(hard, 0, 330), 0, 0, 2, 1, 0)
    assert cols(card(d, good)) == (1, 1, NOW + learn_fuzz(good, 0, 600), 0, 0, 1, 1, 0)
    # Easy graduates: 4 days fuzzed, ease 250 %
    n = with_fuzz(fuzz_factor(easy, 0), 4.0, 1)
    assert 3 <= n <= 5
    assert cols(card(d, easy)) == (2, 2, n, n, 2500, 0, 1, 0)
    # review log: ease ivl lastIvl factor time type (0 = learning); seconds negative
    assert last_review(d, again) == (1, -60, 0, 0, 0, 0)
    assert last_review(d, hard) == (2, -330, 0, 0, 0, 0)
    assert last_review(d, good) == (3, -600, 0, 0, 0, 0)
    assert last_review(d, easy) == (4, n, 0, 2500, 0, 0)
    rows = d.result("cardReviews", deck="Default", startID=0)
    assert sorted(r[1] for r in rows) == sorted(cids)
    assert all(r[2] == -1 and r[7] == 0 and r[8] == 0 for r in rows)
    # the same millisecond: distinct, increasing review-log ids from the answer time
    assert sorted(r[0] for r in rows) == [T0 + i for i in range(4)]

    # second answers, still at the same time
    assert d.result("answerCards", answers=[{"cardId": good, "ease": 3},
                                            {"cardId": again, "ease": 1},
                                            {"cardId": hard, "ease": 3}]) == [True] * 3
    # Good on the last step graduates with 1 day (no fuzz below 2.5 days)
    assert cols(card(d, good)) == (2, 2, 1, 1, 2500, 0, 2, 0)
    assert last_review(d, good) == (3, 1, -600, 2500, 0, 0)
    # Again again: back on the first step, lastIvl the 1-minute step
    assert cols(card(d, again)) == (1, 1, NOW + learn_fuzz(again, 1, 60), 0, 0, 2, 2, 0)
    assert last_review(d, again) == (1, -60, -60, 0, 0, 0)
    # Hard card, Good: next step; lastIvl is the current step's delay (Anki
    # rebuilds the current state from the step, not from the last answer)
    assert cols(card(d, hard)) == (1, 1, NOW + learn_fuzz(hard, 1, 600), 0, 0, 1, 2, 0)
    assert last_review(d, hard) == (3, -600, -60, 0, 0, 0)
    assert d.result("getNumCardsReviewedToday") == 7
    assert d.result("getIntervals", cards=[good, again]) == [1, -60]
    # nextReviews follow the state: last step for the Hard card
    assert strip_iso(card(d, hard)["nextReviews"])[:3] == ["<1m", "<10m", "1d"]


def test_answer_results_and_errors(run):
    d = run()
    a, b = new_cards(d, 2)
    # a missing card is false and changes nothing; ease is not looked at
    assert d.result("answerCards", answers=[{"cardId": 123, "ease": 3},
                                            {"cardId": 456, "ease": 9}]) == [False, False]
    assert d.result("answerCards", answers=[]) == []
    assert d.result("getNumCardsReviewedToday") == 0
    # an ease out of range on an existing card: "invalid ease", earlier answers stay
    for bad in (0, 5, -1, "3", 2.5, None, False, [3]):
        before = card(d, b)["reps"]
        r = d.call("answerCards", answers=[{"cardId": a, "ease": 3}, {"cardId": b, "ease": bad}])
        assert r == {"result": None, "error": "invalid ease"}, bad
        assert card(d, b)["reps"] == before
    assert card(d, a)["reps"] == 8
    assert len(d.result("getReviewsOfCards", cards=[a])[str(a)]) == 8
    # Python equality: 3.0 and true (== 1) are valid eases
    assert d.result("answerCards", answers=[{"cardId": b, "ease": 3.0},
                                            {"cardId": b, "ease": True}]) == [True, True]
    assert [r["ease"] for r in d.result("getReviewsOfCards", cards=[b])[str(b)]] == [3, 1]
    # a falsy id is a blank card: the ease is checked, then not found
    assert d.result("answerCards", answers=[{"cardId": 0, "ease": 1},
                                            {"cardId": None, "ease": 2}]) == [False, False]
    assert d.error("answerCards", answers=[{"cardId": 0, "ease": 7}]) == "invalid ease"
    # Python's errors for malformed answers, after the answers before them
    n = card(d, a)["reps"]
    assert d.error("answerCards", answers=[{"cardId": a, "ease": 1}, {"ease": 1}]) == "'cardId'"
    assert card(d, a)["reps"] == n + 1
    assert d.error("answerCards", answers=[{"cardId": a}]) == "'ease'"
    assert d.error("answerCards", answers=[{"cardId": str(a), "ease": 1}]) == \
        "'str' object cannot be interpreted as an integer"
    assert d.error("answerCards", answers=[{"cardId": float(a), "ease": 1}]) == \
        "'float' object cannot be interpreted as an integer"
    assert d.error("answerCards", answers=[5]) == "'int' object is not subscriptable"
    assert d.error("answerCards", answers=[[a, 3]]) == \
        "list indices must be integers or slices, not str"
    assert d.error("answerCards", answers=["x"]) == "string indices must be integers, not 'str'"
    assert d.error("answerCards", answers={"k": 1}) == \
        "string indices must be integers, not 'str'"
    assert d.error("answerCards", answers=7) == "'int' object is not iterable"
    assert d.result("answerCards", answers={}) == []
    assert d.error("answerCards") == \
        "AnkiConnect.answerCards() missing 1 required positional argument: 'answers'"
    # multi runs it like any action (version 4 inside: bare results)
    r = d.result("multi", actions=[{"action": "answerCards",
                                    "params": {"answers": [{"cardId": a, "ease": 3}]}}])
    assert r == [[True]]
    assert card(d, a)["reps"] == n + 2


# ---- review cards, SM-2 ----

def test_review_sm2(run):
    d = run()
    on_time, late, easy, lapse = new_cards(d, 4)
    make_review(d, on_time, ivl=10, due=0)
    make_review(d, late, ivl=10, due=-4)  # four days overdue
    make_review(d, easy, ivl=10, due=0, factor=2700)
    make_review(d, lapse, ivl=10, due=0, lapses=2)
    labels = strip_iso(card(d, on_time)["nextReviews"])
    h, g, e = sm2_passing(on_time, 5, 10, 0, 2.5)
    assert labels == ["<10m", day_label(h), day_label(g), day_label(e)]
    assert d.result("answerCards", answers=[
        {"cardId": on_time, "ease": 3}, {"cardId": late, "ease": 2},
        {"cardId": easy, "ease": 4}, {"cardId": lapse, "ease": 1}]) == [True] * 4
    # Good on time: (ivl + late/2) * ease = 25, fuzzed, at least hard + 1
    assert 23 <= g <= 27
    assert cols(card(d, on_time)) == (2, 2, g, g, 2500, 0, 6, 0)
    assert last_review(d, on_time) == (3, g, 10, 2500, 0, 1)
    # Hard when late: ivl * 1.2, ease -15 %
    h2, _, _ = sm2_passing(late, 5, 10, 4, 2.5)
    assert cols(card(d, late)) == (2, 2, h2, h2, 2350, 0, 6, 0)
    assert last_review(d, late) == (2, h2, 10, 2350, 0, 1)
    # Easy: (ivl) * ease * 1.3, ease +15 %
    _, _, e3 = sm2_passing(easy, 5, 10, 0, 2.7)
    assert 30 <= e3 <= 40
    assert cols(card(d, easy)) == (2, 2, e3, e3, 2850, 0, 6, 0)
    # Again: lapse into the 10-minute relearning step, ease -20 %, the new
    # interval 10 * 0 (new interval multiplier) -> minimum 1 day
    due = NOW + learn_fuzz(lapse, 5, 600)
    assert cols(card(d, lapse)) == (3, 1, due, 1, 2300, 1, 6, 3)
    assert last_review(d, lapse) == (1, -600, 10, 2300, 0, 1)
    assert strip_iso(card(d, lapse)["nextReviews"]) == ["<10m", "<15m", "1d", "2d"]
    # Good ends relearning with the lapse interval; log type 2 (relearning)
    assert d.result("answerCards", answers=[{"cardId": lapse, "ease": 3}]) == [True]
    assert cols(card(d, lapse)) == (2, 2, 1, 1, 2300, 0, 7, 3)
    assert last_review(d, lapse) == (3, 1, -600, 2300, 0, 2)


def test_day_boundaries(run):
    d = run()
    a, b, c = new_cards(d, 3)
    # day 0, 12:00: a graduates (1 day); b goes to its 10-minute step
    d.result("answerCards", answers=[{"cardId": a, "ease": 3}, {"cardId": a, "ease": 3},
                                     {"cardId": b, "ease": 3}])
    assert cols(card(d, a))[:4] == (2, 2, 1, 1)
    # day 0, 03:58 next morning (still day 0 before the 4:00 rollover): a
    # 10-minute step of c reaches past the rollover -> day learning, due day 1
    d = run(T0 + 16 * 3600 * 1000 - 120 * 1000, col=d.col)
    d.result("answerCards", answers=[{"cardId": c, "ease": 3}])
    assert cols(card(d, c)) == (1, 3, 1, 0, 0, 1, 1, 0)
    assert last_review(d, c) == (3, 1, 0, 0, 0, 0)  # logged in days
    # day 1: the review card a, one day, answered on time
    d = run(T0 + DAY_MS, col=d.col)
    assert d.result("getNumCardsReviewedToday") == 0
    assert sum(n for _, n in d.result("getNumCardsReviewedByDay")) == 4
    h, g, e = sm2_passing(a, 2, 1, 0, 2.5)
    assert (h, g) == (2, g) and g in (3, 4)
    assert strip_iso(card(d, a)["nextReviews"]) == ["<10m", f"{h}d", f"{g}d", f"{e}d"]
    # the day-learning card: Good graduates (1 day), the learning one (b)
    # answered a day late still graduates from its last step
    d.result("answerCards", answers=[{"cardId": a, "ease": 3}, {"cardId": c, "ease": 3},
                                     {"cardId": b, "ease": 3}])
    assert cols(card(d, a)) == (2, 2, 1 + g, g, 2500, 0, 3, 0)
    assert last_review(d, a) == (3, g, 1, 2500, 0, 1)
    assert cols(card(d, c)) == (2, 2, 2, 1, 2500, 0, 2, 0)
    assert last_review(d, c) == (3, 1, -600, 2500, 0, 0)
    assert cols(card(d, b)) == (2, 2, 2, 1, 2500, 0, 2, 0)
    assert d.result("getNumCardsReviewedToday") == 3
    # day 9: a is 9 - (1 + g) days late; Good adds half the lateness
    d = run(T0 + 9 * DAY_MS, col=d.col)
    late = 9 - (1 + g)
    _, g2, _ = sm2_passing(a, 3, g, late, 2.5)
    d.result("answerCards", answers=[{"cardId": a, "ease": 3}])
    assert cols(card(d, a)) == (2, 2, 9 + g2, g2, 2500, 0, 4, 0)
    assert last_review(d, a) == (3, g2, g, 2500, 0, 1)


# ---- FSRS ----

def test_fsrs_default_params(run):
    d = run()
    a, b = new_cards(d, 2)
    assert d.stop() == 0
    set_config(d.col, "fsrs", True)
    d = run(col=d.col)
    # new card: Easy = round(w3) = 8 days fuzzed, at least Good (w2 = 2.3 -> 2) + 1
    easy = with_fuzz(fuzz_factor(a, 0), 8.0, 3)
    assert card(d, a)["nextReviews"] == [iso("<1m"), iso("<6m"), iso("<10m"), iso(f"{easy}d")]
    d.result("answerCards", answers=[{"cardId": a, "ease": 3}, {"cardId": b, "ease": 4}])
    s, dd = fsrs_init(FSRS6_DEFAULT, 3)
    data = card_data(d, a)
    assert data["s"] == 2.3065 and abs(data["d"] - dd) < 0.0006
    assert (data["dr"], data["decay"], data["lrt"]) == (0.9, 0.154, NOW)
    assert cols(card(d, a)) == (1, 1, NOW + learn_fuzz(a, 0, 600), 0, 0, 1, 1, 0)
    assert last_review(d, a) == (3, -600, 0, shifted(dd), 0, 0)
    # Easy on a new card graduates with the FSRS easy interval
    s4, d4 = fsrs_init(FSRS6_DEFAULT, 4)
    n = with_fuzz(fuzz_factor(b, 0), float(rround(fsrs_interval(FSRS6_DEFAULT, s4, 0.9))),
                  with_fuzz(fuzz_factor(b, 0), fsrs_interval(FSRS6_DEFAULT, 2.3065, 0.9), 1) + 1)
    assert cols(card(d, b)) == (2, 2, n, n, 2500, 0, 1, 0)
    assert card_data(d, b)["s"] == round(s4, 4)
    assert last_review(d, b) == (4, n, 0, shifted(d4), 0, 0)
    # same day, Good on the last step: short-term stability, then graduation
    d.result("answerCards", answers=[{"cardId": a, "ease": 3}])
    s2, d2 = fsrs_step(FSRS6_DEFAULT, 0, 3, 2.3065, round(dd, 3))
    ivl = with_fuzz(fuzz_factor(a, 1), fsrs_interval(FSRS6_DEFAULT, s2, 0.9), 1)
    assert cols(card(d, a)) == (2, 2, ivl, ivl, 2500, 0, 2, 0)
    data = card_data(d, a)
    assert abs(data["s"] - s2) < 0.0002 and abs(data["d"] - d2) < 0.0006
    assert last_review(d, a) == (3, ivl, -600, shifted(d2), 0, 0)
    # two days later: a review with two days elapsed
    d = run(T0 + 2 * DAY_MS, col=d.col)
    st = card_data(d, a)
    s3, d3 = fsrs_step(FSRS6_DEFAULT, 2, 3, st["s"], st["d"])
    assert abs(s3 - 2.3065) > 1  # it grew
    d.result("answerCards", answers=[{"cardId": a, "ease": 3}])
    x = card(d, a)
    lo, hi = fuzz_bounds(fsrs_interval(FSRS6_DEFAULT, s3, 0.9), ivl + 1, 36500)
    assert x["type"] == 2 and lo <= x["interval"] <= hi and x["due"] == 2 + x["interval"]
    data = card_data(d, a)
    assert abs(data["s"] - s3) < 0.001 and abs(data["d"] - d3) < 0.001
    assert data["lrt"] == NOW + 2 * 86400
    assert last_review(d, a)[:3] == (3, x["interval"], ivl)
    assert all(math.isfinite(v) for v in (data["s"], data["d"]))


def test_fsrs_custom_params(run):
    d = run()
    (a,) = new_cards(d, 1)
    cfg = d.result("getDeckConfig", deck="Default")
    cfg["fsrsParams6"] = CUSTOM
    cfg["desiredRetention"] = 0.85
    assert d.result("saveDeckConfig", config=cfg) is True
    assert d.stop() == 0
    set_config(d.col, "fsrs", True)
    d = run(col=d.col)
    # Easy: S = w3, interval at 85 % with decay 0.2; Good first (S = w2)
    good = with_fuzz(fuzz_factor(a, 0), fsrs_interval(CUSTOM, CUSTOM[2], 0.85), 1)
    easy = with_fuzz(fuzz_factor(a, 0), float(rround(fsrs_interval(CUSTOM, CUSTOM[3], 0.85))),
                     good + 1)
    assert strip_iso(card(d, a)["nextReviews"])[3] == f"{easy}d"
    d.result("answerCards", answers=[{"cardId": a, "ease": 4}])
    s, dd = fsrs_init(CUSTOM, 4)
    assert dd == 1.0  # w4 - e^(3 w5) + 1 is below 1: clamped
    data = card_data(d, a)
    assert (data["s"], data["d"], data["dr"], data["decay"]) == (10.9, 1.0, 0.85, 0.2)
    assert cols(card(d, a)) == (2, 2, easy, easy, 2500, 0, 1, 0)
    assert last_review(d, a) == (4, easy, 0, 100, 0, 0)


# ---- setDueDate ----

def test_set_due_date(run):
    d = run()
    new, rev, rng, other = new_cards(d, 4)
    make_review(d, rev, ivl=30, due=5, factor=2100, reps=9)
    make_review(d, rng, ivl=30, due=5, factor=2100, reps=9)
    # "0": the new card becomes a review card due today, interval 1,
    # starting ease; a manual review-log row (ease 0, type 4)
    assert d.result("setDueDate", cards=[new, 999], days="0") is True
    assert cols(card(d, new)) == (2, 2, 0, 1, 2500, 0, 0, 0)
    assert last_review(d, new) == (0, 1, 0, 2500, 0, 4)
    # "3-7" keeps a review card's interval; "1!" resets it to 1 day
    assert d.result("setDueDate", cards=[rng], days="3-7") is True
    x = card(d, rng)
    assert 3 <= x["due"] <= 7 and x["interval"] == 30 and x["factor"] == 2100
    assert last_review(d, rng) == (0, 30, 30, 2100, 0, 4)
    assert d.result("setDueDate", cards=[rev], days="1!") is True
    assert cols(card(d, rev)) == (2, 2, 1, 1, 2100, 0, 9, 0)
    assert last_review(d, rev) == (0, 1, 30, 2100, 0, 4)
    # "7-3!" is the same range; the interval follows the chosen day
    assert d.result("setDueDate", cards=[rev], days="7-3!") is True
    x = card(d, rev)
    assert 3 <= x["due"] <= 7 and x["interval"] == x["due"]
    # the nextReviews of a card due today now count from its interval
    assert strip_iso(card(d, new)["nextReviews"])[0] == "<10m"
    # bad text: Anki's parser error is the text itself; u32::parse failures
    # (non-ASCII digits, overflow) have Anki's number message; nothing changes
    before = card(d, other)
    for days, msg in (("x", "x"), ("", ""), ("1-", "1-"), ("-1", "-1"), ("1 ", "1 "),
                      ("1!!", "1!!"), ("1!-2", "1!-2"), ("+1", "+1"),
                      ("\u0663", "A number was invalid or out of range."),
                      ("4294967296", "A number was invalid or out of range.")):
        assert d.error("setDueDate", cards=[other], days=days) == msg, days
    assert card(d, other) == before
    assert d.error("setDueDate", cards=[other], days=3) == \
        "bad argument type for built-in operation"
    assert d.error("setDueDate", cards=[str(other)], days="1") == \
        "'str' object cannot be interpreted as an integer"
    assert d.error("setDueDate", cards=5, days="1") == "'int' object is not iterable"
    assert d.result("setDueDate", cards=[], days="2") is True
    # a failed call leaves no partial change
    assert d.error("setDueDate", cards=[new, "x"], days="2") == \
        "'str' object cannot be interpreted as an integer"
    assert card(d, new)["due"] == 0
    revs = d.result("getReviewsOfCards", cards=[new, rev, rng])
    assert [len(revs[str(c)]) for c in (new, rev, rng)] == [1, 2, 1]
    # what resched: searches find (manual entries today), not rated:
    assert sorted(d.result("findCards", query="resched:1")) == sorted([new, rev, rng])
    assert d.result("findCards", query="rated:1") == []


# ---- nextReviews ----

def test_next_reviews_default_options(run):
    """A new card with default options: ["<1m", "<6m", "<10m", "4d"] as the
    spec shows them, but as AnkiConnect 25.x returns Anki's desktop strings:
    with the isolation marks around the number (Fluent; Anki turns them off
    only in its own tests), and Easy is the fuzzed 4-day interval (3-5)."""
    d = run()
    cids = new_cards(d, 10)
    info = d.result("cardsInfo", cards=cids + [42])
    assert info[-1] == {}
    seen = set()
    for cid, c in zip(cids, info):
        easy = with_fuzz(fuzz_factor(cid, 0), 4.0, 1)
        seen.add(easy)
        assert c["nextReviews"] == ["<\u20681\u2069m", "<\u20686\u2069m", "<\u206810\u2069m",
                                    f"\u2068{easy}\u2069d"]
    # the spec's example, for the cards whose fuzz lands on 4 days
    assert 4 in seen
    fours = [c for cid, c in zip(cids, info) if with_fuzz(fuzz_factor(cid, 0), 4.0, 1) == 4]
    assert strip_iso(fours[0]["nextReviews"]) == ["<1m", "<6m", "<10m", "4d"]
    # reading labels writes nothing (cardsInfo runs on a read-only connection)
    assert d.result("getNumCardsReviewedToday") == 0
    assert [c["mod"] for c in d.result("cardsInfo", cards=cids)] == [c["mod"] for c in info[:-1]]


def test_card_without_deck(run):
    """Anki raises NotFoundError when a card's deck is gone: answerCards
    gives false for it (after Scheduler.answerCard has checked the ease)
    and cardsInfo {} (its scheduling states come before the object)."""
    d = run()
    a, b = new_cards(d, 2)
    assert d.stop() == 0
    db = open_db(d.col)
    db.execute("update cards set did = 4242 where id = ?", (a,))
    db.commit()
    db.close()
    d = run(col=d.col)
    assert d.result("answerCards", answers=[{"cardId": a, "ease": 3},
                                            {"cardId": b, "ease": 3}]) == [False, True]
    assert d.error("answerCards", answers=[{"cardId": a, "ease": 9}]) == "invalid ease"
    info = d.result("cardsInfo", cards=[a, b])
    assert info[0] == {} and info[1]["reps"] == 1
    assert d.result("getReviewsOfCards", cards=[a])[str(a)] == []
    assert d.stop() == 0
    db = open_db(d.col)
    db.execute("update cards set did = 1 where id = ?", (a,))
    db.commit()
    db.close()
    check_collection(d.col)
