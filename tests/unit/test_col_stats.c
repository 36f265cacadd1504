/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_col_stats.c - the legacy statistics report (col_stats.h): every
 * figure on a collection built here with known cards and revlog rows, a
 * fixed clock (ANKIHOST_FAKE_NOW_MS) and TZ=UTC, for the whole collection
 * and for the current deck with children; the period and day boundaries;
 * a stale current deck; the HTML (headings, numbers, escaping); Anki's
 * interval wording.
 */
#include "testutil.h"

#include <sqlite3.h>
#include <time.h>

#include "col.h"
#include "col_decks.h"
#include "col_stats.h"
#include "col_store.h"

#define DAY 86400LL
#define H 3600LL
#define NOW 1773576000LL   /* 2026-03-15 12:00:00 UTC */
#define CUT (NOW + 16 * H) /* next rollover: 2026-03-16 04:00 UTC */
#define TODAY 100          /* the collection is created 100 days before */
#define MS(secs) ((secs)*1000LL)

static void set_now(int64_t secs)
{
	char v[32];
	snprintf(v, sizeof v, "%lld", (long long)secs * 1000);
	setenv("ANKIHOST_FAKE_NOW_MS", v, 1);
}

static void sql(struct col *c, const char *s)
{
	char *err = NULL;
	if (sqlite3_exec(col_db(c), s, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", s, err ? err : "?");
}

static void card(struct col *c, int64_t id, int64_t nid, int64_t did, int type, int queue,
                 int64_t due, int64_t ivl, int64_t factor)
{
	char s[512];
	snprintf(s, sizeof s,
	         "insert into cards (id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, "
	         "reps, lapses, left, odue, odid, flags, data) values (%lld, %lld, %lld, 0, 0, -1, "
	         "%d, %d, %lld, %lld, %lld, 0, 0, 0, 0, 0, 0, '{}')",
	         (long long)id, (long long)nid, (long long)did, type, queue, (long long)due,
	         (long long)ivl, (long long)factor);
	sql(c, s);
}

static void rev(struct col *c, int64_t id, int64_t cid, int ease, int64_t last_ivl, int64_t ms,
                int type)
{
	char s[512];
	snprintf(s, sizeof s,
	         "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) values "
	         "(%lld, %lld, -1, %d, 1, %lld, 2500, %lld, %d)",
	         (long long)id, (long long)cid, ease, (long long)last_ivl, (long long)ms, type);
	sql(c, s);
}

struct fx {
	char *dir;
	struct col *c;
	int64_t parent, child, other;
};

/* The collection of the figures below (see each test for the sums). */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct errinfo e;
	char path[4200];
	setenv("TZ", "UTC", 1);
	tzset();
	f->dir = tu_mkdtemp();
	snprintf(path, sizeof path, "%s/c.anki2", f->dir);
	set_now(NOW - TODAY * DAY);
	assert_int_equal(col_create(path, 0, &e), ST_OK);
	assert_int_equal(col_open(path, 0, &f->c, &e), ST_OK);
	set_now(NOW);
	struct col *c = f->c;
	assert_int_equal(col_begin(c, &e), ST_OK);
	assert_int_equal(col_decks_get_or_create(c, "Parent<&>::Child", &f->child, NULL, &e),
	                 ST_OK);
	assert_int_equal(col_decks_find(c, "Parent<&>", &f->parent, &e), ST_OK);
	assert_int_equal(col_decks_get_or_create(c, "Other", &f->other, NULL, &e), ST_OK);
	json_t *cur = json_integer(f->parent);
	assert_int_equal(col_config_set(c, "curDeck", cur, &e), ST_OK);
	json_decref(cur);
	int64_t P = f->parent, C = f->child, O = f->other;
	int64_t old = MS(CUT - 40 * DAY);
	/* id, nid, did, type, queue, due, ivl, factor */
	card(c, old, 100, P, 2, 2, TODAY, 10, 2500);                        /* c1 */
	card(c, MS(CUT - H), 100, P, 2, 2, TODAY + 1, 30, 2000);            /* c2, added today */
	card(c, MS(CUT - 2 * DAY - 100), 101, P, 2, 2, TODAY + 1, 5, 3000); /* c3, 2 days ago */
	card(c, MS(CUT - 5 * DAY), 102, P, 3, 3, TODAY + 3, 15, 2500);      /* c4, day learning */
	card(c, MS(CUT - 2 * H), 103, P, 0, 0, 1, 0, 0);                    /* c5, new */
	card(c, old + 1, 104, P, 2, -1, TODAY, 50, 2500);                   /* c6, suspended */
	card(c, old + 2, 105, C, 2, 2, TODAY - 2, 40, 1300);                /* c7, overdue */
	card(c, MS(CUT - 3 * H), 106, C, 0, -2, 2, 0, 0);                   /* c8, buried */
	card(c, MS(CUT - 30 * DAY - 1), 107, C, 1, 1, NOW + 600, 0, 2500);  /* c9, learning */
	card(c, MS(CUT - 31 * DAY), 108, O, 2, 2, TODAY + 30, 100, 2700);   /* c10 */
	card(c, old + 3, 109, O, 2, 2, TODAY + 31, 200, 2500);              /* c11 */
	card(c, MS(CUT - 7 * DAY), 110, O, 1, 4, TODAY, 0, 2500);           /* c12, preview */
	card(c, MS(CUT - 4 * H), 111, 999, 2, 2, TODAY, 3, 2500);           /* c13, no such deck */
	int64_t start = MS(CUT - DAY);
	/* id, cid, ease, lastIvl, ms, type */
	rev(c, MS(CUT - 10 * H), old, 3, 5, 10000, 1);                   /* r1 today 18:00, young */
	rev(c, MS(CUT - 10 * H) + 1, MS(CUT - H), 1, 25, 20000, 1);      /* r2 mature, again */
	rev(c, MS(CUT - 9 * H), MS(CUT - H), 3, 30, 5000, 2);            /* r3 relearn 19:00 */
	rev(c, MS(CUT - 20 * H), MS(CUT - 2 * H), 4, 0, 3000, 0);        /* r4 learn 08:00 */
	rev(c, MS(CUT - 20 * H) + 5, MS(CUT - 5 * DAY), 2, 15, 2000, 3); /* r5 cram */
	rev(c, MS(CUT - H), old + 2, 0, 40, 0, 4);                       /* r6 manual, 03:00 */
	rev(c, start + 1, MS(CUT - 30 * DAY - 1), 1, 0, 60000, 0);       /* r7 first ms of today */
	rev(c, start, old, 3, 3, 1000, 1);                               /* r_edge: yesterday */
	rev(c, MS(CUT - 3 * DAY - 2 * H), MS(CUT - 31 * DAY), 3, 50, 8000, 1); /* r8 other, d3 */
	rev(c, MS(CUT - 10 * DAY) - 1, 424242, 2, 10, 4000, 1);         /* r9 deleted card, d10 */
	rev(c, MS(CUT - 31 * DAY), MS(CUT - 31 * DAY), 3, 50, 9000, 1); /* r10 out of period */
	rev(c, MS(CUT - 31 * DAY) + 1, old + 3, 1, 100, 7000, 1);       /* r12 d30 */
	rev(c, MS(CUT - 5 * DAY - 100), old + 2, 0, 40, 0, 4);          /* r13 manual only, d5 */
	assert_int_equal(col_commit(c, &e), ST_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	col_close(f->c);
	tu_rmtree(f->dir);
	free(f);
	unsetenv("ANKIHOST_FAKE_NOW_MS");
	return 0;
}

static void compute(struct fx *f, bool whole, struct col_stats *s)
{
	struct errinfo e;
	enum status st = col_stats_compute(f->c, whole, s, &e);
	if (st)
		fail_msg("col_stats_compute: %s", e.msg);
	assert_int_equal(s->now, NOW);
	assert_int_equal(s->today, TODAY);
	assert_int_equal(s->next_day_at, CUT);
	assert_int_equal(s->rollover, 4);
}

static void test_today(void **state)
{
	struct fx *f = *state;
	for (int whole = 0; whole < 2; whole++) {
		struct col_stats s;
		compute(f, whole, &s);
		/* r1 r2 r3 r4 r5 r7; not r6 (type 4) nor r_edge (yesterday) */
		assert_int_equal(s.td.cards, 6);
		assert_int_equal(s.td.secs, 100);
		assert_int_equal(s.td.again, 2);
		assert_int_equal(s.td.learn, 2);
		assert_int_equal(s.td.review, 2);
		assert_int_equal(s.td.relearn, 1);
		assert_int_equal(s.td.filtered, 1);
		/* r2 (again), r3 and r6: lastIvl >= 21, whatever the type */
		assert_int_equal(s.td.mature, 3);
		assert_int_equal(s.td.mature_correct, 2);
		col_stats_free(&s);
	}
}

static void test_forecast(void **state)
{
	struct fx *f = *state;
	struct col_stats s;
	compute(f, true, &s);
	int64_t young[COL_STATS_DAYS] = {[0] = 1, [1] = 1, [3] = 1};
	int64_t mature[COL_STATS_DAYS] = {[1] = 1, [30] = 1};
	assert_memory_equal(s.due.young, young, sizeof young);
	assert_memory_equal(s.due.mature, mature, sizeof mature);
	assert_int_equal(s.due.total, 5); /* c11 (day 31) and c13 (no deck) left out */
	assert_int_equal(s.due.days_due, 4);
	assert_int_equal(s.due.overdue, 1);
	assert_int_equal(s.due.tomorrow, 2);
	col_stats_free(&s);

	compute(f, false, &s);
	mature[30] = 0;
	assert_memory_equal(s.due.young, young, sizeof young);
	assert_memory_equal(s.due.mature, mature, sizeof mature);
	assert_int_equal(s.due.total, 4);
	assert_int_equal(s.due.days_due, 3);
	assert_int_equal(s.due.overdue, 1);
	assert_int_equal(s.due.tomorrow, 2);
	col_stats_free(&s);
}

static void test_reviews(void **state)
{
	struct fx *f = *state;
	struct col_stats s;
	compute(f, true, &s);
	const struct col_stats_reviews *r = &s.reps;
	int64_t d0[CS_NKINDS] = {2, 1, 1, 1, 1},
	        d0ms[CS_NKINDS] = {63000, 10000, 20000, 5000, 2000};
	assert_memory_equal(r->count[0], d0, sizeof d0);
	assert_memory_equal(r->ms[0], d0ms, sizeof d0ms);
	assert_int_equal(r->count[1][CS_YOUNG], 1); /* r_edge */
	assert_int_equal(r->ms[1][CS_YOUNG], 1000);
	assert_int_equal(r->count[3][CS_MATURE], 1);
	assert_int_equal(r->count[10][CS_YOUNG], 1); /* a deleted card's row counts */
	assert_int_equal(r->count[30][CS_MATURE], 1);
	assert_int_equal(r->ms[30][CS_MATURE], 7000);
	int64_t sum = 0;
	for (int d = 0; d < COL_STATS_DAYS; d++)
		for (int k = 0; k < CS_NKINDS; k++)
			sum += r->count[d][k];
	assert_int_equal(sum, 10);
	assert_int_equal(r->total, 10);
	assert_int_equal(r->total_ms, 120000);
	assert_int_equal(r->days_studied, 6); /* 0 1 3 5 (manual only) 10 30 */
	col_stats_free(&s);

	compute(f, false, &s);
	r = &s.reps;
	assert_memory_equal(r->count[0], d0, sizeof d0);
	assert_int_equal(r->count[1][CS_YOUNG], 1);
	assert_int_equal(r->count[3][CS_MATURE], 0);
	assert_int_equal(r->count[10][CS_YOUNG], 0);
	assert_int_equal(r->total, 7);
	assert_int_equal(r->total_ms, 101000);
	assert_int_equal(r->days_studied, 3); /* 0 1 5 */
	col_stats_free(&s);
}

static void test_added(void **state)
{
	struct fx *f = *state;
	struct col_stats s;
	compute(f, true, &s);
	int64_t want[COL_STATS_DAYS] = {[0] = 3, [2] = 1, [5] = 1, [7] = 1, [30] = 1};
	assert_memory_equal(s.added, want, sizeof want);
	assert_int_equal(s.added_total, 7);
	col_stats_free(&s);
	compute(f, false, &s);
	want[7] = 0;
	assert_memory_equal(s.added, want, sizeof want);
	assert_int_equal(s.added_total, 6);
	col_stats_free(&s);
}

static void test_intervals(void **state)
{
	struct fx *f = *state;
	struct col_stats s;
	compute(f, true, &s);
	int64_t hist[COL_STATS_IVL_MAX + 1] = {[5] = 1, [10] = 1, [30] = 1};
	assert_memory_equal(s.ivl.hist, hist, sizeof hist);
	assert_int_equal(s.ivl.count, 6);
	assert_true(s.ivl.avg > 64.166 && s.ivl.avg < 64.167); /* 385 / 6 */
	assert_int_equal(s.ivl.max, 200);
	col_stats_free(&s);
	compute(f, false, &s);
	assert_memory_equal(s.ivl.hist, hist, sizeof hist);
	assert_int_equal(s.ivl.count, 4);
	assert_true(s.ivl.avg == 21.25);
	assert_int_equal(s.ivl.max, 40);
	col_stats_free(&s);
}

static void test_hours_buttons(void **state)
{
	struct fx *f = *state;
	struct col_stats s;
	compute(f, true, &s);
	int64_t cnt[24] = {[2] = 1, [3] = 1, [4] = 3, [8] = 1, [18] = 2, [19] = 1};
	int64_t ok[24] = {[2] = 1, [3] = 1, [4] = 1, [8] = 1, [18] = 1, [19] = 1};
	assert_memory_equal(s.hours.count, cnt, sizeof cnt);
	assert_memory_equal(s.hours.correct, ok, sizeof ok);
	int64_t ease[CS_NCLASSES][5] = {{0, 1, 0, 1, 1}, {0, 0, 2, 2, 0}, {0, 2, 0, 1, 0}};
	assert_memory_equal(s.buttons.ease, ease, sizeof ease);
	int64_t tot[CS_NCLASSES] = {3, 4, 3}, again[CS_NCLASSES] = {1, 0, 2};
	assert_memory_equal(s.buttons.total, tot, sizeof tot);
	assert_memory_equal(s.buttons.again, again, sizeof again);
	col_stats_free(&s);

	compute(f, false, &s);
	int64_t cnt2[24] = {[4] = 2, [8] = 1, [18] = 2, [19] = 1};
	int64_t ok2[24] = {[4] = 1, [8] = 1, [18] = 1, [19] = 1};
	assert_memory_equal(s.hours.count, cnt2, sizeof cnt2);
	assert_memory_equal(s.hours.correct, ok2, sizeof ok2);
	int64_t ease2[CS_NCLASSES][5] = {{0, 1, 0, 1, 1}, {0, 0, 1, 2, 0}, {0, 1, 0, 0, 0}};
	assert_memory_equal(s.buttons.ease, ease2, sizeof ease2);
	int64_t tot2[CS_NCLASSES] = {3, 3, 1}, again2[CS_NCLASSES] = {1, 0, 1};
	assert_memory_equal(s.buttons.total, tot2, sizeof tot2);
	assert_memory_equal(s.buttons.again, again2, sizeof again2);
	col_stats_free(&s);
}

static void test_cards(void **state)
{
	struct fx *f = *state;
	struct col_stats s;
	compute(f, true, &s);
	assert_string_equal(s.scope, "whole collection");
	assert_int_equal(s.cards.mature, 4);
	assert_int_equal(s.cards.young, 2);
	assert_int_equal(s.cards.learning, 3);
	assert_int_equal(s.cards.unseen, 1);
	assert_int_equal(s.cards.suspended, 1);
	assert_int_equal(s.cards.buried, 1);
	assert_int_equal(s.cards.total, 12); /* not c13 (deck 999) */
	assert_int_equal(s.cards.notes, 11);
	assert_true(s.cards.have_ease);
	assert_true(s.cards.ease_min == 130 && s.cards.ease_max == 300);
	assert_true(s.cards.ease_avg > 233.33 && s.cards.ease_avg < 233.34);
	col_stats_free(&s);

	compute(f, false, &s);
	assert_string_equal(s.scope, "Parent<&>");
	assert_int_equal(s.cards.mature, 2);
	assert_int_equal(s.cards.young, 2);
	assert_int_equal(s.cards.learning, 2);
	assert_int_equal(s.cards.unseen, 1);
	assert_int_equal(s.cards.suspended, 1);
	assert_int_equal(s.cards.buried, 1);
	assert_int_equal(s.cards.total, 9);
	assert_int_equal(s.cards.notes, 8);
	assert_true(s.cards.ease_min == 130 && s.cards.ease_avg == 220 && s.cards.ease_max == 300);
	col_stats_free(&s);
}

/* The current deck "Other": only its cards and their rows. */
static void test_other_deck_and_stale(void **state)
{
	struct fx *f = *state;
	struct errinfo e;
	json_t *cur = json_integer(f->other);
	assert_int_equal(col_config_set(f->c, "curDeck", cur, &e), ST_OK);
	json_decref(cur);
	struct col_stats s;
	compute(f, false, &s);
	assert_string_equal(s.scope, "Other");
	assert_int_equal(s.td.cards, 0);
	assert_int_equal(s.reps.total, 2); /* r8 (c10) and r12 (c11) */
	assert_int_equal(s.reps.days_studied, 2);
	assert_int_equal(s.cards.total, 3);
	assert_int_equal(s.due.total, 1);
	assert_int_equal(s.due.mature[30], 1);
	col_stats_free(&s);

	/* a deck id that no longer exists: Default (empty here) */
	cur = json_integer(777);
	assert_int_equal(col_config_set(f->c, "curDeck", cur, &e), ST_OK);
	json_decref(cur);
	compute(f, false, &s);
	assert_string_equal(s.scope, "Default");
	assert_int_equal(s.cards.total, 0);
	assert_int_equal(s.reps.total, 0);
	assert_int_equal(s.reps.days_studied, 0);
	assert_int_equal(s.ivl.count, 0);
	assert_false(s.cards.have_ease);
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(col_stats_html(&s, &b, &e), ST_OK);
	const char *h = (const char *)b.data;
	assert_non_null(strstr(h, "No cards have been studied today."));
	assert_non_null(strstr(h, "No reviews in this period."));
	assert_non_null(strstr(h, "No cards in review."));
	assert_non_null(strstr(h, "Correct: <b>0.00%</b> (0 of 0)"));
	assert_null(strstr(h, "Lowest ease"));
	buf_free(&b);
	col_stats_free(&s);

	cur = json_integer(f->parent);
	assert_int_equal(col_config_set(f->c, "curDeck", cur, &e), ST_OK);
	json_decref(cur);
}

static void test_html(void **state)
{
	struct fx *f = *state;
	struct col_stats s;
	struct errinfo e;
	struct buf b;
	compute(f, false, &s);
	buf_init(&b, 0);
	assert_int_equal(col_stats_html(&s, &b, &e), ST_OK);
	const char *h = (const char *)b.data;
	static const char *const want[] = {
	    "<h1>Today</h1>",
	    "<h1>Forecast</h1>",
	    "<h1>Review Count</h1>",
	    "<h1>Review Time</h1>",
	    "<h1>Added</h1>",
	    "<h1>Intervals</h1>",
	    "<h1>Hourly Breakdown</h1>",
	    "<h1>Answer Buttons</h1>",
	    "<h1>Card Types</h1>",
	    "Studied 6 cards in 1.67 minutes today (16.67s/card)",
	    "Again count: <b>2</b> (<b>66.7%</b> correct)",
	    "Learn: <b>2</b>, Review: <b>2</b>, Relearn: <b>1</b>, Filtered: <b>1</b>",
	    "Correct answers on mature cards: 2/3 (66.7%)",
	    "Total:</td><td><b>4 reviews</b>",         /* forecast */
	    "Average:</td><td><b>1.3 reviews/day</b>", /* 4 / 3 days with dues */
	    "Due tomorrow:</td><td><b>2 cards</b>",
	    "Overdue:</td><td><b>1 card</b>",
	    "<td><b>9%</b> (3 of 31)</td>", /* days studied */
	    "Total:</td><td><b>7 reviews</b>",
	    "Average for days studied:</td><td><b>2.3 reviews/day</b>",
	    "If you studied every day:</td><td><b>0.2 reviews/day</b>",
	    "Total:</td><td><b>1 minutes</b>", /* 101 s */
	    "Average answer time:</td><td><b>14.43s (4.16 cards/minute)</b>",
	    "Total:</td><td><b>6 cards</b>", /* added */
	    "Average:</td><td><b>0.2 cards/day</b>",
	    "Average interval:</td><td><b>21 days</b>",
	    "Longest interval:</td><td><b>1.3 months</b>",
	    "Correct: <b>66.67%</b> (2 of 3)",
	    "Correct: <b>100.00%</b> (3 of 3)",
	    "Correct: <b>0.00%</b> (0 of 1)",
	    "Total cards:</td><td><b>9</b>",
	    "Total notes:</td><td><b>8</b>",
	    "Lowest ease:</td><td><b>130%</b>",
	    "Average ease:</td><td><b>220%</b>",
	    "Highest ease:</td><td><b>300%</b>",
	    "Young 2, Learning 2",
	    "Suspended 1, Buried 1",
	    "Generated on Sun Mar 15 12:00:00 2026",
	    "Scope: Parent&lt;&amp;&gt;<br>Period: 1 month",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (!strstr(h, want[i]))
			fail_msg("missing %s", want[i]);
	assert_null(strstr(h, "Parent<&>"));
	assert_null(strstr(h, "<script"));
	/* headings in Anki's order */
	const char *prev = h;
	for (int i = 0; i < 9; i++) {
		const char *p = strstr(h, want[i]);
		assert_true(p >= prev);
		prev = p;
	}
	/* a cap too small fails cleanly */
	struct buf small;
	buf_init(&small, 100);
	assert_int_equal(col_stats_html(&s, &small, &e), ST_TOOBIG);
	buf_free(&small);
	buf_free(&b);
	col_stats_free(&s);

	compute(f, true, &s);
	buf_init(&b, 0);
	assert_int_equal(col_stats_html(&s, &b, &e), ST_OK);
	h = (const char *)b.data;
	assert_non_null(strstr(h, "Scope: whole collection"));
	assert_non_null(strstr(h, "Average interval:</td><td><b>2.1 months</b>"));
	assert_non_null(strstr(h, "Longest interval:</td><td><b>6.6 months</b>"));
	assert_non_null(strstr(h, "Average:</td><td><b>1.2 reviews/day</b>")); /* 5 / 4 */
	assert_non_null(strstr(h, "<td><b>19%</b> (6 of 31)</td>"));
	buf_free(&b);
	col_stats_free(&s);
}

/* A new collection: no reviews today, one studied second. */
static void test_today_wording(void **state)
{
	struct fx *f = *state;
	struct errinfo e;
	struct col_stats s;
	assert_int_equal(col_begin(f->c, &e), ST_OK);
	sql(f->c, "delete from revlog where id > (1773633600 - 86400) * 1000");
	rev(f->c, MS(CUT - 5 * H), MS(CUT - H), 3, 2, 1000, 1);
	compute(f, true, &s);
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(col_stats_html(&s, &b, &e), ST_OK);
	assert_non_null(strstr((const char *)b.data, "Studied 1 card in 1 second today (1s/card)"));
	assert_non_null(strstr((const char *)b.data, "No mature cards were studied today."));
	buf_free(&b);
	col_stats_free(&s);
	col_rollback(f->c);
}

static void test_timespan(void **state)
{
	(void)state;
	static const struct {
		double secs;
		const char *want;
	} cases[] = {
	    {0, "0 seconds"},           {1, "1 second"},
	    {30.3, "30 seconds"},       {90, "1.5 minutes"},
	    {3600, "1 hour"},           {86400, "1 day"},
	    {21.25 * DAY, "21 days"},   {45.0 * DAY, "1.5 months"},
	    {364.0 * DAY, "12 months"}, {365.0 * DAY, "1 year"},
	    {800.0 * DAY, "2.2 years"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char got[64];
		col_stats_timespan(cases[i].secs, got, sizeof got);
		assert_string_equal(got, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_today, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forecast, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reviews, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_added, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_intervals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hours_buttons, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cards, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_deck_and_stale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_html, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_today_wording, setup, teardown),
	    cmocka_unit_test(test_timespan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
