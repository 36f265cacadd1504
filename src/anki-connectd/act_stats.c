/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * act_stats.c - statistics actions (ankiconnect.md §3.8) on the review
 * log: counts for today and per day (the scheduler day of search_day.h),
 * rows per deck or card, and inserting rows (bound parameters, one
 * transaction: a duplicate id inserts nothing).
 */
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "col_decks.h"
#include "col_store.h"
#include "search_day.h"

enum status act_num_reviewed_today(struct ac_call *k)
{
	struct sched_timing t;
	struct errinfo e;
	if (col_sched_today(k->c, &t, &e))
		return ac_fail_err(k, &e);
	int64_t arg = (t.next_day_at - 86400) * 1000;
	int64_t *v = NULL;
	size_t n = 0;
	if (col_query_ids(k->c, "select count() from revlog where id > ?1", &arg, 1, &v, &n, &e))
		return ac_fail_err(k, &e);
	json_t *r = json_integer(n ? v[0] : 0);
	free(v);
	return ac_ok(k, r);
}

enum status act_num_reviewed_by_day(struct ac_call *k)
{
	json_t *ro = NULL;
	int64_t rollover = 4;
	if (col_config_get(k->c, "rollover", &ro, NULL) == ST_OK) {
		if (json_is_integer(ro) && json_integer_value(ro) >= 0 &&
		    json_integer_value(ro) < 24)
			rollover = json_integer_value(ro);
		json_decref(ro);
	}
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(
	        col_db(k->c),
	        "select date(id / 1000 - ?1, 'unixepoch', 'localtime') as day, count() "
	        "from revlog group by day order by day desc",
	        -1, &q, NULL))
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	sqlite3_bind_int64(q, 1, rollover * 3600);
	json_t *out = json_array();
	while (out && sqlite3_step(q) == SQLITE_ROW)
		json_array_append_new(out,
		                      json_pack("[s,I]", (const char *)sqlite3_column_text(q, 0),
		                                (json_int_t)sqlite3_column_int64(q, 1)));
	sqlite3_finalize(q);
	return ac_ok(k, out);
}

/* The deck parameter, created when missing (AnkiConnect's decks.id()). */
static enum status deck_id(struct ac_call *k, int64_t *did)
{
	json_t *d = json_object_get(k->params, "deck");
	if (!json_is_string(d))
		return ac_fail(k, "deck name must be a string, not %s", ac_pytype(d));
	struct errinfo e;
	if (col_decks_get_or_create(k->c, json_string_value(d), did, NULL, &e))
		return ac_fail_err(k, &e);
	return ST_OK;
}

static json_t *row_array(sqlite3_stmt *q)
{
	json_t *row = json_array();
	for (int i = 0; row && i < 9; i++)
		json_array_append_new(row, json_integer(sqlite3_column_int64(q, i)));
	return row;
}

enum status act_card_reviews(struct ac_call *k)
{
	int64_t did = 0, start = 0;
	if (deck_id(k, &did))
		return ST_INVALID;
	if (!ac_int(json_object_get(k->params, "startID"), &start))
		return ac_fail(k, "startID must be an integer");
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(
	        col_db(k->c),
	        "select id, cid, usn, ease, ivl, lastIvl, factor, time, type from revlog "
	        "where id > ?1 and cid in (select id from cards where did = ?2)",
	        -1, &q, NULL))
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	sqlite3_bind_int64(q, 1, start);
	sqlite3_bind_int64(q, 2, did);
	json_t *out = json_array();
	while (out && sqlite3_step(q) == SQLITE_ROW)
		json_array_append_new(out, row_array(q));
	sqlite3_finalize(q);
	return ac_ok(k, out);
}

enum status act_get_latest_review_id(struct ac_call *k)
{
	int64_t did;
	if (deck_id(k, &did))
		return ST_INVALID;
	int64_t *v = NULL;
	size_t n = 0;
	struct errinfo e;
	if (col_query_ids(
	        k->c,
	        "select coalesce(max(id), 0) from revlog where cid in (select id from cards "
	        "where did = ?1)",
	        &did, 1, &v, &n, &e))
		return ac_fail_err(k, &e);
	json_t *r = json_integer(n ? v[0] : 0);
	free(v);
	return ac_ok(k, r);
}

enum status act_get_reviews_of_cards(struct ac_call *k)
{
	json_t *cards = json_object_get(k->params, "cards");
	if (!json_is_array(cards))
		return ac_fail(k, "'%s' object is not iterable", ac_pytype(cards));
	static const char *const cols[] = {"id",      "usn",    "ease", "ivl",
	                                   "lastIvl", "factor", "time", "type"};
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(col_db(k->c),
	                       "select id, usn, ease, ivl, lastIvl, factor, time, type from revlog "
	                       "where cid = ?1 order by id",
	                       -1, &q, NULL))
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	json_t *out = json_object();
	for (size_t i = 0; out && i < json_array_size(cards); i++) {
		const json_t *c = json_array_get(cards, i);
		char key[64];
		json_t *rows = json_array();
		if (json_is_integer(c)) {
			snprintf(key, sizeof key, "%lld", (long long)json_integer_value(c));
			sqlite3_reset(q);
			sqlite3_bind_int64(q, 1, json_integer_value(c));
			while (rows && sqlite3_step(q) == SQLITE_ROW) {
				json_t *r = json_object();
				for (int j = 0; r && j < 8; j++)
					json_object_set_new(
					    r, cols[j], json_integer(sqlite3_column_int64(q, j)));
				json_array_append_new(rows, r);
			}
		} else if (json_is_string(c)) {
			/* looked up by integer id in AnkiConnect 25: strings find nothing */
			snprintf(key, sizeof key, "%s", json_string_value(c));
		} else {
			continue;
		}
		json_object_set_new(out, key, rows);
	}
	sqlite3_finalize(q);
	return ac_ok(k, out);
}

enum status act_insert_reviews(struct ac_call *k)
{
	json_t *reviews = json_object_get(k->params, "reviews");
	if (!json_is_array(reviews))
		return ac_fail(k, "object of type '%s' has no len()", ac_pytype(reviews));
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(
	        col_db(k->c),
	        "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, "
	        "type) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	        -1, &q, NULL))
		return ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	enum status st = ST_OK;
	for (size_t i = 0; !st && i < json_array_size(reviews); i++) {
		const json_t *row = json_array_get(reviews, i);
		if (!json_is_array(row) || json_array_size(row) != 9) {
			st = ac_fail(
			    k,
			    "each review must be a list of 9 integers: [id, cid, usn, ease, ivl, "
			    "lastIvl, factor, time, type]");
			break;
		}
		sqlite3_reset(q);
		for (int j = 0; j < 9; j++) {
			int64_t v;
			if (!ac_int(json_array_get(row, (size_t)j), &v)) {
				st = ac_fail(k, "each review must be a list of 9 integers");
				break;
			}
			sqlite3_bind_int64(q, j + 1, v);
		}
		if (!st && sqlite3_step(q) != SQLITE_DONE)
			st = ac_fail(k, "%s", sqlite3_errmsg(col_db(k->c)));
	}
	sqlite3_finalize(q);
	return st ? st : ac_ok(k, json_null());
}
