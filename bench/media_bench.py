# SPDX-License-Identifier: AGPL-3.0-or-later
"""The media sync benchmark of bench-media.sh (issue 5, performance), on the
release anki-sync-server:

  1. a first media sync of FILES files / MB MiB of incompressible data (the
     default 50,000 / 2048 is "a big collection's media"): device A uploads
     everything (uploadChanges batches exactly as the official client makes
     them, §5.4 / §7.5: up to 25 files, no more added once the batch passed
     2.5 MiB), then device B downloads everything (mediaChanges from 0,
     downloadFiles in requests of 25 names, dropping as many names as files
     came back, each file's SHA-1 checked against mediaChanges' and the
     file written to B's media folder as the official client writes it,
     then mediaSanity).  Both devices are bench/bench_media_client.c, a
     compiled client doing per request what the official Rust client does
     (a Python client's own per-file overhead was larger than the baseline
     it is compared with).  The upload bodies (zip, then one zstd frame)
     are built before the clock starts, as a client has its files; the
     download side's zstd decoding, unzipping, hashing and writing is the
     client's real work and is timed.  Each direction is reported as MB/s
     and as a ratio to moving the same bytes with plain libzip + write(2)
     in the same run (bench/bench_media_unzip.c; no fsync, because the
     server's media writes are not durable by default either).  The unzip
     baseline runs before the sync and again after it (the ratios use the
     mean), and the download is also compared with libzip zipping the
     server's files plus the unzip baseline, since that is the work its
     two ends must do;
  2. a media sync with nothing changed (begin + mediaChanges from the
     current usn + mediaSanity), repeated;
  3. another user's `meta` latency, measured continuously from a separate
     process while 1. runs (and idle, before, for comparison);
  4. the server's RSS idle and its peak (VmHWM) during each direction;
  5. the download client's own work without server or network (the upload
     bodies, zstd frames of zips like the replies, decoded, unzipped, hashed
     and written by bench_media_client floor): no server can make the
     download faster than that, so the download is also given as a
     multiple of it.  The same download with a client that only receives
     the replies (bench_media_client serve) shows how fast the server
     serves on its own: the two ends overlap (the server builds the next
     reply while the client unpacks this one), so the slower of the two
     is the download's floor;
  6. likewise the upload's own work: the unzip baseline plus the SHA-1 of
     each file, which the server must store (bench_media_unzip unzip-sha1),
     and the upload as a multiple of it;
  7. the upload's HTTP share: the same requests with a host key naming
     nobody, which the server answers 403 only after receiving and
     decoding each body.  The client waits for each answer before it
     sends the next batch, so sending and the server's work add up: that
     share plus 6. is what any server costs on this machine, and the
     upload is also given as a multiple of that sum.

Before each timed phase (both baselines, upload, download) the page cache
is settled when the bench may (root): dirty pages written, caches dropped,
a pause, then the phase's input read once so it is in memory.  On the
build machines (virtual machines whose free memory goes back to the host)
the cost of writing into fresh page cache otherwise swings 2-6x from run
to run with what the previous phase left behind, which is as large as the
difference being measured; settled, every phase starts from the same
state.

Also printed: server and client CPU seconds per phase (less sensitive to
the other processes on the machine than wall time) and the load average.

    media_bench.py WORKDIR FILES MB
"""
import hashlib
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
import urllib.request

from syncbench import ROOT, KeepAliveClient, Server, access_lines, percentile

from mediaclient import (LONG_CLIENT_VERSION, MAX_FILES_IN_ZIP, TARGET_ZIP_BYTES,  # noqa: E402
                         MediaClient)
from syncclient import zstd_frame  # noqa: E402

MIB = 1024 * 1024
EXTS = (".jpg", ".png", ".mp3", ".ogg", ".webp", ".gif")


def log(msg):
    print(msg, flush=True)


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


def file_sizes(n, total, rnd):
    """n sizes summing to total: log-normal (most files tens of KiB, a few
    of several hundred), at least 1 KiB each."""
    raw = [rnd.lognormvariate(0, 1.0) for _ in range(n)]
    scale = total / sum(raw)
    sizes = [max(1024, int(r * scale)) for r in raw]
    sizes[-1] = max(1024, sizes[-1] + total - sum(sizes))
    return sizes


def batches_of(sizes):
    """Index ranges of the client's upload batches (upload.rs
    gather_zip_data_for_upload): at most 25 entries, and no entry added
    once the accumulated bytes exceed 2.5 MiB."""
    out, start = [], 0
    while start < len(sizes):
        end, acc = start, 0
        while end < len(sizes) and end - start < MAX_FILES_IN_ZIP and acc <= TARGET_ZIP_BYTES:
            acc += sizes[end]
            end += 1
        out.append((start, end))
        start = end
    return out


def prebuild(work, nfiles, total):
    """Write the upload requests: zips/NNNNN.zip (for the baseline) and
    bodies/NNNNN.zst (the same zip as one zstd frame, what the client
    sends).  Returns [(files in batch, body path)] and {name: sha1}."""
    rnd = random.Random(5)
    sizes = file_sizes(nfiles, total, rnd)
    names = [f"bench-{i:06d}{EXTS[i % len(EXTS)]}" for i in range(nfiles)]
    os.makedirs(os.path.join(work, "zips"))
    os.makedirs(os.path.join(work, "bodies"))
    expected, batches = {}, []
    for b, (s, e) in enumerate(batches_of(sizes)):
        entries = []
        for i in range(s, e):
            data = os.urandom(sizes[i])
            expected[names[i]] = hashlib.sha1(data).hexdigest()
            entries.append((names[i], data))
        z = MediaClient.upload_zip(entries)
        with open(os.path.join(work, "zips", f"{b:05d}.zip"), "wb") as f:
            f.write(z)
        body = os.path.join(work, "bodies", f"{b:05d}.zst")
        with open(body, "wb") as f:
            f.write(zstd_frame(z))
        batches.append((e - s, body))
    return batches, expected


def baseline(mode, src, out, keep=False):
    exe = os.path.join(ROOT, os.environ.get("BUILD", "build"), "bench", "bench_media_unzip")
    if not os.access(exe, os.X_OK):
        sys.exit(f"{exe} is not built (make bench-build)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([exe, mode, src, out], check=True, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    fields = dict(kv.split("=") for kv in r.stdout.split())
    if not keep:
        shutil.rmtree(out)
    return float(fields["seconds"]), int(fields["bytes"]), int(fields["files"]), cpu


DROP_CACHES = "/proc/sys/vm/drop_caches"


def settle(*inputs):
    """Write out dirty pages, drop the page cache, let the machine calm
    down, then read every file under the given directories once (the
    phase's input, in memory as a busy server or client would have it).
    Returns whether the caches could be dropped."""
    dropped = os.access(DROP_CACHES, os.W_OK)
    os.sync()
    if dropped:
        with open(DROP_CACHES, "w") as f:
            f.write("3\n")
    time.sleep(3)
    for top in inputs:
        for d, _, names in os.walk(top):
            for n in names:
                with open(os.path.join(d, n), "rb") as f:
                    while f.read(1 << 20):
                        pass
    return dropped


def mcall(c, method, payload, raw=None):
    r = c.request(method, payload, raw_body=raw, path=c.prefix + "msync/" + method)
    if r.status != 200:
        raise SystemExit(f"{method}: HTTP {r.status} {r.body[:200]!r}")
    return r.body


def mjson(c, method, payload):
    reply = json.loads(mcall(c, method, payload))
    assert reply.get("err") == "", reply
    return reply["data"]


def meta_probe(url, hkey, pause, stop, out):
    """Another user's `meta`, continuously, on one kept-alive connection
    (as the official client's pool keeps it) until stop is set."""
    c = KeepAliveClient(url, hkey=hkey)
    lat = []
    while not stop.is_set():
        t0 = time.perf_counter()
        r = c.request("meta", {"v": 11, "cv": LONG_CLIENT_VERSION})
        lat.append(time.perf_counter() - t0)
        if r.status != 200:
            out.put(("error", r.status))
            return
        if pause:
            time.sleep(pause)
    out.put(("ok", lat))


def run_client(mode, *args):
    """bench_media_client (the timed device, see its file comment): its
    printed figures, its wall time as seen from here and its CPU."""
    exe = os.path.join(ROOT, os.environ.get("BUILD", "build"), "bench", "bench_media_client")
    if not os.access(exe, os.X_OK):
        sys.exit(f"{exe} is not built (make bench-build)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([exe, mode, *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"bench_media_client {mode}: {r.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    fields = {k: float(v) for k, v in (kv.split("=") for kv in r.stdout.split())}
    return fields, wall, cpu


def no_change_sync(c, usn, nfiles):
    t0 = time.perf_counter()
    assert mjson(c, "begin", {"v": LONG_CLIENT_VERSION})["usn"] == usn
    assert mjson(c, "mediaChanges", {"lastUsn": usn}) == []
    assert mjson(c, "mediaSanity", {"local": nfiles}) == "OK"
    return time.perf_counter() - t0


def ms(s):
    return f"{s * 1000:.1f} ms"


def main():
    work, nfiles, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    pause = float(os.environ.get("BENCH_META_PAUSE_MS", "10")) / 1000
    total = mb * MIB
    log(f"media bench: {nfiles} files, {mb} MiB, in {work}; load average {loadavg()}")

    t = time.monotonic()
    batches, expected = prebuild(work, nfiles, total)
    log(f"prebuilt {len(batches)} upload requests in {time.monotonic() - t:.1f} s "
        f"(untimed)")

    # The baselines' output stays until the end: on ext4 without a journal
    # (this machine's) every new inode skips the inodes freed in the last
    # minutes, so deleting it here would slow the server's file creation.
    dropped = settle(os.path.join(work, "zips"))
    if not dropped:
        log(f"cannot write {DROP_CACHES} (not root): page cache not settled between phases, "
            "expect noisier ratios")
    base_unzip, bbytes, bfiles, base_unzip_cpu = baseline(
        "unzip", os.path.join(work, "zips"), os.path.join(work, "base-unzip"), keep=True)
    assert bbytes == total and bfiles == nfiles, (bbytes, bfiles)
    log(f"baseline libzip unzip + write: {base_unzip:.2f} s "
        f"({total / MIB / base_unzip:.0f} MB/s)")

    base = os.path.join(work, "base")
    os.makedirs(base)
    srv = Server(base, ("user:pass", "other:pass"))
    try:
        a = KeepAliveClient(srv.url)
        a.login("user", "pass")
        other = KeepAliveClient(srv.url)
        other.login("other", "pass")
        other.meta()  # creates the other user's collection
        a.meta()
        idle = srv.mem()
        idle_lat = []
        for _ in range(300):
            t0 = time.perf_counter()
            other.meta()
            idle_lat.append(time.perf_counter() - t0)
        log(f"server idle RSS {idle['VmRSS']} KiB; other user's meta idle: "
            f"p50 {ms(percentile(idle_lat, 50))}, p99 {ms(percentile(idle_lat, 99))}")

        ctx = multiprocessing.get_context("fork")
        stop, q = ctx.Event(), ctx.Queue()
        probe = ctx.Process(target=meta_probe, args=(srv.url, other.hkey, pause, stop, q))
        log_start = len(srv.log())
        probe.start()
        time.sleep(0.5)

        # ---- upload ----
        settle(os.path.join(work, "bodies"))
        log(f"upload: load average {loadavg()}")
        srv.reset_peak()
        cpu_s = srv.cpu()
        up, up_s, up_cli_cpu = run_client("upload", srv.url, a.hkey, os.path.join(work, "bodies"))
        up_srv_cpu = srv.cpu() - cpu_s
        usn = int(up["usn"])
        assert int(up["files"]) == nfiles and int(up["requests"]) == len(batches), up
        up_peak = srv.mem()["VmHWM"]
        assert usn == nfiles
        assert a.meta()["media_usn"] == usn

        # ---- download ----
        folder = os.path.join(work, "deviceB", "collection.media")
        os.makedirs(folder)
        b = KeepAliveClient(srv.url)
        b.login("user", "pass")
        settle(os.path.join(base, "user"))
        log(f"download: load average {loadavg()}")
        srv.reset_peak()
        cpu_s = srv.cpu()
        down, down_s, down_cli_cpu = run_client("download", srv.url, b.hkey, folder)
        down_srv_cpu = srv.cpu() - cpu_s
        busn, dfiles, dbytes = int(down["usn"]), int(down["files"]), int(down["bytes"])
        dreq = int(down["requests"])
        down_peak = srv.mem()["VmHWM"]
        with urllib.request.urlopen(srv.url + "metrics", timeout=30) as r:
            mtext = r.read().decode()
        pf_built, pf_used = (int(re.search(rf"^ankisync_media_prefetch_{k}_total (\d+)$", mtext,
                                           re.M)[1]) for k in ("built", "used"))

        stop.set()
        kind, lat = q.get(timeout=120)
        probe.join(30)
        if kind != "ok":
            raise SystemExit(f"the other user's meta failed: HTTP {lat}")
        srv_meta = [m for u, meth, st, m in access_lines(srv.log(), log_start)
                    if u == "other" and meth == "meta"]

        assert busn == usn and dfiles == nfiles and dbytes == total, down
        t = time.monotonic()
        for name in os.listdir(folder):
            with open(os.path.join(folder, name), "rb") as f:
                if hashlib.sha1(f.read()).hexdigest() != expected.pop(name):
                    raise SystemExit(f"{name}: downloaded content differs")
        assert not expected, f"{len(expected)} files not downloaded"
        log(f"device B's folder verified (SHA-1 of every file, untimed "
            f"{time.monotonic() - t:.1f} s)")

        # ---- nothing changed ----
        nc_keep = [no_change_sync(b, usn, nfiles) for _ in range(20)]
        nc_fresh = []
        for _ in range(10):
            c = KeepAliveClient(srv.url, hkey=b.hkey)
            nc_fresh.append(no_change_sync(c, usn, nfiles))
            c.conn.close()

        # ---- the download once more, the client only receiving: how fast
        # the server serves when its client costs nothing ----
        settle(os.path.join(base, "user"))
        cpu_s = srv.cpu()
        serve, serve_s, serve_cli_cpu = run_client("serve", srv.url, b.hkey)
        serve_srv_cpu = srv.cpu() - cpu_s
        assert int(serve["files"]) == nfiles and int(serve["bytes"]) == total, serve

        # ---- the upload's HTTP share: the same bodies, refused (403) after
        # the server received and decoded each one ----
        settle(os.path.join(work, "bodies"))
        tr, tr_s, tr_cli_cpu = run_client("transport", srv.url, "0" * 40,
                                          os.path.join(work, "bodies"))
        assert int(tr["requests"]) == len(batches), tr

        # ---- the download client's own work, without server or network ----
        settle(os.path.join(work, "bodies"))
        floor, _, floor_cpu = run_client("floor", os.path.join(work, "bodies"),
                                         os.path.join(work, "floor"))
        floor_s = floor["seconds"]
        assert int(floor["files"]) == nfiles and int(floor["bytes"]) == total, floor

        # ---- the download's other baseline: libzip building the zips ----
        settle(os.path.join(base, "user", "media"))
        base_zip, zbytes, zfiles, base_zip_cpu = baseline(
            "zip", os.path.join(base, "user", "media"), os.path.join(work, "base-zip"),
            keep=True)
        assert zbytes == total and zfiles == nfiles
        # the upload's own work: unzip, SHA-1 of each file (the server must
        # store it), write
        settle(os.path.join(work, "zips"))
        base_sha, _, _, base_sha_cpu = baseline(
            "unzip-sha1", os.path.join(work, "zips"), os.path.join(work, "base-sha1"),
            keep=True)
        # the unzip baseline again, in the file system's state after the sync
        settle(os.path.join(work, "zips"))
        base_unzip2, _, _, base_unzip2_cpu = baseline(
            "unzip", os.path.join(work, "zips"), os.path.join(work, "base-unzip2"), keep=True)
        mem_end = srv.mem()
    finally:
        srv.stop()

    mbs = total / MIB
    # ratios are to the mean of the two unzip baselines (before, after)
    bu = (base_unzip + base_unzip2) / 2
    bu_cpu = (base_unzip_cpu + base_unzip2_cpu) / 2
    log("")
    log(f"== media sync, {nfiles} files, {mbs:.0f} MiB "
        f"({len(batches)} uploadChanges, {dreq} downloadFiles requests)")
    log(f"baseline unzip + write (libzip):      {base_unzip:7.2f} s  {mbs / base_unzip:6.0f} MB/s  "
        f"[CPU {base_unzip_cpu:.1f} s]; again after the sync {base_unzip2:.2f} s "
        f"[CPU {base_unzip2_cpu:.1f} s]")
    log(f"baseline zip from the files (libzip): {base_zip:7.2f} s  {mbs / base_zip:6.0f} MB/s  "
        f"[CPU {base_zip_cpu:.1f} s]")
    log(f"unzip + SHA-1 + write (the upload's own work, no server): {base_sha:.2f} s = "
        f"{base_sha / bu:.2f}x the unzip baseline [CPU {base_sha_cpu:.1f} s]; "
        f"the upload took {up_s / base_sha:.2f}x that")
    log(f"upload   (device A -> server):        {up_s:7.2f} s  {mbs / up_s:6.0f} MB/s  "
        f"ratio to unzip baseline {up_s / bu:.2f}  "
        f"[server CPU {up_srv_cpu:.1f} s, client CPU {up_cli_cpu:.1f} s]")
    log(f"upload's HTTP share alone (the same requests refused 403 after the body): "
        f"{tr_s:.2f} s [client CPU {tr_cli_cpu:.1f} s]; with the upload's own work "
        f"{tr_s + base_sha:.2f} s, of which the upload took {up_s / (tr_s + base_sha):.2f}x")
    log(f"download (server -> device B):        {down_s:7.2f} s  {mbs / down_s:6.0f} MB/s  "
        f"ratio to unzip baseline {down_s / bu:.2f}, "
        f"to zip+unzip {down_s / (base_zip + bu):.2f}  "
        f"[server CPU {down_srv_cpu:.1f} s, client CPU {down_cli_cpu:.1f} s]")
    log(f"download client's own work alone (read, zstd, unzip, SHA-1, write; no server): "
        f"{floor_s:.2f} s = {floor_s / bu:.2f}x the unzip baseline [CPU {floor_cpu:.1f} s]; "
        f"the download took {down_s / floor_s:.2f}x that")
    log(f"the server serving the download to a client that only receives: {serve_s:.2f} s "
        f"({mbs / serve_s:.0f} MB/s) [server CPU {serve_srv_cpu:.1f} s, client CPU "
        f"{serve_cli_cpu:.1f} s]; the download took "
        f"{down_s / max(serve_s, floor_s):.2f}x the slower of that and the client's own work")
    log(f"downloadFiles replies built ahead: {pf_built}, of which answered the next request: "
        f"{pf_used}")
    log(f"server CPU per MiB: upload {up_srv_cpu / mbs * 1000:.1f} ms "
        f"(ratio to the unzip baseline's CPU {up_srv_cpu / bu_cpu:.2f}), "
        f"download {down_srv_cpu / mbs * 1000:.1f} ms "
        f"(ratio to the zip baseline's CPU {down_srv_cpu / base_zip_cpu:.2f})")
    log(f"no-change media sync (begin + mediaChanges + mediaSanity): kept-alive "
        f"median {ms(percentile(nc_keep, 50))}, max {ms(max(nc_keep))}; new connection "
        f"median {ms(percentile(nc_fresh, 50))}, max {ms(max(nc_fresh))}")
    log(f"other user's meta during the sync ({len(lat)} calls, {pause * 1000:.0f} ms pause): "
        f"p50 {ms(percentile(lat, 50))}, p99 {ms(percentile(lat, 99))}, max {ms(max(lat))}; "
        f"server-side p99 {percentile(srv_meta, 99):.1f} ms, max {max(srv_meta):.1f} ms")
    log(f"server RSS: idle {idle['VmRSS']} KiB; peak (VmHWM) upload {up_peak} KiB, "
        f"download {down_peak} KiB; at the end {mem_end['VmRSS']} KiB")
    log(f"load average at the end: {loadavg()} (2 cores, shared)")


if __name__ == "__main__":
    main()
