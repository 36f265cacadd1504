# SPDX-License-Identifier: AGPL-3.0-or-later
"""A media sync client for tests that does what the official client does
(sync-protocol.md §5, §7.5; collection-format.md §8.2-§8.3).

It keeps a media folder and a client media DB with the official layout
(media(fname, csum, mtime, dirty) WITHOUT ROWID, meta(dirMod, lastUsn)) and
runs the official algorithm:

  1. register local changes (folder scan when the folder mtime in ms changed);
  2. server usn: the one given (from `meta`), else `begin`;
  3. if lastUsn != server usn: loop mediaChanges(lastUsn) until empty; per
     batch decide per row (§5.8 table), delete, download in requests of at
     most 25 names dropping as many names as files came back, then in one
     transaction record everything and set lastUsn := the batch's last usn;
  4. while dirty rows exist: take 25 (DB order), build the zip (stop adding
     once the accumulated bytes exceed 2.5 MiB; vanished files are sent as
     deletions; unreadable/not-normalised/empty/too-big entries are dropped
     from the DB and the batch rebuilt), uploadChanges, mark the first
     `processed` clean, and set lastUsn := current_usn only when
     lastUsn + processed == current_usn;
  5. if 3 or 4 did anything: mediaSanity(count of rows with a checksum); on
     "mediaSanity" clear the DB (lastUsn = dirMod = 0) and raise
     ResyncRequired.

Transport is pluggable: anything with call(method, payload_bytes) ->
(status, body_bytes).  HttpTransport speaks to a real server through
syncclient.Client (POST {base}msync/<method>, zstd framing, anki-sync header).

Deviation from the official client, on purpose: when a batch deletes several
local files, every one of them is moved to media.trash (the official
remove_files returns early at the first file that is already gone).
"""
import hashlib
import io
import json
import os
import re
import sqlite3
import unicodedata
import zipfile

MAX_FILE_SIZE = 100 * 1024 * 1024        # MAX_INDIVIDUAL_MEDIA_FILE_SIZE
MAX_FILES_IN_ZIP = 25                    # MAX_MEDIA_FILES_IN_ZIP
TARGET_ZIP_BYTES = int(2.5 * 1024 * 1024)  # MEDIA_SYNC_TARGET_ZIP_BYTES
MAX_NAME_BYTES = 120                     # MAX_MEDIA_FILENAME_LENGTH
LONG_CLIENT_VERSION = "anki,26.08.1 (ankihost-test),lin:debian:12"

CLIENT_SCHEMA = """
CREATE TABLE media (
  fname text NOT NULL PRIMARY KEY,
  csum text,
  mtime int NOT NULL,
  dirty int NOT NULL
) without rowid;
CREATE INDEX idx_media_dirty ON media (dirty) WHERE dirty = 1;
CREATE TABLE meta (dirMod int, lastUsn int);
INSERT INTO meta VALUES (0, 0);
"""


class MediaSyncError(Exception):
    def __init__(self, method, status, body=b""):
        super().__init__(f"{method}: HTTP {status} {body[:200]!r}")
        self.method = method
        self.status = status
        self.body = body


class ResyncRequired(Exception):
    """mediaSanity failed: the local media DB was cleared; sync again."""


# ---- file names (§5.9) ----

_DISALLOWED = set('[]<>:"/?*^\\|')
_DEVICE = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\.|$)", re.IGNORECASE)
_NONSYNCABLE = re.compile(r"^(:?thumbs.db|.ds_store)$", re.IGNORECASE)


def _disallowed(ch):
    return ch in _DISALLOWED or ord(ch) < 0x20 or ord(ch) == 0x7F \
        or unicodedata.category(ch) == "Cn"


def _truncate_utf8(s, max_bytes):
    b = s.encode()
    if len(b) <= max_bytes:
        return s
    return b[:max_bytes].decode("utf-8", errors="ignore")


def _split_and_truncate(name, max_bytes):
    if "." in name:
        stem, ext = name.rsplit(".", 1)
    else:
        stem, ext = name, ""
    ext = _truncate_utf8(ext, 10)
    stem = _truncate_utf8(stem, max_bytes - len(ext.encode()) - 2)
    return stem, ext


def normalize_filename(name):
    """The official normalize_filename: NFC, bad characters removed, NBSP to
    space, Windows device names and trailing space/dot fixed, 120 bytes."""
    out = unicodedata.normalize("NFC", name)
    out = "".join(c for c in out if not _disallowed(c))
    out = out.replace("\u00a0", " ")
    out = _DEVICE.sub(lambda m: m.group(1) + "_" + m.group(2), out)
    if out.endswith(" ") or out.endswith("."):
        out += "_"
    if len(out.encode()) > MAX_NAME_BYTES:
        stem, ext = _split_and_truncate(out, MAX_NAME_BYTES)
        out = f"{stem}.{ext}" if ext else stem
        if out.endswith(" ") or out.endswith("."):
            out += "_"
    return out


def is_normalized(name):
    return normalize_filename(name) == name


def sha1_hex(data):
    return hashlib.sha1(data).hexdigest()


def add_hash_suffix(name, sha1):
    stem, ext = _split_and_truncate(name, MAX_NAME_BYTES - 40 - 1)
    return f"{stem}-{sha1}.{ext}"


def required_change(local_sha1, remote_sha1, state):
    """§5.8 / changes.rs: state is 'absent', 'clean' or 'dirty'.  Returns
    'none', 'download', 'delete' or 'remove_pending'."""
    if local_sha1 == "" and remote_sha1 == "":
        return "none" if state == "absent" else "delete"
    if local_sha1 == "":
        return "download"
    if remote_sha1 == "":
        return "none" if state == "dirty" else "delete"
    if state == "dirty" and local_sha1 == remote_sha1:
        return "remove_pending"
    return "none" if local_sha1 == remote_sha1 else "download"


# ---- transport ----

class HttpTransport:
    """Media calls over HTTP through a logged-in syncclient.Client."""

    def __init__(self, client):
        self.client = client

    def call(self, method, payload):
        r = self.client.request(method, payload, path=self.client.prefix + "msync/" + method)
        return r.status, r.body


def logged_in_device(url, tmp_path, name, user="user", password="pass", keep_alive=False):
    """A sync client logged in over HTTP (one connection kept for all its
    requests, as the official client's pool does, with keep_alive) and a
    MediaClient whose folder and media DB are in a new directory
    tmp_path/name."""
    from syncclient import Client, KeepAliveClient  # syncclient does not need this module
    c = (KeepAliveClient if keep_alive else Client)(url)
    c.login(user, password)
    root = tmp_path / name
    root.mkdir()
    return c, MediaClient(root / "collection.media", root / "collection.media.db2",
                          HttpTransport(c))


# ---- the client ----

class MediaClient:
    def __init__(self, folder, db_path, transport, client_version=LONG_CLIENT_VERSION):
        self.folder = str(folder)
        self.trash = os.path.join(os.path.dirname(self.folder.rstrip("/")), "media.trash")
        os.makedirs(self.folder, exist_ok=True)
        self.transport = transport
        self.client_version = client_version
        self.db = sqlite3.connect(str(db_path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode = wal")
        if not self.db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='media'").fetchone():
            self.db.executescript("BEGIN;" + CLIENT_SCHEMA + "COMMIT;")
        self.log = []  # (method, request summary, reply summary), for tests

    def close(self):
        self.db.close()

    # ---- local state ----
    def meta(self):
        return self.db.execute("SELECT dirMod, lastUsn FROM meta").fetchone()

    @property
    def last_usn(self):
        return self.meta()[1]

    def entry(self, fname):
        """(csum or None, mtime, dirty) or None."""
        return self.db.execute("SELECT csum, mtime, dirty FROM media WHERE fname = ?",
                               (fname,)).fetchone()

    def count(self):
        return self.db.execute("SELECT count(*) FROM media WHERE csum IS NOT NULL").fetchone()[0]

    def pending(self, limit):
        return [r[0] for r in self.db.execute(
            "SELECT fname FROM media WHERE dirty = 1 LIMIT ?", (limit,))]

    def set_entry(self, fname, csum, mtime, dirty):
        self.db.execute("INSERT OR REPLACE INTO media (fname, csum, mtime, dirty) "
                        "VALUES (?, ?, ?, ?)", (fname, csum, mtime, int(dirty)))

    def force_resync(self):
        self.db.execute("DELETE FROM media")
        self.db.execute("UPDATE meta SET lastUsn = 0, dirMod = 0")

    def force_rescan(self):
        """Tests change files faster than the folder's mtime resolution."""
        self.db.execute("UPDATE meta SET dirMod = 0")

    def folder_mtime_ms(self):
        return os.stat(self.folder).st_mtime_ns // 1_000_000

    # ---- local edits, as the Anki GUI makes them ----
    def add_file(self, name, data):
        """media.add_file: write under the normalised name, register dirty."""
        name = normalize_filename(name)
        path = os.path.join(self.folder, name)
        with open(path, "wb") as f:
            f.write(data)
        self.set_entry(name, sha1_hex(data), int(os.stat(path).st_mtime), True)
        return name

    def remove_file(self, name):
        os.remove(os.path.join(self.folder, name))

    # ---- 1. change detection (changetracker.rs) ----
    def register_changes(self):
        dirmod = self.folder_mtime_ms()
        if dirmod == self.meta()[0]:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            mtimes = dict(self.db.execute(
                "SELECT fname, mtime FROM media WHERE csum IS NOT NULL"))
            for de in os.scandir(self.folder):
                if not de.is_file(follow_symlinks=False):
                    continue
                name = de.name
                if not is_normalized(name) or _NONSYNCABLE.match(name):
                    continue
                st = de.stat(follow_symlinks=False)
                if st.st_size == 0 or st.st_size > MAX_FILE_SIZE:
                    continue
                previous = mtimes.pop(name, None)
                mtime = int(st.st_mtime)
                if previous is not None and previous == mtime:
                    continue
                with open(de.path, "rb") as f:
                    csum = sha1_hex(f.read())
                dirty = True
                if previous is not None:
                    old = self.entry(name)
                    if old and old[0] == csum:
                        dirty = bool(old[2])
                self.set_entry(name, csum, mtime, dirty)
            for gone in mtimes:
                self.set_entry(gone, None, 0, True)
            self.db.execute("UPDATE meta SET dirMod = ?", (dirmod,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # ---- protocol calls ----
    def _call(self, method, payload):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload, separators=(",", ":")).encode()
        status, body = self.transport.call(method, payload)
        self.log.append((method, status))
        if status != 200:
            raise MediaSyncError(method, status, body)
        return body

    def _json_result(self, method, payload):
        reply = json.loads(self._call(method, payload))
        if "data" not in reply:
            raise MediaSyncError(method, 200, reply.get("err", "").encode())
        if reply.get("err", "") != "":
            raise AssertionError(f"{method}: err {reply['err']!r} beside data")
        return reply["data"]

    def begin(self):
        data = self._json_result("begin", {"v": self.client_version})
        return data["usn"]

    # ---- 3. fetch ----
    def fetch_changes(self, stats):
        last_usn = self.last_usn
        while True:
            batch = self._json_result("mediaChanges", {"lastUsn": last_usn})
            if not batch:
                break
            for fname, usn, sha1 in batch:
                assert isinstance(usn, int) and usn > last_usn, (usn, last_usn)
                assert sha1 == "" or re.fullmatch(r"[0-9a-f]{40}", sha1), sha1
            usns = [r[1] for r in batch]
            assert usns == sorted(usns), "mediaChanges must be in ascending usn order"
            last_usn = batch[-1][1]
            stats["checked"] += len(batch)
            to_download, to_delete, to_remove_pending = [], [], []
            for fname, usn, rsha in batch:
                e = self.entry(fname)
                if e is None:
                    lsha, state = "", "absent"
                else:
                    lsha, state = e[0] or "", ("dirty" if e[2] else "clean")
                action = required_change(lsha, rsha, state)
                {"download": to_download, "delete": to_delete,
                 "remove_pending": to_remove_pending}.get(action, []).append(fname)
            self.remove_files(to_delete)
            stats["downloaded_deletions"] += len(to_delete)
            downloaded = []
            names = list(to_download)
            while names:
                body = self._call("downloadFiles", {"files": names[:MAX_FILES_IN_ZIP]})
                added = self.extract(body)
                if not added:
                    raise AssertionError("downloadFiles returned no files for a non-empty request")
                names = names[len(added):]
                downloaded.extend(added)
                stats["downloaded_files"] += len(added)
            dirmod = self.folder_mtime_ms()
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for fname in to_remove_pending:
                    self.db.execute("UPDATE media SET dirty = 0 WHERE fname = ?", (fname,))
                for fname in to_delete:
                    self.db.execute("DELETE FROM media WHERE fname = ?", (fname,))
                for fname, sha1, mtime, renamed_from in downloaded:
                    if renamed_from is not None:
                        self.set_entry(renamed_from, None, 0, True)
                        self.set_entry(fname, sha1, mtime, True)
                    else:
                        self.set_entry(fname, sha1, mtime, False)
                self.db.execute("UPDATE meta SET lastUsn = ?, dirMod = ?", (last_usn, dirmod))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def remove_files(self, names):
        if not names:
            return
        os.makedirs(self.trash, exist_ok=True)
        for name in names:
            src = os.path.join(self.folder, name)
            if os.path.lexists(src):
                os.replace(src, os.path.join(self.trash, name))

    def extract(self, zip_bytes):
        """download.rs extract_into_media_folder + add_file_from_ankiweb."""
        out = []
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
            fmap = json.loads(z.read("_meta"))
            if not isinstance(fmap, dict):
                raise AssertionError("download _meta must be an object")
            for info in z.infolist():
                if info.filename == "_meta":
                    continue
                if info.filename not in fmap:
                    raise AssertionError("malformed zip")
                real = fmap[info.filename]
                data = z.read(info)
                out.append(self._add_from_server(real, data))
        return out

    def _add_from_server(self, fname, data):
        sha1 = sha1_hex(data)
        norm = normalize_filename(fname)
        renamed_from = None
        if norm == fname:
            path = os.path.join(self.folder, norm)
            with open(path, "wb") as f:
                f.write(data)
        else:
            renamed_from = fname
            norm = self._add_uniquely(norm, data, sha1)
            path = os.path.join(self.folder, norm)
        mtime = os.stat(path).st_mtime_ns // 1_000_000  # ms, as Anki records it here
        return (norm, sha1, mtime, renamed_from)

    def _add_uniquely(self, name, data, sha1):
        path = os.path.join(self.folder, name)
        existing = None
        if os.path.exists(path):
            with open(path, "rb") as f:
                existing = sha1_hex(f.read())
        if existing == sha1:
            return name
        if name.lower() != name:
            return self._add_uniquely(name.lower(), data, sha1)
        if existing is not None:
            name = add_hash_suffix(name, sha1)
            path = os.path.join(self.folder, name)
        with open(path, "wb") as f:
            f.write(data)
        return name

    # ---- 4. send ----
    def gather(self, names):
        """upload.rs gather_zip_data_for_upload: [(fname, data|None)] or None
        when invalid entries were dropped (caller retries)."""
        invalid, entries, acc = [], [], 0
        for fname in names:
            if acc > TARGET_ZIP_BYTES:
                break
            csum = self.entry(fname)[0]
            data = None
            if csum is not None:
                try:
                    with open(os.path.join(self.folder, fname), "rb") as f:
                        data = f.read()
                except FileNotFoundError:
                    data = None  # vanished: send as a deletion
                except OSError:
                    invalid.append(fname)
                    continue
            if data is not None:
                if not is_normalized(fname) or len(data) == 0 or len(data) > MAX_FILE_SIZE:
                    invalid.append(fname)
                    continue
                acc += len(data)
            entries.append((fname, data))
        if invalid:
            self.db.execute("BEGIN IMMEDIATE")
            for fname in invalid:
                self.db.execute("DELETE FROM media WHERE fname = ?", (fname,))
            self.db.execute("COMMIT")
            return None
        return entries

    @staticmethod
    def upload_zip(entries):
        """zip.rs zip_files_for_upload: Stored members named by position."""
        buf = io.BytesIO()
        meta = []
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for idx, (fname, data) in enumerate(entries):
                if data is None:
                    meta.append([fname, None])
                else:
                    z.writestr(str(idx), data)
                    meta.append([fname, str(idx)])
            z.writestr("_meta", json.dumps(meta, separators=(",", ":"), ensure_ascii=False))
        return buf.getvalue()

    def send_changes(self, stats):
        while True:
            names = self.pending(MAX_FILES_IN_ZIP)
            if not names:
                break
            entries = self.gather(names)
            if entries is None:
                stats["checked"] += len(names)
                continue
            processed, current_usn = self._json_result("uploadChanges", self.upload_zip(entries))
            done = entries[:processed]
            stats["uploaded_files"] += sum(1 for _, d in done if d is not None)
            stats["uploaded_deletions"] += sum(1 for _, d in done if d is None)
            self.db.execute("BEGIN IMMEDIATE")
            for fname, _ in done:
                self.db.execute("UPDATE media SET dirty = 0 WHERE fname = ?", (fname,))
            if self.last_usn + len(done) == current_usn:
                self.db.execute("UPDATE meta SET lastUsn = ?", (current_usn,))
            else:
                stats["usn_skips"] += 1
            self.db.execute("COMMIT")

    # ---- 5. sanity ----
    def finalize(self):
        local = self.count()
        answer = self._json_result("mediaSanity", {"local": local})
        if answer == "OK":
            return
        if answer != "mediaSanity":
            raise AssertionError(f"mediaSanity answered {answer!r}")
        self.db.execute("BEGIN IMMEDIATE")
        self.force_resync()
        self.db.execute("COMMIT")
        raise ResyncRequired()

    def sync(self, server_usn=None):
        """One media sync; returns counters.  Raises ResyncRequired after a
        failed sanity check (the local DB is then reset; call again)."""
        stats = dict(checked=0, downloaded_files=0, downloaded_deletions=0, uploaded_files=0,
                     uploaded_deletions=0, usn_skips=0, began=False, sanity=False)
        self.register_changes()
        if server_usn is None:
            server_usn = self.begin()
            stats["began"] = True
        acted = False
        if self.last_usn != server_usn:
            self.fetch_changes(stats)
            acted = True
        if self.pending(1):
            self.send_changes(stats)
            acted = True
        if acted:
            stats["sanity"] = True
            self.finalize()
        return stats

    def sync_until_clean(self, server_usn=None, rounds=3):
        """sync(), and once more after ResyncRequired, as a user would."""
        for _ in range(rounds):
            try:
                return self.sync(server_usn)
            except ResyncRequired:
                server_usn = None
        raise AssertionError("media sync did not settle")

    # ---- for assertions ----
    def files(self):
        """{name: sha1} of the media folder."""
        out = {}
        for de in os.scandir(self.folder):
            if de.is_file(follow_symlinks=False):
                with open(de.path, "rb") as f:
                    out[de.name] = sha1_hex(f.read())
        return out
