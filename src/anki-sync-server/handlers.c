/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * handlers.c - the sync methods that need no normal-sync session: hostKey
 * (§2.1), meta (§3.1), upload and download (§4), abort (§3.10).
 *
 * Each handler: parse and check its JSON first (a bad body changes
 * nothing), then lock the user, do the work, unlock, reply.  Slow work
 * that needs no shared state (password hashing, the integrity check of an
 * upload) runs without the user's lock, so neither this user's other
 * device nor any other user waits for it.
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"
#include "col.h"
#include "log.h"
#include "media_db.h"
#include "server.h"
#include "syncproto_col.h"

/* The request body as a JSON object, or NULL (and a 400 reply). */
json_t *sreq_body_object(struct sreq *q)
{
	const struct buf *b = sreq_json(q);
	json_t *j = b->data ? json_loadb((const char *)b->data, b->len,
	                                 JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL)
	                    : NULL;
	if (!j || !json_is_object(j)) {
		json_decref(j);
		sreq_reply_error(q, 400, "invalid json");
		return NULL;
	}
	return j;
}

/* EmptyInput: an object whose only allowed key is "_pad" (§1.4.3). */
int sreq_empty_input_ok(struct sreq *q)
{
	json_t *j = sreq_body_object(q);
	if (!j)
		return 0;
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v)
	{
		(void)v;
		if (strcmp(k, "_pad") != 0) {
			json_decref(j);
			sreq_reply_error(q, 400, "invalid json (unknown field)");
			return 0;
		}
	}
	json_decref(j);
	return 1;
}

/* Lock the request's user, answering 409/500 on failure. */
int sreq_lock_user(struct sreq *q)
{
	struct errinfo e;
	enum status st = ustate_lock(sreq_server(q), sreq_user(q), &e);
	if (st) {
		sreq_reply_error(q, st == ST_BUSY ? 409 : 500, e.msg);
		return 0;
	}
	return 1;
}

void sreq_reply_status(struct sreq *q, const struct errinfo *e)
{
	int code = 500;
	if (e->code == ST_BUSY)
		code = 409;
	else if (e->code == ST_UNSUPPORTED)
		code = 501;
	sreq_reply_error(q, code, e->msg);
}

void handle_host_key(struct sreq *q)
{
	struct server *srv = sreq_server(q);
	json_t *j = sreq_body_object(q);
	if (!j)
		return;
	json_t *u = json_object_get(j, "u"), *p = json_object_get(j, "p");
	if (!json_is_string(u) || !json_is_string(p)) {
		json_decref(j);
		sreq_reply_error(q, 400, "invalid json (u, p)");
		return;
	}
	/* Copy what the check needs, then hash without holding any lock. */
	struct user_entry ent = {0};
	int known = 0;
	pthread_rwlock_rdlock(&srv->users_lock);
	/* A name with an embedded NUL names nobody (jansson would cut it). */
	const struct user_entry *found = strlen(json_string_value(u)) == json_string_length(u)
	                                     ? users_find_name(&srv->users, json_string_value(u))
	                                     : NULL;
	const struct user_entry *use = found;
	if (!use) {
		/* Unknown user: check against another user's secret anyway (a
		 * hashed one when there is one), so the time taken does not tell
		 * which names exist. */
		for (size_t i = 0; i < srv->users.n && !use; i++)
			if (srv->users.v[i].hashed)
				use = &srv->users.v[i];
		if (!use && srv->users.n)
			use = &srv->users.v[0];
	}
	if (use) {
		ent.name = strdup(use->name);
		ent.secret = strdup(use->secret);
		ent.hashed = use->hashed;
		memcpy(ent.hkey, use->hkey, sizeof ent.hkey);
		known = found != NULL;
	}
	pthread_rwlock_unlock(&srv->users_lock);
	int ok = 0;
	struct errinfo e;
	enum status st = ST_OK;
	if (ent.hashed)
		prio_background(); /* PBKDF2: a quarter second of CPU */
	if (ent.name && ent.secret)
		st = users_verify(&ent, json_string_value(p), json_string_length(p), &ok, &e);
	else if (use)
		st = errinfo_set(&e, ST_NOMEM, "out of memory");
	if (st)
		log_warnx("login check failed: %s", e.msg);
	if (st == ST_OK && ok && known) {
		char out[64];
		snprintf(out, sizeof out, "{\"key\":\"%s\"}", ent.hkey);
		sreq_set_login(q, ent.name);
		/* The user's directory appears at the first login (official
		 * layout: <SYNC_BASE>/<name>/ with media/). */
		struct ustate *us = ustate_get(srv, ent.name);
		struct errinfo de;
		if (us && !us->dir_ready && ustate_lock(srv, us, &de) == ST_OK)
			ustate_unlock(us);
		sreq_reply_json(q, out);
	} else if (st == ST_NOMEM) {
		sreq_reply_error(q, 500, "out of memory");
	} else {
		log_info("login failed for user \"%.64s\"", json_string_value(u));
		sreq_reply_error(q, 403, "invalid user/pass in get_host_key");
	}
	if (ent.secret) {
		OPENSSL_cleanse(ent.secret, strlen(ent.secret));
		free(ent.secret);
	}
	free(ent.name);
	json_decref(j);
}

void handle_meta(struct sreq *q)
{
	struct server *srv = sreq_server(q);
	struct ustate *u = sreq_user(q);
	json_t *j = sreq_body_object(q);
	if (!j)
		return;
	json_t *v = json_object_get(j, "v"), *cv = json_object_get(j, "cv");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255 ||
	    !json_is_string(cv)) {
		json_decref(j);
		sreq_reply_error(q, 400, "invalid json (v, cv)");
		return;
	}
	int ver = (int)json_integer_value(v);
	json_decref(j);
	if (!sreq_lock_user(q))
		return;
	ustate_session_abort(srv, u, "meta");
	struct errinfo e;
	struct syncproto_col_info info;
	int32_t media_usn = 0;
	struct stat sb;
	enum status st = ustate_col_open(srv, u, 1, &e);
	if (st == ST_OK)
		st = syncproto_col_info(u->col, &info, &e);
	if (st == ST_OK)
		st = media_db_read_usn(u->dir, &media_usn, &e);
	int too_big = st == ST_OK && stat(u->colpath, &sb) == 0 &&
	              (uint64_t)sb.st_size > srv->cfg.uncompressed_limit;
	/* The connection stays open for this device's next request (its sync
	 * follows at once, status checks come every few minutes); the reaper
	 * closes it when idle.  Opening costs more than all of meta's reads:
	 * a new WAL index and the schema parsed again. */
	if (st)
		ustate_col_close(u);
	ustate_unlock(u);
	if (st) {
		sreq_reply_status(q, &e);
		return;
	}
	if (ver < SYNC_VERSION_MIN || ver > SYNC_VERSION_MAX) {
		sreq_reply_error(q, 501, "unsupported version");
		return;
	}
	const char *msg = "";
	int cont = 1;
	if (info.sched_v2 && ver < SYNC_VERSION_V2SCHED) {
		msg = "Your client does not support the v2 scheduler";
		cont = 0;
	} else if (info.new_tz && ver < SYNC_VERSION_V2TZ) {
		msg = "Your client does not support the new timezone handling.";
		cont = 0;
	}
	/* A collection over the limit could never be uploaded again: report a
	 * new schema time so clients do one-way syncs (official behaviour). */
	int64_t scm = too_big ? now_ms() : info.scm;
	char out[512];
	snprintf(out, sizeof out,
	         "{\"mod\":%lld,\"scm\":%lld,\"usn\":%d,\"ts\":%lld,\"msg\":\"%s\",\"cont\":%s,"
	         "\"hostNum\":0,\"empty\":%s,\"media_usn\":%d}",
	         (long long)info.mod, (long long)scm, (int)info.usn, (long long)(now_ms() / 1000),
	         msg, cont ? "true" : "false", info.has_cards ? "false" : "true", (int)media_usn);
	sreq_reply_json(q, out);
}

void handle_abort(struct sreq *q)
{
	if (!sreq_empty_input_ok(q) || !sreq_lock_user(q))
		return;
	ustate_session_abort(sreq_server(q), sreq_user(q), "client abort");
	ustate_unlock(sreq_user(q));
	sreq_reply_json(q, "null");
}

void handle_upload(struct sreq *q)
{
	struct server *srv = sreq_server(q);
	struct ustate *u = sreq_user(q);
	uint64_t size = 0;
	int truncated = 0;
	const char *tmp = sreq_file(q, &size, &truncated);
	if (!tmp) {
		sreq_reply_error(q, 500, "no upload file");
		return;
	}
	if (truncated || size >= srv->cfg.uncompressed_limit) {
		log_info("user %s: upload refused, over %llu bytes", u->name,
		         (unsigned long long)srv->cfg.uncompressed_limit);
		sreq_reply_json(q, SYNC_UPLOAD_TOO_BIG);
		return;
	}
	/* The check reads only the private temporary file: no lock needed. */
	struct errinfo e;
	struct syncproto_col_info info;
	enum status st = syncproto_col_check(tmp, &srv->stopping, &info, &e);
	if (st == ST_CORRUPT || st == ST_NOTFOUND) {
		log_info("user %s: upload refused as corrupt: %s", u->name, e.msg);
		sreq_reply_json(q, SYNC_UPLOAD_CORRUPT);
		return;
	}
	/* Like the official server, store schema 18: older uploads (11,
	 * 14..17) are upgraded on the temporary file before it is stored. */
	if (st == ST_OK && info.ver != 18) {
		struct col *c = NULL;
		st = col_open(tmp, COL_SERVER, &c, &e);
		col_close(c);
		if (st) {
			log_info("user %s: upload refused, schema %d does not upgrade: %s", u->name,
			         info.ver, e.msg);
			sreq_reply_json(q, SYNC_UPLOAD_CORRUPT);
			return;
		}
	}
	if (st == ST_OK)
		st = syncproto_col_quiesce(tmp, &e);
	if (st) {
		sreq_reply_error(q, st == ST_BUSY ? 503 : 500, e.msg);
		return;
	}
	if (!sreq_lock_user(q))
		return;
	ustate_session_abort(srv, u, "full upload");
	ustate_col_close(u);
	st = ustate_flock(u, &e);
	/* The old file must stand alone (no -wal of its own) before the new
	 * one takes its name, or SQLite would replay the old log into it. */
	if (st == ST_OK)
		st = syncproto_col_quiesce(u->colpath, &e);
	if (st == ST_OK)
		st = afile_rename(tmp, u->colpath, &e);
	if (st == ST_OK)
		sreq_take_file(q);
	ustate_funlock(u);
	ustate_unlock(u);
	if (st) {
		sreq_reply_status(q, &e);
		return;
	}
	atomic_fetch_add(&u->m.full_uploads, 1);
	log_info("user %s: full upload stored (%llu bytes, schema %d, %lld notes, %lld cards)",
	         u->name, (unsigned long long)size, info.ver, (long long)info.notes,
	         (long long)info.cards);
	sreq_reply_json(q, SYNC_UPLOAD_OK);
}

void handle_download(struct sreq *q)
{
	struct server *srv = sreq_server(q);
	struct ustate *u = sreq_user(q);
	if (!sreq_empty_input_ok(q) || !sreq_lock_user(q))
		return;
	ustate_session_abort(srv, u, "full download");
	struct errinfo e;
	struct syncproto_col_info info;
	enum status st = ustate_col_open(srv, u, 1, &e);
	if (st == ST_OK)
		st = syncproto_col_info(u->col, &info, &e);
	if (st == ST_OK && info.ver != 18) {
		/* An older schema (e.g. left by the official server after a legacy
		 * download) is upgraded on open, as the official server does. */
		ustate_col_close(u);
		struct col *c = NULL;
		st = ustate_flock(u, &e);
		if (st == ST_OK)
			st = col_open(u->colpath, COL_SERVER, &c, &e);
		col_close(c);
		if (st == ST_OK)
			st = ustate_col_open(srv, u, 0, &e);
	}
	if (st == ST_OK)
		st = syncproto_col_bump_usn(u->col, now_ms(), &e);
	ustate_col_close(u);
	int fd = -1;
	uint64_t size = 0;
	if (st == ST_OK)
		st = ustate_flock(u, &e);
	if (st == ST_OK)
		st = syncproto_col_quiesce(u->colpath, &e);
	/* Send a private copy: a later upload or sync may change the file
	 * while this one is still on the wire.  Legacy clients get schema 11. */
	if (st == ST_OK && sreq_version(q) < SYNC_VERSION_MAX)
		st = sync_col_legacy_copy(u->colpath, &fd, &size, &e);
	else if (st == ST_OK)
		st = syncproto_col_snapshot(u->colpath, &fd, &size, &e);
	ustate_funlock(u);
	ustate_unlock(u);
	if (st) {
		sreq_reply_status(q, &e);
		return;
	}
	atomic_fetch_add(&u->m.full_downloads, 1);
	sreq_reply_fd(q, fd, size);
}
