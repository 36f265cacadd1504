"""anki-connectd media actions (ankiconnect.md §3.4): data, path and url
sources, Anki's name normalisation and unique-add rule, the trash, globbing,
and hostile names that must never leave the media folder."""
import base64
import hashlib
import http.server
import os
import threading
import time

import pytest

from connectd_client import Daemon, check_collection


@pytest.fixture
def d(procs, tmp_path):
    dm = Daemon(procs, tmp_path, config={"webTimeout": 2000})
    yield dm
    if dm.proc.p.poll() is None:
        assert dm.stop() == 0
        check_collection(dm.col)


def b64(data):
    return base64.b64encode(data).decode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/ok.png":
            body = b"\x89PNG fake"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/slow":
            time.sleep(5)
            self.send_response(200)
            self.end_headers()
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok.png")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def web():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_store_retrieve_list_delete(d):
    assert d.result("storeMediaFile", filename="hello.txt", data=b64(b"hi")) == "hello.txt"
    assert (d.media_dir / "hello.txt").read_bytes() == b"hi"
    assert d.result("retrieveMediaFile", filename="hello.txt") == b64(b"hi")
    assert d.result("retrieveMediaFile", filename="missing.txt") is False
    assert d.result("getMediaDirPath") == str(d.media_dir.resolve())
    d.result("storeMediaFile", filename="_shared.css", data=b64(b"x"))
    d.result("storeMediaFile", filename=".hidden", data=b64(b"x"))
    assert sorted(d.result("getMediaFilesNames")) == ["_shared.css", "hello.txt"]
    assert d.result("getMediaFilesNames", pattern="*.txt") == ["hello.txt"]
    assert d.result("getMediaFilesNames", pattern="h?llo.*") == ["hello.txt"]
    assert d.result("getMediaFilesNames", pattern="[_]*") == ["_shared.css"]
    assert d.result("getMediaFilesNames", pattern=".*") == [".hidden"]
    assert d.result("getMediaFilesNames", pattern="../*") == []
    assert d.result("deleteMediaFile", filename="hello.txt") is None
    assert not (d.media_dir / "hello.txt").exists()
    assert (d.media_dir.parent / "media.trash" / "hello.txt").read_bytes() == b"hi"
    assert d.result("deleteMediaFile", filename="hello.txt") is None  # missing: fine


def test_unique_add_and_delete_existing(d):
    assert d.result("storeMediaFile", filename="a.txt", data=b64(b"one")) == "a.txt"
    # default deleteExisting: the old file goes to the trash, the name is reused
    assert d.result("storeMediaFile", filename="a.txt", data=b64(b"two")) == "a.txt"
    assert (d.media_dir / "a.txt").read_bytes() == b"two"
    # without deleting: same bytes reuse the name, other bytes get the hash
    assert d.result("storeMediaFile", filename="a.txt", data=b64(b"two"),
                    deleteExisting=False) == "a.txt"
    sha = hashlib.sha1(b"three").hexdigest()
    assert d.result("storeMediaFile", filename="a.txt", data=b64(b"three"),
                    deleteExisting=False) == f"a-{sha}.txt"
    # skipHash: the md5 of the bytes means "already have it"
    assert d.result("storeMediaFile", filename="s.txt", data=b64(b"z"),
                    skipHash=hashlib.md5(b"z").hexdigest()) is None
    assert not (d.media_dir / "s.txt").exists()
    # Anki 26.05: new upper-case names are stored lower-case
    assert d.result("storeMediaFile", filename="Photo.JPG", data=b64(b"p")) == "photo.jpg"


def test_name_normalisation_and_tricks(d):
    assert d.result("storeMediaFile", filename="../../escape.txt", data=b64(b"e")) == \
        "....escape.txt"
    assert d.result("storeMediaFile", filename="/etc/passwd", data=b64(b"e")) == "etcpasswd"
    assert d.result("storeMediaFile", filename="a\u0000b\\c:d*e?.txt", data=b64(b"e")) == \
        "abcde.txt"
    assert d.result("storeMediaFile", filename="con.txt", data=b64(b"e")) == "con_.txt"
    assert d.result("storeMediaFile", filename="x. ", data=b64(b"e")) == "x. _"
    assert d.result("storeMediaFile", filename="e\u0301.txt", data=b64(b"e")) == "\u00e9.txt"
    long = "x" * 200 + ".mp3"
    stored = d.result("storeMediaFile", filename=long, data=b64(b"e"))
    assert stored.endswith(".mp3") and len(stored.encode()) <= 120
    for bad in ("..", "", "///", "\u0000"):
        assert d.error("storeMediaFile", filename=bad, data=b64(b"e"))
    # nothing was ever written outside the media folder
    assert not (d.tmp / "escape.txt").exists()
    inside = set(os.listdir(d.media_dir))
    for name in inside:
        assert "/" not in name
    # lookups strip tricks too: only the base name counts
    assert d.result("retrieveMediaFile", filename="../../profile/collection.media/con_.txt") == \
        b64(b"e")
    assert d.result("retrieveMediaFile", filename="/etc/passwd") is False
    assert d.result("retrieveMediaFile", filename="..") is False
    d.result("deleteMediaFile", filename="../collection.anki2")
    assert d.col.exists()


def test_sources_and_errors(d, web, tmp_path):
    assert d.error("storeMediaFile", filename="x") == \
        'You must provide a "data", "path", or "url" field.'
    assert d.error("storeMediaFile", filename="x", data="") == \
        'You must provide a "data", "path", or "url" field.'
    assert d.error("storeMediaFile", filename="x", data="YQ") == "Incorrect padding"
    assert "cannot be 1 more than a multiple of 4" in d.error("storeMediaFile", filename="x",
                                                              data="YWJjZ")
    assert d.result("storeMediaFile", filename="ws.txt", data="Y W\nJ j") == "ws.txt"
    assert (d.media_dir / "ws.txt").read_bytes() == b"abc"
    src = tmp_path / "local.bin"
    src.write_bytes(b"from disk")
    assert d.result("storeMediaFile", filename="p.bin", path=str(src)) == "p.bin"
    assert d.error("storeMediaFile", filename="p.bin", path=str(tmp_path / "nope")) == \
        f"[Errno 2] No such file or directory: '{tmp_path / 'nope'}'"
    assert "Is a directory" in d.error("storeMediaFile", filename="p.bin", path=str(tmp_path))
    assert d.result("storeMediaFile", filename="u.png", url=web + "/ok.png") == "u.png"
    assert (d.media_dir / "u.png").read_bytes() == b"\x89PNG fake"
    assert d.result("storeMediaFile", filename="r.png", url=web + "/redirect") == "r.png"
    assert d.error("storeMediaFile", filename="n.png", url=web + "/missing") == \
        f"{web}/missing download failed with return code 404"
    t0 = time.monotonic()
    e = d.error("storeMediaFile", filename="t.png", url=web + "/slow")
    assert "download failed" in e and time.monotonic() - t0 < 4.5
    assert "download failed" in d.error("storeMediaFile", filename="f.png",
                                        url="file:///etc/passwd")
    assert "download failed" in d.error("storeMediaFile", filename="f.png",
                                        url="http://127.0.0.1:1/x")


def test_too_large(procs, tmp_path):
    d = Daemon(procs, tmp_path)
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(101 * 1024 * 1024)
    e = d.error("storeMediaFile", filename="big.bin", path=str(big))
    assert "too large" in e
    assert not (d.media_dir / "big.bin").exists()
    d.stop()
