# SPDX-License-Identifier: AGPL-3.0-or-later
"""client.py - sync checks run inside the nspawn container (nspawn-check.sh)
with the project's byte-level test client (tests/integration/syncclient.py):

    client.py URL USER PASSWORD_FILE [OTHER_USER OTHER_PASSWORD] FIXTURE
    client.py --compare URL1 URL2 USER PASSWORD_FILE

Logs in (a wrong password and an unknown user must get 403), uploads FIXTURE
as USER, downloads it as a second client and compares the notes; logs
OTHER_USER in when given (the hashed-password user).  --compare downloads
USER's collection from two servers (live and restored) and compares notes.
Prints one line per check ("ok ..." / "FAIL ...") and exits non-zero on a
failure.
"""
import shutil
import sqlite3
import sys

sys.path.insert(0, "/usr/local/lib/ankihost-check")
from syncclient import Client, SyncError  # noqa: E402

failures = 0


def check(name, cond):
    global failures
    print(("ok   " if cond else "FAIL ") + name, flush=True)
    if not cond:
        failures += 1


def refused(url, user, password):
    try:
        Client(url).login(user, password)
    except SyncError as e:
        return e.resp.status == 403
    return False


def notes(path):
    db = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in db.execute("select flds from notes"))
    finally:
        db.close()


def compare(url1, url2, user, pwfile):
    with open(pwfile) as f:
        password = f.read().rstrip("\n")
    got = []
    for i, url in enumerate((url1, url2)):
        c = Client(url)
        c.login(user, password)
        c.full_download("/tmp/cmp%d.anki2" % i)
        got.append(notes("/tmp/cmp%d.anki2" % i))
    check("the restored server serves the same %d notes as the live one" % len(got[0]),
          got[0] == got[1] and len(got[0]) > 0)
    return 1 if failures else 0


def main(argv):
    if argv[0] == "--compare":
        return compare(*argv[1:5])
    url, user, pwfile = argv[0], argv[1], argv[2]
    fixture = argv[-1]
    with open(pwfile) as f:
        password = f.read().rstrip("\n")
    c = Client(url)
    try:
        c.login(user, password)
        check("login as %s with the credential's password" % user, True)
    except SyncError as e:
        check("login as %s with the credential's password (%s)" % (user, e), False)
        return 1
    check("wrong password refused with 403", refused(url, user, password + "x"))
    check("unknown user refused with 403", refused(url, user + "-nobody", password))
    if len(argv) == 6:
        other, other_pw = argv[3], argv[4]
        try:
            Client(url).login(other, other_pw)
            check("login as %s (hashed password from the users file)" % other, True)
        except SyncError as e:
            check("login as %s (hashed password from the users file): %s" % (other, e), False)
        check("wrong password for %s refused" % other, refused(url, other, other_pw + "x"))
    shutil.copy(fixture, "/tmp/up.anki2")
    want = notes("/tmp/up.anki2")
    check("full upload", c.full_upload("/tmp/up.anki2") == "OK")
    c2 = Client(url)
    c2.login(user, password)
    c2.full_download("/tmp/down.anki2")
    check("a second client downloads the same %d notes" % len(want), notes("/tmp/down.anki2") == want)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
