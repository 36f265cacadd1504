/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pkg_gather.c - what goes into a package, and what comes out of one
 * (collection-format.md §9.2; Anki's rslib/src/import_export/gather.rs):
 * the notes with a card in the chosen decks, all cards of those notes,
 * their notetypes, decks with their parents, review log and presets, and
 * the resets applied when scheduling is left out.  The same gathering runs
 * on the user's collection for an export and on the package's collection
 * for an import, as in Anki.
 *
 * Rows read here may come from a hostile package: every card and review
 * value is checked against the ranges Anki's reader accepts (§1.4) before
 * it is used, and notes must name a notetype the package holds.
 */
#include "pkg_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "col_json.h"
#include "col_store.h"
#include "search_day.h"
#include "tags.h"

void pkg_data_free(struct pkg_data *d)
{
	for (size_t i = 0; i < d->nnotes; i++)
		note_free(&d->notes[i]);
	for (size_t i = 0; i < d->ncards; i++)
		card_free(&d->cards[i]);
	for (size_t i = 0; i < d->ndecks; i++)
		deck_free(&d->decks[i]);
	for (size_t i = 0; i < d->nnotetypes; i++)
		notetype_free(&d->notetypes[i]);
	for (size_t i = 0; i < d->ndeckconfs; i++)
		deckconf_free(&d->deckconfs[i]);
	free(d->notes);
	free(d->cards);
	free(d->revlog);
	free(d->decks);
	free(d->notetypes);
	free(d->deckconfs);
	memset(d, 0, sizeof *d);
}

/* Grow *v (elements of size sz) to hold n + 1. */
static enum status grow(void **v, size_t n, size_t *cap, size_t sz, struct errinfo *e)
{
	if (n < *cap)
		return ST_OK;
	size_t nc = *cap ? *cap * 2 : 64;
	void *p = realloc(*v, nc * sz);
	if (!p)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	*v = p;
	*cap = nc;
	return ST_OK;
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return strdup(t ? (const char *)t : "");
}

/* The selection of notes as SQL: all notes, or those with a card whose
 * deck or original deck is listed in the JSON array ?1. */
static const char sel_all[] = "select id from notes";
static const char sel_decks[] =
    "select nid from cards where did in (select value from json_each(?1))"
    " or odid in (select value from json_each(?1))";

static enum status prepare(sqlite3 *db, struct buf *sql, const char *json, sqlite3_stmt **st,
                           struct errinfo *e)
{
	int rc = sqlite3_prepare_v2(db, (const char *)sql->data, (int)sql->len, st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(db, rc, e, "gathering package contents");
	if (json)
		sqlite3_bind_text(*st, 1, json, -1, SQLITE_STATIC);
	return ST_OK;
}

static enum status read_notes(sqlite3 *db, const char *sel, const char *json, struct pkg_data *d,
                              struct errinfo *e)
{
	struct buf sql;
	buf_init(&sql, 0);
	sqlite3_stmt *st = NULL;
	enum status s =
	    buf_printf(&sql, e,
	               "select id, guid, mid, mod, usn, tags, flds, cast(sfld as text), csum"
	               " from notes where id in (%s) order by id",
	               sel);
	if (!s)
		s = prepare(db, &sql, json, &st, e);
	size_t cap = 0;
	int rc = SQLITE_DONE;
	while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((s = grow((void **)&d->notes, d->nnotes, &cap, sizeof *d->notes, e)))
			break;
		struct note *n = &d->notes[d->nnotes++];
		memset(n, 0, sizeof *n);
		n->id = sqlite3_column_int64(st, 0);
		n->guid = col_text(st, 1);
		n->mid = sqlite3_column_int64(st, 2);
		n->mod = sqlite3_column_int64(st, 3);
		n->usn = sqlite3_column_int(st, 4);
		n->tags = col_text(st, 5);
		n->flds = col_text(st, 6);
		n->sfld = col_text(st, 7);
		n->csum = (uint32_t)sqlite3_column_int64(st, 8);
		if (!n->guid || !n->tags || !n->flds || !n->sfld)
			s = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	if (!s && rc != SQLITE_DONE)
		s = col_sqlite_err(db, rc, e, "reading notes");
	sqlite3_finalize(st);
	buf_free(&sql);
	return s;
}

/* The ranges Anki's card reader accepts (§1.4). */
static bool card_readable(const struct card *cd)
{
	return cd->ord >= 0 && cd->ord <= 65535 && cd->factor >= 0 && cd->factor <= 65535 &&
	       cd->ivl >= 0 && cd->ivl <= UINT32_MAX && cd->reps >= 0 && cd->reps <= UINT32_MAX &&
	       cd->lapses >= 0 && cd->lapses <= UINT32_MAX && cd->left >= 0 &&
	       cd->left <= UINT32_MAX && cd->flags >= 0 && cd->flags <= 255 && cd->type >= 0 &&
	       cd->type <= 3 && cd->queue >= -3 && cd->queue <= 4 && cd->due >= INT32_MIN &&
	       cd->due <= INT32_MAX && cd->odue >= INT32_MIN && cd->odue <= INT32_MAX;
}

static enum status read_cards(sqlite3 *db, const char *sel, const char *json, struct pkg_data *d,
                              struct errinfo *e)
{
	struct buf sql;
	buf_init(&sql, 0);
	sqlite3_stmt *st = NULL;
	enum status s =
	    buf_printf(&sql, e,
	               "select id, nid, did, ord, mod, usn, type, queue, due, ivl, factor,"
	               " reps, lapses, left, odue, odid, flags, data from cards"
	               " where nid in (select id from notes where id in (%s)) order by id",
	               sel);
	if (!s)
		s = prepare(db, &sql, json, &st, e);
	size_t cap = 0;
	int rc = SQLITE_DONE;
	while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((s = grow((void **)&d->cards, d->ncards, &cap, sizeof *d->cards, e)))
			break;
		struct card *cd = &d->cards[d->ncards++];
		memset(cd, 0, sizeof *cd);
		int64_t v[17];
		for (int i = 0; i < 17; i++)
			v[i] = sqlite3_column_int64(st, i);
		cd->id = v[0];
		cd->nid = v[1];
		cd->did = v[2];
		cd->ord = (int32_t)(v[3] < 0 || v[3] > 65535 ? -1 : v[3]);
		cd->mod = v[4];
		cd->usn = (int32_t)v[5];
		cd->type = (int32_t)(v[6] < 0 || v[6] > 3 ? -1 : v[6]);
		cd->queue = (int32_t)(v[7] < -3 || v[7] > 4 ? 99 : v[7]);
		cd->due = v[8];
		cd->ivl = v[9];
		cd->factor = v[10];
		cd->reps = v[11];
		cd->lapses = v[12];
		cd->left = v[13];
		cd->odue = v[14];
		cd->odid = v[15];
		cd->flags = v[16];
		cd->data = col_text(st, 17);
		if (!cd->data)
			s = errinfo_set(e, ST_NOMEM, "out of memory");
		else if (!card_readable(cd))
			s = errinfo_set(e, ST_CORRUPT, "card %lld has values Anki cannot read",
			                (long long)cd->id);
	}
	if (!s && rc != SQLITE_DONE)
		s = col_sqlite_err(db, rc, e, "reading cards");
	sqlite3_finalize(st);
	buf_free(&sql);
	return s;
}

static enum status read_revlog(sqlite3 *db, const char *sel, const char *json, struct pkg_data *d,
                               struct errinfo *e)
{
	struct buf sql;
	buf_init(&sql, 0);
	sqlite3_stmt *st = NULL;
	enum status s =
	    buf_printf(&sql, e,
	               "select id, cid, usn, ease, ivl, lastIvl, factor, time, type from revlog"
	               " where cid in (select id from cards where nid in (select id from notes "
	               "where id in (%s)))"
	               " order by id",
	               sel);
	if (!s)
		s = prepare(db, &sql, json, &st, e);
	size_t cap = 0;
	int rc = SQLITE_DONE;
	while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((s = grow((void **)&d->revlog, d->nrevlog, &cap, sizeof *d->revlog, e)))
			break;
		struct revlog_entry *r = &d->revlog[d->nrevlog++];
		int64_t v[9];
		for (int i = 0; i < 9; i++)
			v[i] = sqlite3_column_int64(st, i);
		if (v[3] < 0 || v[3] > 255 || v[8] < 0 || v[8] > 255 || v[6] < 0 ||
		    v[6] > UINT32_MAX || v[7] < 0 || v[7] > UINT32_MAX || v[4] < INT32_MIN ||
		    v[4] > INT32_MAX || v[5] < INT32_MIN || v[5] > INT32_MAX) {
			s = errinfo_set(e, ST_CORRUPT,
			                "review log entry %lld has values Anki cannot read",
			                (long long)v[0]);
			break;
		}
		*r = (struct revlog_entry){.id = v[0],
		                           .cid = v[1],
		                           .usn = (int32_t)v[2],
		                           .ease = (int32_t)v[3],
		                           .ivl = v[4],
		                           .last_ivl = v[5],
		                           .factor = v[6],
		                           .time = v[7],
		                           .type = (int32_t)v[8]};
	}
	if (!s && rc != SQLITE_DONE)
		s = col_sqlite_err(db, rc, e, "reading the review log");
	sqlite3_finalize(st);
	buf_free(&sql);
	return s;
}

static bool have_deck(const struct pkg_data *d, int64_t id)
{
	for (size_t i = 0; i < d->ndecks; i++)
		if (d->decks[i].id == id)
			return true;
	return false;
}

static enum status add_deck(struct col *c, struct pkg_data *d, size_t *cap, int64_t id,
                            struct errinfo *e)
{
	if (have_deck(d, id))
		return ST_OK;
	struct deck dk;
	enum status s = col_load_deck(c, id, &dk, e);
	if (s == ST_NOTFOUND) /* a card in a deck that no longer exists */
		return ST_OK;
	if (s)
		return s;
	if ((s = grow((void **)&d->decks, d->ndecks, cap, sizeof *d->decks, e))) {
		deck_free(&dk);
		return s;
	}
	d->decks[d->ndecks++] = dk;
	return ST_OK;
}

/* The deck with this native name, or 0. */
static enum status deck_by_name(struct col *c, const char *name, size_t len, int64_t *id,
                                struct errinfo *e)
{
	sqlite3_stmt *st;
	*id = 0;
	int rc =
	    sqlite3_prepare_v2(col_db(c), "select id from decks where name = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, "looking up a deck");
	sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
	           ? ST_OK
	           : col_sqlite_err(col_db(c), rc, e, "looking up a deck");
}

static enum status gather_decks(struct col *c, struct pkg_data *d, bool with_original,
                                bool skip_default, struct errinfo *e)
{
	size_t cap = 0;
	/* the decks of the cards, in id order like Anki's "where id in (...)" */
	struct pkg_imap ids = {0};
	enum status s = ST_OK;
	for (size_t i = 0; i < d->ncards && !s; i++) {
		s = pkg_imap_put(&ids, d->cards[i].did, 0, 1, e);
		if (!s && with_original && d->cards[i].odid)
			s = pkg_imap_put(&ids, d->cards[i].odid, 0, 1, e);
	}
	int64_t *sorted = NULL;
	size_t ns = 0;
	if (!s && ids.n) {
		sorted = malloc(ids.n * sizeof *sorted);
		if (!sorted)
			s = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	for (size_t i = 0; !s && i < d->ncards; i++) {
		int64_t cand[2] = {d->cards[i].did, with_original ? d->cards[i].odid : 0};
		for (int k = 0; k < 2; k++) {
			int64_t seen;
			if (!cand[k] || !pkg_imap_get(&ids, cand[k], 0, &seen) || seen != 1)
				continue;
			pkg_imap_put(&ids, cand[k], 0, 2, e); /* exists: no allocation */
			sorted[ns++] = cand[k];
		}
	}
	pkg_imap_free(&ids);
	for (size_t i = 1; i < ns; i++) { /* insertion sort: decks are few */
		int64_t v = sorted[i];
		size_t j = i;
		for (; j > 0 && sorted[j - 1] > v; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = v;
	}
	for (size_t i = 0; i < ns && !s; i++)
		s = add_deck(c, d, &cap, sorted[i], e);
	free(sorted);
	/* then every existing ancestor of those decks */
	size_t nbase = d->ndecks;
	for (size_t i = 0; i < nbase && !s; i++) {
		char *name = strdup(d->decks[i].name ? d->decks[i].name : "");
		if (!name)
			s = errinfo_set(e, ST_NOMEM, "out of memory");
		for (char *sep; !s && name && (sep = strrchr(name, '\x1f'));) {
			*sep = '\0';
			int64_t pid;
			s = deck_by_name(c, name, strlen(name), &pid, e);
			if (!s && pid)
				s = add_deck(c, d, &cap, pid, e);
		}
		free(name);
	}
	if (!s && skip_default) {
		for (size_t i = 0; i < d->ndecks; i++) {
			if (d->decks[i].id != 1)
				continue;
			deck_free(&d->decks[i]);
			memmove(&d->decks[i], &d->decks[i + 1],
			        (d->ndecks - i - 1) * sizeof *d->decks);
			d->ndecks--;
			break;
		}
	}
	return s;
}

static enum status gather_notetypes(struct col *c, struct pkg_data *d, struct errinfo *e)
{
	struct pkg_imap seen = {0};
	size_t cap = 0;
	enum status s = ST_OK;
	/* notes are in id order; notetypes are listed by id too */
	int64_t *mids = NULL;
	size_t nm = 0, mcap = 0;
	for (size_t i = 0; i < d->nnotes && !s; i++) {
		if (pkg_imap_get(&seen, d->notes[i].mid, 0, NULL))
			continue;
		s = pkg_imap_put(&seen, d->notes[i].mid, 0, 1, e);
		if (!s)
			s = grow((void **)&mids, nm, &mcap, sizeof *mids, e);
		if (!s)
			mids[nm++] = d->notes[i].mid;
	}
	pkg_imap_free(&seen);
	for (size_t i = 1; i < nm; i++) {
		int64_t v = mids[i];
		size_t j = i;
		for (; j > 0 && mids[j - 1] > v; j--)
			mids[j] = mids[j - 1];
		mids[j] = v;
	}
	for (size_t i = 0; i < nm && !s; i++) {
		struct notetype nt;
		s = col_load_notetype(c, mids[i], &nt, e);
		if (s == ST_NOTFOUND)
			s = errinfo_set(e, ST_CORRUPT, "notes use notetype %lld, which is missing",
			                (long long)mids[i]);
		if (s)
			break;
		if ((s = grow((void **)&d->notetypes, d->nnotetypes, &cap, sizeof *d->notetypes,
		              e))) {
			notetype_free(&nt);
			break;
		}
		d->notetypes[d->nnotetypes++] = nt;
	}
	free(mids);
	return s;
}

static enum status gather_deckconfs(struct col *c, struct pkg_data *d, bool with_scheduling,
                                    struct errinfo *e)
{
	size_t cap = 0;
	enum status s = ST_OK;
	for (size_t i = 0; i < d->ndecks && !s; i++) {
		if (d->decks[i].kind.type != DECK_KIND_NORMAL)
			continue;
		int64_t cid = d->decks[i].kind.normal.config_id;
		bool dup = false;
		for (size_t k = 0; k < d->ndeckconfs; k++)
			dup = dup || d->deckconfs[k].id == cid;
		if (dup)
			continue;
		struct deckconf dc;
		s = col_load_deckconf(c, cid, &dc, e);
		if (s == ST_NOTFOUND) { /* Check Database would point the deck at preset 1 */
			s = ST_OK;
			continue;
		}
		if (s)
			break;
		if (!with_scheduling) {
			f32_list_free(&dc.cfg.fsrs_params_4);
			f32_list_free(&dc.cfg.fsrs_params_5);
			f32_list_free(&dc.cfg.fsrs_params_6);
		}
		if ((s = grow((void **)&d->deckconfs, d->ndeckconfs, &cap, sizeof *d->deckconfs,
		              e))) {
			deckconf_free(&dc);
			break;
		}
		d->deckconfs[d->ndeckconfs++] = dc;
	}
	return s;
}

/* ---- resets (export/import without scheduling) --------------------------- */

static bool is_system_tag(const char *t, size_t n)
{
	return (n == 6 && strncasecmp(t, "marked", 6) == 0) ||
	       (n == 5 && strncasecmp(t, "leech", 5) == 0);
}

static enum status remove_system_tags(struct note *n, struct errinfo *e)
{
	const char *t = n->tags ? n->tags : "";
	struct buf out;
	buf_init(&out, 0);
	enum status s = ST_OK;
	bool any = false, dropped = false;
	for (size_t i = 0; t[i] && !s;) {
		size_t adv;
		if (tags_is_separator(t + i, strlen(t + i), &adv)) {
			i += adv;
			continue;
		}
		size_t j = i;
		while (t[j] && !tags_is_separator(t + j, strlen(t + j), &adv))
			j++;
		if (is_system_tag(t + i, j - i)) {
			dropped = true;
		} else {
			s = buf_append(&out, " ", 1, e);
			if (!s)
				s = buf_append(&out, t + i, j - i, e);
			any = true;
		}
		i = j;
	}
	if (!s && any)
		s = buf_append(&out, " ", 1, e);
	if (!s && dropped) {
		free(n->tags);
		n->tags = out.data ? (char *)buf_steal(&out, NULL) : strdup("");
		if (!n->tags)
			s = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	buf_free(&out);
	return s;
}

/* Card data without the keys schedule_as_new clears ("pos", FSRS "s"
 * and "d"); *pos gets "pos" when it is a valid u32. */
static enum status data_reset(struct card *cd, bool *has_pos, int64_t *pos, struct errinfo *e)
{
	*has_pos = false;
	json_t *j = json_loads(cd->data ? cd->data : "", 0, NULL);
	if (!json_is_object(j)) { /* unreadable data reads as empty in Anki */
		json_decref(j);
		free(cd->data);
		cd->data = strdup("{}");
		return cd->data ? ST_OK : errinfo_set(e, ST_NOMEM, "out of memory");
	}
	json_t *p = json_object_get(j, "pos");
	if (json_is_integer(p) && json_integer_value(p) >= 0 &&
	    json_integer_value(p) <= UINT32_MAX) {
		*has_pos = true;
		*pos = json_integer_value(p);
	}
	json_object_del(j, "pos");
	json_object_del(j, "s");
	json_object_del(j, "d");
	char *txt = col_json_dumps(j);
	json_decref(j);
	if (!txt)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	free(cd->data);
	cd->data = txt;
	return ST_OK;
}

static enum status reset_cards(struct col *c, struct pkg_data *d, struct errinfo *e)
{
	json_t *np = NULL;
	int64_t position = 0;
	if (col_config_get(c, "nextPos", &np, NULL) == ST_OK && json_is_integer(np))
		position = json_integer_value(np) & 0xffffffff;
	json_decref(np);
	for (size_t i = 0; i < d->ncards; i++) {
		struct card *cd = &d->cards[i];
		int64_t saved_did = cd->did;
		bool has_pos;
		int64_t pos;
		enum status s = data_reset(cd, &has_pos, &pos, e);
		if (s)
			return s;
		bool last = false;
		int64_t last_pos = 0;
		if (cd->type == 0) {
			last = true;
			last_pos = cd->odid ? cd->odue : cd->due;
		} else if (has_pos) {
			last = true;
			last_pos = pos;
		}
		if (cd->odid) {
			cd->did = cd->odid;
			cd->odid = 0;
			cd->odue = 0;
		}
		cd->due = (int32_t)(uint32_t)(last ? last_pos : position);
		if (!last)
			position++;
		cd->type = 0;
		cd->queue = 0;
		cd->ivl = 0;
		cd->factor = 0;
		cd->reps = 0;
		cd->lapses = 0;
		cd->flags = 0;
		cd->did = saved_did; /* stays in its deck, which becomes a normal one */
	}
	return ST_OK;
}

static void restore_queue_from_type(struct card *cd)
{
	if (cd->type == 1 || cd->type == 3)
		cd->queue = cd->due > 1000000000 ? 1 : 3;
	else if (cd->type == 0)
		cd->queue = 0;
	else
		cd->queue = 2;
}

static void restore_cards_from_filtered(struct pkg_data *d)
{
	for (size_t i = 0; i < d->ncards; i++) {
		struct card *cd = &d->cards[i];
		if (!cd->odid)
			continue;
		/* the filtered deck itself becomes a normal deck holding the card */
		cd->odid = 0;
		if (cd->odue)
			cd->due = cd->odue;
		if (cd->queue >= 0)
			restore_queue_from_type(cd);
		cd->odue = 0;
	}
}

static const struct deck *find_deck(const struct pkg_data *d, int64_t id)
{
	for (size_t i = 0; i < d->ndecks; i++)
		if (d->decks[i].id == id)
			return &d->decks[i];
	return NULL;
}

static bool enables_filtered_decks(const struct pkg_data *d)
{
	for (size_t i = 0; i < d->ncards; i++) {
		const struct card *cd = &d->cards[i];
		const struct deck *dk = find_deck(d, cd->did);
		bool normal = cd->odid == 0 && dk && dk->kind.type != DECK_KIND_FILTERED;
		bool orig = cd->odid == 1 || (cd->odid && find_deck(d, cd->odid));
		if (!normal && !orig)
			return false;
	}
	return true;
}

static void reset_decks(struct pkg_data *d, bool reset_config_ids, bool reset_study,
                        bool allow_filtered)
{
	for (size_t i = 0; i < d->ndecks; i++) {
		struct deck *dk = &d->decks[i];
		if (reset_study)
			deck_common_free(&dk->common);
		if (dk->kind.type == DECK_KIND_NORMAL) {
			struct deck_normal *n = &dk->kind.normal;
			if (reset_config_ids)
				n->config_id = 1;
			if (reset_study) {
				n->extend_new = n->extend_review = 0;
				n->has_review_limit = n->has_new_limit = false;
				n->has_review_limit_today = n->has_new_limit_today = false;
				deck_day_limit_free(&n->review_limit_today);
				deck_day_limit_free(&n->new_limit_today);
			}
		} else if (dk->kind.type == DECK_KIND_FILTERED &&
		           (reset_study || !allow_filtered)) {
			deck_kind_free(&dk->kind);
			dk->kind.type = DECK_KIND_NORMAL;
			dk->kind.normal.config_id = 1;
		}
	}
}

static enum status check_ids(const struct pkg_data *d, struct errinfo *e)
{
	int64_t tomorrow = col_now_ms() + 86400000;
	for (size_t i = 0; i < d->nnotes; i++)
		if (d->notes[i].id > tomorrow)
			return errinfo_set(
			    e, ST_INVALID,
			    "note %lld has an id in the future; run Check Database first",
			    (long long)d->notes[i].id);
	for (size_t i = 0; i < d->ncards; i++)
		if (d->cards[i].id > tomorrow)
			return errinfo_set(
			    e, ST_INVALID,
			    "card %lld has an id in the future; run Check Database first",
			    (long long)d->cards[i].id);
	for (size_t i = 0; i < d->nrevlog; i++)
		if (d->revlog[i].id > tomorrow)
			return errinfo_set(
			    e, ST_INVALID,
			    "a review log entry has an id in the future; run Check Database first");
	return ST_OK;
}

enum status pkg_gather(struct col *c, const int64_t *dids, size_t ndids, bool with_scheduling,
                       bool with_deck_configs, struct pkg_data *d, struct errinfo *e)
{
	memset(d, 0, sizeof *d);
	sqlite3 *db = col_db(c);
	struct buf json;
	buf_init(&json, 0);
	enum status s = ST_OK;
	const char *sel = sel_all, *js = NULL;
	if (dids) {
		s = buf_append(&json, "[", 1, e);
		for (size_t i = 0; i < ndids && !s; i++)
			s = buf_printf(&json, e, "%s%lld", i ? "," : "", (long long)dids[i]);
		if (!s)
			s = buf_append(&json, "]", 1, e);
		sel = sel_decks;
		js = (const char *)json.data;
	}
	struct sched_timing tm = {0};
	struct col_meta meta = {0};
	if (!s)
		s = col_sched_today(c, &tm, e);
	if (!s)
		s = col_meta_get(c, &meta, e);
	if (!s) {
		d->days_elapsed = tm.days_elapsed;
		d->crt = meta.crt;
		json_t *off = NULL;
		if (col_config_get(c, "creationOffset", &off, NULL) == ST_OK &&
		    json_is_integer(off)) {
			d->has_creation_offset = true;
			d->creation_offset = json_integer_value(off);
		}
		json_decref(off);
	}
	if (!s)
		s = read_notes(db, sel, js, d, e);
	if (!s)
		s = read_cards(db, sel, js, d, e);
	if (!s)
		s = gather_decks(c, d, with_scheduling, !with_scheduling, e);
	if (!s)
		s = gather_notetypes(c, d, e);
	bool allow_filtered = !s && enables_filtered_decks(d);
	if (!s && with_scheduling) {
		s = read_revlog(db, sel, js, d, e);
		if (!allow_filtered)
			restore_cards_from_filtered(d);
	} else if (!s) {
		for (size_t i = 0; i < d->nnotes && !s; i++)
			s = remove_system_tags(&d->notes[i], e);
		if (!s)
			s = reset_cards(c, d, e);
	}
	if (!s && with_deck_configs)
		s = gather_deckconfs(c, d, with_scheduling, e);
	if (!s)
		reset_decks(d, !with_deck_configs, !with_scheduling, allow_filtered);
	if (!s)
		s = check_ids(d, e);
	buf_free(&json);
	if (s)
		pkg_data_free(d);
	return s;
}

/* ---- invalid ids ------------------------------------------------------- */

static enum status exec1(sqlite3 *db, const char *sql, int64_t a, int64_t b, struct errinfo *e)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, a);
		sqlite3_bind_int64(st, 2, b);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ST_OK : col_sqlite_err(db, rc, e, "renumbering ids");
}

enum status pkg_fix_invalid_ids(struct col *c, struct errinfo *e)
{
	static const struct {
		const char *table, *child, *col;
	} t[] = {{"notes", "cards", "nid"}, {"cards", "revlog", "cid"}, {"revlog", NULL, NULL}};
	sqlite3 *db = col_db(c);
	int64_t now = col_now_ms(), cutoff = now + 86400000;
	for (size_t k = 0; k < 3; k++) {
		char sql[160];
		snprintf(sql, sizeof sql, "select id from %s where id > ?1 order by id",
		         t[k].table);
		sqlite3_stmt *st;
		int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
		if (rc != SQLITE_OK)
			return col_sqlite_err(db, rc, e, "checking ids");
		sqlite3_bind_int64(st, 1, cutoff);
		int64_t *bad = NULL;
		size_t nb = 0, cap = 0;
		enum status s = ST_OK;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW && !s) {
			s = grow((void **)&bad, nb, &cap, sizeof *bad, e);
			if (!s && bad)
				bad[nb++] = sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
		if (!s && rc != SQLITE_DONE && rc != SQLITE_ROW)
			s = col_sqlite_err(db, rc, e, "checking ids");
		/* new ids from now on (or after the largest valid id), skipping
		 * taken ones */
		int64_t next = now;
		snprintf(sql, sizeof sql, "select coalesce(max(id), 0) from %s where id <= ?1",
		         t[k].table);
		if (!s && nb && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, cutoff);
			if (sqlite3_step(st) == SQLITE_ROW &&
			    sqlite3_column_int64(st, 0) + 1 > next)
				next = sqlite3_column_int64(st, 0) + 1;
			sqlite3_finalize(st);
		}
		for (size_t i = 0; i < nb && !s; i++) {
			int64_t id;
			s = col_alloc_id(c, t[k].table, next, &id, e);
			if (s)
				break;
			snprintf(sql, sizeof sql, "update %s set id = ?2 where id = ?1",
			         t[k].table);
			s = exec1(db, sql, bad[i], id, e);
			if (!s && t[k].child) {
				snprintf(sql, sizeof sql, "update %s set %s = ?2 where %s = ?1",
				         t[k].child, t[k].col, t[k].col);
				s = exec1(db, sql, bad[i], id, e);
			}
			next = id + 1;
		}
		free(bad);
		if (s)
			return s;
	}
	return ST_OK;
}

/* ---- raw writers ---------------------------------------------------------- */

enum { RW_NOTE, RW_CARD, RW_CARD_IGN, RW_REV, RW_REV_IGN };

static const char *const rw_sql[] = {
    "insert or replace into notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data)"
    " values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, '')",
    "insert or replace into cards (id, nid, did, ord, mod, usn, type, queue, due, ivl, factor,"
    " reps, lapses, left, odue, odid, flags, data) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
    " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    "insert or ignore into cards (id, nid, did, ord, mod, usn, type, queue, due, ivl, factor,"
    " reps, lapses, left, odue, odid, flags, data) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
    " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    "insert or replace into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type)"
    " values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    "insert or ignore into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type)"
    " values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
};

void pkg_rw_init(struct pkg_rw *w, struct col *c)
{
	memset(w, 0, sizeof *w);
	w->db = col_db(c);
}

void pkg_rw_free(struct pkg_rw *w)
{
	for (size_t i = 0; i < sizeof w->st / sizeof w->st[0]; i++)
		sqlite3_finalize(w->st[i]);
	memset(w, 0, sizeof *w);
}

static enum status rw_stmt(struct pkg_rw *w, int k, sqlite3_stmt **out, struct errinfo *e)
{
	if (!w->st[k]) {
		int rc = sqlite3_prepare_v2(w->db, rw_sql[k], -1, &w->st[k], NULL);
		if (rc != SQLITE_OK)
			return col_sqlite_err(w->db, rc, e, "preparing a row writer");
	}
	*out = w->st[k];
	return ST_OK;
}

static enum status rw_run(struct pkg_rw *w, sqlite3_stmt *st, bool *added, struct errinfo *e,
                          const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return col_sqlite_err(w->db, rc, e, what);
	if (added)
		*added = sqlite3_changes(w->db) > 0;
	return ST_OK;
}

enum status pkg_write_note_raw(struct pkg_rw *w, const struct note *n, struct errinfo *e)
{
	sqlite3_stmt *st = NULL;
	enum status s = rw_stmt(w, RW_NOTE, &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, n->id);
	sqlite3_bind_text(st, 2, n->guid ? n->guid : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n->mid);
	sqlite3_bind_int64(st, 4, n->mod);
	sqlite3_bind_int(st, 5, n->usn);
	sqlite3_bind_text(st, 6, n->tags ? n->tags : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, n->flds ? n->flds : "", -1, SQLITE_STATIC);
	/* text into the integer-affinity column, as Anki binds it */
	sqlite3_bind_text(st, 8, n->sfld ? n->sfld : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, (int64_t)n->csum);
	return rw_run(w, st, NULL, e, "writing a note");
}

enum status pkg_write_card_raw(struct pkg_rw *w, const struct card *cd, bool ignore, bool *added,
                               struct errinfo *e)
{
	sqlite3_stmt *st = NULL;
	enum status s = rw_stmt(w, ignore ? RW_CARD_IGN : RW_CARD, &st, e);
	if (s)
		return s;
	const int64_t v[] = {cd->id,     cd->nid,   cd->did,  cd->ord,  cd->mod,    cd->usn,
	                     cd->type,   cd->queue, cd->due,  cd->ivl,  cd->factor, cd->reps,
	                     cd->lapses, cd->left,  cd->odue, cd->odid, cd->flags};
	for (int i = 0; i < 17; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	sqlite3_bind_text(st, 18, cd->data ? cd->data : "{}", -1, SQLITE_STATIC);
	return rw_run(w, st, added, e, "writing a card");
}

enum status pkg_write_revlog_raw(struct pkg_rw *w, const struct revlog_entry *r, bool ignore,
                                 bool *added, struct errinfo *e)
{
	sqlite3_stmt *st = NULL;
	enum status s = rw_stmt(w, ignore ? RW_REV_IGN : RW_REV, &st, e);
	if (s)
		return s;
	const int64_t v[] = {r->id,       r->cid,    r->usn,  r->ease, r->ivl,
	                     r->last_ivl, r->factor, r->time, r->type};
	for (int i = 0; i < 9; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	return rw_run(w, st, added, e, "writing a review log entry");
}
