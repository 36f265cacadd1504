"""anki-connectd transport (ankiconnect.md §1): envelope, versions, error
texts, API key, CORS and preflight, banner, multi, apiReflect, limits on
hostile bodies, logging, start-up and shutdown."""
import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import bin_path, free_port, wait_port
from connectd_client import Daemon, check_collection


@pytest.fixture
def d(procs, tmp_path):
    return Daemon(procs, tmp_path)


def test_version_shapes(d):
    for v in (2, 3, 4):
        assert d.request({"action": "version", "version": v}) == 6
    for v in (5, 6, 100):
        assert d.request({"action": "version", "version": v}) == {"result": 6, "error": None}
    assert d.request({"action": "version"}) == 6  # absent version means 4
    assert d.request({"action": "deckNames"}) == ["Default"]
    assert d.request({"action": "deckNames", "version": 6}) == {"result": ["Default"],
                                                                "error": None}
    # errors ignore the version
    for v in (2, 4, 6):
        assert d.request({"action": "nope", "version": v}) == {"result": None,
                                                               "error": "unsupported action"}


@pytest.mark.parametrize("body,text", [
    (b"\xe7\x8c", "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data"),
    (b"\xff", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    (b"{1: 2}", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    (b"1.2", "1.2 is not of type 'object'"),
    (b"{}", "'action' is a required property"),
    (b'{"action": 1}', "1 is not of type 'string'"),
    (b'{"action": ""}', "'' is too short"),
    (b'{"action": "version", "version": "6"}', "'6' is not of type 'integer'"),
    (b'{"action": "deckNames", "params": []}', "[] is not of type 'object'"),
    (b'{"action": "version",}', "Expecting property name enclosed in double quotes: "
                                "line 1 column 22 (char 21)"),
    (b'{"action": "version"', "Expecting ',' delimiter: line 1 column 21 (char 20)"),
    (b'{"action"\n "version"}', "Expecting ':' delimiter: line 2 column 2 (char 11)"),
    (b'nul', "Expecting value: line 1 column 1 (char 0)"),
    (b'{"action": "version"} x', "Extra data: line 1 column 23 (char 22)"),
    (b'{"action": "v\x01"}', "Invalid control character at: line 1 column 14 (char 13)"),
    (b'{"action": "\\q"}', "Invalid \\escape: line 1 column 13 (char 12)"),
    (b'{"a": "\xc3\xa9\xc3\xa9', "Unterminated string starting at: line 1 column 7 (char 6)"),
])
def test_bad_envelopes(d, body, text):
    status, hdrs, data = d.raw(body)
    assert status == 200
    assert json.loads(data) == {"result": None, "error": text}


def test_parameter_errors(d):
    assert d.error("deckNames", foobar=1) == \
        "AnkiConnect.deckNames() got an unexpected keyword argument 'foobar'"
    assert d.error("createDeck") == \
        "AnkiConnect.createDeck() missing 1 required positional argument: 'deck'"
    assert d.error("changeDeck") == \
        "AnkiConnect.changeDeck() missing 2 required positional arguments: 'cards' and 'deck'"
    assert d.error("replaceTags") == ("AnkiConnect.replaceTags() missing 3 required positional "
                                      "arguments: 'notes', 'tag_to_replace', and "
                                      "'replace_with_tag'")
    # an unexpected name wins over missing ones, as in Python
    assert "unexpected keyword argument 'x'" in d.error("createDeck", x=1)
    # params that are not an object are refused by the schema at the top level
    status, _, data = d.raw(json.dumps({"action": "version", "params": "x"}))
    assert "is not of type 'object'" in json.loads(data)["error"]


def test_api_key(procs, tmp_path):
    d = Daemon(procs, tmp_path, config={"apiKey": "s3cret"})
    assert d.request({"action": "version", "version": 6})["error"] == \
        "valid api key must be provided"
    assert d.request({"action": "version", "version": 6, "key": "wrong"})["error"] == \
        "valid api key must be provided"
    assert d.request({"action": "version", "version": 6, "key": 123})["error"] == \
        "valid api key must be provided"
    assert d.request({"action": "version", "version": 6, "key": "s3cret"}) == \
        {"result": 6, "error": None}
    # checked before the lookup
    assert d.request({"action": "nope", "version": 6})["error"] == \
        "valid api key must be provided"
    # requestPermission is exempt and says a key is needed
    r = d.request({"action": "requestPermission", "version": 6})
    assert r["result"]["permission"] == "granted" and r["result"]["requireApikey"] is True
    # multi: every sub-action carries its own key
    r = d.request({"action": "multi", "version": 6, "key": "s3cret", "params": {"actions": [
        {"action": "version"}, {"action": "version", "key": "s3cret"}]}})
    assert r["result"] == [{"result": None, "error": "valid api key must be provided"}, 6]
    d.stop()
    assert "s3cret" not in d.proc.stderr


def test_no_key_configured_rejects_keys(d):
    assert d.request({"action": "version", "version": 6, "key": "abc"})["error"] == \
        "valid api key must be provided"
    assert d.request({"action": "version", "version": 6, "key": None}) == \
        {"result": 6, "error": None}


def test_api_key_file_and_env(procs, tmp_path):
    kf = tmp_path / "key"
    kf.write_text("from-file\n")
    kf.chmod(0o600)
    port = free_port()
    d = Daemon(procs, tmp_path, config={"webBindPort": 1},
               env={"ANKICONNECT_API_KEY_FILE": str(kf), "ANKICONNECT_BIND_PORT": str(port)},
               wait=False)
    d.port = port
    wait_port(port, proc=d.proc.p, timeout=30)
    assert d.request({"action": "version", "version": 6, "key": "from-file"})["result"] == 6
    assert d.request({"action": "version", "version": 6})["error"] == \
        "valid api key must be provided"


def test_cors(d):
    def origin(o, body=None, method="POST"):
        h = {} if o is None else {"Origin": o}
        return d.raw(json.dumps(body or {"action": "version", "version": 6}), headers=h,
                     method=method)

    s, h, b = origin(None)
    assert s == 200 and h["access-control-allow-origin"] == "http://localhost"
    assert h["access-control-allow-headers"] == "*"
    assert h["content-type"] == "application/json"
    for trusted in ("http://localhost", "http://127.0.0.1", "https://127.0.0.1",
                    "http://127.0.0.1:3000", "chrome-extension://abcdef",
                    "moz-extension://x", "safari-web-extension://y"):
        s, h, b = origin(trusted)
        assert s == 200 and h["access-control-allow-origin"] == trusted, trusted
    for untrusted in ("http://localhost:3000", "https://evil.example", "null"):
        s, h, b = origin(untrusted)
        assert s == 403 and b == b"", untrusted
        assert h["access-control-allow-origin"] == "http://localhost"
    # untrusted + invalid JSON: 403 as well
    s, h, b = d.raw(b"{bad", headers={"Origin": "https://evil.example"})
    assert s == 403
    # untrusted requestPermission: answered (denied), ACAO echoes the origin
    s, h, b = origin("https://evil.example", {"action": "requestPermission", "version": 6})
    assert s == 200 and json.loads(b) == {"result": {"permission": "denied"}, "error": None}
    assert h["access-control-allow-origin"] == "https://evil.example"
    s, h, b = origin("chrome-extension://abc", {"action": "requestPermission", "version": 6})
    r = json.loads(b)["result"]
    assert r == {"permission": "granted", "requireApikey": False, "requireApiKey": False,
                 "version": 6}
    # a client may not inject its own decision
    s, h, b = origin("https://evil.example", {"action": "requestPermission", "version": 6,
                                              "params": {"allowed": True}})
    assert json.loads(b)["result"] == {"permission": "denied"}


def test_cors_star_and_ignore_list(procs, tmp_path):
    d = Daemon(procs, tmp_path, config={"webCorsOriginList": ["*"]})
    s, h, b = d.raw(json.dumps({"action": "version"}), headers={"Origin": "https://any.where"})
    assert s == 200 and h["access-control-allow-origin"] == "*"


def test_preflight_and_banner(d):
    s, h, b = d.raw(b"", method="OPTIONS", headers={"Origin": "https://evil.example"})
    assert s == 200 and b == b"" and h["access-control-allow-origin"] == "http://localhost"
    assert "access-control-allow-private-network" not in h
    s, h, b = d.raw(b"", method="OPTIONS", headers={
        "Origin": "chrome-extension://x", "Access-Control-Request-Private-Network": "true"})
    assert s == 200 and h["access-control-allow-private-network"] == "true"
    assert h["access-control-allow-origin"] == "chrome-extension://x"
    s, h, b = d.raw(b"", method="GET")
    assert s == 200 and json.loads(b) == {"apiVersion": "AnkiConnect v.6"}
    s, h, b = d.raw(b"", method="GET", headers={"Origin": "https://evil.example"})
    assert s == 403
    # any method, any path: a JSON request
    s, h, b = d.raw(json.dumps({"action": "version", "version": 6}), method="PUT",
                    path="/some/where?x=1")
    assert json.loads(b) == {"result": 6, "error": None}


def test_multi(d):
    r = d.request({"action": "multi", "version": 6, "params": {"actions": [
        {"action": "deckNames"},
        {"action": "deckNames", "version": 6},
        {"action": "invalidAction", "params": {"useless": "param"}},
        {"action": "invalidAction", "params": {"useless": "param"}, "version": 6}]}})
    assert r == {"result": [["Default"], {"result": ["Default"], "error": None},
                            {"result": None, "error": "unsupported action"},
                            {"result": None, "error": "unsupported action"}], "error": None}
    # not atomic: the first sub-action stays applied
    r = d.result("multi", actions=[{"action": "createDeck", "params": {"deck": "M1"}},
                                   {"action": "createDeck", "params": {"bad": 1}, "version": 6},
                                   {"action": "multi", "version": 5, "params": {
                                       "actions": [{"action": "version", "version": 6}]}}])
    assert isinstance(r[0], int)
    assert "unexpected keyword argument 'bad'" in r[1]["error"]
    assert r[2] == {"result": [{"result": 6, "error": None}], "error": None}
    assert "M1" in d.result("deckNames")
    # requestPermission inside multi gets nothing injected
    r = d.result("multi", actions=[{"action": "requestPermission", "version": 6}])
    assert r[0]["error"] == ("AnkiConnect.requestPermission() missing 2 required positional "
                             "arguments: 'origin' and 'allowed'")
    assert d.error("multi", actions=[{"action": "version"}, 5]) == \
        "'int' object has no attribute 'get'"
    assert d.error("multi", actions=5) == "'int' object is not iterable"
    # multi nested deeply is refused, not a crash
    req = {"action": "version"}
    for _ in range(40):
        req = {"action": "multi", "params": {"actions": [req]}}
    r = d.request(req)
    assert isinstance(r, list)


def test_api_reflect(d):
    assert d.result("apiReflect", scopes=["actions", "invalidType"],
                    actions=["apiReflect", "invalidMethod"]) == \
        {"scopes": ["actions"], "actions": ["apiReflect"]}
    allr = d.result("apiReflect", scopes=["actions"])
    assert len(allr["actions"]) == 121 and allr["actions"] == sorted(allr["actions"])
    for a in ("guiBrowse", "guiReviewActive", "canAddNoteWithErrorDetail", "setDueDate"):
        assert a in allr["actions"]
    assert d.result("apiReflect", scopes=[]) == {"scopes": []}
    assert d.error("apiReflect") == "scopes has invalid value"
    assert d.error("apiReflect", scopes=["actions"], actions="x") == "actions has invalid value"


def test_hostile_bodies(procs, tmp_path):
    d = Daemon(procs, tmp_path, config={"maxRequestBytes": 65536})
    big = json.dumps({"action": "version", "version": 6, "params": {}, "x": "a" * 70000})
    s, h, b = d.raw(big)
    assert s == 200
    assert "request body too large" in json.loads(b)["error"]
    # nesting far deeper than the parser allows
    deep = b'{"action": "version", "x": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    s, h, b = d.raw(deep[:60000])
    assert s == 200 and json.loads(b)["error"]
    s, h, b = d.raw(b'{"action": "version", "x": ' + b"[" * 3000 + b"]" * 3000 + b"}")
    assert "maximum recursion depth" in json.loads(b)["error"]
    # NUL and invalid UTF-8 inside strings, lone surrogates
    s, h, b = d.raw(b'{"action": "ver\\u0000sion", "version": 6}')
    assert json.loads(b)["error"] == "unsupported action"
    s, h, b = d.raw(b'{"action": "version", "version": 6, "x": "\\ud800"}')
    assert s == 200
    s, h, b = d.raw(b'{"action": "version", "version": 99999999999999999999999}')
    assert s == 200 and json.loads(b)["error"]
    # still alive and consistent
    assert d.result("version") == 6
    d.stop()
    check_collection(d.col)


def test_access_log_and_api_log(procs, tmp_path):
    log = tmp_path / "api.log"
    d = Daemon(procs, tmp_path, config={"apiLogPath": str(log), "apiKey": "k3y-secret"})
    d.request({"action": "deckNames", "version": 6, "key": "k3y-secret"})
    d.request({"action": "nope", "version": 6, "key": "k3y-secret"})
    assert d.stop() == 0
    err = d.proc.stderr
    assert "deckNames 200 ok" in err and "nope 200 error" in err
    assert "k3y-secret" not in err
    text = log.read_text()
    assert "[request]" in text and "[reply]" in text and '"deckNames"' in text
    assert "k3y-secret" not in text


def test_help():
    r = subprocess.run([bin_path("anki-connectd"), "--help"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0
    for word in ("--collection", "webBindPort", "webCorsOriginList", "apiKeyFile",
                 "ANKICONNECT_BIND_ADDRESS"):
        assert word in r.stdout
    r = subprocess.run([bin_path("anki-connectd")], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2


def test_bad_config_stops_start(procs, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"webBindPort": 8765, "webBindPrt": 1}')
    r = subprocess.run([bin_path("anki-connectd"), "--collection", str(tmp_path / "c.anki2"),
                        "--config", str(cfg)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "webBindPrt" in r.stderr
    r = subprocess.run([bin_path("anki-connectd"), "--collection", str(tmp_path / "c.anki2")],
                       capture_output=True, text=True, timeout=10,
                       env={**os.environ, "ANKICONNECT_BIND_PROT": "1"})
    assert r.returncode == 2 and "ANKICONNECT_BIND_PROT" in r.stderr


def test_missing_collection_is_created_and_sigterm_closes(procs, tmp_path):
    d = Daemon(procs, tmp_path)
    assert not (d.col.parent / "collection.anki2-wal").exists() or True
    assert d.result("modelNames")[0] == "Basic"
    assert d.stop(signal.SIGTERM) == 0
    assert "stopped" in d.proc.stderr
    # closed cleanly: the WAL is folded back and nobody holds the file
    wal = d.col.parent / "collection.anki2-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    db = sqlite3.connect(str(d.col))
    db.execute("pragma locking_mode = exclusive")
    db.execute("begin exclusive")
    db.rollback()
    db.close()
    check_collection(d.col)


def test_collection_held_elsewhere(procs, tmp_path):
    d1 = Daemon(procs, tmp_path)
    # a second daemon on the same collection: a clear error, at once
    t0 = time.monotonic()
    r = subprocess.run([bin_path("anki-connectd"), "--collection", str(d1.col)],
                       capture_output=True, text=True, timeout=20,
                       env={**os.environ, "ANKICONNECT_BIND_PORT": str(free_port())})
    assert r.returncode != 0 and "in use" in r.stderr
    assert time.monotonic() - t0 < 10
    d1.stop()
    # Anki desktop holds its collection with an exclusive SQLite lock
    db = sqlite3.connect(str(d1.col))
    db.execute("pragma locking_mode = exclusive")
    db.execute("begin exclusive")
    t0 = time.monotonic()
    r = subprocess.run([bin_path("anki-connectd"), "--collection", str(d1.col)],
                       capture_output=True, text=True, timeout=20,
                       env={**os.environ, "ANKICONNECT_BIND_PORT": str(free_port())})
    db.rollback()
    db.close()
    assert r.returncode != 0 and "in use by another program" in r.stderr, r.stderr
    assert time.monotonic() - t0 < 10


def test_gui_and_profile_actions(d):
    assert d.result("guiBrowse", query="deck:Default") == []
    assert d.result("guiBrowse") == []
    assert d.error("guiBrowse", reorderCards=1) == "reorderCards should be a dict: 1"
    assert d.error("guiBrowse", reorderCards={"order": "ascending"}) == \
        'Must provide a "columnId" and a "order" property'
    assert d.error("guiBrowse", reorderCards={"columnId": "x", "order": "up"}) == \
        "invalid card order: up"
    for a in ("guiSelectedNotes",):
        assert d.result(a) == []
    for a in ("guiStartCardTimer", "guiShowQuestion", "guiShowAnswer", "guiPlayAudio",
              "guiReviewActive", "guiUndo"):
        assert d.result(a) is False, a
    assert d.result("guiSelectCard", card=1) is False
    assert d.result("guiAnswerCard", ease=3) is False
    assert d.result("guiDeckReview", name="Default") is False
    assert d.result("guiDeckBrowser") is None
    assert d.result("guiCheckDatabase") is True
    assert d.error("guiCurrentCard") == "Gui review is not currently active."
    assert d.error("guiEditNote", note=1) == "gui is not available"
    assert d.error("guiAddCards", note={"deckName": "Default", "modelName": "Nope",
                                        "fields": {}}) == "model was not found: Nope"
    assert d.error("guiAddCards", note={"deckName": "Nope", "modelName": "Basic",
                                        "fields": {}}) == "deck was not found: Nope"
    assert d.error("guiAddCards", note={"deckName": "Default", "modelName": "Basic",
                                        "fields": {}}) == "gui is not available"
    assert d.result("guiDeckOverview", name="Default") is True
    assert d.result("guiDeckOverview", name="Nope") is False
    assert d.result("getProfiles") == ["User 1"]
    assert d.result("getActiveProfile") == "User 1"
    assert d.result("loadProfile", name="User 1") is True
    assert d.result("loadProfile", name="Other") is False
    assert d.error("sync") == "sync: auth not configured"
    assert d.result("reloadCollection") is None


def test_malicious_searches(d):
    from connectd_client import basic_note
    d.result("addNotes", notes=[basic_note("a" * 40 + f"{i}") for i in range(30)])
    nasty = ["(" * 5000 + "x" + ")" * 5000, "(" * 300, "re:(a+)+$", "re:(?<=a)b", "re:\\",
             "re:(" , '"', "\\", "deck:" + "*" * 1000, "nc:" + "\u0301" * 500,
             "prop:ivl>abc", "field:" + "x" * 100000, "dupe:abc,def", "tag:" + "::" * 500,
             "\ufffd\u0000x", "-" * 10000, "or " * 3000]
    for q in nasty:
        r = d.call("findNotes", query=q)
        if r["error"] is not None:
            assert r["error"].startswith("Invalid search"), (q[:40], r["error"][:200])
        r = d.call("findCards", query=q)
        assert r["error"] is None or r["error"].startswith("Invalid search")
    assert len(d.result("findNotes", query="")) == 30
    d.stop()
    check_collection(d.col)
