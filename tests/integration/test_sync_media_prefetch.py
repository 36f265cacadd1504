"""downloadFiles replies built ahead (docs/media-sync.md, Performance): after
a reply holding every live row from one usn to another, the server builds
the reply for the next live rows while the client unpacks, and answers the
next request with it only when that request asks for exactly those files
and nothing changed in between.  Seen from outside: the replies' content,
and the ankisync_media_prefetch_* counters of /metrics."""
import io
import json
import os
import re
import time
import zipfile

from mediaclient import logged_in_device, sha1_hex
from syncclient import Client


def counters(c):
    r = c.request("", path="/metrics", http_method="GET")
    assert r.status == 200
    text = r.raw.decode()
    return (int(re.search(r"^ankisync_media_prefetch_built_total (\d+)$", text, re.M)[1]),
            int(re.search(r"^ankisync_media_prefetch_used_total (\d+)$", text, re.M)[1]))


def wait_built(c, n):
    """The next reply is built after the previous one reached the client:
    poll until the counter says so."""
    end = time.monotonic() + 10
    while counters(c)[0] < n:
        assert time.monotonic() < end, "no reply was built ahead"
        time.sleep(0.02)


def call(c, method, payload):
    r = c.request(method, json.dumps(payload).encode(), path=c.prefix + "msync/" + method)
    return r.status, r.body


def files_of(zip_bytes):
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        fmap = json.loads(z.read("_meta"))
        return {fmap[i.filename]: z.read(i) for i in z.infolist() if i.filename != "_meta"}


def download_exact(c, names, files):
    """downloadFiles for names: exactly those files come back, in that
    order, with their uploaded content."""
    st, body = call(c, "downloadFiles", {"files": names})
    assert st == 200
    got = files_of(body)
    assert list(got) == names
    assert all(got[n] == files[n] for n in got)


def upload(url, tmp_path, name, files):
    c, m = logged_in_device(url, tmp_path, name)
    for fname, data in files.items():
        m.add_file(fname, data)
    m.sync_until_clean()
    return c, m


def test_new_device_gets_everything_mostly_built_ahead(media_server, tmp_path):
    _, url, _ = media_server
    files = {f"f{i:03}.{('jpg', 'mp3', 'png')[i % 3]}": os.urandom(50 + 997 * (i % 40))
             for i in range(230)}
    upload(url, tmp_path, "a", files)
    # one connection for all requests, as the official client keeps it: a
    # reply is built ahead only while no request waits for the user, which
    # with a new connection per request can race
    c, b = logged_in_device(url, tmp_path, "b", keep_alive=True)
    stats = b.sync_until_clean()
    assert stats["downloaded_files"] == len(files)
    for fname, data in files.items():
        with open(os.path.join(b.folder, fname), "rb") as f:
            assert f.read() == data
        assert b.entry(fname)[0] == sha1_hex(data)
    requests = sum(1 for meth, _ in b.log if meth == "downloadFiles")
    built, used = counters(Client(url))
    # every request but the first is answered from a reply built ahead;
    # (none is built past the last file)
    assert used == requests - 1, (built, used, requests)
    assert built == used


def test_change_in_between_is_not_served_stale(media_server, tmp_path):
    _, url, _ = media_server
    files = {f"g{i:02}.jpg": os.urandom(1000 + i) for i in range(60)}
    ca, a = upload(url, tmp_path, "a", files)
    c = Client(url)
    c.login("user", "pass")
    st, body = call(c, "mediaChanges", {"lastUsn": 0})
    assert st == 200
    names = [row[0] for row in json.loads(body)["data"]]
    assert len(names) == 60
    st, body = call(c, "downloadFiles", {"files": names[:25]})
    assert st == 200 and len(files_of(body)) == 25
    wait_built(c, 1)
    # device A replaces the first file of the next request, and deletes
    # another one of it
    new = os.urandom(3000)
    a.add_file(names[25], new)
    a.remove_file(names[30])
    a.sync_until_clean()
    st, body = call(c, "downloadFiles", {"files": names[25:50]})
    assert st == 409  # names[30] is gone: as without anything built ahead
    st, body = call(c, "downloadFiles", {"files": names[25:30]})
    assert st == 200
    got = files_of(body)
    assert got[names[25]] == new
    assert list(got) == names[25:30]
    assert counters(c)[1] == 0


def test_other_request_is_not_served_from_the_reply_built_ahead(media_server, tmp_path):
    _, url, _ = media_server
    files = {f"h{i:02}.png": os.urandom(2000 + i) for i in range(80)}
    upload(url, tmp_path, "a", files)
    c = Client(url)
    c.login("user", "pass")
    st, body = call(c, "mediaChanges", {"lastUsn": 0})
    names = [row[0] for row in json.loads(body)["data"]]
    st, body = call(c, "downloadFiles", {"files": names[:25]})
    assert st == 200
    wait_built(c, 1)
    # a shorter request (the end of a client's mediaChanges batch) gets
    # exactly what it asked for
    download_exact(c, names[25:31], files)
    assert counters(c)[1] == 0
    # it was consecutive too: the reply after it is built, and the next
    # request in order uses it
    wait_built(c, 2)
    download_exact(c, names[31:56], files)
    assert counters(c)[1] == 1
    # a request out of order gets what it asked for, never the reply built
    # ahead
    wait_built(c, 3)
    st, body = call(c, "downloadFiles", {"files": names[5:10]})
    assert list(files_of(body)) == names[5:10]
    assert counters(c)[1] == 1


def test_longer_request_than_the_tail_built_ahead(media_server, tmp_path):
    _, url, _ = media_server
    files = {f"t{i:02}.ogg": os.urandom(500 + i) for i in range(30)}
    upload(url, tmp_path, "a", files)
    c = Client(url)
    c.login("user", "pass")
    st, body = call(c, "mediaChanges", {"lastUsn": 0})
    names = [row[0] for row in json.loads(body)["data"]]
    st, body = call(c, "downloadFiles", {"files": names[3:28]})
    assert st == 200
    wait_built(c, 1)  # the last two files
    # the last two, then one from before: all three come back
    want = names[28:30] + names[:1]
    download_exact(c, want, files)
    assert counters(c)[1] == 0


def test_legacy_clients_get_plain_zips_and_versions_do_not_mix(media_server, tmp_path):
    _, url, _ = media_server
    files = {f"l{i:02}.gif": os.urandom(700 + i) for i in range(80)}
    upload(url, tmp_path, "a", files)
    c = Client(url)
    c.login("user", "pass")
    names = [row[0] for row in json.loads(call(c, "mediaChanges", {"lastUsn": 0})[1])["data"]]

    def legacy(batch):
        r = c.legacy_request("downloadFiles", {"files": batch}, prefix="msync/", compress=False,
                             fields=[("sk", c.hkey)])
        assert r.status == 200, r
        assert "anki-original-size" not in r.headers
        return files_of(r.raw)  # a plain zip, no zstd frame

    # multipart (sync version 10): built ahead for version 10 and used
    assert list(legacy(names[:25])) == names[:25]
    wait_built(c, 1)
    got = legacy(names[25:50])
    assert list(got) == names[25:50] and all(got[n] == files[n] for n in got)
    assert counters(c)[1] == 1
    # a reply built ahead for version 10 does not answer a version 11 request
    wait_built(c, 2)
    st, body = call(c, "downloadFiles", {"files": names[50:75]})
    assert st == 200
    got = files_of(body)
    assert list(got) == names[50:75] and all(got[n] == files[n] for n in got)
    assert counters(c)[1] == 1
