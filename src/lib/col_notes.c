/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_notes.c - notes, cards, review log, graves.  collection-format.md
 * §6.1-6.4, §7.  Statements are cached per collection (col_stmt) because
 * bulk inserts run these once per row.
 */
#include "col_notes.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "col_internal.h"
#include "col_store.h"
#include "tags.h"
#include "text.h"

void note_free(struct note *n)
{
	if (!n)
		return;
	free(n->guid);
	free(n->tags);
	free(n->flds);
	free(n->sfld);
	memset(n, 0, sizeof *n);
}

void card_free(struct card *cd)
{
	if (!cd)
		return;
	free(cd->data);
	cd->data = NULL;
}

/* Field count and sort field of notetype mid (cached for bulk adds). */
static enum status nt_facts(struct col *c, int64_t mid, struct errinfo *e)
{
	if (c->nt_mid == mid && mid != 0)
		return ST_OK;
	struct notetype nt;
	enum status st = col_load_notetype(c, mid, &nt, e);
	if (st)
		return st;
	c->nt_mid = mid;
	c->nt_nfields = nt.nfields;
	c->nt_sort_idx = nt.cfg.sort_field_idx;
	notetype_free(&nt);
	return ST_OK;
}

/* Printable ASCII, TAB and LF only: already clean and NFC. */
static int plain_ascii(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch >= 0x7f || (ch < 0x20 && ch != '\t' && ch != '\n'))
			return 0;
	}
	return 1;
}

/* Clean each field, re-join, compute sfld and csum (§6.1). */
enum status col_note_prepare(struct col *c, struct note *n, struct errinfo *e)
{
	enum status st = nt_facts(c, n->mid, e);
	if (st)
		return st;
	const char *flds = n->flds ? n->flds : "";
	struct text_slice *parts = NULL;
	size_t np = 0;
	st = text_fields_split(flds, strlen(flds), 0, &parts, &np, e);
	if (st)
		return st;
	if (np != c->nt_nfields) {
		free(parts);
		return errinfo_set(e, ST_INVALID, "note has %zu fields; its notetype %lld has %zu", np,
		                   (long long)n->mid, c->nt_nfields);
	}
	struct buf joined, one, sort;
	buf_init(&joined, 0);
	buf_init(&one, 0);
	buf_init(&sort, 0);
	const char **ptrs = malloc(np * sizeof *ptrs);
	size_t *lens = malloc(np * sizeof *lens);
	size_t *offs = malloc(np * sizeof *offs);
	if (!ptrs || !lens || !offs) {
		free(parts);
		free(ptrs);
		free(lens);
		free(offs);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < np && !st; i++) {
		buf_reset(&one);
		if (plain_ascii(parts[i].p, parts[i].len)) /* nothing to clean or normalise */
			st = buf_append(&one, parts[i].p, parts[i].len, e);
		else
			st = text_field_clean(parts[i].p, parts[i].len, true, &one, e);
		if (!st && i > 0)
			st = buf_append(&joined, "\x1f", 1, e);
		offs[i] = joined.len;
		lens[i] = one.len;
		if (!st)
			st = buf_append(&joined, one.data ? (const char *)one.data : "", one.len, e);
	}
	if (!st && !joined.data)
		st = buf_append(&joined, "", 0, e);
	for (size_t i = 0; i < np && !st; i++)
		ptrs[i] = (const char *)joined.data + offs[i];
	if (!st)
		st = text_sort_field(ptrs, lens, np, c->nt_sort_idx, &sort, e);
	if (!st)
		st = text_checksum(ptrs[0], lens[0], &n->csum, e);
	if (!st) {
		free(n->flds);
		n->flds = (char *)buf_steal(&joined, NULL);
		free(n->sfld);
		n->sfld = sort.data ? (char *)buf_steal(&sort, NULL) : strdup("");
		if (!n->sfld)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	free(parts);
	free(ptrs);
	free(lens);
	free(offs);
	buf_free(&joined);
	buf_free(&one);
	buf_free(&sort);
	return st;
}

static const char sql_note_insert[] =
    "insert into notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data) "
    "values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, '')";
static const char sql_note_update[] = "update notes set guid = ?2, mid = ?3, mod = ?4, usn = ?5, "
                                      "tags = ?6, flds = ?7, sfld = ?8, csum = ?9 where id = ?1";

static enum status note_write(struct col *c, struct note *n, const char *sql, struct errinfo *e)
{
	sqlite3_stmt *st;
	enum status s = col_stmt(c, sql, &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, n->id);
	sqlite3_bind_text(st, 2, n->guid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n->mid);
	sqlite3_bind_int64(st, 4, n->mod);
	sqlite3_bind_int(st, 5, n->usn);
	sqlite3_bind_text(st, 6, n->tags ? n->tags : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, n->flds, -1, SQLITE_STATIC);
	/* TEXT into the integer-affinity column: SQLite stores numbers as numbers */
	sqlite3_bind_text(st, 8, n->sfld, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, (int64_t)n->csum);
	return col_stmt_run(c, st, e, "writing a note");
}

/* The tags table as a registry for tags_canonify (§6.1): registered
 * spellings win, new tags are registered with the collection's usn. */
struct tag_reg_ctx {
	struct col *c;
	char *last; /* the spelling returned by the previous lookup */
};

static const char *tag_lookup(void *ctx, const char *tag)
{
	static const char sql[] = "select tag from tags where tag = ?1";
	struct tag_reg_ctx *t = ctx;
	sqlite3_stmt *st;
	if (col_stmt(t->c, sql, &st, NULL))
		return NULL;
	sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
	free(t->last);
	t->last = NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		t->last = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return t->last;
}

static enum status tag_add(void *ctx, const char *tag, struct errinfo *e)
{
	struct tag_reg_ctx *t = ctx;
	return col_tag_register(t->c, tag, col_usn(t->c), e);
}

/* Canonical tags string for n->tags, registering new tags. */
static enum status note_tags(struct col *c, struct note *n, struct errinfo *e)
{
	const char *tags = n->tags ? n->tags : "";
	struct tag_reg_ctx ctx = {c, NULL};
	struct tags_registry reg = {tag_lookup, tag_add, &ctx};
	struct buf out;
	buf_init(&out, 0);
	enum status st = tags_canonify_string(tags, strlen(tags), &reg, 0, &out, NULL, e);
	free(ctx.last);
	if (st) {
		buf_free(&out);
		return st;
	}
	free(n->tags);
	n->tags = out.data ? (char *)buf_steal(&out, NULL) : strdup("");
	return n->tags ? ST_OK : errinfo_set(e, ST_NOMEM, "out of memory");
}

enum status col_note_add(struct col *c, struct note *n, struct errinfo *e)
{
	enum status st = col_note_prepare(c, n, e);
	if (!st)
		st = note_tags(c, n, e);
	if (st)
		return st;
	if (!n->guid) {
		char g[TEXT_GUID_MAX + 1];
		st = text_guid_new(g, e);
		if (st)
			return st;
		n->guid = strdup(g);
		if (!n->guid)
			return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	st = col_alloc_id(c, "notes", n->id ? n->id : col_now_ms(), &n->id, e);
	if (st)
		return st;
	n->mod = col_now_secs();
	n->usn = col_usn(c);
	return note_write(c, n, sql_note_insert, e);
}

enum status col_note_update(struct col *c, struct note *n, struct errinfo *e)
{
	enum status st = col_note_prepare(c, n, e);
	if (!st)
		st = note_tags(c, n, e);
	if (st)
		return st;
	n->mod = col_now_secs();
	n->usn = col_usn(c);
	st = note_write(c, n, sql_note_update, e);
	if (!st && sqlite3_changes(col_db(c)) == 0)
		return errinfo_set(e, ST_NOTFOUND, "no note %lld", (long long)n->id);
	return st;
}

static char *dup_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return strdup(t ? (const char *)t : "");
}

enum status col_note_get(struct col *c, int64_t id, struct note *out, struct errinfo *e)
{
	static const char sql[] = "select guid, mid, mod, usn, tags, flds, cast(sfld as text), csum "
	                          "from notes where id = ?1";
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st;
	enum status s = col_stmt(c, sql, &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = id;
		out->guid = dup_text(st, 0);
		out->mid = sqlite3_column_int64(st, 1);
		out->mod = sqlite3_column_int64(st, 2);
		out->usn = sqlite3_column_int(st, 3);
		out->tags = dup_text(st, 4);
		out->flds = dup_text(st, 5);
		out->sfld = dup_text(st, 6);
		out->csum = (uint32_t)sqlite3_column_int64(st, 7);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return errinfo_set(e, ST_NOTFOUND, "no note %lld", (long long)id);
	if (rc != SQLITE_ROW)
		return col_sqlite_err(col_db(c), rc, e, "reading a note");
	if (!out->guid || !out->tags || !out->flds || !out->sfld) {
		note_free(out);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	return ST_OK;
}

enum status col_grave_add(struct col *c, int64_t oid, enum grave_type type, struct errinfo *e)
{
	static const char sql[] = "insert or replace into graves (oid, type, usn) values (?1, ?2, ?3)";
	sqlite3_stmt *st;
	enum status s = col_stmt(c, sql, &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int(st, 2, (int)type);
	sqlite3_bind_int(st, 3, col_usn(c));
	return col_stmt_run(c, st, e, "writing a grave");
}

enum status col_note_delete(struct col *c, int64_t id, struct errinfo *e)
{
	static const char sql_cards[] = "select id from cards where nid = ?1";
	static const char sql_del[] = "delete from notes where id = ?1";
	sqlite3_stmt *st;
	enum status s = col_stmt(c, sql_cards, &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, id);
	size_t n = 0, cap = 0;
	int64_t *cids = NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			int64_t *p = realloc(cids, cap * sizeof *p);
			if (!p) {
				sqlite3_reset(st);
				free(cids);
				return errinfo_set(e, ST_NOMEM, "out of memory");
			}
			cids = p;
		}
		cids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n && !s; i++)
		s = col_card_delete(c, cids[i], e);
	free(cids);
	if (s)
		return s;
	s = col_stmt(c, sql_del, &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, id);
	s = col_stmt_run(c, st, e, "deleting a note");
	if (!s && sqlite3_changes(col_db(c)) == 0)
		return errinfo_set(e, ST_NOTFOUND, "no note %lld", (long long)id);
	return s ? s : col_grave_add(c, id, GRAVE_NOTE, e);
}

/* ---- cards -------------------------------------------------------------- */

void card_init_new(struct card *cd, int64_t nid, int64_t did, int32_t ord, int64_t position)
{
	memset(cd, 0, sizeof *cd);
	cd->nid = nid;
	cd->did = did;
	cd->ord = ord;
	cd->due = position;
}

static const char sql_card_insert[] =
    "insert into cards (id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, reps, lapses,"
    " left, odue, odid, flags, data) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
    " ?13, ?14, ?15, ?16, ?17, ?18)";
static const char sql_card_update[] =
    "update cards set nid = ?2, did = ?3, ord = ?4, mod = ?5, usn = ?6, type = ?7, queue = ?8,"
    " due = ?9, ivl = ?10, factor = ?11, reps = ?12, lapses = ?13, left = ?14, odue = ?15,"
    " odid = ?16, flags = ?17, data = ?18 where id = ?1";

static enum status card_check(const struct card *cd, struct errinfo *e)
{
	/* the ranges Anki enforces when it reads a card (§1.4) */
	if (cd->ord < 0 || cd->ord > 65535 || cd->factor < 0 || cd->factor > 65535 || cd->ivl < 0 ||
	    cd->ivl > UINT32_MAX || cd->reps < 0 || cd->reps > UINT32_MAX || cd->lapses < 0 ||
	    cd->lapses > UINT32_MAX || cd->left < 0 || cd->left > UINT32_MAX || cd->flags < 0 ||
	    cd->flags > 255 || cd->type < 0 || cd->type > 3 || cd->queue < -3 || cd->queue > 4)
		return errinfo_set(e, ST_INVALID, "card %lld has a value Anki cannot read",
		                   (long long)cd->id);
	return ST_OK;
}

static enum status card_write(struct col *c, struct card *cd, const char *sql, struct errinfo *e)
{
	enum status s = card_check(cd, e);
	if (s)
		return s;
	sqlite3_stmt *st;
	s = col_stmt(c, sql, &st, e);
	if (s)
		return s;
	const int64_t v[] = {cd->id,   cd->nid,    cd->did,    cd->ord,   cd->mod,
	                     cd->usn,  cd->type,   cd->queue,  cd->due,   cd->ivl,
	                     cd->factor, cd->reps, cd->lapses, cd->left,  cd->odue,
	                     cd->odid, cd->flags};
	for (int i = 0; i < 17; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	sqlite3_bind_text(st, 18, cd->data ? cd->data : "{}", -1, SQLITE_STATIC);
	return col_stmt_run(c, st, e, "writing a card");
}

enum status col_card_add(struct col *c, struct card *cd, struct errinfo *e)
{
	enum status s = col_alloc_id(c, "cards", cd->id ? cd->id : col_now_ms(), &cd->id, e);
	if (s)
		return s;
	cd->mod = col_now_secs();
	cd->usn = col_usn(c);
	return card_write(c, cd, sql_card_insert, e);
}

enum status col_card_update(struct col *c, struct card *cd, struct errinfo *e)
{
	cd->mod = col_now_secs();
	cd->usn = col_usn(c);
	enum status s = card_write(c, cd, sql_card_update, e);
	if (!s && sqlite3_changes(col_db(c)) == 0)
		return errinfo_set(e, ST_NOTFOUND, "no card %lld", (long long)cd->id);
	return s;
}

enum status col_card_get(struct col *c, int64_t id, struct card *out, struct errinfo *e)
{
	static const char sql[] =
	    "select nid, did, ord, mod, usn, type, queue, due, ivl, factor, reps, lapses, left, odue,"
	    " odid, flags, data from cards where id = ?1";
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st;
	enum status s = col_stmt(c, sql, &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = id;
		out->nid = sqlite3_column_int64(st, 0);
		out->did = sqlite3_column_int64(st, 1);
		out->ord = sqlite3_column_int(st, 2);
		out->mod = sqlite3_column_int64(st, 3);
		out->usn = sqlite3_column_int(st, 4);
		out->type = sqlite3_column_int(st, 5);
		out->queue = sqlite3_column_int(st, 6);
		out->due = sqlite3_column_int64(st, 7);
		out->ivl = sqlite3_column_int64(st, 8);
		out->factor = sqlite3_column_int64(st, 9);
		out->reps = sqlite3_column_int64(st, 10);
		out->lapses = sqlite3_column_int64(st, 11);
		out->left = sqlite3_column_int64(st, 12);
		out->odue = sqlite3_column_int64(st, 13);
		out->odid = sqlite3_column_int64(st, 14);
		out->flags = sqlite3_column_int64(st, 15);
		out->data = dup_text(st, 16);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return errinfo_set(e, ST_NOTFOUND, "no card %lld", (long long)id);
	if (rc != SQLITE_ROW)
		return col_sqlite_err(col_db(c), rc, e, "reading a card");
	return out->data ? ST_OK : errinfo_set(e, ST_NOMEM, "out of memory");
}

enum status col_card_delete(struct col *c, int64_t id, struct errinfo *e)
{
	static const char sql[] = "delete from cards where id = ?1";
	sqlite3_stmt *st;
	enum status s = col_stmt(c, sql, &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, id);
	s = col_stmt_run(c, st, e, "deleting a card");
	if (!s && sqlite3_changes(col_db(c)) == 0)
		return errinfo_set(e, ST_NOTFOUND, "no card %lld", (long long)id);
	return s ? s : col_grave_add(c, id, GRAVE_CARD, e);
}

/* ---- review log, positions ---------------------------------------------- */

enum status col_revlog_add(struct col *c, struct revlog_entry *r, struct errinfo *e)
{
	static const char sql[] = "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time,"
	                          " type) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
	if (r->ease < 0 || r->ease > 255 || r->factor < 0 || r->factor > UINT32_MAX)
		return errinfo_set(e, ST_INVALID, "review log entry has a value Anki cannot read");
	enum status s = col_alloc_id(c, "revlog", r->id ? r->id : col_now_ms(), &r->id, e);
	if (s)
		return s;
	r->usn = col_usn(c);
	sqlite3_stmt *st;
	s = col_stmt(c, sql, &st, e);
	if (s)
		return s;
	const int64_t v[] = {r->id,  r->cid,      r->usn,    r->ease, r->ivl,
	                     r->last_ivl, r->factor, r->time, r->type};
	for (int i = 0; i < 9; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	return col_stmt_run(c, st, e, "writing a review log entry");
}

enum status col_next_position(struct col *c, int64_t *pos, struct errinfo *e)
{
	if (!c->next_pos) {
		json_t *j = NULL;
		enum status s = col_config_get(c, "nextPos", &j, e);
		if (s && s != ST_NOTFOUND)
			return s;
		c->next_pos = json_is_integer(j) ? json_integer_value(j) : 1;
		json_decref(j);
		if (c->next_pos < 1)
			c->next_pos = 1;
	}
	*pos = c->next_pos++;
	if (c->in_tx) { /* written back by col_commit */
		c->next_pos_dirty = 1;
		return ST_OK;
	}
	json_t *next = json_integer(c->next_pos);
	enum status s =
	    next ? col_config_set(c, "nextPos", next, e) : errinfo_set(e, ST_NOMEM, "out of memory");
	json_decref(next);
	c->next_pos = 0; /* outside a transaction another writer may follow */
	return s;
}
