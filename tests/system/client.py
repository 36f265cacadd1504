# SPDX-License-Identifier: AGPL-3.0-or-later
"""client.py - the sync scenarios of tests/check-system.sh, run inside the
container against the server under systemd, with the project's own test
clients (copied next to this file): syncclient.py (transport, full sync),
normalsync.py (the official normal-sync algorithm on schema-11 local
collections), mediaclient.py (the official media-sync algorithm).

    client.py login    URL USER PWFILE
    client.py full     URL USER PWFILE FIXTURE WORK
    client.py normal   URL USER PWFILE WORK
    client.py media    URL USER PWFILE WORK
    client.py snapshot URL USER PWFILE WORK
    client.py compare  URL USER PWFILE WORK
    client.py trylogin URL USER PWFILE SECONDS [--expect-refused]

PWFILE holds the password (first line).  WORK is this user's scratch
directory (local collections, media folders, the snapshot).  Prints one line
per check, "ok   PREFIX..." or "FAIL PREFIX..." ($CHECK_PREFIX), or
"skip PREFIX...: reason"; exits 1 when a check failed.
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from syncclient import Client, SyncError, content  # noqa: E402
import normalsync as ns  # noqa: E402

PREFIX = os.environ.get("CHECK_PREFIX", "")
failures = 0


def check(name, cond, detail=""):
    global failures
    line = ("ok   " if cond else "FAIL ") + PREFIX + name
    if detail and not cond:
        line += " (" + str(detail)[:300] + ")"
    print(line, flush=True)
    if not cond:
        failures += 1
    return cond


def skip(name, reason):
    print("skip " + PREFIX + name + ": " + reason, flush=True)


def password(pwfile):
    with open(pwfile) as f:
        return f.readline().rstrip("\n")


def client(url, user, pw):
    c = Client(url, timeout=60)
    c.login(user, pw)
    return c


def refused(url, user, pw):
    try:
        Client(url, timeout=60).login(user, pw)
    except SyncError as e:
        return e.resp.status == 403
    return False


def rows(path):
    """What must survive a sync, a restart or a backup."""
    c = content(path)
    return {k: [list(r) for r in c[k]] for k in ("notes", "cards", "revlog")}


def anki_col(*args):
    subprocess.run(["anki-col", *map(str, args)], check=True, capture_output=True, timeout=120)


def download(c, path):
    """A device that takes the server's collection, kept at schema 11 so the
    normal-sync client can edit it."""
    c.full_download(path)
    anki_col("downgrade", path)
    return path


# ---- scenarios ----

def cmd_login(url, user, pwfile):
    pw = password(pwfile)
    try:
        Client(url, timeout=60).login(user, pw)
        check(f"login as {user}", True)
    except (SyncError, OSError) as e:
        check(f"login as {user}", False, e)
        return
    check(f"wrong password for {user} refused with 403", refused(url, user, pw + "x"))
    check("unknown user refused with 403", refused(url, user + "-nobody", pw))


def cmd_full(url, user, pwfile, fixture, work):
    pw = password(pwfile)
    os.makedirs(work, exist_ok=True)
    up = os.path.join(work, "upload.anki2")
    shutil.copy(fixture, up)
    c = client(url, user, pw)
    answer = c.full_upload(up)  # prepares the file first, as the client does
    want = rows(up)
    check(f"{user}: full upload of {len(want['notes'])} notes", answer == "OK", answer)
    down = os.path.join(work, "second-device.anki2")
    client(url, user, pw).full_download(down)
    check(f"{user}: a second device's full download has the same notes, cards and revlog",
          rows(down) == want)


def cmd_normal(url, user, pwfile, work):
    pw = password(pwfile)
    # A download bumps the server's mod (as the official server does), so
    # each device asks right after its own download.
    a, b = client(url, user, pw), client(url, user, pw)
    a_path = download(a, os.path.join(work, "device-a.anki2"))
    decision = ns.normal_sync(a, a_path)[0]
    check(f"{user}: normal sync right after a full download says noChanges",
          decision == "noChanges", decision)
    b_path = download(b, os.path.join(work, "device-b.anki2"))
    ids = ns.add_notes(a_path, [(f"system {i}", f"back {i}") for i in range(300)])
    ns.edit_note(a_path, ids[0], "edited on A", "under systemd")
    ns.delete_note(a_path, ids[1])
    ns.add_deck(a_path, "System::Tests")
    ns.add_tag(a_path, "nspawn::check")
    decision, sanity = ns.normal_sync(a, a_path)
    check(f"{user}: device A sends 300 notes, an edit, a deletion, a deck and a tag "
          "(normal sync, sanity ok)",
          decision == "normalSync" and sanity.get("status") == "ok", (decision, sanity))
    decision, sanity = ns.normal_sync(b, b_path)
    check(f"{user}: device B receives them (normal sync, sanity ok)",
          decision == "normalSync" and sanity.get("status") == "ok", (decision, sanity))
    check(f"{user}: devices A and B hold the same rows", rows(a_path) == rows(b_path))
    ns.add_notes(b_path, [(f"from B {i}", "b") for i in range(5)])
    ns.delete_note(b_path, ids[2])
    sb, sa = ns.normal_sync(b, b_path), ns.normal_sync(a, a_path)
    check(f"{user}: and back from B to A", sb[1].get("status") == "ok"
          and sa[1].get("status") == "ok" and rows(a_path) == rows(b_path), (sb, sa))
    third = os.path.join(work, "device-c.anki2")
    client(url, user, pw).full_download(third)
    check(f"{user}: a third device's full download equals them", rows(third) == rows(a_path))


MEDIA = {
    "hello.txt": b"hello from the system test\n",
    "Ünïcode name.txt": "grüße".encode(),
    "big.bin": bytes(range(256)) * 4096,  # 1 MiB
}


def media_supported(c):
    r = c.request("begin", {"v": "anki,26.08.1 (ankihost-test),lin:debian:12"},
                  path=c.prefix + "msync/begin")
    if r.status == 200:
        return None
    return f"the server answers msync/begin with HTTP {r.status} {r.raw[:80].decode(errors='replace')!r}"


def cmd_media(url, user, pwfile, work):
    from mediaclient import HttpTransport, MediaClient
    pw = password(pwfile)
    c = client(url, user, pw)
    why = media_supported(c)
    if why:
        skip(f"{user}: media sync (upload, download, deletion both ways)", why)
        return
    a = MediaClient(os.path.join(work, "a", "collection.media"), os.path.join(work, "a.mdb"),
                    HttpTransport(c))
    for name, data in MEDIA.items():
        a.add_file(name, data)
    a.sync_until_clean()
    b = MediaClient(os.path.join(work, "b", "collection.media"), os.path.join(work, "b.mdb"),
                    HttpTransport(client(url, user, pw)))
    b.sync_until_clean()
    check(f"{user}: media: device B receives device A's {len(MEDIA)} files",
          b.files() == a.files() and len(a.files()) == len(MEDIA), sorted(b.files()))
    a.remove_file("hello.txt")
    a.sync_until_clean()
    b.add_file("from-b.txt", b"added on B\n")
    b.sync_until_clean()
    a.sync_until_clean()
    check(f"{user}: media: a deletion and an addition travel both ways",
          a.files() == b.files() and "hello.txt" not in a.files() and "from-b.txt" in a.files(),
          (sorted(a.files()), sorted(b.files())))
    with open(os.path.join(work, "media.json"), "w") as f:
        json.dump(a.files(), f)
    a.close()
    b.close()


def cmd_snapshot(url, user, pwfile, work):
    path = os.path.join(work, "snapshot.anki2")
    client(url, user, password(pwfile)).full_download(path)
    r = rows(path)
    with open(os.path.join(work, "snapshot.json"), "w") as f:
        json.dump(r, f)
    check(f"{user}: server copy taken ({len(r['notes'])} notes, {len(r['revlog'])} revlog rows)",
          len(r["notes"]) > 0)


def cmd_compare(url, user, pwfile, work):
    pw = password(pwfile)
    with open(os.path.join(work, "snapshot.json")) as f:
        want = json.load(f)
    path = os.path.join(work, "after.anki2")
    client(url, user, pw).full_download(path)
    check(f"{user}: every note, card and revlog row is still there ({len(want['notes'])} notes)",
          rows(path) == want)
    mfile = os.path.join(work, "media.json")
    if os.path.exists(mfile):
        from mediaclient import HttpTransport, MediaClient
        with open(mfile) as f:
            mwant = json.load(f)
        fresh = os.path.join(work, "fresh-%d" % time.time_ns())
        m = MediaClient(os.path.join(fresh, "collection.media"), fresh + ".mdb",
                        HttpTransport(client(url, user, pw)))
        m.sync_until_clean()
        check(f"{user}: every media file is still there ({len(mwant)} files)", m.files() == mwant)
        m.close()


def cmd_trylogin(url, user, pwfile, seconds, *flags):
    pw = password(pwfile)
    expect_refused = "--expect-refused" in flags
    deadline = time.monotonic() + float(seconds)
    last = None
    while True:
        try:
            Client(url, timeout=60).login(user, pw)
            ok, last = True, "logged in"
        except SyncError as e:
            ok, last = False, f"HTTP {e.resp.status}"
        except OSError as e:
            ok, last = False, str(e)
        if ok != expect_refused or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if expect_refused:
        check(f"{user} cannot log in", not ok, last)
    else:
        check(f"{user} logs in", ok, last)


COMMANDS = {"login": (cmd_login, 3), "full": (cmd_full, 5), "normal": (cmd_normal, 4),
            "media": (cmd_media, 4), "snapshot": (cmd_snapshot, 4), "compare": (cmd_compare, 4),
            "trylogin": (cmd_trylogin, 4)}


def main(argv):
    if not argv or argv[0] not in COMMANDS or len(argv) - 1 < COMMANDS[argv[0]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    fn = COMMANDS[argv[0]][0]
    try:
        fn(*argv[1:])
    except Exception as e:  # a crash of a scenario is a failed check, with its reason
        check(f"{argv[0]} {argv[2] if len(argv) > 2 else ''}: unexpected {type(e).__name__}", False,
              e)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
