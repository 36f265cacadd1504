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
    and a device doing normal syncs (one new note each) with the official
    client algorithm; each restored snapshot is served by a second server
    whose full download must equal the collection after one of the syncs.
    Media sync is not wired into the server yet: when it is, this load should
    also upload media and check_restored compare the restored server's media
    SHA-1s (mediaChanges) with the uploaded ones.
"""
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import bin_path, fixture_path
import test_backup_helpers as H


class SqliteWriterLoad:
    name = "sqlite-writer"

    def __init__(self, base):
        self.base = Path(base)
        self.userdir = H.make_user(base, "alice", fixture_path(H.FIXTURE), nmedia=20)
        H.make_user(base, "bob", fixture_path(H.FIXTURE), nmedia=3, seed=7)  # idle user
        self.proc = None

    def start(self, seconds):
        self.proc = subprocess.Popen(
            [sys.executable, H.__file__, "writer", str(self.userdir), str(seconds)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        (self.userdir / "STOP").touch()
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        (self.userdir / "STOP").unlink()
        return int(out.strip())

    def check_restored(self, target):
        k = H.check_collection_consistent(target / "alice" / "collection.anki2")
        H.check_media_consistent(target / "alice")
        H.check_collection_consistent(target / "bob" / "collection.anki2")
        assert H.check_media_consistent(target / "bob") == 3
        return k

    def check_final(self, target):
        """The quiet state's snapshot holds exactly the source's media."""
        src_media = self.base / "alice" / "media"
        for f in src_media.iterdir():
            assert (target / "alice" / "media" / f.name).read_bytes() == f.read_bytes(), f.name

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class SyncServerLoad:
    """anki-sync-server serving SYNC_BASE=base while a device keeps adding a
    note and running a normal sync (the official client algorithm,
    normalsync.py): the server changes the collection it holds open."""
    name = "sync-server"

    def __init__(self, base, procs, tmp):
        import normalsync as N
        import syncclient as S
        self.N, self.S, self.procs, self.tmp, self.base = N, S, procs, tmp, Path(base)
        self.server, url = S.start_server(procs, base, users=("alice:pass",))
        self.client = S.Client(url)
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
        self.stop_flag = threading.Event()
        self.thread = None
        self.error = None
        self.k = 1

    def synced(self):
        c = self.S.content(self.local)
        return c["notes"], c["cards"]

    def start(self, seconds):
        def loop():
            try:
                deadline = time.monotonic() + seconds
                while not self.stop_flag.is_set() and time.monotonic() < deadline:
                    self.N.add_notes(self.local, [(f"n{self.k}", f"back {self.k}")])
                    decision, sanity = self.N.normal_sync(self.client, self.local)
                    assert decision == "normalSync" and sanity["status"] == "ok", decision
                    self.k += 1
                    self.versions[self.k] = self.synced()
            except Exception as exc:  # reported by stop()
                self.error = exc
        self.thread = threading.Thread(target=loop)
        self.thread.start()

    def running(self):
        return self.thread.is_alive()

    def stop(self):
        self.stop_flag.set()
        self.thread.join(60)
        assert self.error is None, self.error
        return self.k

    def check_restored(self, target):
        """A second server on the restored directory serves the collection
        as it was after one of the syncs (notes and cards equal)."""
        srv, url = self.S.start_server(self.procs, target, users=("alice:pass",))
        try:
            c = self.S.Client(url)
            c.login("alice", "pass")
            got = str(self.tmp / "downloaded.anki2")
            c.full_download(got)
            cont = self.S.content(got)
            k = len(cont["notes"])
            assert k in self.versions, k
            assert (cont["notes"], cont["cards"]) == self.versions[k]
            os.unlink(got)
            return k
        finally:
            srv.stop()

    def check_final(self, target):
        pass

    def close(self):
        if self.thread and self.thread.is_alive():
            self.stop_flag.set()
            self.thread.join(60)


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
    t_end = time.monotonic() + 12
    while time.monotonic() < t_end or len(made) < 4:
        assert load.running(), "writer died"
        p = H.run(bb, "create", "--source", load.base, "--dest", dest, "--busy-timeout", "30",
                  check=0)
        assert "user alice: ok" in p.stderr
        made.append(p)
        time.sleep(0.3)
    k = load.stop()
    assert k > 10, f"the load made only {k} changes"
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
        seen.append(load.check_restored(target))
    # Snapshots taken during the writes caught it at different points, in order.
    assert seen == sorted(seen)
    assert len(set(seen[:-1])) > 1
    assert seen[-1] == k
    load.check_final(tmp_path / f"restored-{snaps[-1]}")
