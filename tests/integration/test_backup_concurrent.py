"""anki-backup while the data changes underneath (issue 7, first test).

Backups run repeatedly while a load keeps changing a user's collection and
media; every snapshot must verify, and every restore must be a consistent
state: the collection passes integrity_check and shows whole transactions
only, and every file the restored media.db lists is on disk with its SHA-1.

The load is a fixture parameter:
  - `SqliteWriterLoad` writes through SQLite in WAL mode from another
    process, the way a server does: collection transactions, media files
    added, replaced and deleted with their media.db rows;
  - `SyncServerLoad` runs the real anki-sync-server on the source directory
    with two devices: one doing normal syncs (one new note each) with the
    official client algorithm (normalsync.py), one uploading media batches
    (additions, a replacement, a deletion, a name brought back) with the
    official media algorithm (mediaclient.py, backup_load.py).  Each
    restored snapshot is served by a second server: its full download must
    equal the collection after one of the syncs, and its media (mediaChanges
    from 0, downloadFiles, mediaSanity, begin/meta usn) must be consistent
    and equal the live media after one of the upload batches.  The snapshot
    taken after the load stopped must serve exactly what the source server
    serves: same full download, same media rows (name, usn, SHA-1), same
    bytes.

Pacing is by progress, not by the clock: before each backup the test waits
until every part of the load has committed something since the previous
backup ended, so successive snapshots are different states by construction.
Every other backup during the load is `--full` (every file read while the
uploads go on, which makes the media.db/folder race of backup_media.c
likely); the others reuse unchanged files by their stat.
"""
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import bin_path, fixture_path
import test_backup_helpers as H

SNAPSHOTS_DURING_LOAD = 6
PROGRESS_TIMEOUT = 60  # seconds; only reached when the load is stuck


def media_db_usn(userdir):
    db = sqlite3.connect(f"file:{Path(userdir) / 'media.db'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT last_usn FROM meta").fetchone()[0]
    finally:
        db.close()


def unlisted_names(manifest, user):
    return {e.get("name") for e in manifest
            if e.get("type") == "media" and e.get("user") == user and not e["listed"]}


class SqliteWriterLoad:
    name = "sqlite-writer"

    def __init__(self, base):
        self.base = Path(base)
        self.userdir = H.make_user(base, "alice", fixture_path(H.FIXTURE), nmedia=20)
        H.make_user(base, "bob", fixture_path(H.FIXTURE), nmedia=3, seed=7)  # idle user
        self.proc = None
        self.col = None

    def start(self, seconds):
        self.proc = subprocess.Popen(
            [sys.executable, H.__file__, "writer", str(self.userdir), str(seconds)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.col = sqlite3.connect(f"file:{self.userdir / 'collection.anki2'}?mode=ro",
                                   uri=True, timeout=30)

    def running(self):
        return self.proc.poll() is None

    def progress(self):
        """(writer transactions committed, media usn) of the source."""
        mod = self.col.execute("SELECT mod FROM col").fetchone()[0]
        return (max(0, mod - H.MOD_BASE), media_db_usn(self.userdir))

    def wait_progress(self, since):
        # The writer is another process: poll its committed state.
        deadline = time.monotonic() + PROGRESS_TIMEOUT
        while not all(a > b for a, b in zip(self.progress(), since)):
            assert self.running(), "writer died"
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.005)

    def stop(self):
        (self.userdir / "STOP").touch()
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        (self.userdir / "STOP").unlink()
        self.col.close()
        self.col = None
        return (int(out.strip()), media_db_usn(self.userdir))

    def check_restored(self, target, manifest, final):
        k = H.check_collection_consistent(target / "alice" / "collection.anki2")
        H.check_media_consistent(target / "alice")
        H.check_collection_consistent(target / "bob" / "collection.anki2")
        assert H.check_media_consistent(target / "bob") == 3
        if final:  # the quiet state's snapshot holds exactly the source's media
            src_media = self.base / "alice" / "media"
            assert sorted(os.listdir(src_media)) == sorted(os.listdir(target / "alice" / "media"))
            for f in src_media.iterdir():
                assert (target / "alice" / "media" / f.name).read_bytes() == f.read_bytes(), f.name
        return (k, media_db_usn(target / "alice"))

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.col:
            self.col.close()


class SyncServerLoad:
    """anki-sync-server serving SYNC_BASE=base while one device keeps adding
    a note and running a normal sync and another keeps uploading media
    batches: the server changes the collection and the media it holds."""
    name = "sync-server"

    def __init__(self, base, procs, tmp):
        import backup_load as L
        import normalsync as N
        import syncclient as S
        self.L, self.N, self.S, self.procs, self.tmp, self.base = L, N, S, procs, tmp, Path(base)
        self.server, self.url = S.start_server(procs, base, users=("alice:pass",))
        self.client = S.Client(self.url)
        self.client.login("alice", "pass")
        self.local = str(tmp / "device.anki2")
        for cmd in (["create", self.local], ["downgrade", self.local]):
            subprocess.run([bin_path("anki-col"), *cmd], check=True, capture_output=True,
                           timeout=60)
        N.add_notes(self.local, [("n0", "first")])
        assert N.normal_sync(self.client, self.local)[0] == "fullUpload"
        N.prepare_upload(self.local)
        assert self.client.full_upload(self.local) == "OK"
        self.versions = {1: self.synced()}  # notes on the server -> what they are
        self.k = 1
        self.media = L.MediaUploads(self.url, "alice", "pass", tmp / "media-device")
        self.media.initial()
        self.stop_flag = threading.Event()
        self.cond = threading.Condition()
        self.done = [0, 0]  # normal syncs, media batches
        self.errors = []
        self.threads = []

    def synced(self):
        c = self.S.content(self.local)
        return c["notes"], c["cards"], c["revlog"]

    def _bump(self, i):
        with self.cond:
            self.done[i] += 1
            self.cond.notify_all()

    def _thread(self, body):
        def run():
            try:
                body()
            except BaseException as exc:  # reported by wait_progress() and stop()
                with self.cond:
                    self.errors.append(exc)
                    self.cond.notify_all()
        t = threading.Thread(target=run)
        t.start()
        self.threads.append(t)

    def _notes(self, seconds):
        deadline = time.monotonic() + seconds
        while not self.stop_flag.is_set() and time.monotonic() < deadline:
            self.N.add_notes(self.local, [(f"n{self.k}", f"back {self.k}")])
            decision, sanity = self.N.normal_sync(self.client, self.local)
            assert decision == "normalSync" and sanity["status"] == "ok", decision
            self.k += 1
            self.versions[self.k] = self.synced()
            self._bump(0)

    def start(self, seconds):
        self._thread(lambda: self._notes(seconds))
        self._thread(lambda: self.media.run(self.stop_flag, lambda: self._bump(1)))

    def running(self):
        return all(t.is_alive() for t in self.threads)

    def progress(self):
        with self.cond:
            return tuple(self.done)

    def wait_progress(self, since):
        with self.cond:
            ok = self.cond.wait_for(
                lambda: self.errors or all(a > b for a, b in zip(self.done, since)),
                PROGRESS_TIMEOUT)
            assert not self.errors, self.errors[0]
            assert ok, f"the load made no progress: {self.done} since {since}"

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(60)
            assert not t.is_alive()
        assert not self.errors, self.errors[0]
        assert self.media.batches >= 3, self.media.batches  # incl. a name brought back
        return (self.k, max(self.media.states))

    def check_restored(self, target, manifest, final):
        """A second server on the restored directory serves the collection
        as it was after one of the syncs and the media as they were after
        one of the upload batches; the final snapshot serves exactly what
        the source server serves."""
        L = self.L
        udir = target / "alice"
        H.check_media_consistent(udir)
        usn_db = media_db_usn(udir)
        srv, url = self.S.start_server(self.procs, target, users=("alice:pass",))
        try:
            c = self.S.Client(url)
            c.login("alice", "pass")
            got = str(self.tmp / "downloaded.anki2")
            c.full_download(got)
            cont = self.S.content(got)
            os.unlink(got)
            k = len(cont["notes"])
            assert k in self.versions, k
            assert (cont["notes"], cont["cards"], cont["revlog"]) == self.versions[k]

            usn, rows, live, data, strays = L.check_restored_media(
                c, udir, usn_db, unlisted_names(manifest, "alice"))
            assert usn in self.media.states, (usn, sorted(self.media.states))
            assert live == self.media.states[usn]
            deleted = {n for n, _, s in rows if not s}
            assert deleted <= self.media.ever and not deleted & set(live)
            if final:
                src = self.S.Client(self.url)
                src.login("alice", "pass")
                want = str(self.tmp / "source.anki2")
                src.full_download(want)
                assert self.S.content(want) == cont
                os.unlink(want)
                assert L.media_rows(src) == rows
                assert L.media_download(src, live) == data
                assert L.media_begin_usn(src) == usn
                assert not strays, strays
        finally:
            srv.stop()
        if final:  # the server's own check (after the server let go of the user)
            env = dict(os.environ, SYNC_BASE=str(target))
            r = subprocess.run([bin_path("anki-sync-admin"), "check", "alice"], env=env,
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0 and "media: ok" in r.stdout, r.stdout + r.stderr
        return (k, usn)

    def close(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(60)


@pytest.fixture(params=["sqlite-writer", "sync-server"])
def load(request, tmp_path, procs):
    src = tmp_path / "src"
    src.mkdir()
    if request.param == "sqlite-writer":
        ld = SqliteWriterLoad(src)
    else:
        ld = SyncServerLoad(src, procs, tmp_path)
    yield ld
    ld.close()


def test_backups_during_writes_verify_and_restore(load, tmp_path):
    bb = bin_path("anki-backup")
    dest = tmp_path / "dest"
    dest.mkdir()
    load.start(seconds=120)
    made = []
    overlap = [0, 0]  # load steps committed while a backup ran
    after = None
    for i in range(SNAPSHOTS_DURING_LOAD):
        if after is not None:
            load.wait_progress(after)  # each snapshot sees a new state
        assert load.running(), "the load stopped"
        before = load.progress()
        full = ["--full"] if i % 2 else []  # reads every file; else only changed ones
        p = H.run(bb, "create", "--source", load.base, "--dest", dest, "--busy-timeout", "30",
                  *full, check=0)
        after = load.progress()
        overlap = [o + a - b for o, a, b in zip(overlap, after, before)]
        assert "user alice: ok" in p.stderr
        made.append(p)
    final_key = load.stop()
    assert all(o > 0 for o in overlap), f"the load never ran during a backup: {overlap}"
    assert final_key[0] > len(made), f"the load made only {final_key[0]} changes"
    # A last snapshot of the quiet state must equal the source exactly.
    H.run(bb, "create", "--source", load.base, "--dest", dest, check=0)
    snaps = H.snapshots(dest)
    assert len(snaps) == len(made) + 1

    p = H.run(bb, "verify", "--dest", dest, "--tmpdir", tmp_path, check=0)
    assert p.stderr.count(": ok") == len(snaps)

    seen = []
    for s in snaps:
        target = tmp_path / f"restored-{s}"
        H.run(bb, "restore", "--dest", dest, s, "--target", target, check=0)
        seen.append(load.check_restored(target, H.manifest(dest, s), final=s == snaps[-1]))
    # Collection and media: each snapshot during the load is a later state
    # than the one before; the last one is the final state.
    for part in range(2):
        got = [key[part] for key in seen]
        assert all(a < b for a, b in zip(got[:-2], got[1:-1])), (part, got)
        assert got[-2] <= got[-1] == final_key[part], (part, got, final_key)


def test_server_temporaries_are_not_backed_up(tmp_path, procs):
    """An upload in flight (or a crash between extraction and rename,
    media_srv.c) leaves the server's temporaries in media/: partial bytes
    under names no client can use.  They are not media: the snapshot skips
    them, so a restore never holds one."""
    import backup_load as L
    import syncclient as S
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.mkdir()
    dest.mkdir()
    srv, url = S.start_server(procs, src, users=("alice:pass",))
    m = L.MediaUploads(url, "alice", "pass", tmp_path / "device")
    m.initial(n=3)
    srv.stop()
    tmp = src / "alice" / "media" / ".ankihost-tmp-e\u0301.0123456789abcdef"
    tmp.write_bytes(b"half an upload")
    bb = bin_path("anki-backup")
    p = H.run(bb, "create", "--source", src, "--dest", dest, check=0)
    assert "unlisted=0" in p.stderr, p.stderr
    snap = H.snapshots(dest)[-1]
    names = sorted(e["name"] for e in H.manifest(dest, snap) if e.get("type") == "media")
    assert names == sorted(m.last_state()), names
    target = tmp_path / "restored"
    H.run(bb, "restore", "--dest", dest, snap, "--target", target, check=0)
    assert sorted(os.listdir(target / "alice" / "media")) == names
