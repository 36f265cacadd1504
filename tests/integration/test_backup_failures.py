"""anki-backup when things go wrong (issue 7): empty and missing source,
unwritable destination, full disk (a small tmpfs made here), a corrupted
snapshot file, and runs killed mid-way.  Each must fail clearly, lose no
good snapshot, and let the next run succeed."""
import os
import signal
import subprocess
import time

import pytest

from conftest import bin_path, fixture_path
import test_backup_helpers as H

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def env(tmp_path):
    src = tmp_path / "src"
    dest = tmp_path / "dest"
    src.mkdir()
    dest.mkdir()
    H.make_user(src, "alice", fixture_path(H.FIXTURE), nmedia=3, media_size=30000)
    return bin_path("anki-backup"), src, dest, tmp_path


@pytest.fixture
def tmpfs(tmp_path):
    """mount(path, size) -> path; unmounted afterwards."""
    mounted = []

    def mount(name, size):
        p = tmp_path / name
        p.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(p)],
                       check=True)
        mounted.append(p)
        return p

    yield mount
    for p in mounted:
        subprocess.run(["umount", "-l", str(p)], check=False)


def listing(d):
    return sorted(os.listdir(d))


def test_missing_and_empty_source_refused(env):
    bb, src, dest, tmp = env
    H.run(bb, "create", "--source", src, "--dest", dest, "--keep-daily", "1", check=0)
    before = listing(dest)
    p = H.run(bb, "create", "--source", tmp / "nope", "--dest", dest, "--keep-daily", "1",
              check=3)
    assert "does not exist" in p.stderr and "nothing pruned" in p.stderr
    empty = tmp / "empty"
    (empty / "lost+found").mkdir(parents=True)
    p = H.run(bb, "create", "--source", empty, "--dest", dest, "--keep-daily", "1", check=3)
    assert "holds no user data" in p.stderr and "mounted" in p.stderr
    assert listing(dest) == before
    H.run(bb, "verify", "--dest", dest, check=0)
    # The destination itself is never created (an unmounted backup disk).
    p = H.run(bb, "create", "--source", src, "--dest", tmp / "nodest", check=1)
    assert "not a directory" in p.stderr and not (tmp / "nodest").exists()


@needs_root
def test_unwritable_destination(env, tmpfs):
    bb, src, _, tmp = env
    dest = tmpfs("ro-dest", "8m")
    H.run(bb, "create", "--source", src, "--dest", dest, check=0)
    good = H.snapshots(dest)
    subprocess.run(["mount", "-o", "remount,ro", str(dest)], check=True)
    p = H.run(bb, "create", "--source", src, "--dest", dest, "--keep-daily", "1", check=1)
    assert "Read-only file system" in p.stderr
    assert H.snapshots(dest) == good
    # Reading still works on the read-only disk.
    H.run(bb, "verify", "--dest", dest, "--tmpdir", tmp, check=0)
    H.run(bb, "list", "--dest", dest, check=0)
    H.run(bb, "restore", "--dest", dest, "latest", "--target", tmp / "r", check=0)
    subprocess.run(["mount", "-o", "remount,rw", str(dest)], check=True)
    H.run(bb, "create", "--source", src, "--dest", dest, check=0)
    assert len(H.snapshots(dest)) == 2


@needs_root
def test_read_only_source_of_a_stopped_server(env, tmpfs):
    """SQLite reads a WAL database through its -shm index; with the server
    stopped there is none, and a read-only path cannot get one: a clear
    error, nothing written."""
    bb, src, dest, tmp = env
    ro = tmpfs("ro-src", "8m")
    H.make_user(ro, "alice", fixture_path(H.FIXTURE), nmedia=1)
    for f in (ro / "alice").iterdir():
        assert not f.name.endswith(("-shm", "-wal")), f
    subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
    p = H.run(bb, "create", "--source", ro, "--dest", dest, check=1)
    assert "needs write access" in p.stderr, p.stderr
    assert H.snapshots(dest) == [] and listing(dest) == [".anki-backup.lock"]
    subprocess.run(["mount", "-o", "remount,rw", str(ro)], check=True)
    H.run(bb, "create", "--source", ro, "--dest", dest, check=0)


@needs_root
def test_disk_full(env, tmpfs):
    bb, src, _, tmp = env
    dest = tmpfs("small", "2m")
    H.run(bb, "create", "--source", src, "--dest", dest, "--keep-daily", "1",
          env={"ANKI_BACKUP_NOW": "1700000000"}, check=0)
    good = H.snapshots(dest)
    big = os.urandom(3 << 20)  # incompressible, larger than the disk
    H.media_put(src / "alice", "big.mp4", big)
    p = H.run(bb, "create", "--source", src, "--dest", dest, "--keep-daily", "1",
              env={"ANKI_BACKUP_NOW": "1700086400"}, check=1)
    assert "No space left on device" in p.stderr or "disk is full" in p.stderr, p.stderr
    # Nothing half-written is left, nothing was pruned, the old one is good.
    assert listing(dest) == sorted(good + [".anki-backup.lock"])
    H.run(bb, "verify", "--dest", dest, "--tmpdir", tmp, check=0)
    # Once there is room again (the big file deleted the server's way), it works.
    db = H.sqlite3.connect(src / "alice" / "media.db")
    db.execute("UPDATE media SET size = 0 WHERE fname = 'big.mp4'")
    db.commit()
    db.close()
    (src / "alice" / "media" / "big.mp4").unlink()
    H.run(bb, "create", "--source", src, "--dest", dest, "--keep-daily", "1",
          env={"ANKI_BACKUP_NOW": "1700172800"}, check=0)
    assert len(H.snapshots(dest)) == 1 and H.snapshots(dest) != good
    H.run(bb, "verify", "--dest", dest, "--tmpdir", tmp, check=0)


def test_corrupted_snapshot_file(env):
    bb, src, dest, tmp = env
    H.run(bb, "create", "--source", src, "--dest", dest, env={"ANKI_BACKUP_NOW": "1700000000"},
          check=0)
    data = os.urandom(20000)
    H.media_put(src / "alice", "later.jpg", data)
    H.run(bb, "create", "--source", src, "--dest", dest, env={"ANKI_BACKUP_NOW": "1700000100"},
          check=0)
    s1, s2 = H.snapshots(dest)
    obj = dest / s2 / "users" / "alice" / "media" / f"{H.sha1(data).hex()}.zst"
    assert obj.stat().st_nlink == 1  # only in the second snapshot
    raw = bytearray(obj.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    obj.write_bytes(bytes(raw))
    p = H.run(bb, "verify", "--dest", dest, s2, check=1)
    assert obj.name in p.stderr and "FAILED" in p.stderr
    H.run(bb, "verify", "--dest", dest, s1, check=0)
    p = H.run(bb, "restore", "--dest", dest, s2, "--target", tmp / "r", check=1)
    assert "damaged" in p.stderr
    assert not (tmp / "r" / "alice").exists()  # no half user directory
    # The next run does not reuse the damaged file; its snapshot is good.
    H.run(bb, "create", "--source", src, "--dest", dest, env={"ANKI_BACKUP_NOW": "1700000200"},
          check=0)
    s3 = H.snapshots(dest)[-1]
    H.run(bb, "verify", "--dest", dest, s3, check=0)
    # A damaged manifest: listed as unreadable, never used, never pruned.
    (dest / s3 / "manifest.jsonl").write_text('{"type":"header"')
    out = H.run(bb, "list", "--dest", dest, check=0).stdout
    assert "unreadable" in out
    H.run(bb, "create", "--source", src, "--dest", dest, "--keep-daily", "1",
          env={"ANKI_BACKUP_NOW": "1700000300"}, check=0)
    assert s3 in H.snapshots(dest)
    H.run(bb, "verify", "--dest", dest, "latest", check=0)


def slow_source(src, mib=60):
    """Enough incompressible media that a run takes a while."""
    rnd = __import__("random").Random(3)
    for i in range(mib // 2):
        H.media_put(src / "alice", f"big-{i:03d}.bin", rnd.randbytes(2 << 20))


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "term"])
def test_interrupted_run(env, sig):
    bb, src, dest, tmp = env
    H.run(bb, "create", "--source", src, "--dest", dest, check=0)
    good = H.snapshots(dest)
    slow_source(src)
    proc = subprocess.Popen([bb, "create", "--source", str(src), "--dest", str(dest), "--full",
                             "--keep-daily", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        tmps = [d for d in os.listdir(dest) if d.startswith(".tmp-")]
        media = dest / tmps[0] / "users" / "alice" / "media" if tmps else None
        if media and media.is_dir() and len(os.listdir(media)) >= 5:
            proc.send_signal(sig)
            killed = True
            break
        time.sleep(0.005)
    _, err = proc.communicate(timeout=60)
    assert killed, "the run finished before it could be interrupted"
    assert proc.returncode != 0
    # No half snapshot looks complete; the good one is untouched.
    assert H.snapshots(dest) == good
    leftovers = [d for d in os.listdir(dest) if d.startswith(".tmp-")]
    if sig == signal.SIGTERM:
        assert "interrupted" in err
        assert leftovers == []  # cleaned up on the way out
    else:
        assert len(leftovers) == 1
    assert good[0] in H.run(bb, "list", "--dest", dest, check=0).stdout
    H.run(bb, "verify", "--dest", dest, check=0)
    # The next run cleans up and succeeds.
    p = H.run(bb, "create", "--source", src, "--dest", dest, check=0)
    if leftovers:
        assert "leftover" in p.stderr
    assert not [d for d in os.listdir(dest) if d.startswith(".")
                and d != ".anki-backup.lock"]
    assert len(H.snapshots(dest)) == 2
    H.run(bb, "verify", "--dest", dest, check=0)
