"""The server keeps each user's media handle (media.db connection) open
between /msync/ requests and closes it when the user is idle; uploadChanges
bodies are held in memory up to 8 MiB and larger ones go to a file; download
zips are built in memory up to 8 MiB and in a file past it
(docs/media-sync.md, Performance).  Seen from outside: the open media.db
descriptor in /proc, big files round-tripping byte for byte, and nothing left
in the user's directory."""
import os
import time

from mediaclient import logged_in_device, sha1_hex


def open_media_dbs(pid, base):
    """How many descriptors of the server point at the user's media.db."""
    target = str(base / "user" / "media.db")
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                n += 1
        except OSError:
            pass
    return n


def test_handle_kept_between_requests_and_closed_when_idle(media_server, tmp_path):
    p, url, base = media_server
    c, m = logged_in_device(url, tmp_path, "a")
    for i in range(30):
        m.add_file(f"f{i:02}.jpg", os.urandom(200 + i))
    assert m.sync_until_clean()["uploaded_files"] == 30
    # kept right after the sync (the idle timeout is 2 s, the reaper's tick
    # at most 5 s)
    assert open_media_dbs(p.p.pid, base) == 1
    end = time.monotonic() + 20
    while open_media_dbs(p.p.pid, base) and time.monotonic() < end:
        time.sleep(0.2)
    assert open_media_dbs(p.p.pid, base) == 0
    # and reopened on the next request, with everything still there
    cb, b = logged_in_device(url, tmp_path, "b")
    b.sync_until_clean()
    assert b.files() == m.files()


def test_change_behind_a_kept_handle(media_server, tmp_path):
    """Another process changes media.db while the server holds it open
    (as a restore or anki-sync-admin would): the next request sees it."""
    import sqlite3
    p, url, base = media_server
    c, m = logged_in_device(url, tmp_path, "a")
    m.add_file("a.jpg", b"aaaa")
    m.sync_until_clean()
    assert open_media_dbs(p.p.pid, base) == 1
    db = sqlite3.connect(base / "user" / "media.db")
    db.execute("update meta set last_usn = last_usn + 10")
    db.commit()
    db.close()
    r = c.request("begin", {"v": "anki,2.1.66 (x),lin:x"}, path=c.prefix + "msync/begin")
    assert r.status == 200
    import json
    assert json.loads(r.body)["data"]["usn"] == 11


def test_big_bodies_through_files(media_server, tmp_path):
    """A 9 MiB file: its upload body passes the in-memory limit and its
    download zip too; both go through files that do not outlive the
    request."""
    p, url, base = media_server
    c, m = logged_in_device(url, tmp_path, "a")
    big = os.urandom(9 * 1024 * 1024 + 123)
    m.add_file("big.mp4", big)
    m.add_file("small.jpg", b"s" * 100)
    assert m.sync_until_clean()["uploaded_files"] == 2
    assert sha1_hex((base / "user" / "media" / "big.mp4").read_bytes()) == sha1_hex(big)
    cb, b = logged_in_device(url, tmp_path, "b")
    b.sync_until_clean()
    assert b.files() == m.files()
    assert b.files()["big.mp4"] == sha1_hex(big)
    left = [n for n in os.listdir(base / "user")
            if n.startswith(".ankihost-msync-dl.") or ".tmp." in n]
    assert left == []
