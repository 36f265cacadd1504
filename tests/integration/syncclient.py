"""A byte-level Anki sync client for tests (sync-protocol.md §1, §2, §7).

It speaks what the official client sends, the way it sends it:
  - POST {base}sync/<method> with the header
    anki-sync: {"v":11,"k":<hkey>,"c":<short version>,"s":<skey>};
  - the body as ONE zstd frame, streamed with Transfer-Encoding: chunked
    and no Content-Length (or with a Content-Length when asked);
  - a 2xx reply must carry anki-original-size and be one zstd frame;
    errors are plain text bodies;
  - the skey is a random u32 in base 62 (a-z A-Z 0-9), fixed per client.
The legacy (sync version < 11) multipart/gzip form is available too.

Besides transport it carries the client algorithms that concern full syncs
(§3.2 decision, §7.3 upload preparation, §7.4 download checks), working on
local collection files with Python's sqlite3.  Later phases (normal sync,
media) can build on Client.request().
"""
import gzip
import http.client
import io
import json
import os
import random
import sqlite3
import time
import uuid
from urllib.parse import urlsplit

import zstandard

CLIENT_VERSION = "26.08.1,ankihost-test,linux"
LONG_CLIENT_VERSION = "anki,26.08.1 (ankihost-test),lin:debian:12"
SKEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def simple_session_id():
    """A random u32 in base 62, most significant digit first (never empty)."""
    n = random.randint(1, 2**32 - 1)
    out = ""
    while n:
        n, d = divmod(n, 62)
        out = SKEY_ALPHABET[d] + out
    return out


def unicase_collation(a, b):
    """Good enough for tests: Anki's unicase equals case folding for the
    ASCII and common names our fixtures hold."""
    fa, fb = a.casefold(), b.casefold()
    return (fa > fb) - (fa < fb)


def open_col(path):
    db = sqlite3.connect(path, isolation_level=None)
    db.create_collation("unicase", unicase_collation)
    return db


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers  # lower-case names
        self.raw = raw          # body bytes as received
        self.body = raw         # decoded body (set by the client)

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.body[:80]!r}>"


class SyncError(Exception):
    def __init__(self, resp, what=""):
        super().__init__(f"{what}: HTTP {resp.status} {resp.raw[:200]!r}")
        self.resp = resp


def zstd_frame(data):
    # The official client compresses with zstd's default level, one frame.
    return zstandard.ZstdCompressor(level=3, write_content_size=False).compress(data)


def zstd_first_frame(data):
    """Decode exactly the first frame, as the official client does; extra
    bytes after it are an error here, because a server must not send them."""
    d = zstandard.ZstdDecompressor().decompressobj()
    out = d.decompress(data)
    if not d.eof:
        raise ValueError("zstd body ends inside the frame")
    if d.unused_data:
        raise ValueError(f"{len(d.unused_data)} bytes after the zstd frame")
    return out


class Client:
    """One sync-client object: fixed skey, optional hkey."""

    def __init__(self, base, hkey="", version=11, timeout=120):
        self.base = base if base.endswith("/") else base + "/"
        u = urlsplit(self.base)
        self.host, self.port, self.prefix = u.hostname, u.port or 80, u.path
        self.hkey = hkey
        self.version = version
        self.skey = simple_session_id()
        self.timeout = timeout

    # ---- transport ----
    def header(self, **over):
        h = {"v": self.version, "k": self.hkey, "c": CLIENT_VERSION, "s": self.skey}
        h.update(over)
        return json.dumps(h, separators=(",", ":"))

    def request(self, method, payload=b"", *, sync_header=None, raw_body=None, chunked=True,
                chunk_size=65536, path=None, http_method="POST", extra_headers=None,
                check_frame=True, slow=None):
        """POST payload (bytes, or a dict → compact JSON) to sync/<method>.

        sync_header: None = the normal header; False = no header; a str =
        that exact header value.  raw_body: send these bytes as they are
        (no zstd).  slow: seconds to sleep between chunks (drip-feed)."""
        if isinstance(payload, (dict, list)) or payload is None:
            payload = json.dumps(payload, separators=(",", ":")).encode()
        body = raw_body if raw_body is not None else zstd_frame(payload)
        headers = {"Content-Type": "application/octet-stream"}
        if sync_header is None:
            headers["anki-sync"] = self.header()
        elif sync_header is not False:
            headers["anki-sync"] = sync_header
        headers.update(extra_headers or {})
        return self._send(http_method, path or (self.prefix + "sync/" + method), body, headers,
                          chunked, chunk_size, check_frame, slow)

    def _send(self, http_method, path, body, headers, chunked, chunk_size, check_frame, slow):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            if http_method == "GET":
                conn.request("GET", path, headers=headers)
            elif chunked:
                def gen():
                    for i in range(0, len(body), chunk_size):
                        if slow and i:
                            time.sleep(slow)
                        yield body[i:i + chunk_size]
                conn.request(http_method, path, body=gen(), headers=headers, encode_chunked=True)
            else:
                headers = dict(headers, **{"Content-Length": str(len(body))})
                conn.request(http_method, path, body=body, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, raw)
        finally:
            conn.close()
        if 200 <= resp.status < 300 and http_method == "POST" and "anki-sync" in headers \
                and json.loads(headers["anki-sync"]).get("v", 11) >= 11:
            size = resp.headers.get("anki-original-size")
            if size is None or not size.isdigit():
                raise AssertionError("2xx reply without a decimal anki-original-size")
            resp.body = zstd_first_frame(raw) if check_frame else raw
            if check_frame and int(size) != len(resp.body):
                raise AssertionError(f"anki-original-size {size} != {len(resp.body)}")
        return resp

    def call(self, method, payload=b"", **kw):
        r = self.request(method, payload, **kw)
        if r.status != 200:
            raise SyncError(r, method)
        return r

    # ---- legacy multipart (versions 8-10) ----
    def legacy_request(self, method, payload=b"", *, compress=True, fields=None, prefix="sync/",
                       omit_data=False):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload, separators=(",", ":")).encode()
        boundary = "Anki-sync-boundary" + uuid.uuid4().hex
        parts = [("c", b"1" if compress else b"0"), ("k", self.hkey.encode()),
                 ("s", self.skey.encode())]
        parts += [(k, v if isinstance(v, bytes) else v.encode()) for k, v in (fields or [])]
        if not omit_data:
            parts.append(("data", gzip.compress(payload) if compress else payload))
        b = io.BytesIO()
        for name, value in parts:
            b.write(f"--{boundary}\r\n".encode())
            if name == "data":
                b.write(b'Content-Disposition: form-data; name="data"; filename="data"\r\n'
                        b"Content-Type: application/octet-stream\r\n\r\n")
            else:
                b.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            b.write(value)
            b.write(b"\r\n")
        b.write(f"--{boundary}--\r\n".encode())
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self._send("POST", self.prefix + prefix + method, b.getvalue(), headers, False,
                          65536, False, None)

    # ---- login (§7.1) ----
    def login(self, user, password):
        saved = self.hkey
        self.hkey = ""
        try:
            r = self.call("hostKey", {"u": user, "p": password})
        finally:
            self.hkey = saved
        self.hkey = r.json()["key"]
        return self.hkey

    # ---- meta (§3.1) ----
    def meta(self):
        return self.call("meta", {"v": 11, "cv": LONG_CLIENT_VERSION}).json()

    # ---- full sync (§7.3, §7.4) ----
    def full_upload(self, path, **kw):
        """Prepare a copy of the local collection as the client does and POST
        it; returns the server's text answer ("OK" on success)."""
        prepare_for_upload(path)
        with open(path, "rb") as f:
            data = f.read()
        return self.call("upload", data, **kw).body.decode()

    def upload_bytes(self, data, **kw):
        return self.call("upload", data, **kw).body.decode()

    def download_bytes(self):
        return self.call("download", {"_pad": None}).body

    def full_download(self, dest):
        """Download into dest (atomic replace) after the client's checks."""
        data = self.download_bytes()
        tmp = dest + ".download"
        with open(tmp, "wb") as f:
            f.write(data)
        db = open_col(tmp)
        try:
            ok = db.execute("pragma integrity_check").fetchall()
            if ok != [("ok",)]:
                raise AssertionError(f"downloaded collection fails integrity check: {ok}")
            ver = db.execute("select ver from col").fetchone()[0]
            if not (11 <= ver <= 18) or ver in (12, 13):
                raise AssertionError(f"downloaded collection has schema {ver}")
            db.execute("update col set ls = mod")
        finally:
            db.close()
        os.replace(tmp, dest)
        return dest


class KeepAliveClient(Client):
    """The test client over one persistent HTTP/1.1 connection, as the
    official client's connection pool (reqwest) keeps it: requests of one
    sync do not each pay for a new connection (and the server a new
    connection thread).  Same requests, same checks of the replies."""

    conn = None

    def _send(self, http_method, path, body, headers, chunked, chunk_size, check_frame, slow):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            if chunked:
                pieces = (body[i:i + chunk_size] for i in range(0, len(body), chunk_size))
                self.conn.request(http_method, path, body=pieces, headers=headers,
                                  encode_chunked=True)
            else:
                self.conn.request(http_method, path, body=body,
                                  headers=dict(headers, **{"Content-Length": str(len(body))}))
            r = self.conn.getresponse()
            raw = r.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, raw)
        if 200 <= resp.status < 300 and http_method == "POST" and "anki-sync" in headers \
                and json.loads(headers["anki-sync"]).get("v", 11) >= 11:
            size = resp.headers.get("anki-original-size")
            if size is None or not size.isdigit():
                raise AssertionError("2xx reply without a decimal anki-original-size")
            resp.body = zstd_first_frame(raw)
            if int(size) != len(resp.body):
                raise AssertionError(f"anki-original-size {size} != {len(resp.body)}")
        return resp


def prepare_for_upload(path):
    """The client's before_upload (§4.1 steps 1-3), on a local file."""
    now = int(time.time() * 1000)
    db = open_col(path)
    try:
        db.execute("begin")
        db.execute("delete from graves")
        for t in ("notes", "cards", "revlog"):
            db.execute(f"update {t} set usn = 0 where usn = -1")
        names = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
        for t in ("tags", "deck_config", "decks", "notetypes"):
            if t in names:
                db.execute(f"update {t} set usn = 0 where usn != 0")
        db.execute("update col set usn = usn + 1, scm = ?, ls = ?, mod = ?", (now, now, now))
        db.execute("commit")
        db.execute("vacuum")
        db.execute("analyze")
    finally:
        db.close()


def local_meta(path):
    """(mod, scm, usn, empty) of a local collection."""
    db = open_col(path)
    try:
        mod, scm, usn = db.execute("select mod, scm, usn from col").fetchone()
        empty = db.execute("select not exists(select 1 from cards)").fetchone()[0] == 1
    finally:
        db.close()
    return {"mod": mod, "scm": scm, "usn": usn, "empty": empty}


def sync_decision(local, remote):
    """§3.2: what the official client concludes from meta."""
    if remote["mod"] == local["mod"]:
        return "noChanges"
    if remote["scm"] != local["scm"]:
        upload_ok = (not local["empty"]) or remote["empty"]
        download_ok = (not remote["empty"]) or local["empty"]
        if upload_ok and download_ok:
            return "fullSync"
        return "fullUpload" if upload_ok else "fullDownload"
    return "normalSync"


def content(path):
    """The rows a sync carries, for comparing two collections."""
    db = open_col(path)
    try:
        return {
            "notes": db.execute("select id, guid, mid, mod, tags, flds from notes order by id").fetchall(),
            "cards": db.execute("select id, nid, did, ord, type, queue, due, ivl from cards order by id").fetchall(),
            "revlog": db.execute("select * from revlog order by id").fetchall(),
            "scm": db.execute("select scm from col").fetchone()[0],
            "crt": db.execute("select crt from col").fetchone()[0],
        }
    finally:
        db.close()


# ---- running the server under test ----

def server_env(base, users=("user:pass",), env=None, port=None):
    """The environment for a server under test: ours, minus any SYNC_* or
    related variable from the developer's shell, plus the test's."""
    drop = ("PASSWORDS_HASHED", "MAX_SYNC_PAYLOAD_MEGS", "CREDENTIALS_DIRECTORY")
    full = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_") and k not in drop}
    full.update({"SYNC_HOST": "127.0.0.1", "SYNC_BASE": str(base), "LOG_LEVEL": "info"})
    if port is not None:
        full["SYNC_PORT"] = str(port)
    for i, u in enumerate(users, 1):
        full[f"SYNC_USER{i}"] = u
    for k, v in (env or {}).items():
        if v is None:
            full.pop(k, None)
        else:
            full[k] = v
    return full


def start_server(procs, base, users=("user:pass",), env=None, wait=True, port=None):
    """Start anki-sync-server on a free loopback port with SYNC_BASE=base.
    Returns (process, base URL)."""
    from conftest import bin_path, free_port, wait_port
    port = port or free_port()
    p = _Proc(bin_path("anki-sync-server"), server_env(base, users, env, port))
    procs.append(p)
    if wait:
        wait_port(port, proc=p.p)
    return p, f"http://127.0.0.1:{port}/"


class _Proc:
    """A server process with an exact environment (nothing inherited from
    the developer's SYNC_* variables); its output goes to a temporary file
    so a chatty access log can never block it on a full pipe."""

    def __init__(self, binary, env, args=()):
        import subprocess
        import tempfile
        self.args = [binary, *args]
        self.logf = tempfile.TemporaryFile()
        self.p = subprocess.Popen(self.args, env=env, stdout=self.logf, stderr=subprocess.STDOUT)

    def log(self):
        self.logf.seek(0)
        return self.logf.read().decode(errors="replace")

    def stop(self, sig=15, timeout=15):
        import subprocess
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.stderr = self.stdout = self.log()
        return self.p.returncode


def run_server_expect_exit(env, timeout=10):
    """Run the server with exactly env (plus PATH/HOME) and return
    (exit code, stderr) for start-up failures."""
    import subprocess
    from conftest import bin_path
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            full[k] = os.environ[k]
    full.update(env)
    r = subprocess.run([bin_path("anki-sync-server")], env=full, capture_output=True, timeout=timeout)
    return r.returncode, r.stderr.decode(errors="replace")
