# SPDX-License-Identifier: AGPL-3.0-or-later
"""anki_client.py - drives the real Anki client library (pylib, from the
pinned nixpkgs) against a sync server, for the NixOS VM tests in this
directory.  Run through `anki-vm-client` (common.nix), which points
ANKI_PYLIB (or ANKI_WRAPPED on older nixpkgs) at Anki's Python library.

    anki-vm-client check-login ENDPOINT USER PASSWORD
    anki-vm-client upload      ENDPOINT USER PASSWORD DIR TEXT
    anki-vm-client download    ENDPOINT USER PASSWORD DIR [TEXT...]
    anki-vm-client add         ENDPOINT USER PASSWORD DIR TEXT
    anki-vm-client expect      ENDPOINT USER PASSWORD DIR TEXT...
    anki-vm-client load        ENDPOINT USER PASSWORD DIR COUNT

Every note carries TEXT in its Front field and a media file named after
TEXT holding TEXT, so each step checks collection and media sync together.
`download` and `expect` print the sorted Front fields as JSON on stdout (the
backup test compares a live and a restored server with it).  Any mismatch
or sync error exits non-zero with a message on stderr.
"""

import json
import os
import re
import sys
import time


def die(msg):
    print("anki-vm-client: " + msg, file=sys.stderr)
    sys.exit(1)


def import_anki():
    pylib = os.environ.get("ANKI_PYLIB")
    wrapped = os.environ.get("ANKI_WRAPPED")
    if pylib:
        if not os.path.isdir(pylib):
            die(pylib + " not found (Python version mismatch?)")
        sys.path.append(pylib)
    elif wrapped:
        from runpy import run_path

        run_path(wrapped)
    import anki.collection
    import anki.errors

    return anki


anki = import_anki()


def media_name(text):
    return "ankihost-" + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") + ".txt"


def open_col(directory, fresh):
    path = os.path.join(directory, "collection.anki2")
    if fresh:
        if os.path.exists(path):
            die(path + " exists; a fresh directory is needed")
        os.makedirs(directory, exist_ok=True)
    elif not os.path.exists(path):
        die(path + " does not exist")
    return anki.collection.Collection(path)


def login(col, endpoint, user, password):
    auth = col.sync_login(user, password, endpoint)
    # Login does not remember the endpoint (as in nixpkgs' own test).
    auth.endpoint = endpoint
    return auth


def add_note(col, text):
    notetype = col.models.by_name("Basic")
    note = col.new_note(notetype)
    note["Front"] = text
    note["Back"] = "ankihost VM test"
    col.add_note(note, 1)
    col.media.write_data(media_name(text), text.encode())


def fronts(col):
    return sorted(col.get_note(nid)["Front"] for nid in col.find_notes(""))


def sync(col, auth, allow_full):
    """Normal sync; a full sync only in the direction allowed."""
    out = col.sync_collection(auth, False)
    if out.new_endpoint:
        auth.endpoint = out.new_endpoint
    required = out.required
    if required in (out.NO_CHANGES, out.NORMAL_SYNC):
        return "normal"
    upload = required == out.FULL_UPLOAD or (required == out.FULL_SYNC and allow_full == "upload")
    download = required == out.FULL_DOWNLOAD or (
        required == out.FULL_SYNC and allow_full == "download"
    )
    if not (upload or download) or (allow_full not in ("upload", "download")):
        die("unexpected sync outcome %d (allowed full sync: %s)" % (required, allow_full))
    if upload != (allow_full == "upload"):
        die("server asked for a full %s" % ("upload" if upload else "download"))
    col.close_for_full_sync()
    col.full_upload_or_download(auth=auth, server_usn=None, upload=upload)
    col.reopen(after_full_sync=True)
    return "full-upload" if upload else "full-download"


def sync_media(col, auth):
    col.sync_media(auth)
    deadline = time.time() + 300
    while col.media_sync_status().active:  # raises if the sync failed
        if time.time() > deadline:
            die("media sync did not finish")
        time.sleep(0.2)


def check(col, texts):
    have = fronts(col)
    for text in texts:
        if text not in have:
            die("note %r missing; have %r" % (text, have))
        path = os.path.join(col.media.dir(), media_name(text))
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            die("media file for %r missing: %s" % (text, e))
        if data != text.encode():
            die("media file %s holds %r" % (path, data))
    return have


def main(argv):
    if len(argv) < 4:
        die("usage: STEP ENDPOINT USER PASSWORD [DIR] [ARGS...]")
    step, endpoint, user, password = argv[:4]
    rest = argv[4:]

    if step == "check-login":
        col = open_col("/tmp/anki-login-%d" % os.getpid(), True)
        for bad_user, bad_pw in ((user, password + "x"), (user + "-nobody", password)):
            try:
                col.sync_login(bad_user, bad_pw, endpoint)
            except anki.errors.SyncError:
                pass
            else:
                die("login as %r with a wrong password was accepted" % bad_user)
        login(col, endpoint, user, password)
        col.close()
        print(json.dumps({"login": user}))
        return

    if not rest:
        die(step + ": DIR missing")
    directory, texts = rest[0], rest[1:]

    if step == "upload":
        if len(texts) != 1:
            die("upload: one TEXT")
        col = open_col(directory, True)
        add_note(col, texts[0])
        auth = login(col, endpoint, user, password)
        how = sync(col, auth, "upload")
        sync_media(col, auth)
        result = {"sync": how, "notes": fronts(col)}
    elif step == "download":
        col = open_col(directory, True)
        auth = login(col, endpoint, user, password)
        how = sync(col, auth, "download")
        sync_media(col, auth)
        result = {"sync": how, "notes": check(col, texts)}
    elif step == "add":
        if len(texts) != 1:
            die("add: one TEXT")
        col = open_col(directory, False)
        add_note(col, texts[0])
        auth = login(col, endpoint, user, password)
        how = sync(col, auth, None)
        sync_media(col, auth)
        result = {"sync": how, "notes": fronts(col)}
    elif step == "expect":
        col = open_col(directory, False)
        auth = login(col, endpoint, user, password)
        how = sync(col, auth, None)
        sync_media(col, auth)
        result = {"sync": how, "notes": check(col, texts)}
    elif step == "load":
        if len(texts) != 1:
            die("load: COUNT")
        col = open_col(directory, False)
        auth = login(col, endpoint, user, password)
        for i in range(int(texts[0])):
            add_note(col, "load note %d" % i)
            sync(col, auth, None)
        sync_media(col, auth)
        result = {"sync": "normal", "notes": fronts(col)}
    else:
        die("unknown step " + step)
    col.close()
    print(json.dumps(result["notes"] if step in ("download", "expect") else result))


if __name__ == "__main__":
    main(sys.argv[1:])
