# SPDX-License-Identifier: AGPL-3.0-or-later
"""Shared pieces of the anki-sync-server benches (bench-sync-normal.sh,
bench-sync-headline.sh): starting the release server on a free loopback
port, its memory figures from /proc, the per-request times of its access
log, percentiles, and fast local edits for the test client.

The protocol client itself is the integration tests' (tests/integration/
syncclient.py for transport and full sync, normalsync.py for the official
client's normal-sync algorithm on a schema-11 local collection), so the
benches drive the server exactly as the tests do."""
import json
import os
import re
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from normalsync import _cols, csum, now_ms  # noqa: E402
# KeepAliveClient is re-exported for the benches
from syncclient import KeepAliveClient, open_col  # noqa: E402,F401


def bin_dir():
    return os.path.join(ROOT, os.environ.get("BUILD", "build"), "bin")


def binary(name):
    p = os.path.join(bin_dir(), name)
    if not os.access(p, os.X_OK):
        sys.exit(f"{p} is not built (make all)")
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The release anki-sync-server with exactly the given environment; the
    log (with the access lines at LOG_LEVEL=info) goes to a file."""

    def __init__(self, base, users, env=None, log="server.log"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SYNC_HOST": "127.0.0.1",
                "SYNC_PORT": str(self.port), "SYNC_BASE": str(base), "LOG_LEVEL": "info"}
        for i, u in enumerate(users, 1):
            full[f"SYNC_USER{i}"] = u
        full.update(env or {})
        self.logpath = os.path.join(os.path.dirname(str(base)), log)
        self.logf = open(self.logpath, "wb")
        # SYNCBENCH_WRAP="perf record -g -o /tmp/x.data --" profiles the server
        # (memory figures are then the wrapper's).
        wrap = os.environ.get("SYNCBENCH_WRAP", "").split()
        self.p = subprocess.Popen([*wrap, binary("anki-sync-server")], env=full,
                                  stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            if self.p.poll() is not None:
                sys.exit(f"anki-sync-server exited at start:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("anki-sync-server does not listen")
                time.sleep(0.02)

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def mem(self):
        """KiB: VmRSS, VmHWM, RssAnon, RssFile, and Private (clean + dirty
        pages no other process shares)."""
        out = {}
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                    out[k] = int(v.split()[0])
        with open(f"/proc/{self.p.pid}/smaps_rollup") as f:
            priv = 0
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    priv += int(line.split()[1])
        out["Private"] = priv
        return out

    def reset_peak(self):
        """Restart VmHWM from the current RSS (Linux clear_refs 5)."""
        with open(f"/proc/{self.p.pid}/clear_refs", "w") as f:
            f.write("5")

    def cpu(self):
        """Seconds of CPU the server has used (user + system): a figure the
        load of other processes on the machine barely changes."""
        with open(f"/proc/{self.p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()
        return self.p.returncode


ACCESS = re.compile(r"access \S+ (\S+) POST /(?:m?sync)/(\w+) (\d+) in=(\d+) out=(\d+) "
                    r"ms=([0-9.]+)")


def access_lines(log, start=0):
    """(user, method, status, ms) of every access line from byte `start`."""
    return [(m.group(1), m.group(2), int(m.group(3)), float(m.group(6)))
            for m in ACCESS.finditer(log, start)]


def percentile(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(round(p / 100 * len(v) + 0.5)) - 1))
    return v[k]


def anki_col(*args):
    subprocess.run([binary("anki-col"), *map(str, args)], check=True, capture_output=True,
                   timeout=300)


def new_local(path):
    """An empty schema-11 collection as the test client keeps it."""
    anki_col("create", path)
    anki_col("downgrade", path)
    return path


def add_notes_fast(path, n, prefix, with_revlog=False, id_offset=0):
    """n pending notes (Basic) with one new card each, one transaction;
    returns their ids.  Ids are millisecond times as Anki makes them; two
    devices adding thousands of notes a second apart need distinct
    id_offset values, or their ids collide."""
    db = open_col(path)
    try:
        _, models, _, _, _ = _cols(db)
        mid = int(next(k for k, m in models.items() if m["name"] == "Basic"))
        db.execute("begin")
        base = max(now_ms() + id_offset, (db.execute("select max(id) from notes").fetchone()[0] or 0) + 1,
                   (db.execute("select max(id) from cards").fetchone()[0] or 0) + 1)
        pos = (db.execute("select max(due) from cards where type = 0").fetchone()[0] or 0) + 1
        secs = int(time.time())
        notes, cards, revs = [], [], []
        for i in range(n):
            front = f"{prefix} {i} <b>word</b>"
            notes.append((base + i, f"{prefix}{base + i}", mid, secs, " bench ",
                          f"{front}\x1fback of {prefix} {i} &nbsp; <i>example</i>", front,
                          csum(front)))
            cards.append((base + i, base + i, secs, pos + i))
            revs.append((base + i, base + i))
        db.executemany("insert into notes values (?,?,?,?,-1,?,?,?,?,0,'')", notes)
        db.executemany("insert into cards values (?,?,1,0,?,-1,0,0,?,0,0,0,0,0,0,0,0,'{}')", cards)
        if with_revlog:
            db.executemany("insert into revlog values (?,?,-1,3,1,0,2500,1000,0)", revs)
        db.execute("update col set mod = ?", (now_ms(),))
        db.execute("commit")
    finally:
        db.close()
    return [r[0] for r in notes]


def fmt_ms(s):
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.2f} s"


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))
