"""anki-sync-server under parallel use (sync-protocol.md §1.9): users never
wait for each other (not behind a password hash, not behind an upload),
one user's requests are serialised, and the same user syncing twice at
once ends with one complete collection."""
import os
import shutil
import threading
import time


from conftest import fixture_path
from syncclient import Client, content, open_col, prepare_for_upload, start_server

# A PHC hash with many rounds, so one login takes a noticeable time.
SLOW_ROUNDS = 3_000_000


@__import__("functools").lru_cache(maxsize=None)
def slow_hash(password):
    import base64
    import hashlib
    salt = b"0123456789abcdef"
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SLOW_ROUNDS, 32)
    b64 = lambda b: base64.b64encode(b).decode().rstrip("=")
    return f"$pbkdf2-sha256$i={SLOW_ROUNDS},l=32${b64(salt)}${b64(dk)}"


def run_in_thread(fn):
    out = {}

    def target():
        try:
            out["value"] = fn()
        except Exception as exc:  # reported by the caller
            out["error"] = exc
        out["end"] = time.monotonic()
    t = threading.Thread(target=target)
    t.start()
    return t, out


def test_other_users_do_not_wait_behind_a_login(procs, tmp_path):
    slow = slow_hash("slowpw")
    p, url = start_server(procs, tmp_path / "base",
                          users=(f"slow:{slow}", f"fast:{slow_hash('x')}"),
                          env={"PASSWORDS_HASHED": "1"})
    fast = Client(url)
    fast.hkey = __import__("hashlib").sha1(f"fast:{slow_hash('x')}".encode()).hexdigest()
    fast.meta()  # create the collection first
    t, out = run_in_thread(lambda: Client(url).login("slow", "slowpw"))
    time.sleep(0.05)
    done_at = []
    while t.is_alive() and len(done_at) < 50:
        fast.meta()
        done_at.append(time.monotonic())
    t.join()
    assert "error" not in out, out
    # Several requests of the other user finished while the login was still
    # hashing: nothing global is held during a password check.
    assert sum(1 for d in done_at if d < out["end"]) >= 2, (done_at, out["end"])


def test_users_do_not_wait_behind_an_upload(procs, tmp_path):
    p, url = start_server(procs, tmp_path / "base", users=("a:pa", "b:pb"))
    a, b = Client(url), Client(url)
    a.login("a", "pa")
    b.login("b", "pb")
    b.meta()
    local = str(tmp_path / "a.anki2")
    shutil.copy(fixture_path("v18-two-decks-revlog.anki2"), local)
    os.chmod(local, 0o644)
    prepare_for_upload(local)
    data = open(local, "rb").read()
    # drip the upload: 20 pieces, ~4 s on the wire
    from syncclient import zstd_frame
    piece = len(zstd_frame(data)) // 20 + 1
    t, out = run_in_thread(lambda: a.upload_bytes(data, chunk_size=piece, slow=0.2))
    time.sleep(0.3)
    assert t.is_alive()
    b.meta()
    b.download_bytes()
    # the same user too: the body of an upload in progress holds no lock
    a.meta()
    finished = time.monotonic()
    t.join()
    assert out.get("value") == "OK", out
    assert finished < out["end"], "the other requests waited for the upload"


def test_same_user_twice_at_once(procs, tmp_path):
    p, url = start_server(procs, tmp_path / "base")
    files = []
    for name, fx in (("x", "v18-two-decks-revlog.anki2"), ("y", "new-empty-v18.anki2")):
        f = str(tmp_path / f"{name}.anki2")
        shutil.copy(fixture_path(fx), f)
        os.chmod(f, 0o644)
        if name == "y":
            db = open_col(f)
            db.execute("insert into revlog values (1, 2, 0, 3, 1, 0, 2500, 1000, 0)")
            db.close()
        prepare_for_upload(f)
        files.append(f)
    expected = [content(f) for f in files]
    for round_ in range(5):
        clients = [Client(url), Client(url)]
        for c in clients:
            c.hkey = "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d"
        threads = [run_in_thread(lambda c=c, f=f: c.upload_bytes(open(f, "rb").read(), chunk_size=4096))
                   for c, f in zip(clients, files)]
        dl = run_in_thread(lambda: Client(url, hkey=clients[0].hkey).download_bytes())
        for t, _ in threads + [dl]:
            t.join()
        for _, out in threads:
            assert out.get("value") == "OK", out
        # the concurrent download got a complete collection (old or new)
        assert "error" not in dl[1], dl[1]
        d = tmp_path / "dl.anki2"
        d.write_bytes(dl[1]["value"])
        db = open_col(str(d))
        assert db.execute("pragma integrity_check").fetchall() == [("ok",)]
        db.close()
        stored = tmp_path / "base" / "user" / "collection.anki2"
        now = content(str(stored))
        assert now in expected


def thread_nices(pid):
    """{tid: nice} of every thread of process pid (field 19 of stat)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        out[int(tid)] = int(fields[16])
    return out


def wait_for_background_thread(pid, busy):
    """Poll while busy() until a thread of pid runs at nice 10; returns the
    nices seen then (or the last ones seen)."""
    deadline = time.monotonic() + 20
    nices = thread_nices(pid)
    while busy() and time.monotonic() < deadline:
        nices = thread_nices(pid)
        if 10 in nices.values():
            break
        time.sleep(0.01)
    return nices


def test_bulk_work_yields_cpu_to_other_users(procs, tmp_path):
    """A full upload's connection thread drops to nice 10 (and the lowest
    best-effort I/O priority) for the upload; the other threads, among them
    the one answering another user's meta meanwhile, stay at 0."""
    from syncclient import zstd_frame
    p, url = start_server(procs, tmp_path / "base", users=("up:pw", "other:pw"))
    up, other = Client(url), Client(url)
    up.login("up", "pw")
    other.login("other", "pw")
    up.meta()
    other.meta()
    assert set(thread_nices(p.p.pid).values()) == {0}
    body = zstd_frame(os.urandom(16 * 65536))
    t, out = run_in_thread(lambda: up.request("upload", raw_body=body, chunk_size=65536,
                                              slow=0.25))
    nices = wait_for_background_thread(p.p.pid, t.is_alive)
    assert t.is_alive(), "the upload ended before its thread was seen"
    other.meta()  # answered meanwhile, by a thread at normal priority
    t.join()
    assert "error" not in out, out
    assert 10 in nices.values(), nices
    assert nices[p.p.pid] == 0  # the main thread (signals, users file)
    assert sorted(nices.values()).count(10) == 1, nices
    # a new connection gets a new thread at normal priority
    assert "media_usn" in other.meta()


def test_password_hashing_yields_cpu(procs, tmp_path):
    """A login against a PBKDF2 hash runs at background priority."""
    slow = slow_hash("slowpw")
    p, url = start_server(procs, tmp_path / "base", users=(f"slow:{slow}",),
                          env={"PASSWORDS_HASHED": "1"})
    t, out = run_in_thread(lambda: Client(url).login("slow", "slowpw"))
    nices = wait_for_background_thread(p.p.pid, t.is_alive)
    t.join()
    assert "error" not in out, out
    assert 10 in nices.values(), nices
    assert nices[p.p.pid] == 0
