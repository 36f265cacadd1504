# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers for test_backup_concurrent.py (no tests here): a media upload
load that runs through the real sync protocol, and the media side of the
sync protocol as seen by anyone checking a server (sync-protocol.md §5.1-§5.6).

MediaUploads drives mediaclient.MediaClient (the official client's media
algorithm) in its own thread: batches that add files, replace a file with
new content (every other time with the same size), delete one and now and
then bring a deleted name back.  A batch is at most 25 changes, so each
sync is ONE uploadChanges, i.e. one server transaction; after each sync the
client's folder is the server's live media, recorded under the usn the
server reached.  A snapshot's media.db is one committed state, so the live
media a restored server serves must equal one of these records.
"""
import io
import json
import random
import zipfile

from mediaclient import HttpTransport, MediaClient, sha1_hex
import syncclient as S

MAX_NAMES_PER_DOWNLOAD = 25  # sync-protocol.md §5.5


# ---- the media protocol, for checks ----

def _msync(client, method, payload):
    r = client.request(method, payload, path=client.prefix + "msync/" + method)
    assert r.status == 200, (method, r)
    reply = json.loads(r.body)
    assert reply.get("err", "") == "", (method, reply)
    return reply["data"]


def media_begin_usn(client):
    return _msync(client, "begin", {"v": S.LONG_CLIENT_VERSION})["usn"]


def media_rows(client):
    """mediaChanges from 0 until empty: [(name, usn, sha1 or "")] in usn order."""
    rows, last = [], 0
    while True:
        batch = _msync(client, "mediaChanges", {"lastUsn": last})
        if not batch:
            return rows
        for name, usn, sha1 in batch:
            assert usn > last, (name, usn, last)
            rows.append((name, usn, sha1))
            last = usn


def media_download(client, names):
    """{name: bytes} through downloadFiles: at most 25 names per request;
    the server may return fewer (a size cap), so ask again for the rest,
    as the official client does."""
    out = {}
    names = list(names)
    while names:
        want = names[:MAX_NAMES_PER_DOWNLOAD]
        r = client.request("downloadFiles", {"files": want},
                           path=client.prefix + "msync/downloadFiles")
        assert r.status == 200, r
        with zipfile.ZipFile(io.BytesIO(r.body)) as z:
            fmap = json.loads(z.read("_meta"))
            got = [fmap[m] for m in z.namelist() if m != "_meta"]
            for member, name in fmap.items():
                out[name] = z.read(member)
        assert got and got == want[:len(got)], (got, want)
        names = names[len(got):]
    return out


def media_sanity(client, local):
    return _msync(client, "mediaSanity", {"local": local})


# ---- the upload load ----

class MediaUploads:
    """A device uploading media to the server at url as user:password."""

    def __init__(self, url, user, password, root, seed=11):
        self.client = S.Client(url)
        self.client.login(user, password)
        root.mkdir()
        self.folder = root / "collection.media"
        self.dbpath = root / "collection.media.db2"
        self.rnd = random.Random(seed)
        self.states = {}    # server media usn -> {name: sha1} of the live files
        self.ever = set()   # every name ever uploaded
        self.deleted = []   # names deleted and not brought back yet
        self.batches = 0

    def _open(self):
        # sqlite3 connections stay in the thread that made them.
        return MediaClient(self.folder, self.dbpath, HttpTransport(self.client))

    def _data(self, size=None):
        return self.rnd.randbytes(size or self.rnd.randint(500, 300_000))

    def _sync(self, m, changes):
        stats = m.sync()  # mediaSanity failing raises ResyncRequired
        assert stats["uploaded_files"] + stats["uploaded_deletions"] == changes, stats
        assert stats["usn_skips"] == 0 and stats["downloaded_files"] == 0, stats
        self.states[m.last_usn] = m.files()

    def initial(self, n=40):
        """n files before any backup (over 25: several uploadChanges, of
        which only the last state is recorded)."""
        m = self._open()
        try:
            for i in range(n):
                self.ever.add(m.add_file(f"m{i:03d}.jpg", self._data()))
            self._sync(m, n)
        finally:
            m.close()

    def batch(self, m):
        """Two additions, one replacement, one deletion and, every third
        batch, a deleted name brought back with new content."""
        j = self.batches
        live = sorted(m.files())
        gone = self.rnd.choice(live)
        keep = [n for n in live if n != gone]
        old = self.rnd.choice(keep)
        size = (self.folder / old).stat().st_size if j % 2 else None
        m.add_file(old, self._data(size))
        m.remove_file(gone)
        changes = 4
        for x in range(2):
            self.ever.add(m.add_file(f"b{j:03d}-{x}.png", self._data()))
        if j % 3 == 2 and self.deleted:
            m.add_file(self.deleted.pop(0), self._data())
            changes += 1
        self.deleted.append(gone)
        m.force_rescan()  # a deletion within the folder mtime's millisecond
        self._sync(m, changes)
        self.batches += 1

    def run(self, stop, on_batch):
        """Batches until stop is set; on_batch() after each (server committed)."""
        m = self._open()
        try:
            while not stop.is_set():
                self.batch(m)
                on_batch()
        finally:
            m.close()

    def last_state(self):
        return self.states[max(self.states)]


def check_restored_media(client, userdir, media_db_usn, manifest_unlisted):
    """A server on a restored directory serves consistent media: every live
    row's file is in media/ with the row's SHA-1, downloadFiles returns those
    bytes, mediaSanity agrees with the live count, begin/meta report the
    restored media.db's usn, and any other file in media/ is one the
    snapshot's manifest flags as not listed.  Returns (usn, rows, live
    {name: sha1}, downloaded {name: bytes}, strays)."""
    rows = media_rows(client)
    live = {n: s for n, _, s in rows if s}
    usn = media_begin_usn(client)
    assert usn == media_db_usn == client.meta()["media_usn"], (usn, media_db_usn)
    if rows:
        assert max(u for _, u, _ in rows) == usn
    on_disk = {p.name: sha1_hex(p.read_bytes()) for p in (userdir / "media").iterdir()}
    for name, sha1 in live.items():
        assert on_disk.get(name) == sha1, name
    strays = set(on_disk) - set(live)
    assert strays <= manifest_unlisted, strays - manifest_unlisted
    got = media_download(client, live)
    assert {n: sha1_hex(b) for n, b in got.items()} == live
    assert media_sanity(client, len(live)) == "OK"
    return usn, rows, live, got, strays
