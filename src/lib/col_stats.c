/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_stats.c - the figures of Anki's legacy statistics report
 * (ankiconnect.md §3.8 getCollectionStatsHTML; what each figure counts
 * follows Anki's pylib CollectionStats with the one-month period,
 * described in col_stats.h).
 *
 * Every figure is one aggregate SQL statement over cards or revlog; the
 * scope is bound as a JSON array of deck ids (json_each), so a reader
 * connection needs no temporary table.  Day indexes are computed from
 * millisecond ids against the next rollover in integer arithmetic, which
 * gives the same partition as Anki's float expression.
 *
 * The HTML rendering is in col_stats_html.c.
 */
#include "col_stats.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "col_decks.h"
#include "col_store.h"
#include "render_html.h"
#include "search_day.h"

/* Scope filters.  ?1 = JSON array of deck ids, ?2 = 1 for the whole
 * collection (revlog unfiltered, as Anki: rows of deleted cards count). */
#define CARDS_IN "did in (select value from json_each(?1))"
#define REVLOG_IN                                                                                  \
	"(?2 or cid in (select id from cards where did in (select value from json_each(?1))))"

struct query {
	struct col *c;
	const char *ids; /* the JSON deck list */
	bool whole;
};

/* Prepare sql with the scope bound and ?3.. set from args. */
static enum status prep(const struct query *q, const char *sql, const int64_t *args, int nargs,
                        sqlite3_stmt **st, struct errinfo *e)
{
	sqlite3 *db = col_db(q->c);
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(db, rc, e, "statistics");
	sqlite3_bind_text(*st, 1, q->ids, -1, SQLITE_STATIC);
	sqlite3_bind_int(*st, 2, q->whole ? 1 : 0);
	for (int i = 0; i < nargs; i++)
		sqlite3_bind_int64(*st, 3 + i, args[i]);
	return ST_OK;
}

static enum status step_done(const struct query *q, sqlite3_stmt *st, int rc, struct errinfo *e)
{
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return col_sqlite_err(col_db(q->c), rc, e, "statistics");
	return ST_OK;
}

/* One row of integers into out[0..n) (NULL -> 0). */
static enum status one_row(const struct query *q, const char *sql, const int64_t *args, int nargs,
                           int64_t *out, int n, struct errinfo *e)
{
	sqlite3_stmt *st;
	enum status s = prep(q, sql, args, nargs, &st, e);
	if (s)
		return s;
	int rc = sqlite3_step(st);
	for (int i = 0; i < n; i++)
		out[i] = rc == SQLITE_ROW ? sqlite3_column_int64(st, i) : 0;
	return step_done(q, st, rc, e);
}

static int64_t clamp_day(int64_t d)
{
	return d < 0 ? 0 : d >= COL_STATS_DAYS ? COL_STATS_DAYS - 1 : d;
}

static enum status get_today(const struct query *q, struct col_stats *s, struct errinfo *e)
{
	int64_t start = (s->next_day_at - 86400) * 1000;
	int64_t v[7];
	enum status st =
	    one_row(q,
	            "select count(), coalesce(sum(time), 0) / 1000, coalesce(sum(ease = 1), 0), "
	            "coalesce(sum(type = 0), 0), coalesce(sum(type = 1), 0), "
	            "coalesce(sum(type = 2), 0), coalesce(sum(type = 3), 0) "
	            "from revlog where type != 4 and id > ?3 and " REVLOG_IN,
	            &start, 1, v, 7, e);
	if (st)
		return st;
	s->td.cards = v[0];
	s->td.secs = v[1];
	s->td.again = v[2];
	s->td.learn = v[3];
	s->td.review = v[4];
	s->td.relearn = v[5];
	s->td.filtered = v[6];
	/* Anki does not leave out type 4 here */
	st = one_row(q,
	             "select count(), coalesce(sum(ease != 1), 0) from revlog "
	             "where lastIvl >= 21 and id > ?3 and " REVLOG_IN,
	             &start, 1, v, 2, e);
	s->td.mature = v[0];
	s->td.mature_correct = v[1];
	return st;
}

static enum status get_forecast(const struct query *q, struct col_stats *s, struct errinfo *e)
{
	int64_t today = s->today;
	sqlite3_stmt *st;
	enum status r =
	    prep(q,
	         "select due - ?3, coalesce(sum(ivl < 21), 0), coalesce(sum(ivl >= 21), 0) "
	         "from cards where " CARDS_IN " and queue in (2, 3) "
	         "and due >= ?3 and due < ?3 + 31 group by due",
	         &today, 1, &st, e);
	if (r)
		return r;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t d = sqlite3_column_int64(st, 0);
		if (d < 0 || d >= COL_STATS_DAYS)
			continue;
		s->due.young[d] += sqlite3_column_int64(st, 1);
		s->due.mature[d] += sqlite3_column_int64(st, 2);
	}
	if ((r = step_done(q, st, rc, e)))
		return r;
	for (int d = 0; d < COL_STATS_DAYS; d++) {
		int64_t n = s->due.young[d] + s->due.mature[d];
		s->due.total += n;
		s->due.days_due += n > 0;
	}
	int64_t v[2];
	r = one_row(q,
	            "select coalesce(sum(due < ?3), 0), coalesce(sum(due = ?3 + 1), 0) from cards "
	            "where " CARDS_IN " and queue in (2, 3)",
	            &today, 1, v, 2, e);
	s->due.overdue = v[0];
	s->due.tomorrow = v[1];
	return r;
}

static enum status get_reviews(const struct query *q, struct col_stats *s, struct errinfo *e)
{
	int64_t args[2] = {s->next_day_at * 1000,
	                   (s->next_day_at - 86400LL * COL_STATS_DAYS) * 1000};
	sqlite3_stmt *st;
	enum status r =
	    prep(q,
	         "select max(0, (?3 - id) / 86400000) as d, type, lastIvl >= 21, count(), "
	         "coalesce(sum(time), 0) from revlog where id > ?4 and " REVLOG_IN
	         " group by d, type, lastIvl >= 21",
	         args, 2, &st, e);
	if (r)
		return r;
	bool studied[COL_STATS_DAYS] = {false};
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t d = clamp_day(sqlite3_column_int64(st, 0));
		int64_t type = sqlite3_column_int64(st, 1);
		int64_t n = sqlite3_column_int64(st, 3), ms = sqlite3_column_int64(st, 4);
		/* any row makes a studied day, even the kinds not charted */
		studied[d] = true;
		int k;
		switch (type) {
		case 0:
			k = CS_LEARN;
			break;
		case 1:
			k = sqlite3_column_int64(st, 2) ? CS_MATURE : CS_YOUNG;
			break;
		case 2:
			k = CS_RELEARN;
			break;
		case 3:
			k = CS_CRAM;
			break;
		default:
			continue;
		}
		s->reps.count[d][k] += n;
		s->reps.ms[d][k] += ms;
		s->reps.total += n;
		s->reps.total_ms += ms;
	}
	if ((r = step_done(q, st, rc, e)))
		return r;
	for (int d = 0; d < COL_STATS_DAYS; d++)
		s->reps.days_studied += studied[d];
	return ST_OK;
}

static enum status get_added(const struct query *q, struct col_stats *s, struct errinfo *e)
{
	int64_t args[2] = {s->next_day_at * 1000,
	                   (s->next_day_at - 86400LL * COL_STATS_DAYS) * 1000};
	sqlite3_stmt *st;
	enum status r = prep(q,
	                     "select max(0, (?3 - id) / 86400000) as d, count() from cards "
	                     "where " CARDS_IN " and id > ?4 group by d",
	                     args, 2, &st, e);
	if (r)
		return r;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(st, 1);
		s->added[clamp_day(sqlite3_column_int64(st, 0))] += n;
		s->added_total += n;
	}
	return step_done(q, st, rc, e);
}

static enum status get_intervals(const struct query *q, struct col_stats *s, struct errinfo *e)
{
	sqlite3_stmt *st;
	enum status r = prep(q,
	                     "select ivl, count() from cards where " CARDS_IN
	                     " and queue = 2 and ivl between 0 and 31 group by ivl",
	                     NULL, 0, &st, e);
	if (r)
		return r;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t i = sqlite3_column_int64(st, 0);
		if (i >= 0 && i <= COL_STATS_IVL_MAX)
			s->ivl.hist[i] += sqlite3_column_int64(st, 1);
	}
	if ((r = step_done(q, st, rc, e)))
		return r;
	if ((r = prep(q,
	              "select count(), coalesce(avg(ivl), 0), coalesce(max(ivl), 0) from cards "
	              "where " CARDS_IN " and queue = 2",
	              NULL, 0, &st, e)))
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s->ivl.count = sqlite3_column_int64(st, 0);
		s->ivl.avg = sqlite3_column_double(st, 1);
		s->ivl.max = sqlite3_column_int64(st, 2);
	}
	return step_done(q, st, rc, e);
}

static enum status get_hours(const struct query *q, struct col_stats *s, struct errinfo *e)
{
	/* Anki takes the hour relative to (next rollover - rollover hours),
	 * i.e. local midnight for a v2 collection */
	int64_t args[2] = {s->next_day_at - s->rollover * 3600,
	                   (s->next_day_at - 86400LL * COL_STATS_DAYS) * 1000};
	sqlite3_stmt *st;
	enum status r =
	    prep(q,
	         "select ((id / 1000 - ?3) % 86400 + 86400) % 86400 / 3600 as h, count(), "
	         "coalesce(sum(ease != 1), 0) from revlog where type in (0, 1, 2) "
	         "and id > ?4 and " REVLOG_IN " group by h",
	         args, 2, &st, e);
	if (r)
		return r;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t h = sqlite3_column_int64(st, 0);
		if (h < 0 || h > 23)
			continue;
		s->hours.count[h] += sqlite3_column_int64(st, 1);
		s->hours.correct[h] += sqlite3_column_int64(st, 2);
	}
	return step_done(q, st, rc, e);
}

static enum status get_buttons(const struct query *q, struct col_stats *s, struct errinfo *e)
{
	int64_t start = (s->next_day_at - 86400LL * COL_STATS_DAYS) * 1000;
	sqlite3_stmt *st;
	enum status r = prep(q,
	                     "select case when type in (0, 2) then 0 when lastIvl < 21 then 1 "
	                     "else 2 end as cls, ease, count() from revlog where type != 4 "
	                     "and id > ?3 and " REVLOG_IN " group by cls, ease",
	                     &start, 1, &st, e);
	if (r)
		return r;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t cls = sqlite3_column_int64(st, 0), ease = sqlite3_column_int64(st, 1);
		int64_t n = sqlite3_column_int64(st, 2);
		if (cls < 0 || cls >= CS_NCLASSES)
			continue;
		if (ease >= 0 && ease <= 4)
			s->buttons.ease[cls][ease] += n;
		if (ease == 1)
			s->buttons.again[cls] += n;
		s->buttons.total[cls] += n;
	}
	return step_done(q, st, rc, e);
}

static enum status get_cards(const struct query *q, struct col_stats *s, struct errinfo *e)
{
	int64_t v[8];
	enum status r =
	    one_row(q,
	            "select coalesce(sum(queue = 2 and ivl >= 21), 0), coalesce(sum(queue = 2 and "
	            "ivl < 21), 0), "
	            "coalesce(sum(queue in (1, 3, 4)), 0), coalesce(sum(queue = 0), 0), "
	            "coalesce(sum(queue = -1), 0), coalesce(sum(queue in (-2, -3)), 0), count(), "
	            "count(distinct nid) from cards where " CARDS_IN,
	            NULL, 0, v, 8, e);
	if (r)
		return r;
	s->cards.mature = v[0];
	s->cards.young = v[1];
	s->cards.learning = v[2];
	s->cards.unseen = v[3];
	s->cards.suspended = v[4];
	s->cards.buried = v[5];
	s->cards.total = v[6];
	s->cards.notes = v[7];
	sqlite3_stmt *st;
	if ((r = prep(
	         q,
	         "select min(factor) / 10.0, avg(factor) / 10.0, max(factor) / 10.0 from cards "
	         "where " CARDS_IN " and queue = 2",
	         NULL, 0, &st, e)))
		return r;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		s->cards.ease_min = sqlite3_column_double(st, 0);
		s->cards.ease_avg = sqlite3_column_double(st, 1);
		s->cards.ease_max = sqlite3_column_double(st, 2);
		/* Anki prints the eases only when the lowest is non-zero */
		s->cards.have_ease = s->cards.ease_min != 0;
	}
	return step_done(q, st, rc, e);
}

/* The JSON array of deck ids in scope; for the deck scope also its name. */
static enum status scope_decks(struct col *c, struct col_stats *s, char **ids, struct errinfo *e)
{
	sqlite3 *db = col_db(c);
	if (s->whole) {
		sqlite3_stmt *st;
		int rc =
		    sqlite3_prepare_v2(db, "select json_group_array(id) from decks", -1, &st, NULL);
		if (rc != SQLITE_OK)
			return col_sqlite_err(db, rc, e, "listing decks");
		rc = sqlite3_step(st);
		const char *t = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
		*ids = strdup(t ? t : "[]");
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW)
			return col_sqlite_err(db, rc, e, "listing decks");
		s->scope = strdup("whole collection");
		if (!*ids || !s->scope)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		return ST_OK;
	}
	int64_t cur = 1;
	json_t *j = NULL;
	if (col_config_get(c, "curDeck", &j, NULL) == ST_OK) {
		if (json_is_integer(j))
			cur = json_integer_value(j);
		json_decref(j);
	}
	int64_t *v = NULL;
	size_t n = 0;
	struct errinfo tmp;
	enum status st = col_decks_with_children(c, cur, &v, &n, &tmp);
	if (st == ST_NOTFOUND && cur != 1) {
		cur = 1; /* a stale current deck: Anki falls back to Default */
		st = col_decks_with_children(c, cur, &v, &n, &tmp);
	}
	if (st == ST_NOTFOUND) {
		/* no deck 1 either: an empty scope */
		st = ST_OK;
		n = 0;
	}
	if (st) {
		if (e)
			*e = tmp;
		return st;
	}
	struct buf b;
	buf_init(&b, 0);
	st = buf_append_str(&b, "[", e);
	for (size_t i = 0; !st && i < n; i++)
		st = buf_printf(&b, e, "%s%lld", i ? "," : "", (long long)v[i]);
	if (!st)
		st = buf_append_str(&b, "]", e);
	free(v);
	if (st) {
		buf_free(&b);
		return st;
	}
	*ids = (char *)buf_steal(&b, NULL);
	if (!*ids)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	if (n == 0 || col_decks_name(c, cur, &s->scope, NULL) != ST_OK)
		s->scope = strdup("Default");
	if (!s->scope)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	return ST_OK;
}

static int64_t rollover_hour(struct col *c)
{
	int64_t h = 4;
	json_t *j = NULL;
	if (col_config_get(c, "rollover", &j, NULL) == ST_OK) {
		if (json_is_integer(j) && json_integer_value(j) >= 0 && json_integer_value(j) < 24)
			h = json_integer_value(j);
		json_decref(j);
	}
	return h;
}

enum status col_stats_compute(struct col *c, bool whole, struct col_stats *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	out->whole = whole;
	struct sched_timing t;
	enum status st = col_sched_today(c, &t, e);
	if (st)
		return st;
	out->now = t.now;
	out->today = t.days_elapsed;
	out->next_day_at = t.next_day_at;
	out->rollover = rollover_hour(c);
	char *ids = NULL;
	if ((st = scope_decks(c, out, &ids, e))) {
		free(ids);
		return st;
	}
	struct query q = {c, ids, whole};
	if (!st)
		st = get_today(&q, out, e);
	if (!st)
		st = get_forecast(&q, out, e);
	if (!st)
		st = get_reviews(&q, out, e);
	if (!st)
		st = get_added(&q, out, e);
	if (!st)
		st = get_intervals(&q, out, e);
	if (!st)
		st = get_hours(&q, out, e);
	if (!st)
		st = get_buttons(&q, out, e);
	if (!st)
		st = get_cards(&q, out, e);
	free(ids);
	return st;
}

void col_stats_free(struct col_stats *s)
{
	if (!s)
		return;
	free(s->scope);
	s->scope = NULL;
}
