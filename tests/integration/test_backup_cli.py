"""anki-backup as a program: incremental media, age encryption, retention
with faked dates, restoring by hand with zstd/age/sqlite3 as docs/backup.md
says, the lock, --help and exit codes (issue 7)."""
import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import bin_path, fixture_path, unicase_ext
import test_backup_helpers as H


@pytest.fixture
def env(tmp_path):
    src = tmp_path / "src"
    dest = tmp_path / "dest"
    src.mkdir()
    dest.mkdir()
    H.make_user(src, "alice", fixture_path(H.FIXTURE), nmedia=8, media_size=30000)
    return bin_path("anki-backup"), src, dest, tmp_path


def inodes(root):
    """relative path -> inode of every stored file under a snapshot."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(root))] = p.stat().st_ino
    return out


def test_second_snapshot_stores_only_the_changed_file(env):
    bb, src, dest, tmp = env
    H.run(bb, "create", "--source", src, "--dest", dest, env={"ANKI_BACKUP_NOW": "1700000000"},
          check=0)
    changed = "alice-003.jpg"
    new = os.urandom(30003)
    H.media_put(src / "alice", changed, new)
    p = H.run(bb, "create", "--source", src, "--dest", dest,
              env={"ANKI_BACKUP_NOW": "1700086400"}, check=0)
    s1, s2 = H.snapshots(dest)
    i1, i2 = inodes(dest / s1), inodes(dest / s2)
    new_obj = f"users/alice/media/{H.sha1(new).hex()}.zst"
    shared = {k for k in i2 if k in i1 and i1[k] == i2[k]}
    fresh = set(i2) - shared
    # Fresh: the changed file's new content, the media.db that records it,
    # and the per-snapshot text files.  Everything else is a hard link.
    assert fresh == {new_obj, "users/alice/media.db.zst", "manifest.jsonl", "SHA256SUMS",
                     "HOW-TO-RESTORE.txt"}, fresh
    assert "users/alice/collection.anki2.zst" in shared
    media2 = [k for k in i2 if k.startswith("users/alice/media/")]
    assert len(media2) == 8 and len([k for k in media2 if k in shared]) == 7
    # The old content stays in the first snapshot only.
    old_objs = {k for k in i1 if k.startswith("users/alice/media/")} - set(i2)
    assert len(old_objs) == 1
    # Bytes written by the second run: about one media file, not eight.
    new_line = [l for l in p.stderr.splitlines() if "user alice: ok" in l][0]
    new_mib = float(new_line.split("new=")[1].split("MiB")[0])
    assert new_mib < 0.1, new_line
    # Both snapshots are complete on their own.
    H.run(bb, "verify", "--dest", dest, check=0)
    shutil.rmtree(dest / s1)
    H.run(bb, "verify", "--dest", dest, s2, check=0)
    H.run(bb, "restore", "--dest", dest, s2, "--target", tmp / "r", check=0)
    assert (tmp / "r" / "alice" / "media" / changed).read_bytes() == new


def keypair(tmp, name):
    key = tmp / f"{name}.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    pub = subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True,
                         text=True).stdout.strip()
    return key, pub


@pytest.mark.skipif(shutil.which("age") is None, reason="age not installed")
def test_encryption_round_trip_and_wrong_identity(env):
    bb, src, dest, tmp = env
    key, pub = keypair(tmp, "key")
    key2, pub2 = keypair(tmp, "other")
    marker = b"PLAINTEXT-MARKER-" + os.urandom(8).hex().encode()
    H.media_put(src / "alice", "secret.txt", marker * 50)
    H.run(bb, "create", "--source", src, "--dest", dest, "--encrypt-to", pub, check=0)
    snap = H.snapshots(dest)[-1]
    stored = [p for p in (dest / snap / "users").rglob("*") if p.is_file()]
    assert stored and all(p.name.endswith(".zst.age") for p in stored)
    for p in stored:
        data = p.read_bytes()
        assert data.startswith(b"age-encryption.org/v1")
        assert marker not in data
    # The job holds no private key: a private key as recipients file is refused.
    p = H.run(bb, "create", "--source", src, "--dest", dest, "--encrypt-to-file", key, check=1)
    assert "private key" in p.stderr
    # Verify needs the identity, or an explicit --stored-only.
    p = H.run(bb, "verify", "--dest", dest, check=2)
    assert "--identity" in p.stderr
    H.run(bb, "verify", "--dest", dest, "--stored-only", check=0)
    H.run(bb, "verify", "--dest", dest, "--identity", key, check=0)
    p = H.run(bb, "verify", "--dest", dest, "--identity", key2, check=1)
    assert "wrong key" in p.stderr and "no identity matched" in p.stderr
    assert p.stderr.count("wrong key") == 1
    p = H.run(bb, "restore", "--dest", dest, "latest", "--target", tmp / "bad", "--identity", key2,
              check=1)
    assert not (tmp / "bad" / "alice").exists()
    H.run(bb, "restore", "--dest", dest, "latest", "--target", tmp / "r", "--identity", key,
          check=0)
    assert (tmp / "r" / "alice" / "media" / "secret.txt").read_bytes() == marker * 50
    # Two recipients from a file; either key decrypts; the same recipients
    # next time share the unchanged stored files.
    rfile = tmp / "recipients.txt"
    rfile.write_text(f"# backup keys\n{pub}\n\n{pub2}\n")
    H.run(bb, "create", "--source", src, "--dest", dest, "--encrypt-to-file", rfile, check=0)
    p = H.run(bb, "create", "--source", src, "--dest", dest, "--encrypt-to-file", rfile, check=0)
    assert "reused=" in p.stderr and "reused=0 " not in p.stderr
    last = H.snapshots(dest)[-1]
    assert H.manifest(dest, last)[0]["recipients"] == [pub, pub2]
    H.run(bb, "verify", "--dest", dest, last, "--identity", key2, check=0)
    H.run(bb, "verify", "--dest", dest, last, "--identity", key, check=0)


def test_retention_with_faked_dates(env):
    bb, src, dest, tmp = env
    # One run a day at 03:00 UTC from 2023-12-25 to 2024-01-14.
    days = [f"2023-12-{d:02d}" for d in range(25, 32)] + [f"2024-01-{d:02d}" for d in range(1, 15)]
    for day in days:
        H.run(bb, "create", "--source", src, "--dest", dest, "--keep-daily", "3",
              "--keep-weekly", "2", "--keep-monthly", "2",
              env={"ANKI_BACKUP_NOW": f"{day}T03:00:00Z"}, check=0)
    # daily 3: Jan 12, 13, 14; weekly 2 (ISO): Jan 14 (W02), Jan 7 (W01);
    # monthly 2: Jan 14, Dec 31.
    assert H.snapshots(dest) == ["20231231T030000Z", "20240107T030000Z", "20240112T030000Z",
                                 "20240113T030000Z", "20240114T030000Z"]
    listing = H.run(bb, "list", "--dest", dest, check=0).stdout.splitlines()
    assert len(listing) == 6 and listing[0].startswith("SNAPSHOT")
    H.run(bb, "verify", "--dest", dest, check=0)
    # Without --keep-* nothing is pruned.
    H.run(bb, "create", "--source", src, "--dest", dest,
          env={"ANKI_BACKUP_NOW": "2024-03-01T03:00:00Z"}, check=0)
    assert len(H.snapshots(dest)) == 6
    # A clock set back: the new snapshot is pinned, the newer one kept.
    H.run(bb, "create", "--source", src, "--dest", dest, "--keep-daily", "1",
          env={"ANKI_BACKUP_NOW": "2020-01-01T00:00:00Z"}, check=0)
    assert H.snapshots(dest) == ["20200101T000000Z", "20240301T030000Z"]


def test_restore_by_hand_as_documented(env):
    """docs/backup.md: with only zstd, jq and sqlite3 (no anki-backup);
    the collection checked by the stock shell with the unicase extension."""
    bb, src, dest, tmp = env
    if shutil.which("jq") is None:
        pytest.skip("jq not installed")
    ext = unicase_ext()
    H.run(bb, "create", "--source", src, "--dest", dest, check=0)
    snap = dest / H.snapshots(dest)[-1]
    new = tmp / "NEW"
    script = f"""
set -euo pipefail
cd '{snap}'
sha256sum --quiet -c SHA256SUMS
mkdir -p '{new}/alice/media'
zstd -q -d -o '{new}/alice/collection.anki2' users/alice/collection.anki2.zst
zstd -q -d -o '{new}/alice/media.db' users/alice/media.db.zst
jq -r 'select(.type=="media" and .user=="alice") | [.object, .name] | @tsv' manifest.jsonl |
while IFS=$'\\t' read -r obj name; do zstd -q -d -o "{new}/alice/media/$name" "$obj"; done
sqlite3 '{new}/alice/media.db' 'PRAGMA integrity_check' | grep -qx ok
test "$(sqlite3 '{new}/alice/collection.anki2' 'SELECT count(*) FROM notes')" = 16
sqlite3 -cmd '.load {ext}' '{new}/alice/collection.anki2' 'PRAGMA integrity_check' | grep -qx ok
"""
    subprocess.run(["bash", "-c", script], check=True)
    for f in (src / "alice" / "media").iterdir():
        assert (new / "alice" / "media" / f.name).read_bytes() == f.read_bytes()
    assert H.check_media_consistent(new / "alice") == 8
    H.check_collection_consistent(new / "alice" / "collection.anki2")


def test_lock_help_and_usage(env):
    bb, src, dest, tmp = env
    with open(dest / ".anki-backup.lock", "w") as lf:
        fcntl.flock(lf, fcntl.LOCK_EX)
        p = H.run(bb, "create", "--source", src, "--dest", dest, check=4)
        assert "another anki-backup" in p.stderr
    H.run(bb, "create", "--source", src, "--dest", dest, check=0)
    p = H.run(bb, "--help", check=0)
    assert "create" in p.stdout and "restore" in p.stdout and "Exit status" in p.stdout
    H.run(bb, "create", "--help", check=0)
    H.run(bb, check=2)
    H.run(bb, "frobnicate", check=2)
    H.run(bb, "create", "--dest", dest, check=2)                      # no --source
    H.run(bb, "create", "--source", src, "--dest", dest, "--keep-daily", "x", check=2)
    H.run(bb, "list", "--dest", dest, "--keep-daily", "1", check=2)   # wrong command
    H.run(bb, "restore", "--dest", dest, "latest", check=2)           # no --target
    H.run(bb, "verify", "--dest", dest, "nosuchsnapshot", check=1)
    p = H.run(bb, "create", "--source", src, "--dest", dest,
              env={"ANKI_BACKUP_NOW": "yesterday"}, check=2)
    # Restore refuses a non-empty target (exit 3) and leaves it alone.
    target = tmp / "busy"
    target.mkdir()
    (target / "keep").write_text("x")
    p = H.run(bb, "restore", "--dest", dest, "latest", "--target", target, check=3)
    assert "not empty" in p.stderr
    assert sorted(os.listdir(target)) == ["keep"]
    H.run(bb, "restore", "--dest", dest, "latest", "--target", target, "--force", check=0)
    assert sorted(os.listdir(target)) == ["alice", "keep"]
