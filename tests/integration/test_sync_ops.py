"""Running anki-sync-server: configuration as the official server reads it
(sync-protocol.md §2.2, §6.1), start-up refusals, systemd credentials,
--hash-password, --healthcheck, signals, the users file with live reload,
and anki-sync-admin."""
import base64
import hashlib
import os
import select
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import bin_path, fixture_path, free_port, wait_port
from syncclient import (Client, content, local_meta, prepare_for_upload, run_server_expect_exit,
                        server_env, start_server, sync_decision)

# §2.2: "pass" with the official fixed salt and default parameters.
PASS_PHC = "$pbkdf2-sha256$i=600000,l=32$tonuvYGpksNFQBlEmm3lxg$oQ1sqlkoU7Qn72xNoIq+NHyW3yOOER8EZ6mIJiv5GYc"


def quick_phc(password, rounds=1000):
    salt = os.urandom(16)
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds, 32)
    b64 = lambda b: base64.b64encode(b).decode().rstrip("=")
    return f"$pbkdf2-sha256$i={rounds},l=32${b64(salt)}${b64(dk)}"


# ---- configuration ----

@pytest.mark.parametrize("env, needle", [
    ({}, "No users defined; SYNC_USER1 env var should be set."),
    ({"SYNC_USER1": "nocolon"}, "SYNC_USER1"),
    ({"SYNC_USER1": "../evil:pw"}, "SYNC_USER1"),
    ({"SYNC_USER1": ".hidden:pw"}, "SYNC_USER1"),
    ({"SYNC_USER1": "a/b:pw"}, "SYNC_USER1"),
    ({"SYNC_USER1": "a:pw", "SYNC_USER2": "a:other"}, "defined twice"),
    ({"SYNC_USER1": "a:pw", "SYNC_PORTT": "1"}, "SYNC_PORTT"),
    ({"SYNC_USER1": "a:pw", "SYNC_USER01": "b:pw"}, "SYNC_USER01"),
    ({"SYNC_USER1": "a:pw", "MAX_SYNC_PAYLOAD_MEGS": "lots"}, "MAX_SYNC_PAYLOAD_MEGS"),
    ({"SYNC_USER1": "a:pw", "SYNC_PORT": "70000"}, "SYNC_PORT"),
    ({"SYNC_USER1": "a:pw", "SYNC_HOST": "localhost"}, "SYNC_HOST"),
    ({"SYNC_USER1": "a:pw", "SYNC_IP_HEADER": "Bogus"}, "SYNC_IP_HEADER"),
    ({"SYNC_USER1": "a:notahash", "PASSWORDS_HASHED": "1"}, "SYNC_USER1"),
    ({"SYNC_USER1": "a:pw", "SYNC_METRICS": "maybe"}, "SYNC_METRICS"),
])
def test_bad_settings_stop_the_server_naming_them(tmp_path, env, needle):
    full = {"SYNC_BASE": str(tmp_path / "b"), "SYNC_HOST": "127.0.0.1", "SYNC_PORT": str(free_port())}
    full.update(env)
    rc, err = run_server_expect_exit(full)
    assert rc != 0
    assert needle in err, err


def test_default_base_is_home_syncserver(procs, tmp_path):
    port = free_port()
    env = server_env(tmp_path / "unused", env={"SYNC_BASE": None, "HOME": str(tmp_path)}, port=port)
    from syncclient import _Proc
    p = _Proc(bin_path("anki-sync-server"), env)
    procs.append(p)
    wait_port(port, proc=p.p)
    Client(f"http://127.0.0.1:{port}/", hkey=hashlib.sha1(b"user:pass").hexdigest()).meta()
    assert (tmp_path / ".syncserver" / "user" / "collection.anki2").is_file()


def test_only_consecutive_sync_users_count(procs, tmp_path):
    p, url = start_server(procs, tmp_path / "b", users=("a:pa",), env={"SYNC_USER3": "c:pc"})
    assert Client(url).request("hostKey", {"u": "c", "p": "pc"}).status == 403
    Client(url).login("a", "pa")
    p.stop()
    assert "SYNC_USER3 is ignored" in p.log()


def test_passwords_hashed_official_vector(procs, tmp_path):
    p, url = start_server(procs, tmp_path / "b", users=(f"user:{PASS_PHC}",),
                          env={"PASSWORDS_HASHED": ""})
    c = Client(url)
    assert c.login("user", "pass") == hashlib.sha1(f"user:{PASS_PHC}".encode()).hexdigest()
    assert Client(url).request("hostKey", {"u": "user", "p": "pass2"}).status == 403


def test_credentials_directory(procs, tmp_path):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "alice").write_text("correct horse\n")
    p, url = start_server(procs, tmp_path / "b", users=("alice",),
                          env={"CREDENTIALS_DIRECTORY": str(creds)})
    key = Client(url).login("alice", "correct horse")
    assert key == hashlib.sha1(b"alice:correct horse").hexdigest()  # as if SYNC_USER1=alice:...


def test_hash_password_mode_makes_working_hashes(procs, tmp_path):
    r = subprocess.run([bin_path("anki-sync-server"), "--hash-password"], input=b"s3cret\n",
                       capture_output=True, timeout=60)
    assert r.returncode == 0
    phc = r.stdout.decode().strip()
    assert phc.startswith("$pbkdf2-sha256$i=600000,l=32$")
    assert b"s3cret" not in r.stdout + r.stderr
    p, url = start_server(procs, tmp_path / "b", users=(f"bob:{phc}",), env={"PASSWORDS_HASHED": "1"})
    Client(url).login("bob", "s3cret")


def on_terminal(argv, typed, env=None):
    """Runs argv with a terminal as stdin and stderr, as a person typing at
    it sees it: each (prompt, line) pair waits for the prompt, then types
    the line.  Returns (exit status, stdout, everything the terminal
    showed)."""
    master, slave = os.openpty()
    p = subprocess.Popen(argv, stdin=slave, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    shown = b""

    def read_some(timeout):
        nonlocal shown
        if not select.select([master], [], [], timeout)[0]:
            return False
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the program closed the terminal
            return False
        shown += chunk
        return bool(chunk)

    try:
        for prompt, line in typed:
            while prompt not in shown:
                assert read_some(30), f"no {prompt!r} on the terminal; it shows {shown!r}"
            shown = shown.replace(prompt, b"<" + prompt.strip() + b">", 1)
            os.write(master, line)
        out, _ = p.communicate(timeout=60)
        while read_some(0.2):
            pass
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
    return p.returncode, out, shown


def test_new_password_on_a_terminal_is_asked_twice_without_echo(procs, tmp_path):
    srv = [bin_path("anki-sync-server"), "--hash-password"]
    rc, out, shown = on_terminal(srv, [(b"Password: ", b"s3cret\n"), (b"Again: ", b"s3cret\n")])
    assert rc == 0 and out.startswith(b"$pbkdf2-sha256$i=600000,l=32$"), (rc, out, shown)
    assert b"<Password:>" in shown and b"<Again:>" in shown
    assert b"s3cret" not in shown  # echo was off while it was typed
    p, url = start_server(procs, tmp_path / "b", users=(f"bob:{out.decode().strip()}",),
                          env={"PASSWORDS_HASHED": "1"})
    Client(url).login("bob", "s3cret")

    rc, out, shown = on_terminal(srv, [(b"Password: ", b"one\n"), (b"Again: ", b"two\n")])
    assert rc == 1 and out == b"" and b"the passwords differ" in shown, (rc, out, shown)
    rc, out, shown = on_terminal(srv, [(b"Password: ", b"\n")])
    assert rc == 1 and out == b"" and b"no password given" in shown, (rc, out, shown)

    env = dict(os.environ, SYNC_BASE=str(tmp_path / "b2"), SYNC_USERS_FILE=str(tmp_path / "users"))
    adm = [bin_path("anki-sync-admin"), "user", "add", "carol"]
    rc, out, shown = on_terminal(adm, [(b"Password: ", b"pw1\n"), (b"Again: ", b"pw2\n")], env)
    assert rc == 1 and b"the passwords differ" in shown and not (tmp_path / "users").exists()
    rc, out, shown = on_terminal(adm, [(b"Password: ", b"pw1\n"), (b"Again: ", b"pw1\n")], env)
    assert rc == 0 and b"added carol" in out and b"pw1" not in shown, (rc, out, shown)
    assert (tmp_path / "users").read_text().startswith("carol:$pbkdf2-sha256$")


def test_healthcheck_mode(procs, tmp_path):
    port = free_port()
    env = {"SYNC_HOST": "127.0.0.1", "SYNC_PORT": str(port), "PATH": os.environ.get("PATH", "")}
    hc = lambda: subprocess.run([bin_path("anki-sync-server"), "--healthcheck"], env=env,
                                capture_output=True, timeout=30)
    r = hc()
    assert r.returncode == 1 and r.stdout == b"" and r.stderr == b""
    start_server(procs, tmp_path / "b", port=port)
    r = hc()
    assert r.returncode == 0 and r.stdout == b"" and r.stderr == b""


# ---- signals ----

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(procs, tmp_path, sig):
    p, url = start_server(procs, tmp_path / "b")
    Client(url, hkey=hashlib.sha1(b"user:pass").hexdigest()).meta()
    assert p.stop(sig=sig) == 0
    assert "stopped" in p.log()


def test_sigterm_lets_an_upload_in_flight_finish(procs, tmp_path):
    p, url = start_server(procs, tmp_path / "b")
    c = Client(url, hkey=hashlib.sha1(b"user:pass").hexdigest())
    local = str(tmp_path / "x.anki2")
    shutil.copy(fixture_path("v18-two-decks-revlog.anki2"), local)
    os.chmod(local, 0o644)
    prepare_for_upload(local)
    data = open(local, "rb").read()
    from syncclient import zstd_frame
    piece = len(zstd_frame(data)) // 10 + 1
    out = {}
    t = threading.Thread(target=lambda: out.update(r=c.upload_bytes(data, chunk_size=piece, slow=0.1)))
    t.start()
    time.sleep(0.3)
    p.p.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    # no new connections once stopping
    with pytest.raises(OSError):
        import socket
        socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1].strip("/"))), timeout=1)
    t.join()
    assert out.get("r") == "OK"
    assert p.p.wait(20) == 0
    assert content(str(tmp_path / "b" / "user" / "collection.anki2")) == content(local)


# ---- users file, live reload, anki-sync-admin ----

def admin(env, *args, stdin=b""):
    full = dict(os.environ)
    for k in list(full):
        if k.startswith("SYNC_"):
            del full[k]
    full.update(env)
    return subprocess.run([bin_path("anki-sync-admin"), *args], input=stdin, env=full,
                          capture_output=True, timeout=60)


def wait_for(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_users_file_live(procs, tmp_path):
    base = tmp_path / "b"
    ufile = tmp_path / "users"
    env = {"SYNC_BASE": str(base), "SYNC_USERS_FILE": str(ufile)}
    p, url = start_server(procs, base, users=(), env={"SYNC_USERS_FILE": str(ufile)})
    login = lambda u, pw: Client(url).request("hostKey", {"u": u, "p": pw}).status
    assert login("carol", "pw1") == 403
    r = admin(env, "user", "add", "carol", stdin=b"pw1\n")
    assert r.returncode == 0, r.stderr
    assert oct(ufile.stat().st_mode & 0o777) == "0o600"
    assert wait_for(lambda: login("carol", "pw1") == 200)        # inotify reload
    old = Client(url)
    old.login("carol", "pw1")
    old.meta()
    assert admin(env, "user", "add", "carol", stdin=b"x\n").returncode != 0  # exists
    assert admin(env, "user", "add", "../x", stdin=b"x\n").returncode != 0
    assert admin(env, "user", "passwd", "carol", stdin=b"pw2\n").returncode == 0
    assert wait_for(lambda: login("carol", "pw2") == 200)
    assert login("carol", "pw1") == 403
    assert old.request("meta", {"v": 11, "cv": "x"}).status == 403  # host key changed
    new = Client(url)
    new.login("carol", "pw2")
    new.meta()
    r = admin(env, "user", "list")
    assert r.stdout.decode().split() == ["carol", "users-file"]
    assert admin(env, "user", "del", "carol").returncode == 0
    assert wait_for(lambda: new.request("meta", {"v": 11, "cv": "x"}).status == 403)
    assert admin(env, "user", "del", "carol").returncode != 0
    # SIGHUP reloads too (a hand edit, no inotify needed to see it)
    ufile.write_text(f"dave:{quick_phc('pw')}\n")
    p.p.send_signal(signal.SIGHUP)
    assert wait_for(lambda: login("dave", "pw") == 200)
    # a broken edit keeps the old table
    ufile.write_text("garbage line\n")
    p.p.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert login("dave", "pw") == 200
    p.stop()
    assert "reload refused" in p.log()


def test_admin_list_reset_and_check(procs, tmp_path):
    base = tmp_path / "b"
    env = {"SYNC_BASE": str(base)}
    p, url = start_server(procs, base)
    c = Client(url)
    c.login("user", "pass")
    local = str(tmp_path / "x.anki2")
    shutil.copy(fixture_path("v18-two-decks-revlog.anki2"), local)
    os.chmod(local, 0o644)
    assert c.full_upload(local) == "OK"
    r = admin(env, "list")
    assert r.returncode == 0
    line = [l for l in r.stdout.decode().splitlines() if l.startswith("user ")][0]
    size = (base / "user" / "collection.anki2").stat().st_size
    assert str(size) in line.split()
    r = admin(env, "check", "user")
    assert r.returncode == 0 and "ok: schema 18, 16 notes, 16 cards, 8 revlog" in r.stdout.decode()
    # reset: the copy is kept, the next sync is a full upload
    r = admin(env, "reset-collection", "user")
    assert r.returncode == 0, r.stderr
    kept = [n for n in os.listdir(base / "user") if n.startswith("collection.anki2.reset-")]
    assert len(kept) == 1
    assert content(str(base / "user" / kept[0])) == content(local)
    m = c.meta()
    assert m["empty"] is True and m["usn"] == 0
    assert sync_decision(local_meta(local), m) == "fullUpload"
    assert c.full_upload(local) == "OK"
    # check finds a damaged collection
    p.stop()
    col = base / "user" / "collection.anki2"
    raw = bytearray(col.read_bytes())
    for off in range(4096 * 3, 4096 * 5, 3):
        raw[off] ^= 0xFF
    col.write_bytes(bytes(raw))
    r = admin(env, "check", "user")
    assert r.returncode == 1 and "BAD" in r.stdout.decode()
    assert admin(env, "check", "../etc").returncode == 1
    assert admin(env, "check", "nobody").returncode == 1
