"""anki-backup while the data changes underneath (issue 7, first test).

Backups run repeatedly while a load keeps changing a user's collection and
media; every snapshot must verify, and every restore must be a consistent
state: the collection passes integrity_check and shows whole transactions
only, and every file the restored media.db lists is on disk with its SHA-1.

The load is a fixture parameter so that the real-server variant can be
added without touching the test: a `SyncServerLoad` would start
anki-sync-server on the source directory and drive normal syncs and media
uploads with a test client, and its check_restored would start a second
server on the restored directory and compare a full download and the media
SHA-1s with the first.  Today's load (`SqliteWriterLoad`) writes through
SQLite in WAL mode from another process, the way the server does.
"""
import os
import subprocess
import sys
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


@pytest.fixture(params=[SqliteWriterLoad], ids=lambda c: c.name)
def load(request, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    ld = request.param(src)
    yield ld
    if ld.proc and ld.proc.poll() is None:
        ld.proc.kill()
        ld.proc.wait()


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
    assert k > 50, f"the writer made only {k} transactions"
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
    # The final snapshot's media is exactly the source's.
    last = tmp_path / f"restored-{snaps[-1]}" / "alice" / "media"
    src_media = load.base / "alice" / "media"
    for f in src_media.iterdir():
        assert (last / f.name).read_bytes() == f.read_bytes(), f.name
