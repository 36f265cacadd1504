"""A small client for anki-connectd in the integration tests: start the
daemon on a free port, call actions, send raw HTTP, stop it, and check the
collection it leaves behind (SQLite integrity, anki-col check, cards)."""
import http.client
import json
import sqlite3
import subprocess
from pathlib import Path

from conftest import Proc, bin_path, free_port, unicase_ext, wait_port


class Daemon:
    def __init__(self, procs, tmp_path, col=None, config=None, env=None, args=None,
                 wait=True):
        self.tmp = Path(tmp_path)
        self.col = Path(col) if col else self.tmp / "profile" / "collection.anki2"
        self.port = free_port()
        cfg = dict(config or {})
        cfg.setdefault("webBindPort", self.port)
        self.port = cfg["webBindPort"]
        self.config_path = self.tmp / "connectd.json"
        self.config_path.write_text(json.dumps(cfg))
        full_env = {"LOG_LEVEL": "info"}
        full_env.update(env or {})
        cmd = [bin_path("anki-connectd"), "--collection", str(self.col),
               "--config", str(self.config_path)] + list(args or [])
        self.proc = Proc(cmd, env=full_env)
        procs.append(self.proc)
        if wait:
            wait_port(self.port, proc=self.proc.p, timeout=30)

    # ---- HTTP ----
    def raw(self, body=b"", headers=None, method="POST", path="/", timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        if isinstance(body, str):
            body = body.encode()
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data

    def request(self, obj, headers=None):
        status, hdrs, data = self.raw(json.dumps(obj), headers=headers)
        assert status == 200, (status, data)
        return json.loads(data)

    def call(self, action, version=6, key=None, **params):
        req = {"action": action, "version": version, "params": params}
        if key is not None:
            req["key"] = key
        return self.request(req)

    def result(self, action, **params):
        r = self.call(action, **params)
        assert r["error"] is None, f"{action}: {r['error']}"
        return r["result"]

    def error(self, action, **params):
        r = self.call(action, **params)
        assert r["result"] is None and r["error"] is not None, f"{action}: expected an error, got {r}"
        return r["error"]

    def stop(self, sig=15):
        rc = self.proc.stop(sig=sig)
        return rc

    @property
    def media_dir(self):
        return self.col.with_suffix(".media")


def basic_note(front, back="", deck="Default", model="Basic", tags=None, **extra):
    n = {"deckName": deck, "modelName": model, "fields": {"Front": front, "Back": back}}
    if tags is not None:
        n["tags"] = tags
    n.update(extra)
    return n


def open_db(path):
    """A Python sqlite3 connection with a unicase collation (casefold) good
    enough for equality lookups in tests."""
    db = sqlite3.connect(str(path))
    db.create_collation("unicase", lambda a, b: (a.casefold() > b.casefold()) -
                        (a.casefold() < b.casefold()))
    return db


def check_collection(path):
    """What every test expects of a collection the daemon wrote: the stock
    sqlite3 shell finds it intact, anki-col check finds no problem, every
    note has cards whose ordinals its notetype can have."""
    r = subprocess.run(["sqlite3", "-cmd", f".load {unicase_ext()}", str(path),
                        "pragma integrity_check"], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "ok", r.stdout + r.stderr
    r = subprocess.run([bin_path("anki-col"), "check", str(path)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("0 problems"), r.stdout + r.stderr
    db = open_db(path)
    try:
        kinds = {}
        ntmpl = {}
        for ntid, cfg in db.execute("select id, config from notetypes"):
            # Notetype.Config field 1 (kind) is a varint: tag byte 0x08
            kinds[ntid] = 1 if cfg[:2] == b"\x08\x01" else 0
        for ntid, n in db.execute("select ntid, count() from templates group by ntid"):
            ntmpl[ntid] = n
        for nid, mid in db.execute("select id, mid from notes"):
            ords = [o for (o,) in db.execute("select ord from cards where nid = ?", (nid,))]
            assert ords, f"note {nid} has no card"
            assert len(ords) == len(set(ords)), f"note {nid} has duplicate card ordinals {ords}"
            if kinds.get(mid) == 0:
                assert max(ords) < ntmpl.get(mid, 0), f"note {nid}: ords {ords}"
        orphans = db.execute("select count() from cards where nid not in (select id from notes)"
                             ).fetchone()[0]
        assert orphans == 0
    finally:
        db.close()
