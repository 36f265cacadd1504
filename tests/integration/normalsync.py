"""The official client's normal-sync algorithm (sync-protocol.md §3, §7.2)
on a local collection kept at schema 11, so this test client can read and
write notetypes, decks, presets, tags and config as plain JSON in the col
row (the protocol carries exactly these JSON forms).  Notes, cards, review
log and graves are the same tables in both schemas.

Use: make a collection with `anki-col create` + `anki-col downgrade` (or a
full download followed by `anki-col downgrade`), edit it with the helpers
below (they mark changes pending with usn -1 and bump col.mod), then
normal_sync(client, path)."""
import hashlib
import json
import time

from syncclient import local_meta, open_col, sync_decision

CHUNK = 250


def now_ms():
    return int(time.time() * 1000)


def _cols(db):
    row = db.execute("select conf, models, decks, dconf, tags from col").fetchone()
    return [json.loads(x) if x else {} for x in row]


def _set_cols(db, conf, models, decks, dconf, tags):
    db.execute("update col set conf = ?, models = ?, decks = ?, dconf = ?, tags = ?",
               tuple(json.dumps(x, separators=(",", ":")) for x in (conf, models, decks, dconf,
                                                                    tags)))


def csum(text):
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


# ---- local edits (all pending: usn -1, col.mod bumped) ----

def basic_model_id(path):
    db = open_col(path)
    try:
        models = _cols(db)[1]
    finally:
        db.close()
    return int(next(k for k, m in models.items() if m["name"] == "Basic"))


def add_notes(path, texts, deck=1, tags=" test "):
    mid = basic_model_id(path)
    db = open_col(path)
    ids = []
    try:
        db.execute("begin")
        base = max(now_ms(), (db.execute("select max(id) from notes").fetchone()[0] or 0) + 1,
                   (db.execute("select max(id) from cards").fetchone()[0] or 0) + 1)
        pos = (db.execute("select max(due) from cards where type = 0").fetchone()[0] or 0) + 1
        secs = int(time.time())
        for i, (front, back) in enumerate(texts):
            nid = base + i
            db.execute("insert into notes values (?,?,?,?,-1,?,?,?,?,0,'')",
                       (nid, f"t{nid}", mid, secs, tags, f"{front}\x1f{back}", front, csum(front)))
            db.execute("insert into cards values (?,?,?,0,?,-1,0,0,?,0,0,0,0,0,0,0,0,'{}')",
                       (nid, nid, deck, secs, pos + i))
            db.execute("insert into revlog values (?,?,-1,3,1,0,2500,1000,0)", (nid, nid))
            ids.append(nid)
        db.execute("update col set mod = ?", (now_ms(),))
        db.execute("commit")
    finally:
        db.close()
    return ids


def edit_note(path, nid, front, back):
    db = open_col(path)
    try:
        db.execute("update notes set flds = ?, sfld = ?, csum = ?, mod = ?, usn = -1 where id = ?",
                   (f"{front}\x1f{back}", front, csum(front), int(time.time()) + 1, nid))
        db.execute("update col set mod = ?", (now_ms(),))
        db.commit()
    finally:
        db.close()


def delete_note(path, nid):
    db = open_col(path)
    try:
        for (cid,) in db.execute("select id from cards where nid = ?", (nid,)).fetchall():
            db.execute("delete from cards where id = ?", (cid,))
            db.execute("insert into graves values (-1, ?, 0)", (cid,))
        db.execute("delete from notes where id = ?", (nid,))
        db.execute("insert into graves values (-1, ?, 1)", (nid,))
        db.execute("update col set mod = ?", (now_ms(),))
        db.commit()
    finally:
        db.close()


def add_deck(path, name):
    db = open_col(path)
    try:
        conf, models, decks, dconf, tags = _cols(db)
        did = now_ms()
        d = dict(decks["1"])
        d.update({"id": did, "name": name, "mod": int(time.time()), "usn": -1})
        decks[str(did)] = d
        _set_cols(db, conf, models, decks, dconf, tags)
        db.execute("update col set mod = ?", (now_ms(),))
        db.commit()
    finally:
        db.close()
    return did


def touch_model(path, name, css):
    db = open_col(path)
    try:
        conf, models, decks, dconf, tags = _cols(db)
        for m in models.values():
            if m["name"] == name:
                m.update({"css": css, "mod": int(time.time()) + 1, "usn": -1})
        _set_cols(db, conf, models, decks, dconf, tags)
        db.execute("update col set mod = ?", (now_ms(),))
        db.commit()
    finally:
        db.close()


def add_tag(path, tag):
    db = open_col(path)
    try:
        conf, models, decks, dconf, tags = _cols(db)
        tags[tag] = -1
        _set_cols(db, conf, models, decks, dconf, tags)
        db.execute("update col set mod = ?", (now_ms(),))
        db.commit()
    finally:
        db.close()


# ---- the algorithm ----

def _pending_graves(db, rusn):
    g = {"cards": [], "notes": [], "decks": []}
    kinds = {0: "cards", 1: "notes", 2: "decks"}
    for oid, typ in db.execute("select oid, type from graves where usn = -1").fetchall():
        g[kinds[typ]].append(oid)
    db.execute("update graves set usn = ? where usn = -1", (rusn,))
    return g


def _graves_chunks(g):
    """≤ 250 ids per request: cards, then notes, then decks, from the end."""
    lists = {k: list(v) for k, v in g.items()}
    while any(lists.values()):
        out, limit = {"cards": [], "notes": [], "decks": []}, CHUNK
        for k in ("cards", "notes", "decks"):
            while lists[k] and limit:
                out[k].append(lists[k].pop())
                limit -= 1
        yield out


def _local_changes(db, rusn, lnewer):
    conf, models, decks, dconf, tags = _cols(db)
    out = {"models": [], "decks": [[], []], "tags": []}
    for m in models.values():
        if m["usn"] == -1:
            m["usn"] = rusn
            out["models"].append(m)
    for d in decks.values():
        if d["usn"] == -1:
            d["usn"] = rusn
            out["decks"][0].append(d)
    for c in dconf.values():
        if c["usn"] == -1:
            c["usn"] = rusn
            out["decks"][1].append(c)
    for t, u in list(tags.items()):
        if u == -1:
            tags[t] = rusn
            out["tags"].append(t)
    if lnewer:
        out["conf"] = conf
        out["crt"] = db.execute("select crt from col").fetchone()[0]
    _set_cols(db, conf, models, decks, dconf, tags)
    return out


def _apply_changes(db, ch, rusn):
    conf, models, decks, dconf, tags = _cols(db)
    for m in ch["models"]:
        old = models.get(str(m["id"]))
        if old is None or old["mod"] <= m["mod"]:
            if old and (len(old["flds"]) != len(m["flds"]) or len(old["tmpls"]) != len(m["tmpls"])):
                raise RuntimeError("notetype schema changed: resync required")
            models[str(m["id"])] = m
    for d in ch["decks"][0]:
        old = decks.get(str(d["id"]))
        if old is None or old["mod"] <= d["mod"]:
            decks[str(d["id"])] = d
    for c in ch["decks"][1]:
        old = dconf.get(str(c["id"]))
        if old is None or old["mod"] <= c["mod"]:
            dconf[str(c["id"])] = c
    lower = {t.casefold() for t in tags}
    for t in ch["tags"]:
        if t.casefold() not in lower:
            tags[t] = rusn
    if "conf" in ch:
        conf = ch["conf"]
    if "crt" in ch:
        db.execute("update col set crt = ?", (ch["crt"],))
    _set_cols(db, conf, models, decks, dconf, tags)


def _apply_chunk(db, chunk):
    for r in chunk.get("revlog", []):
        db.execute("insert or ignore into revlog values (?,?,?,?,?,?,?,?,?)", r)
    for r in chunk.get("cards", []):
        old = db.execute("select usn, mod from cards where id = ?", (r[0],)).fetchone()
        if old and old[0] == -1 and old[1] >= r[4]:
            continue
        db.execute("insert or replace into cards values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", r)
    models = _cols(db)[1]
    for r in chunk.get("notes", []):
        old = db.execute("select usn, mod from notes where id = ?", (r[0],)).fetchone()
        if old and old[0] == -1 and old[1] >= r[3]:
            continue
        m = models.get(str(r[2]))
        if m is None or len(r[6].split("\x1f")) != len(m["flds"]):
            raise RuntimeError(f"note {r[0]} does not fit its notetype")
        first = r[6].split("\x1f")[0]
        db.execute("insert or replace into notes values (?,?,?,?,?,?,?,?,?,0,'')",
                   (r[0], r[1], r[2], r[3], r[4], r[5], r[6], first, csum(first)))


def _local_chunks(db, rusn):
    ids = {t: [r[0] for r in db.execute(f"select id from {t} where usn = -1").fetchall()]
           for t in ("revlog", "cards", "notes")}
    while True:
        chunk, limit = {"done": False}, CHUNK
        rows = {"revlog": [], "cards": [], "notes": []}
        while limit > 0:
            before = limit
            for t in ("revlog", "notes", "cards"):
                if ids[t]:
                    rows[t].append(ids[t].pop())
                    limit -= 1
            if limit == before:
                break
        chunk["done"] = limit > 0
        for t, sel in rows.items():
            if not sel:
                continue
            q = ",".join("?" * len(sel))
            db.execute(f"update {t} set usn = ? where id in ({q})", (rusn, *sel))
            out = [list(r) for r in db.execute(f"select * from {t} where id in ({q})", sel)]
            if t == "notes":
                for r in out:
                    r[7], r[8], r[9], r[10] = "", "", 0, ""
            chunk[t] = out
        yield chunk
        if chunk["done"]:
            return


def local_counts(db):
    conf, models, decks, dconf, tags = _cols(db)
    n = lambda t: db.execute(f"select count(*) from {t}").fetchone()[0]
    return [[0, 0, 0], n("cards"), n("notes"), n("revlog"), n("graves"), len(models), len(decks),
            len(dconf)]


def normal_sync(client, path, tamper_counts=False):
    """One sync as the official client does it.  Returns the decision and,
    for a normal sync, the server's sanity answer."""
    remote = client.meta()
    local = local_meta(path)
    decision = sync_decision(local, remote)
    if decision != "normalSync":
        return decision, None
    rusn, lnewer = remote["usn"], local["mod"] > remote["mod"]
    db = open_col(path)
    try:
        db.execute("begin")
        sg = client.call("start", {"minUsn": local["usn"], "lnewer": lnewer,
                                   "graves": None}).json()
        for chunk in _graves_chunks(_pending_graves(db, rusn)):
            client.call("applyGraves", {"chunk": chunk})
        for kind, table, typ in (("notes", "notes", 1), ("cards", "cards", 0),
                                 ("decks", None, 2)):
            for oid in sg[kind]:
                if table:
                    db.execute(f"delete from {table} where id = ?", (oid,))
                db.execute("insert into graves select ?, ?, ? where not exists "
                           "(select 1 from graves where oid = ? and type = ?)",
                           (rusn, oid, typ, oid, typ))
        theirs = client.call("applyChanges",
                             {"changes": _local_changes(db, rusn, lnewer)}).json()
        _apply_changes(db, theirs, rusn)
        while True:
            chunk = client.call("chunk", {"_pad": None}).json()
            _apply_chunk(db, chunk)
            if chunk.get("done"):
                break
        for chunk in _local_chunks(db, rusn):
            client.call("applyChunk", {"chunk": chunk})
        counts = local_counts(db)
        if tamper_counts:
            counts[2] += 1
        sanity = client.call("sanityCheck2", {"client": counts}).json()
        if sanity["status"] != "ok":
            db.execute("rollback")
            client.request("abort", {"_pad": None})
            return "sanityFailed", sanity
        mod = client.call("finish", {"_pad": None}).json()
        db.execute("update col set ls = ?, usn = ?, mod = ?", (mod, rusn + 1, mod))
        db.execute("commit")
        return decision, sanity
    except BaseException:
        if db.in_transaction:
            db.execute("rollback")
        try:
            client.request("abort", {"_pad": None})
        except Exception:
            pass
        raise
    finally:
        db.close()


def prepare_upload(path):
    """Before a full upload the client marks everything as synced (§4.1):
    in schema 11 the pending markers of objects live in the JSON columns."""
    from syncclient import prepare_for_upload
    db = open_col(path)
    try:
        conf, models, decks, dconf, tags = _cols(db)
        for group in (models, decks, dconf):
            for obj in group.values():
                obj["usn"] = 0
        tags = {t: 0 for t in tags}
        _set_cols(db, conf, models, decks, dconf, tags)
        db.commit()
    finally:
        db.close()
    prepare_for_upload(path)
