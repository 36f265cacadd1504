# SPDX-License-Identifier: AGPL-3.0-or-later
"""bench-sync-headline: the issue-4 headline on loopback against the release
anki-sync-server:

  * 20 users sync in a bounded loop (each: a normal sync of a few new notes
    with the official client's algorithm, then two background `meta` status
    checks, a think time between), in 20 processes;
  * meanwhile one more user does a full upload of a ~300 MB collection
    (streamed, chunked, one zstd frame, as the official client sends it);
  * and 10 logins per second arrive (hostKey);
  * the loop stops by itself once the upload has been answered (or after
    BENCH_MAX_SECONDS).

Reported: errors (target 0: every answer 200 and every sync's sanity check
"ok"), `meta` latency of the 20 users while the upload runs — p50/p99 as the
clients see them and as the server's access log measures them (target p99
< 20 ms) — against the same users' `meta` latency with the server otherwise
idle measured in the same run (the baseline), and the server's memory:
RSS idle (target <= 5 MB) and its peak over the run (target <= 32 MB).

Environment: BUILD (default build), BENCH_MB (collection size, default 300),
BENCH_USERS (20), BENCH_LOGINS_PER_S (10), BENCH_MAX_SECONDS (240),
BENCH_CACHE (a directory where the generated collection is kept and reused)."""
import http.client
import json
import multiprocessing as mp
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from syncbench import ROOT, KeepAliveClient, Server, access_lines, add_notes_fast, new_local, \
    percentile
from normalsync import normal_sync, prepare_upload
from syncclient import CLIENT_VERSION, Client

MB = int(os.environ.get("BENCH_MB", "300"))
USERS = int(os.environ.get("BENCH_USERS", "20"))
LOGINS = float(os.environ.get("BENCH_LOGINS_PER_S", "10"))
MAX_SECONDS = float(os.environ.get("BENCH_MAX_SECONDS", "240"))


def unicase_ext():
    p = os.path.join(ROOT, os.environ.get("BUILD", "build"), "unicase")
    if not os.path.exists(p + ".so"):
        sys.exit(f"{p}.so is not built (make all)")
    return p


def make_big_collection(path, mb):
    """A schema-18 collection (the fixture with two decks) grown with notes
    of semi-compressible text to about mb MB, prepared as a client prepares
    an upload.  Anki's own unicase collation (the sqlite3 extension) keeps
    its indexes in the order the server's integrity check expects."""
    fixture = os.path.join(os.environ.get("ANKIHOST_SHARED", os.path.join(ROOT, "..", "shared")),
                           "fixtures", "v18-two-decks-revlog.anki2")
    if not os.path.exists(fixture):
        fixture = os.path.join(ROOT, "tests", "fixtures", "v18-two-decks-revlog.anki2")
    shutil.copy(fixture, path)
    os.chmod(path, 0o644)
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(unicase_ext())
    db.execute("pragma journal_mode = delete")
    mid = db.execute("select id from notetypes where name = 'Basic'").fetchone()[0]
    rnd = random.Random(1)
    words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(3, 10)))
             for _ in range(5000)]
    now = int(time.time())
    db.execute("begin")
    size, i, rows = 0, 0, []
    while size < mb * 1000 * 1000 * 0.84:  # the text; indexes and pages add the rest
        text = " ".join(rnd.choices(words, k=150))
        rows.append((10**12 + i, f"h{i}", mid, now, text + "\x1f" + str(i), text[:20]))
        size += len(text) + 60
        i += 1
        if len(rows) == 5000:
            db.executemany("insert into notes values (?,?,?,?,0,'',?,?,0,0,'')", rows)
            rows = []
    db.executemany("insert into notes values (?,?,?,?,0,'',?,?,0,0,'')", rows)
    ms = int(time.time() * 1000)
    db.execute("update col set usn = usn + 1, mod = ?, scm = ?, ls = ?", (ms, ms, ms))
    db.execute("commit")
    db.execute("vacuum")
    db.close()


def timed_meta(c, samples):
    t0 = time.monotonic()
    r = c.request("meta", {"v": 11, "cv": "anki,26.08.1 (bench),lin:debian:12"})
    samples.append((t0, time.monotonic() - t0))
    if r.status != 200:
        raise RuntimeError(f"meta: HTTP {r.status}")
    return r


class TimingClient(KeepAliveClient):
    """Records (start, seconds) of every meta the sync algorithm sends."""

    def __init__(self, *a, samples, **kw):
        super().__init__(*a, **kw)
        self.samples = samples

    def request(self, method, payload=b"", **kw):
        if method != "meta":
            return super().request(method, payload, **kw)
        t0 = time.monotonic()
        r = super().request(method, payload, **kw)
        self.samples.append((t0, time.monotonic() - t0))
        return r


def syncer(idx, url, work, ready, go, stop, out):
    """One of the 20 users: set up (new local collection, full upload), wait
    for go, then loop until stop: normal sync of 3 new notes, think, two
    status checks, think."""
    rnd = random.Random(idx)
    samples, errors, syncs = [], [], 0
    try:
        path = os.path.join(work, f"s{idx}.anki2")
        new_local(path)
        add_notes_fast(path, 20, f"s{idx}start", id_offset=idx * 10**9)
        c = TimingClient(url, samples=[])
        c.login(f"s{idx}", "pw")
        assert normal_sync(c, path)[0] == "fullUpload"
        prepare_upload(path)
        assert c.full_upload(path) == "OK"
    except Exception as exc:  # reported as an error of the run
        errors.append(f"setup: {exc!r}")
        ready.release()
        out.put((idx, samples, errors, syncs))
        return
    ready.release()
    go.wait()
    c = TimingClient(url, hkey=c.hkey, samples=samples)
    n = 0
    while not stop.is_set():
        try:
            add_notes_fast(path, 3, f"s{idx}-{n}", id_offset=idx * 10**9)
            decision, sanity = normal_sync(c, path)
            if decision != "normalSync" or sanity["status"] != "ok":
                errors.append(f"sync {n}: {decision} {sanity}")
            syncs += 1
            for _ in range(2):
                if stop.wait(rnd.uniform(0.2, 0.6)):
                    break
                timed_meta(c, samples)
            stop.wait(rnd.uniform(0.2, 0.6))
        except Exception as exc:
            errors.append(f"sync {n}: {exc!r}")
            stop.wait(0.5)
        n += 1
    out.put((idx, samples, errors, syncs))


def upload(url, hkey, body_path, result):
    def chunks():
        with open(body_path, "rb") as f:
            while True:
                b = f.read(1 << 16)
                if not b:
                    return
                yield b
    conn = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1].strip("/")),
                                      timeout=600)
    hdr = json.dumps({"v": 11, "k": hkey, "c": CLIENT_VERSION, "s": "upload"})
    result["start"] = time.monotonic()
    try:
        conn.request("POST", "/sync/upload", body=chunks(), encode_chunked=True,
                     headers={"anki-sync": hdr, "Content-Type": "application/octet-stream"})
        r = conn.getresponse()
        raw = r.read()
        import zstandard
        body = zstandard.ZstdDecompressor().decompressobj().decompress(raw) \
            if r.status == 200 else raw
        result["status"], result["body"] = r.status, body
    except Exception as exc:
        result["status"], result["body"] = None, repr(exc)
    result["end"] = time.monotonic()
    conn.close()


def logins(url, stop, result):
    """hostKey at LOGINS per second, each on its own thread, on schedule."""
    period = 1.0 / LOGINS
    due = time.monotonic()
    threads = []
    result["n"], result["errors"], result["lat"] = 0, [], []

    def one(k):
        t0 = time.monotonic()
        try:
            c = Client(url)
            c.login(f"s{1 + k % USERS}", "pw")
            result["lat"].append(time.monotonic() - t0)
        except Exception as exc:
            result["errors"].append(repr(exc))
    k = 0
    while not stop.is_set():
        t = threading.Thread(target=one, args=(k,))
        t.start()
        threads.append(t)
        k += 1
        due += period
        stop.wait(max(0.0, due - time.monotonic()))
    for t in threads:
        t.join()
    result["n"] = k


def fmt(v):
    return f"{v * 1000:.1f} ms"


def main():
    for t in ("zstd",):
        if not shutil.which(t):
            sys.exit(f"bench-sync-headline: needs {t}")
    w = tempfile.mkdtemp(prefix="bench-sync-headline.")
    srv = None
    procs = []
    try:
        t_prep = time.monotonic()
        cache = os.environ.get("BENCH_CACHE")  # a directory to keep the collection in
        big = os.path.join(cache or w, f"headline-{MB}.anki2")
        body = big + ".zst"
        if not (cache and os.path.exists(body)):
            make_big_collection(big, MB)
            subprocess.run(["zstd", "-q", "-f", "-3", big, "-o", body], check=True)
        size = os.path.getsize(big)
        zsize = os.path.getsize(body)
        prep = time.monotonic() - t_prep

        users = ["uploader:pw"] + [f"s{i}:pw" for i in range(1, USERS + 1)]
        srv = Server(os.path.join(w, "base"), users,
                     env={"MAX_SYNC_PAYLOAD_MEGS": str(max(100, MB // 2))})
        up = Client(srv.url)
        up.login("uploader", "pw")
        idle_start = srv.mem()
        up.meta()

        # The upload alone (its time is the baseline of the upload under load;
        # its peak RSS the figure of the memory target).
        srv.reset_peak()
        alone = {}
        upload(srv.url, up.hkey, body, alone)
        if alone.get("status") != 200 or alone.get("body") != b"OK":
            sys.exit(f"upload alone failed: {alone.get('status')} {alone.get('body')!r:.200}")
        peak_alone = srv.mem()["VmHWM"]
        time.sleep(7.5)  # idle: the reaper has closed the collection
        idle_fresh = srv.mem()

        ctx = mp.get_context("fork")
        ready, go, stop, out = ctx.Semaphore(0), ctx.Event(), ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=syncer, args=(i, srv.url, w, ready, go, stop, out))
                 for i in range(1, USERS + 1)]
        for p in procs:
            p.start()
        for _ in procs:
            ready.acquire()

        # Baseline: the same loop with the server otherwise idle.
        t_base0 = time.monotonic()
        go.set()
        time.sleep(1)  # the first second (every user's first request at once) is not counted
        mark_go = len(srv.log())
        time.sleep(7)
        t_base1 = time.monotonic()
        mark_base0 = len(srv.log())
        # The headline: the upload and the logins start now.
        up_res, login_res = {}, {}
        lstop = threading.Event()
        lt = threading.Thread(target=logins, args=(srv.url, lstop, login_res))
        ut = threading.Thread(target=upload, args=(srv.url, up.hkey, body, up_res))
        mark_up0 = len(srv.log())
        srv.reset_peak()
        lt.start()
        ut.start()
        peak_sampled = 0
        deadline = time.monotonic() + MAX_SECONDS
        while ut.is_alive() and time.monotonic() < deadline:
            peak_sampled = max(peak_sampled, srv.mem()["VmRSS"])
            time.sleep(0.1)
        mark_up1 = len(srv.log())
        stop.set()
        lstop.set()
        lt.join()
        ut.join(timeout=max(1, deadline - time.monotonic() + 60))
        results = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        peak = srv.mem()["VmHWM"]
        time.sleep(6)  # the reaper closes idle collections
        idle_after = srv.mem()
        log = srv.log()
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        if srv:
            srv.stop()
        shutil.rmtree(w, ignore_errors=True)

    errors = [e for r in results for e in r[2]] + login_res.get("errors", [])
    if up_res.get("status") != 200 or up_res.get("body") != b"OK":
        errors.append(f"upload: {up_res.get('status')} {up_res.get('body')!r:.200}")
    t_up0, t_up1 = up_res.get("start", 0), up_res.get("end", 0)
    samples = [s for r in results for s in r[1]]
    during = [d for t0, d in samples if t_up0 <= t0 and t0 + d <= t_up1]
    base = [d for t0, d in samples if t_base0 + 1 <= t0 and t0 + d <= t_base1]
    syncs = sum(r[3] for r in results)
    synced = {f"s{i}" for i in range(1, USERS + 1)}
    srv_meta = lambda a, b: [ms / 1000 for u, m, st, ms in access_lines(log[:b], a)
                             if m == "meta" and u in synced]
    srv_during, srv_base = srv_meta(mark_up0, mark_up1), srv_meta(mark_go, mark_base0)
    srv_errors = [x for x in access_lines(log) if x[2] != 200]

    print(f"headline: {USERS} users syncing + a {size / 1e6:.0f} MB full upload "
          f"({zsize / 1e6:.0f} MB zstd) + {LOGINS:g} logins/s, release server, loopback")
    print(f"  (collection built in {prep:.0f} s)")
    t_alone = alone["end"] - alone["start"]
    print(f"  upload: {up_res.get('status')} {up_res.get('body')!r:.40} in "
          f"{t_up1 - t_up0:.1f} s; alone (baseline, same run) {t_alone:.1f} s; ratio "
          f"{(t_up1 - t_up0) / t_alone:.2f}")
    print(f"  during the upload: {syncs} normal syncs in all, "
          f"{login_res.get('n', 0)} logins, {len(during)} meta calls measured")
    print(f"  errors: {len(errors)} client-side, {len(srv_errors)} non-200 in the access log")
    for e in errors[:10]:
        print(f"    {e}")
    print(f"  meta p50/p99, client side: idle server {fmt(percentile(base, 50))} / "
          f"{fmt(percentile(base, 99))} ({len(base)} calls); during the upload "
          f"{fmt(percentile(during, 50))} / {fmt(percentile(during, 99))} (target p99 < 20 ms)")
    print(f"  meta p50/p99, server side (access log): idle {fmt(percentile(srv_base, 50))} / "
          f"{fmt(percentile(srv_base, 99))}; during the upload "
          f"{fmt(percentile(srv_during, 50))} / {fmt(percentile(srv_during, 99))}")
    if base and during:
        print(f"  ratio meta p99 during upload / idle: "
              f"{percentile(during, 99) / percentile(base, 99):.2f} (client side)")
    lat = login_res.get("lat", [])
    print(f"  login p50/p99: {fmt(percentile(lat, 50))} / {fmt(percentile(lat, 99))}")
    print(f"  server RSS idle: at start {idle_start['VmRSS']} KiB; after the upload, "
          f"collection closed: {idle_fresh['VmRSS']} KiB (anon {idle_fresh['RssAnon']} KiB, "
          f"file {idle_fresh['RssFile']} KiB, private {idle_fresh['Private']} KiB) "
          f"(target <= 5120 KiB)")
    print(f"  server RSS idle after the run: {idle_after['VmRSS']} KiB "
          f"(anon {idle_after['RssAnon']} KiB)")
    print(f"  server RSS peak during the upload alone: {peak_alone} KiB (target <= 32768 KiB); "
          f"peak / collection size {peak_alone * 1024 / size:.3f}")
    print(f"  server RSS peak during the headline load: {peak} KiB (sampled {peak_sampled} KiB)")
    return 0 if not errors and not srv_errors else 1


if __name__ == "__main__":
    sys.exit(main())
