/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search_fsrs.c - extract_fsrs_retrievability for prop:r (search-syntax.md
 * §4.14, §6), with the argument rules of Anki's storage/sqlite.rs:
 *
 *   NULL unless data is non-empty text and due and now are integers;
 *   elapsed seconds: now - lrt when the card data has "lrt"; otherwise
 *   from due - ivl (due > 365000: a timestamp in seconds; else a day
 *   number, elapsed = (today - (due - ivl)) days); every difference is
 *   taken on the values truncated to u32 and saturates at 0, as Anki's
 *   `(x as u32).saturating_sub(y as u32)` does;
 *   decay = data "decay" or 0.5 (FSRS-4.5/5); NULL without both "s" and
 *   "d".
 *
 * cards.data is read as serde reads CardData: an object (or an array in
 * field order pos, s, d, dr, decay, lrt, cd); numbers of the wrong type
 * are absent on their own; unparsable JSON or a non-string "cd" makes
 * every field absent.
 */
#include "search_fsrs.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FSRS_DEFAULT_DECAY 0.5f

struct fsrs_data {
	bool has_s, has_d, has_decay, has_lrt;
	float s, d, decay;
	int64_t lrt;
};

static bool num_f32(json_t *v, float *out)
{
	if (!json_is_number(v))
		return false;
	*out = json_is_integer(v) ? (float)json_integer_value(v) : (float)json_real_value(v);
	return true;
}

/* field k in CardData order; false rejects the whole record */
static bool take(struct fsrs_data *d, int k, json_t *v)
{
	switch (k) {
	case 1:
		d->has_s = num_f32(v, &d->s);
		break;
	case 2:
		d->has_d = num_f32(v, &d->d);
		break;
	case 4:
		d->has_decay = num_f32(v, &d->decay);
		break;
	case 5:
		if ((d->has_lrt = json_is_integer(v)))
			d->lrt = json_integer_value(v);
		break;
	case 6:
		return json_is_string(v);
	default:
		break;
	}
	return true;
}

static void parse(const char *s, size_t n, struct fsrs_data *d)
{
	static const char *const names[] = {"pos", "s", "d", "dr", "decay", "lrt", "cd"};
	memset(d, 0, sizeof *d);
	json_error_t err;
	json_t *root = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	bool ok = root != NULL;
	if (ok && json_is_object(root)) {
		for (int k = 0; k < 7 && ok; k++) {
			json_t *v = json_object_get(root, names[k]);
			if (v)
				ok = take(d, k, v);
		}
	} else if (ok && json_is_array(root) && json_array_size(root) <= 7) {
		for (size_t k = 0; k < json_array_size(root) && ok; k++)
			ok = take(d, (int)k, json_array_get(root, k));
	} else {
		ok = false;
	}
	json_decref(root);
	if (!ok)
		memset(d, 0, sizeof *d);
}

static uint32_t sat_sub(uint32_t a, uint32_t b)
{
	return a > b ? a - b : 0;
}

float search_fsrs_retrievability(float stability, float days_elapsed, float decay)
{
	float factor = powf(0.9f, 1.0f / -decay) - 1.0f;
	return powf(days_elapsed / stability * factor + 1.0f, -decay);
}

static void fn_retrievability(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) != SQLITE_TEXT || sqlite3_value_bytes(argv[0]) == 0 ||
	    sqlite3_value_type(argv[1]) != SQLITE_INTEGER ||
	    sqlite3_value_type(argv[5]) != SQLITE_INTEGER) {
		sqlite3_result_null(ctx);
		return;
	}
	struct fsrs_data d;
	parse((const char *)sqlite3_value_text(argv[0]), (size_t)sqlite3_value_bytes(argv[0]), &d);
	int64_t due = sqlite3_value_int64(argv[1]), now = sqlite3_value_int64(argv[5]);
	uint32_t secs;
	if (d.has_lrt) {
		secs = sat_sub((uint32_t)now, (uint32_t)d.lrt);
	} else if (sqlite3_value_type(argv[2]) != SQLITE_INTEGER) {
		sqlite3_result_null(ctx);
		return;
	} else if (due > 365000) {
		uint32_t last = sat_sub((uint32_t)due, (uint32_t)sqlite3_value_int64(argv[2]));
		secs = sat_sub((uint32_t)now, last);
	} else if (sqlite3_value_type(argv[3]) != SQLITE_INTEGER) {
		sqlite3_result_null(ctx);
		return;
	} else {
		uint32_t day = sat_sub((uint32_t)due, (uint32_t)sqlite3_value_int64(argv[2]));
		/* u32 arithmetic wraps, as in Anki's release build */
		secs = sat_sub((uint32_t)sqlite3_value_int64(argv[3]), day) * 86400u;
	}
	if (!d.has_s || !d.has_d) {
		sqlite3_result_null(ctx);
		return;
	}
	float decay = d.has_decay ? d.decay : FSRS_DEFAULT_DECAY;
	float r = search_fsrs_retrievability(d.s, (float)secs / 86400.0f, decay);
	if (isnan(r))
		sqlite3_result_null(ctx);
	else
		sqlite3_result_double(ctx, (double)r);
}

enum status search_fsrs_ensure(sqlite3 *db, struct errinfo *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "select extract_fsrs_retrievability('', 0, 0, 0, 0, 0)", -1,
	                            &st, NULL);
	sqlite3_finalize(st);
	if (rc == SQLITE_OK)
		return ST_OK;
	rc = sqlite3_create_function_v2(db, "extract_fsrs_retrievability", 6,
	                                SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, fn_retrievability,
	                                NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return errinfo_set(e, ST_DB, "registering extract_fsrs_retrievability: %s",
		                   sqlite3_errmsg(db));
	return ST_OK;
}
