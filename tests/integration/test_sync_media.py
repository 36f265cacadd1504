"""Media sync through the real server (sync-protocol.md §5), driven by a
client that follows the official media algorithm (mediaclient.py):
batches of 25 with a deletion, changes from 0 and from a later usn, full
download by a second client with SHA-1 comparison, identical re-upload,
deleting a deleted file, two clients adding the same name, sanity, and
hostile uploads answered 400 with nothing written and the usn unchanged."""
import io
import json
import os
import zipfile

import pytest

from mediaclient import logged_in_device, sha1_hex
from syncclient import start_server


@pytest.fixture
def server(tmp_path, procs):
    base = tmp_path / "base"
    base.mkdir()
    _, url = start_server(procs, base, users=("user:pass",))
    return url, base


def test_upload_download_and_conflicts(server, tmp_path):
    url, base = server
    ca, a = logged_in_device(url, tmp_path, "a")
    for i in range(60):
        a.add_file(f"img{i:02}.jpg", os.urandom(100 + i))
    stats = a.sync_until_clean()
    assert stats["uploaded_files"] == 60
    assert ca.meta()["media_usn"] == 60  # meta and begin agree
    a.remove_file("img07.jpg")
    assert a.sync_until_clean()["uploaded_deletions"] == 1
    usn = ca.meta()["media_usn"]
    assert usn == 61

    # the server's folder holds exactly the live files
    server_files = {n: sha1_hex((base / "user" / "media" / n).read_bytes())
                    for n in os.listdir(base / "user" / "media")}
    assert server_files == a.files()

    # a second device downloads everything and sees the deletion
    cb, b = logged_in_device(url, tmp_path, "b")
    stats = b.sync_until_clean()
    assert b.files() == a.files()
    assert "img07.jpg" not in b.files() and len(b.files()) == 59

    # changes from a later usn: only what changed since
    r = cb.request("mediaChanges", {"lastUsn": 59}, path=cb.prefix + "msync/mediaChanges")
    rows = json.loads(r.body)["data"]
    assert [row[0] for row in rows] == ["img59.jpg", "img07.jpg"] or \
        sorted(row[1] for row in rows) == [60, 61]
    assert rows[-1][2] == ""  # deleted

    # identical re-upload leaves the usn unchanged; so does deleting a deleted name
    data = (a.folder and open(os.path.join(a.folder, "img01.jpg"), "rb").read())
    zb = io.BytesIO()
    with zipfile.ZipFile(zb, "w") as z:
        z.writestr("0", data)
        z.writestr("_meta", json.dumps([["img01.jpg", "0"], ["img07.jpg", None]]))
    r = ca.request("uploadChanges", zb.getvalue(), path=ca.prefix + "msync/uploadChanges")
    assert r.status == 200
    assert json.loads(r.body)["data"] == [2, usn]

    # two devices add the same name with different content: first wins
    a.add_file("same.png", b"from A")
    b.add_file("same.png", b"from B")
    a.sync_until_clean()
    b.sync_until_clean()
    assert b.files()["same.png"] == sha1_hex(b"from A")
    a.sync_until_clean()
    assert a.files() == b.files()

    # sanity: right and wrong counts
    n = len(a.files())
    r = ca.request("mediaSanity", {"local": n}, path=ca.prefix + "msync/mediaSanity")
    assert json.loads(r.body)["data"] == "OK"
    r = ca.request("mediaSanity", {"local": n + 1}, path=ca.prefix + "msync/mediaSanity")
    assert json.loads(r.body)["data"] == "mediaSanity"


def hostile_zip(names_meta, members):
    zb = io.BytesIO()
    with zipfile.ZipFile(zb, "w") as z:
        for name, data in members:
            z.writestr(name, data)
        if names_meta is not None:
            z.writestr("_meta", names_meta if isinstance(names_meta, str) else
                       json.dumps(names_meta))
    return zb.getvalue()


@pytest.mark.parametrize("body", [
    hostile_zip([["../x", "0"]], [("0", b"x")]),
    hostile_zip([["/abs", "0"]], [("0", b"x")]),
    hostile_zip([["a/b", "0"]], [("0", b"x")]),
    hostile_zip([["a\x00b", "0"]], [("0", b"x")]),
    hostile_zip([["x" * 256, "0"]], [("0", b"x")]),
    hostile_zip([["e\u0301.jpg", "0"]], [("0", b"x")]),  # not NFC
    hostile_zip("x" * (51 * 1024), [("0", b"x")]),        # _meta too big
    hostile_zip({"not": "an array"}, [("0", b"x")]),
    hostile_zip([["ok.jpg", "0"]], []),                    # member missing
    hostile_zip([["z.jpg", "0"]], [("0", b"")]),           # zero-byte file
    hostile_zip([[f"f{i}.jpg", str(i)] for i in range(26)],
                [(str(i), b"y") for i in range(26)]),      # 26 entries
    hostile_zip([["ok.jpg", "0"]], [("0", b"x")])[:-30],   # truncated zip
    b"not a zip at all",
])
def test_hostile_uploads_change_nothing(server, tmp_path, body):
    url, base = server
    c, m = logged_in_device(url, tmp_path, "dev")
    m.add_file("keep.jpg", b"keep")
    m.sync_until_clean()
    usn = c.meta()["media_usn"]
    before = sorted(os.listdir(base / "user"))
    media_before = sorted(os.listdir(base / "user" / "media"))
    r = c.request("uploadChanges", body, path=c.prefix + "msync/uploadChanges")
    assert r.status == 400, r
    assert c.meta()["media_usn"] == usn
    assert sorted(os.listdir(base / "user" / "media")) == media_before
    assert sorted(os.listdir(base / "user")) == before
    assert not (tmp_path / "x").exists() and not (base / "x").exists()


def test_download_limits(server, tmp_path):
    url, _ = server
    c, m = logged_in_device(url, tmp_path, "dev")
    m.add_file("a.jpg", b"aaa")
    m.sync_until_clean()
    dl = lambda files: c.request("downloadFiles", {"files": files},
                                 path=c.prefix + "msync/downloadFiles")
    assert dl([f"n{i}" for i in range(26)]).status == 400
    assert dl(["missing.jpg"]).status == 409
    r = dl(["a.jpg"])
    assert r.status == 200
    with zipfile.ZipFile(io.BytesIO(r.body)) as z:
        meta = json.loads(z.read("_meta"))
        assert list(meta.values()) == ["a.jpg"]
        assert z.read(list(meta)[0]) == b"aaa"


def test_admin_check_and_reset_media(server, tmp_path):
    import subprocess
    from conftest import bin_path
    url, base = server
    c, m = logged_in_device(url, tmp_path, "dev")
    for i in range(5):
        m.add_file(f"f{i}.jpg", os.urandom(50))
    m.sync_until_clean()
    env = dict(os.environ, SYNC_BASE=str(base))
    admin = lambda *a: subprocess.run([bin_path("anki-sync-admin"), *a], env=env,
                                      capture_output=True, text=True, timeout=60)
    r = admin("check", "user")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "media: ok" in r.stdout
    os.unlink(base / "user" / "media" / "f3.jpg")
    (base / "user" / "media" / "stray.bin").write_bytes(b"?")
    r = admin("check", "user")
    assert r.returncode == 1
    assert "f3.jpg" in r.stdout and "stray.bin" in r.stdout
    r = admin("reset-media", "user")
    assert r.returncode == 0, r.stderr
    # the client is stuck no more: its next syncs upload everything again
    usn_before = c.meta()["media_usn"]
    m.force_resync()
    stats = m.sync_until_clean()
    assert stats["uploaded_files"] == 5
    assert c.meta()["media_usn"] > usn_before
    assert admin("check", "user").returncode == 0
