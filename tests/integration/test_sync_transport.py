"""anki-sync-server transport, login and meta against the protocol's test
vectors (sync-protocol.md §1, §2, §3.1, §9.1, §9.2), driven byte by byte
with the official client's framing (syncclient.py)."""
import json
import os
import time

import pytest

from syncclient import Client, LONG_CLIENT_VERSION, start_server, zstd_frame

HKEY = "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d"  # sha1("user:pass"), §9.1


@pytest.fixture
def server(procs, tmp_path):
    p, url = start_server(procs, tmp_path / "base")
    return p, url, tmp_path / "base"


def test_login_vector_byte_exact(server):
    _, url, base = server
    c = Client(url)
    assert not (base / "user").exists()
    r = c.request("hostKey", {"u": "user", "p": "pass"})
    assert r.status == 200
    assert (base / "user" / "media").is_dir()  # users appear on first login
    assert r.headers["anki-original-size"] == "50"
    assert r.body == b'{"key":"b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d"}'
    assert r.raw[:4] == b"\x28\xb5\x2f\xfd"  # one zstd frame


def test_login_bad_password_and_unknown_user(server):
    _, url, base = server
    c = Client(url)
    for u, p in (("user", "wrong"), ("bad", "bad"), ("", ""), ("../../etc", "x"), ("user\0x", "pass")):
        r = c.request("hostKey", {"u": u, "p": p})
        assert (r.status, r.raw) == (403, b"403"), (u, p)
        assert "anki-original-size" not in r.headers
        assert r.headers["content-type"].startswith("text/plain")
    assert sorted(x.name for x in base.iterdir()) == []


def test_login_malformed_bodies_are_400(server):
    _, url, _ = server
    c = Client(url)
    for body in (b"", b"{", b"[]", b'{"u":"user"}', b'{"u":1,"p":"pass"}', b'{"u":"user","p":null}'):
        r = c.request("hostKey", body)
        assert (r.status, r.raw) == (400, b"400"), body


def test_unknown_hkey_is_403_on_every_method(server):
    _, url, _ = server
    c = Client(url, hkey="0" * 40)
    for m, body in (("meta", {"v": 11, "cv": "x"}), ("download", {"_pad": None}),
                    ("upload", b"SQLite"), ("abort", {}), ("start", {"minUsn": 0})):
        r = c.request(m, body)
        assert (r.status, r.raw) == (403, b"403"), m


def test_bad_sync_headers_are_400(server):
    _, url, _ = server
    c = Client(url, hkey=HKEY)
    bad = [
        json.dumps({"v": 12, "k": HKEY, "c": "x", "s": "a"}),
        json.dumps({"v": 7, "k": HKEY, "c": "x", "s": "a"}),
        json.dumps({"v": 11, "k": HKEY, "c": "x"}),            # s missing
        json.dumps({"k": HKEY, "c": "x", "s": "a"}),           # v missing
        json.dumps({"v": "11", "k": HKEY, "c": "x", "s": "a"}),
        json.dumps({"v": 11.0, "k": HKEY, "c": "x", "s": "a"}),
        json.dumps({"v": 11, "k": 5, "c": "x", "s": "a"}),
        "not json",
        "[11]",
    ]
    for h in bad:
        r = c.request("meta", {"v": 11, "cv": "x"}, sync_header=h)
        assert (r.status, r.raw) == (400, b"400"), h


def test_header_versions_8_to_10_decode_zstd_but_answer_plain(server):
    _, url, _ = server
    for v in (8, 9, 10):
        c = Client(url, hkey=HKEY, version=v)
        r = c.request("meta", {"v": v, "cv": "x"})
        assert r.status == 200
        assert "anki-original-size" not in r.headers
        meta = json.loads(r.raw)
        assert meta["usn"] == 0
        if v == 8:  # a new collection uses the v2 scheduler (§3.1 step 5)
            assert meta["cont"] is False
            assert meta["msg"] == "Your client does not support the v2 scheduler"
        else:
            assert meta["cont"] is True and meta["msg"] == ""


def test_meta_vector_for_new_user(server):
    _, url, base = server
    c = Client(url, hkey=HKEY)
    before = int(time.time() * 1000)
    r = c.request("meta", {"v": 11, "cv": LONG_CLIENT_VERSION})
    after = int(time.time() * 1000)
    assert r.status == 200
    m = r.json()
    assert list(m) == ["mod", "scm", "usn", "ts", "msg", "cont", "hostNum", "empty", "media_usn"]
    assert m["mod"] == 0 and m["usn"] == 0 and m["msg"] == "" and m["cont"] is True
    assert m["hostNum"] == 0 and m["empty"] is True and m["media_usn"] == 0
    assert before - 1000 <= m["scm"] <= after + 1000
    assert abs(m["ts"] - time.time()) < 5
    # the user's directory appears on first use, in the official layout
    assert (base / "user" / "collection.anki2").is_file()
    assert (base / "user" / "media").is_dir()


@pytest.mark.parametrize("v", [0, 7, 12, 255])
def test_meta_body_version_outside_8_to_11_is_501(server, v):
    _, url, _ = server
    r = Client(url, hkey=HKEY).request("meta", {"v": v, "cv": ""})
    assert (r.status, r.raw) == (501, b"501")


def test_meta_bad_json_types_are_400(server):
    _, url, _ = server
    c = Client(url, hkey=HKEY)
    for body in ({"v": "11", "cv": "x"}, {"v": 11}, {"cv": "x"}, {"v": 256, "cv": "x"},
                 {"v": -1, "cv": "x"}, {"v": 11, "cv": 3}, [11]):
        r = c.request("meta", body)
        assert (r.status, r.raw) == (400, b"400"), body


def test_routing_404_405_and_unknown_methods(server):
    _, url, _ = server
    c = Client(url, hkey=HKEY)
    r = c.request("meta", http_method="GET")
    assert (r.status, r.raw) == (405, b"")
    r = c.request("x", path="/nothing/here")
    assert (r.status, r.raw) == (404, b"")
    r = c.request("x", path="/sync/meta/extra")
    assert r.status == 404
    r = c.request("noSuchMethod", {"v": 11})
    assert r.status == 400
    r = c.request("Meta", {"v": 11, "cv": "x"})  # names are case-sensitive
    assert r.status == 400


@pytest.mark.parametrize("method", ["applyGraves", "applyChanges", "chunk", "applyChunk",
                                    "sanityCheck2", "finish"])
def test_stateful_methods_without_a_session_answer_409(server, method):
    _, url, _ = server
    body = {"_pad": None} if method in ("chunk", "finish") else {"chunk": {}}
    r = Client(url, hkey=HKEY).request(method, body)
    assert r.status == 409


def test_start_with_a_bad_body_answers_400(server):
    _, url, _ = server
    c = Client(url, hkey=HKEY)
    for body in ({}, {"minUsn": "0", "lnewer": False}, {"minUsn": 0}, b"[1]"):
        assert c.request("start", body).status == 400


def test_abort_is_null_and_needs_valid_empty_input(server):
    _, url, _ = server
    c = Client(url, hkey=HKEY)
    for body in ({}, {"_pad": None}):
        r = c.request("abort", body)
        assert r.status == 200 and r.body == b"null" and r.headers["anki-original-size"] == "4"
    assert c.request("abort", {"other": 1}).status == 400
    assert c.request("abort", b"").status == 400


def test_chunked_and_content_length_bodies_both_work(server):
    _, url, _ = server
    c = Client(url, hkey=HKEY)
    a = c.request("meta", {"v": 11, "cv": "x"}, chunked=True, chunk_size=3)
    b = c.request("meta", {"v": 11, "cv": "x"}, chunked=False)
    assert a.status == b.status == 200
    assert a.json()["scm"] == b.json()["scm"]


def test_bytes_after_the_first_zstd_frame_are_ignored(server):
    _, url, _ = server
    c = Client(url, hkey="")
    body = zstd_frame(b'{"u":"user","p":"pass"}') + zstd_frame(b"garbage") + b"junk"
    r = c.request("hostKey", raw_body=body)
    assert r.status == 200 and r.json()["key"] == HKEY


def test_invalid_and_truncated_zstd_are_400(server):
    _, url, _ = server
    c = Client(url, hkey="")
    frame = zstd_frame(b'{"u":"user","p":"pass"}' * 50)
    for raw in (b"not zstd at all", frame[: len(frame) // 2], b"\x28\xb5\x2f\xfd\xff\xff"):
        r = c.request("hostKey", raw_body=raw)
        assert (r.status, r.raw) == (400, b"400"), raw[:10]


def test_oversize_json_body_is_400_not_a_reset(server):
    _, url, _ = server
    c = Client(url, hkey=HKEY)
    big = b'{"v":11,"cv":"' + b"x" * (3 << 20) + b'"}'
    r = c.request("meta", big)
    assert (r.status, r.raw) == (400, b"400")


def test_health_and_metrics(server):
    p, url, _ = server
    c = Client(url, hkey=HKEY)
    r = c.request("", path="/health", http_method="GET")
    assert (r.status, r.raw) == (200, b"")
    c.meta()
    Client(url).request("hostKey", {"u": "user", "p": "nope"})
    # Counters are updated when a request is finished, just after its reply
    # reached the client: poll briefly.
    for _ in range(50):
        r = c.request("", path="/metrics", http_method="GET")
        assert r.status == 200
        text = r.raw.decode()
        if "ankisync_login_failures_total 1" in text and 'method="meta"} 1' in text:
            break
        time.sleep(0.05)
    assert 'ankisync_requests_total{user="user",method="meta"} 1' in text
    assert "ankisync_login_failures_total 1" in text
    assert "ankisync_active_sessions 0" in text
    assert 'ankisync_received_bytes_total{user="user"}' in text
    time.sleep(0.2)
    log = p.log()
    assert "/health" not in log                 # no access line for health checks
    assert "access 127.0.0.1 user POST /sync/meta 200" in log
    assert "/metrics" in log


def test_logs_never_contain_secrets(procs, tmp_path):
    p, url = start_server(procs, tmp_path / "b", users=("alice:s3cret-pw",))
    c = Client(url)
    hkey = c.login("alice", "s3cret-pw")
    c.meta()
    Client(url).request("hostKey", {"u": "alice", "p": "wrong-guess-pw"})
    c.request("abort", {})
    p.stop()
    log = p.log()
    assert "access" in log
    for secret in ("s3cret-pw", "wrong-guess-pw", hkey, c.skey):
        assert secret not in log


def test_ip_header_source(procs, tmp_path):
    p, url = start_server(procs, tmp_path / "b", env={"SYNC_IP_HEADER": "RightmostXForwardedFor"})
    c = Client(url, hkey=HKEY)
    r = c.request("meta", {"v": 11, "cv": "x"}, extra_headers={"X-Forwarded-For": "10.0.0.1, 203.0.113.7"})
    assert r.status == 200
    # the official server fails requests whose configured header is missing
    r = c.request("meta", {"v": 11, "cv": "x"})
    assert (r.status, r.raw) == (500, b"500")
    p.stop()
    assert "access 203.0.113.7 user POST /sync/meta 200" in p.log()


# ---- legacy multipart/gzip requests (versions 8-10, §1.6) ----

def test_legacy_login_meta_and_errors(server):
    _, url, _ = server
    c = Client(url)
    r = c.legacy_request("hostKey", {"u": "user", "p": "pass"})
    assert r.status == 200 and "anki-original-size" not in r.headers
    assert json.loads(r.raw) == {"key": HKEY}
    c.hkey = HKEY
    r = c.legacy_request("meta", {"v": 10, "cv": "ankidroid,2.15"})
    assert r.status == 200 and json.loads(r.raw)["cont"] is True
    r = c.legacy_request("meta", {"v": 10, "cv": "x"}, compress=False)
    assert r.status == 200
    r = c.legacy_request("meta", b"not gzip", compress=False, fields=[("c", "1")])
    assert r.status == 400  # a later c=1 makes "not gzip" undecodable
    # no anki-sync header and not multipart
    r = c.request("meta", {"v": 11}, sync_header=False)
    assert (r.status, r.raw) == (400, b"400")
    c.hkey = "f" * 40
    assert c.legacy_request("meta", {"v": 10, "cv": "x"}).status == 403



def test_descriptors_past_fd_setsize(procs, tmp_path):
    """A server holding more than 1024 open files still serves: select()
    cannot watch a descriptor past FD_SETSIZE, so the server must poll().
    A shell fills descriptors 3..1100 and execs the server, so every
    socket it opens is numbered past 1100."""
    import resource
    import subprocess

    from conftest import bin_path, free_port, wait_port
    from syncclient import server_env

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096
    if hard != resource.RLIM_INFINITY and hard < want:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {want}")
    port = free_port()
    fill = 'i=3; while [ $i -le 1100 ]; do eval "exec $i</dev/null"; i=$((i+1)); done; exec "$0"'
    log = open(tmp_path / "server.log", "wb")
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    try:
        p = subprocess.Popen(["/bin/bash", "-c", fill, bin_path("anki-sync-server")],
                             env=server_env(tmp_path / "base", ("user:pass",), None, port),
                             stdout=log, stderr=subprocess.STDOUT)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        wait_port(port, proc=p)
        fds = [int(n) for n in os.listdir(f"/proc/{p.pid}/fd")]
        assert len(fds) > 1100 and max(fds) > 1100, sorted(fds)[-5:]
        for _ in range(3):  # new connections, each a descriptor past 1100
            c = Client(f"http://127.0.0.1:{port}/")
            c.login("user", "pass")
            assert c.meta()["usn"] == 0
    finally:
        p.terminate()
        p.wait(15)
        log.close()
