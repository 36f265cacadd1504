"""The legacy forms of media `begin` through the real server
(sync-protocol.md §1.6, §5.2): GET /msync/begin?k=<hkey>&v=<version>, as
the old Rust client sent it, and the multipart POST whose field `v`
carries the version.  Both answer in the plain (version 10) framing with
the same usn as meta's media_usn; the checks come in the official order
(query 400, then host key 403, then version 400); query-string tricks
(duplicates, percent-encoding, NUL, overlong values) neither crash the
server nor authenticate anybody; and the host key never reaches the log."""
import http.client
import json
import os
from urllib.parse import quote

import pytest

from mediaclient import HttpTransport, MediaClient
from syncclient import Client, start_server

CV = "anki,2.1.50 (legacy-test),lin:debian:12"


@pytest.fixture
def srv(tmp_path, procs):
    base = tmp_path / "base"
    base.mkdir()
    proc, url = start_server(procs, base, users=("user:pass",), env={"LOG_LEVEL": "debug"})
    c = Client(url)
    c.login("user", "pass")
    return proc, url, c


def get(url, target, headers=None):
    c = Client(url)
    conn = http.client.HTTPConnection(c.host, c.port, timeout=30)
    try:
        conn.request("GET", target, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def begin_get(url, query, headers=None):
    return get(url, "/msync/begin" + query, headers)


def upload_some_media(url, tmp_path, c, n=7):
    root = tmp_path / "dev"
    root.mkdir()
    m = MediaClient(root / "collection.media", root / "collection.media.db2", HttpTransport(c))
    for i in range(n):
        m.add_file(f"f{i}.jpg", os.urandom(64 + i))
    m.sync_until_clean()
    m.remove_file("f0.jpg")
    m.sync_until_clean()
    return c.meta()["media_usn"]


def test_get_begin_answers_plain_with_meta_usn(srv, tmp_path):
    proc, url, c = srv
    # a brand-new user: usn 0
    st, hdrs, body = begin_get(url, f"?k={c.hkey}&v={quote(CV)}")
    assert st == 200, body
    assert json.loads(body) == {"data": {"usn": 0, "sk": c.hkey}, "err": ""}
    usn = upload_some_media(url, tmp_path, c)
    assert usn == 8  # 7 additions and a deletion
    st, hdrs, body = begin_get(url, f"?k={c.hkey}&v={quote(CV)}")
    assert st == 200
    # version 10: no zstd, no anki-original-size
    assert "anki-original-size" not in hdrs
    assert hdrs["content-type"] == "application/octet-stream"
    assert json.loads(body) == {"data": {"usn": usn, "sk": c.hkey}, "err": ""}
    # other parameters are ignored, order does not matter, an anki-sync
    # header does not change the GET form
    st, hdrs, body = begin_get(url, f"?x=1&v=2.1.50&k={c.hkey}&_=",
                               headers={"anki-sync": c.header()})
    assert st == 200 and json.loads(body)["data"]["usn"] == usn
    assert "anki-original-size" not in hdrs
    # the sk works as the legacy media session key for the next calls
    r = c.legacy_request("mediaChanges", {"lastUsn": usn - 1}, prefix="msync/", compress=False,
                         fields=[("sk", c.hkey)])
    assert r.status == 200, r
    rows = json.loads(r.raw)["data"]
    assert [row[1] for row in rows] == [usn] and rows[0][2] == ""


@pytest.mark.parametrize("query, status", [
    ("", 400),                               # no query string at all
    ("?v=x", 400),                           # k missing
    ("?k={k}", 400),                         # v missing
    ("?k={k}&v=", 400),                      # v empty: "missing client version"
    ("?k={k}&v", 400),                       # v without '=' is empty too
    ("?k={k}&k={k}&v=x", 400),               # duplicate k (serde: duplicate field)
    ("?k={k}&v=x&v=y", 400),                 # duplicate v
    ("?K={k}&v=x", 400),                     # names are case-sensitive
    ("?k=0000000000000000000000000000000000000000&v=x", 403),
    ("?k=&v=x", 403),                        # empty key
    ("?k=&v=", 403),                         # key checked before the version
    ("?k={K}&v=x", 403),                     # upper-case hex is another key
    ("?k={k}%00&v=x", 403),                  # NUL after a good key
    ("?k={k}%00{k}&v=x", 403),
    ("?k=%00{k}&v=x", 403),
    ("?k={k}+&v=x", 403),                    # '+' is a space
    ("?k={k}x&v=x", 403),
    ("?k={k39}&v=x", 403),                   # a prefix of the key
    ("?k={long}&v=x", 403),                  # 5000-byte key
    ("?k={pk}&v=x", 200),                    # every byte percent-encoded
    ("?k={k}&v=%00", 200),                   # NUL is a non-empty version
    ("?k={k}&v=%ff%fe", 200),                # bad UTF-8 is read lossily
    ("?k={k}&v=a+b%20c", 200),
    ("?k={k}&v=%zz", 200),                   # a bad escape stays as it is
    ("?k={k};v=x", 400),                     # ';' is no separator
    ("?&&k={k}&&v=x&&", 200),
])
def test_get_begin_query_forms(srv, query, status):
    proc, url, c = srv
    k = c.hkey
    q = query.format(k=k, K=k.upper(), k39=k[:39], long="a" * 5000,
                     pk="".join(f"%{b:02x}" for b in k.encode()))
    st, hdrs, body = begin_get(url, q)
    assert st == status, (q[:80], st, body)
    if st == 200:
        assert json.loads(body) == {"data": {"usn": 0, "sk": k}, "err": ""}
    elif st == 403:
        assert body == b"403"
    # the server stays up and the key works afterwards
    assert begin_get(url, f"?k={k}&v=x")[0] == 200
    assert k not in proc.log()


def test_get_begin_overlong_request_line(srv):
    proc, url, c = srv
    k = c.hkey
    # far beyond any buffer: refused by the HTTP layer, nothing else happens
    st, _, _ = begin_get(url, f"?k={k}&v=x&pad=" + "p" * (512 * 1024))
    assert 400 <= st < 500
    st, _, _ = begin_get(url, f"?pad={'p' * 300000}&k={k}&v=x")
    assert 400 <= st < 500
    assert begin_get(url, f"?k={k}&v=x")[0] == 200
    assert k not in proc.log()


def test_get_only_for_begin(srv):
    proc, url, c = srv
    for method in ("mediaChanges", "uploadChanges", "downloadFiles", "mediaSanity"):
        st, _, _ = get(url, f"/msync/{method}?k={c.hkey}&v=x")
        assert st == 405, method
    st, _, _ = get(url, f"/sync/meta?k={c.hkey}&v=x")
    assert st == 405


def test_get_begin_needs_no_ip_header(tmp_path, procs):
    """The official GET handler extracts no client IP: with SYNC_IP_HEADER
    set and the header missing, POST requests fail (500) but GET works."""
    base = tmp_path / "base"
    base.mkdir()
    proc, url = start_server(procs, base, env={"SYNC_IP_HEADER": "RightmostXForwardedFor"})
    c = Client(url)
    r = c.request("hostKey", {"u": "user", "p": "pass"},
                  extra_headers={"X-Forwarded-For": "203.0.113.7"})
    assert r.status == 200
    c.hkey = r.json()["key"]
    assert c.request("meta", {"v": 11, "cv": "x"}).status == 500
    st, _, body = begin_get(url, f"?k={c.hkey}&v=x")
    assert st == 200 and json.loads(body)["data"]["usn"] == 0
    st, _, _ = begin_get(url, f"?k={c.hkey}&v=x", headers={"X-Forwarded-For": "198.51.100.9"})
    assert st == 200
    proc.stop()
    log = proc.log()
    assert "access - user GET /msync/begin 200" in log
    assert "access 198.51.100.9 user GET /msync/begin 200" in log
    assert c.hkey not in log


def test_multipart_begin_version_field(srv, tmp_path):
    proc, url, c = srv
    usn = upload_some_media(url, tmp_path, c, n=3)
    want = {"data": {"usn": usn, "sk": c.hkey}, "err": ""}

    def mp(fields, payload=b"", **kw):
        return c.legacy_request("begin", payload, prefix="msync/", fields=fields, **kw)

    # what the official test sends: c=0, v, k and no data
    r = mp([("v", "client")], compress=False, omit_data=True)
    assert r.status == 200, r
    assert "anki-original-size" not in r.headers
    assert json.loads(r.raw) == want
    # v in the form wins over the JSON payload, even a broken one
    r = mp([("v", "client")], b"not json", compress=False)
    assert r.status == 200 and json.loads(r.raw) == want
    r = mp([("v", "client")], {"v": ""})
    assert r.status == 200 and json.loads(r.raw) == want
    # an empty v in the form is an empty version
    r = mp([("v", "")], {"v": "from json"})
    assert r.status == 400 and r.raw == b"400"
    # a later v replaces an earlier one
    assert mp([("v", "a"), ("v", "")], {"v": "x"}).status == 400
    assert mp([("v", ""), ("v", "b")], {"v": ""}).status == 200
    # v must be text (the official field.text())
    assert mp([("v", b"\xff\xfe")], compress=False, omit_data=True).status == 400
    # without v the JSON payload decides
    r = mp([], {"v": CV})
    assert r.status == 200 and json.loads(r.raw) == want
    assert mp([], {}).status == 400
    assert mp([], compress=False, omit_data=True).status == 400  # payload {}
    # the key is checked as usual
    bad = Client(url, hkey="0" * 40)
    r = bad.legacy_request("begin", b"", prefix="msync/", fields=[("v", "client")],
                           compress=False, omit_data=True)
    assert r.status == 403
    # v is ignored by the other media methods
    r = c.legacy_request("mediaSanity", {"local": 2}, prefix="msync/", fields=[("v", "")])
    assert r.status == 200 and json.loads(r.raw) == {"data": "OK", "err": ""}
    # and the modern header form still takes v from the JSON only
    r = c.request("begin", {"v": CV}, path=c.prefix + "msync/begin")
    assert r.status == 200 and json.loads(r.body) == want
    assert c.request("begin", {}, path=c.prefix + "msync/begin").status == 400
    assert c.hkey not in proc.log()


def test_key_never_logged(srv):
    """Access lines name the path and the user, never the query."""
    proc, url, c = srv
    for q in (f"?k={c.hkey}&v=x", f"?k={c.hkey}&v=", f"?k={c.hkey}x&v=x",
              f"?k={c.hkey}&k={c.hkey}&v=x"):
        begin_get(url, q)
    proc.stop()
    log = proc.log()
    assert c.hkey not in log
    assert "?" not in "".join(l for l in log.splitlines() if "/msync/begin" in l)
    lines = [l for l in log.splitlines() if "GET /msync/begin" in l and "access" in l]
    assert len(lines) == 4, log
    assert [l.split("GET /msync/begin ")[1].split()[0] for l in lines] == \
        ["200", "400", "403", "400"]
    assert all(" v=10" in l for l in lines)
