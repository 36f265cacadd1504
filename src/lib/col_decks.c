/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_decks.c - deck tree operations over the decks table (see
 * col_decks.h).  Invariants kept: every deck's parents exist (creation
 * adds them), deck 1 always exists (removal renames it instead), and
 * every deleted deck, card and note leaves a grave.
 */
#include "col_decks.h"

#include <stdlib.h>
#include <string.h>

#include "col_internal.h"
#include "col_model.h"
#include "col_notes.h"
#include "col_proto.h"
#include "col_store.h"

void col_deck_list_free(struct col_deck_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

enum status col_decks_list(struct col *c, struct col_deck_list *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(col_db(c), "select id, name, kind from decks order by name", -1,
	                            &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, "listing decks");
	size_t cap = 0;
	enum status s = ST_OK;
	while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == cap) {
			cap = cap ? 2 * cap : 16;
			struct col_deck_entry *v = realloc(out->v, cap * sizeof *v);
			if (!v) {
				s = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			out->v = v;
		}
		struct col_deck_entry *d = &out->v[out->n];
		memset(d, 0, sizeof *d);
		d->id = sqlite3_column_int64(st, 0);
		d->name = deck_name_human_from_native((const char *)sqlite3_column_text(st, 1));
		if (!d->name) {
			s = errinfo_set(e, ST_NOMEM, "out of memory");
			break;
		}
		out->n++;
		struct deck_kind k;
		s = deck_kind_decode(sqlite3_column_blob(st, 2),
		                     (size_t)sqlite3_column_bytes(st, 2), &k, e);
		if (!s) {
			d->filtered = k.type == DECK_KIND_FILTERED;
			d->conf_id = k.type == DECK_KIND_NORMAL ? k.normal.config_id : 0;
			deck_kind_free(&k);
		}
	}
	if (!s && rc != SQLITE_DONE)
		s = col_sqlite_err(col_db(c), rc, e, "listing decks");
	sqlite3_finalize(st);
	if (s)
		col_deck_list_free(out);
	return s;
}

/* id and stored native name of the deck whose native name equals native
 * under unicase; ST_NOTFOUND. */
static enum status find_native(struct col *c, const char *native, int64_t *id, char **stored,
                               struct errinfo *e)
{
	static const char sql[] = "select id, name from decks where name = ?1";
	sqlite3_stmt *st;
	enum status s0 = col_stmt(c, sql, &st, e);
	if (s0)
		return s0;
	sqlite3_bind_text(st, 1, native, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	enum status s = ST_OK;
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		if (stored) {
			*stored = strdup((const char *)sqlite3_column_text(st, 1));
			if (!*stored)
				s = errinfo_set(e, ST_NOMEM, "out of memory");
		}
	} else if (rc == SQLITE_DONE) {
		s = errinfo_set(e, ST_NOTFOUND, "deck not found");
	} else {
		s = col_sqlite_err(col_db(c), rc, e, "finding a deck");
	}
	sqlite3_reset(st);
	return s;
}

enum status col_decks_find(struct col *c, const char *human, int64_t *id, struct errinfo *e)
{
	char *native = NULL;
	enum status s = deck_name_native_from_human(human, &native, e);
	if (s)
		return s == ST_INVALID ? errinfo_set(e, ST_NOTFOUND, "deck not found") : s;
	s = find_native(c, native, id, NULL, e);
	free(native);
	return s;
}

static enum status create_normal(struct col *c, const char *native, int64_t *id, struct errinfo *e)
{
	struct deck d;
	memset(&d, 0, sizeof d);
	enum status s = col_alloc_id(c, "decks", col_now_ms(), &d.id, e);
	if (s)
		return s;
	d.name = strdup(native);
	if (!d.name)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	d.mtime = col_now_secs();
	d.usn = col_usn(c);
	deck_common_default_normal(&d.common);
	deck_kind_new_normal(&d.kind);
	s = col_store_deck(c, &d, COL_STORE_NORMAL, e);
	*id = d.id;
	deck_free(&d);
	return s;
}

enum status col_decks_get_or_create(struct col *c, const char *human, int64_t *id, bool *created,
                                    struct errinfo *e)
{
	if (created)
		*created = false;
	char *native = NULL;
	enum status s = deck_name_native_from_human(human, &native, e);
	if (s)
		return s;
	s = find_native(c, native, id, NULL, e);
	if (s != ST_NOTFOUND) {
		free(native);
		return s;
	}
	/* Walk the components: existing ancestors lend their spelling. */
	char *cur = NULL;
	size_t cur_len = 0;
	const char *p = native;
	s = ST_OK;
	while (!s) {
		const char *sep = strchr(p, '\x1f');
		size_t clen = sep ? (size_t)(sep - p) : strlen(p);
		char *cand = malloc(cur_len + 1 + clen + 1);
		if (!cand) {
			s = errinfo_set(e, ST_NOMEM, "out of memory");
			break;
		}
		size_t k = 0;
		if (cur) {
			memcpy(cand, cur, cur_len);
			k = cur_len;
			cand[k++] = '\x1f';
		}
		memcpy(cand + k, p, clen);
		cand[k + clen] = '\0';
		char *stored = NULL;
		s = find_native(c, cand, id, &stored, e);
		if (s == ST_NOTFOUND) {
			s = create_normal(c, cand, id, e);
			if (!s && created)
				*created = true;
			free(stored);
			stored = cand;
			cand = NULL;
		}
		free(cand);
		free(cur);
		cur = stored;
		cur_len = cur ? strlen(cur) : 0;
		if (!sep)
			break;
		p = sep + 1;
	}
	free(cur);
	free(native);
	return s;
}

enum status col_decks_name(struct col *c, int64_t id, char **name, struct errinfo *e)
{
	sqlite3_stmt *st;
	enum status s = col_stmt(c, "select name from decks where id = ?1", &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*name = deck_name_human_from_native((const char *)sqlite3_column_text(st, 0));
		if (!*name)
			s = errinfo_set(e, ST_NOMEM, "out of memory");
	} else {
		s = rc == SQLITE_DONE
		        ? errinfo_set(e, ST_NOTFOUND, "deck was not found: %lld", (long long)id)
		        : col_sqlite_err(col_db(c), rc, e, "reading a deck");
	}
	sqlite3_reset(st); /* cached (col_stmt): reset, never finalize */
	return s;
}

enum status col_decks_with_children(struct col *c, int64_t id, int64_t **ids, size_t *n,
                                    struct errinfo *e)
{
	*ids = NULL;
	*n = 0;
	sqlite3_stmt *st;
	int rc =
	    sqlite3_prepare_v2(col_db(c), "select name from decks where id = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, "reading a deck");
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE
		           ? errinfo_set(e, ST_NOTFOUND, "no deck %lld", (long long)id)
		           : col_sqlite_err(col_db(c), rc, e, "reading a deck");
	}
	char *prefix = sqlite3_mprintf("%s\x1f", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (!prefix)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	size_t plen = strlen(prefix);
	/* unicase prefix: compare the leading part of each name */
	rc = sqlite3_prepare_v2(
	    col_db(c),
	    "select id from decks where substr(name, 1, ?2) = ?1 collate unicase "
	    "and id != ?3 order by name",
	    -1, &st, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_free(prefix);
		return col_sqlite_err(col_db(c), rc, e, "listing child decks");
	}
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	/* substr counts characters; the prefix has this many */
	int64_t nchars = 0;
	for (size_t i = 0; i < plen; i++)
		if (((unsigned char)prefix[i] & 0xc0) != 0x80)
			nchars++;
	sqlite3_bind_int64(st, 2, nchars);
	sqlite3_bind_int64(st, 3, id);
	size_t cap = 8;
	int64_t *v = malloc(cap * sizeof *v);
	if (!v) {
		sqlite3_finalize(st);
		sqlite3_free(prefix);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	enum status s = ST_OK;
	size_t len = 0;
	v[len++] = id;
	while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			int64_t *nv = realloc(v, 2 * cap * sizeof *v);
			if (!nv) {
				s = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			v = nv;
			cap *= 2;
		}
		v[len++] = sqlite3_column_int64(st, 0);
	}
	if (!s && rc != SQLITE_DONE)
		s = col_sqlite_err(col_db(c), rc, e, "listing child decks");
	sqlite3_finalize(st);
	sqlite3_free(prefix);
	if (s) {
		free(v);
		return s;
	}
	*ids = v;
	*n = len;
	return ST_OK;
}

enum status col_cards_remove(struct col *c, const int64_t *cids, size_t n, struct errinfo *e)
{
	sqlite3_stmt *q, *left;
	int rc = sqlite3_prepare_v2(col_db(c), "select nid from cards where id = ?1", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, "removing cards");
	rc = sqlite3_prepare_v2(col_db(c), "select 1 from cards where nid = ?1 limit 1", -1, &left,
	                        NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(q);
		return col_sqlite_err(col_db(c), rc, e, "removing cards");
	}
	enum status s = ST_OK;
	int64_t *nids = malloc((n ? n : 1) * sizeof *nids);
	size_t nn = 0;
	if (!nids) {
		sqlite3_finalize(q);
		sqlite3_finalize(left);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n && !s; i++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, cids[i]);
		if (sqlite3_step(q) != SQLITE_ROW)
			continue;
		nids[nn++] = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		s = col_card_delete(c, cids[i], e);
		if (s == ST_NOTFOUND)
			s = ST_OK;
	}
	for (size_t i = 0; i < nn && !s; i++) {
		sqlite3_reset(left);
		sqlite3_bind_int64(left, 1, nids[i]);
		rc = sqlite3_step(left);
		sqlite3_reset(left);
		if (rc == SQLITE_DONE) {
			s = col_note_delete(c, nids[i], e);
			if (s == ST_NOTFOUND) /* listed twice */
				s = ST_OK;
		} else if (rc != SQLITE_ROW) {
			s = col_sqlite_err(col_db(c), rc, e, "removing cards");
		}
	}
	free(nids);
	sqlite3_finalize(q);
	sqlite3_finalize(left);
	return s;
}

enum status col_decks_empty_filtered(struct col *c, int64_t did, struct errinfo *e)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
	    col_db(c),
	    "update cards set did = odid, due = (case when odue != 0 then odue else due end),"
	    " queue = (case when queue < 0 then queue when type = 0 then 0 when type = 2 then 2"
	    " when (case when odue != 0 then odue else due end) > 1000000000 then 1 else 3 end),"
	    " odid = 0, odue = 0, mod = ?2, usn = ?3 where did = ?1 and odid != 0",
	    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, "emptying a filtered deck");
	sqlite3_bind_int64(st, 1, did);
	sqlite3_bind_int64(st, 2, col_now_secs());
	sqlite3_bind_int(st, 3, col_usn(c));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ST_OK
	                         : col_sqlite_err(col_db(c), rc, e, "emptying a filtered deck");
}

enum status col_decks_remove(struct col *c, const int64_t *ids, size_t n, size_t *ncards,
                             struct errinfo *e)
{
	if (ncards)
		*ncards = 0;
	enum status s = ST_OK;
	for (size_t i = 0; i < n && !s; i++) {
		int64_t *all = NULL;
		size_t nall = 0;
		s = col_decks_with_children(c, ids[i], &all, &nall, e);
		if (s == ST_NOTFOUND) { /* already removed as a child of an earlier one */
			s = ST_OK;
			continue;
		}
		for (size_t j = 0; j < nall && !s; j++) {
			struct deck d;
			s = col_load_deck(c, all[j], &d, e);
			if (s)
				break;
			if (d.kind.type == DECK_KIND_FILTERED) {
				s = col_decks_empty_filtered(c, d.id, e);
			} else {
				int64_t *cids = NULL;
				size_t nc = 0;
				s = col_query_ids(
				    c, "select id from cards where did = ?1 or odid = ?1", &d.id, 1,
				    &cids, &nc, e);
				if (!s)
					s = col_cards_remove(c, cids, nc, e);
				if (!s && ncards)
					*ncards += nc;
				free(cids);
			}
			if (!s && d.id == 1) {
				free(d.name);
				d.name = strdup("Default");
				if (!d.name) {
					s = errinfo_set(e, ST_NOMEM, "out of memory");
				} else {
					d.mtime = col_now_secs();
					d.usn = col_usn(c);
					s = col_store_deck(c, &d, COL_STORE_NORMAL, e);
				}
			} else if (!s) {
				s = col_delete_deck(c, d.id, e);
			}
			deck_free(&d);
		}
		free(all);
	}
	return s;
}
