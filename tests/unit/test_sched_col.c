/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_sched_col.c - answering cards, button labels and Set Due Date on
 * real collections: answer sequences on new, learning, review and
 * relearning cards with SM-2 and FSRS (default and custom parameters),
 * across day boundaries, fuzz on and off; every step checks the card row
 * (type, queue, due, ivl, factor, left, reps, lapses, data) and the
 * review-log row; deck day counters, leech tag/suspend, sibling burying,
 * filtered decks.  The FSRS fixture (legacy2-fsrs-revlog-media.apkg, 26
 * real review-log rows from Anki) is replayed from scratch and must give
 * back Anki's log rows and memory states.
 */
#include "testutil.h"

#include <math.h>
#include <sqlite3.h>
#include <zip.h>

#include "col.h"
#include "col_model.h"
#include "col_notes.h"
#include "col_store.h"
#include "sched_answer.h"
#include "sched_data.h"
#include "sched_rng.h"
#include "sched_setdue.h"
#include "search_day.h"

#define DAY 86400
/* collection created 2024-01-10 12:00 UTC (server-less client, TZ UTC) */
#define CREATED 1704888000LL

static struct {
	char *dir;
	char path[4200];
	struct col *c;
	int64_t now;
	int64_t basic, reversed;
} fx;

static void set_now_ms(int64_t ms)
{
	char v[32];
	snprintf(v, sizeof v, "%lld", (long long)ms);
	setenv("ANKIHOST_FAKE_NOW_MS", v, 1);
	fx.now = ms / 1000;
}

static void set_now(int64_t secs)
{
	set_now_ms(secs * 1000);
}

static void exec(const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(col_db(fx.c), sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static int64_t q_int(const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(col_db(fx.c), sql, -1, &st, NULL), SQLITE_OK);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		fail_msg("no row: %s", sql);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t notetype_id(const char *name)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(col_db(fx.c),
	                                    "select id from notetypes where name = ?1", -1, &st,
	                                    NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

static struct col *other_col; /* a fixture collection in use by a test */
static struct col *main_col;

static void use_col(struct col *c)
{
	main_col = fx.c;
	other_col = c;
	fx.c = c;
}

static int restore_col(void **state)
{
	(void)state;
	if (other_col) {
		col_close(other_col);
		fx.c = main_col;
		other_col = NULL;
	}
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static int setup(void **state)
{
	(void)state;
	struct errinfo e;
	setenv("TZ", "UTC", 1);
	tzset();
	fx.dir = tu_mkdtemp();
	snprintf(fx.path, sizeof fx.path, "%s/collection.anki2", fx.dir);
	set_now(CREATED);
	if (col_create(fx.path, 0, &e))
		fail_msg("create: %s", e.msg);
	if (col_open(fx.path, 0, &fx.c, &e))
		fail_msg("open: %s", e.msg);
	/* a client collection created in UTC: day 0 = 2024-01-10 */
	exec("update config set val = cast('0' as blob) where KEY = 'creationOffset'");
	fx.basic = notetype_id("Basic");
	fx.reversed = notetype_id("Basic (and reversed card)");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	col_close(fx.c);
	tu_rmtree(fx.dir);
	unsetenv("ANKIHOST_FAKE_NOW_MS");
	return 0;
}

static int64_t today(void)
{
	struct sched_timing t;
	assert_int_equal(col_sched_timing_at(fx.c, fx.now, &t, NULL), ST_OK);
	return t.days_elapsed;
}

static int64_t add_card_in(int64_t did, int64_t mid, int32_t ord, int64_t *nid_out)
{
	struct errinfo e;
	struct note n = {0};
	n.mid = mid;
	n.flds = strdup("front\x1f"
	                "back");
	n.tags = strdup("");
	if (col_note_add(fx.c, &n, &e))
		fail_msg("note add: %s", e.msg);
	struct card cd;
	card_init_new(&cd, n.id, did, ord, 7);
	cd.data = strdup("{}");
	if (col_card_add(fx.c, &cd, &e))
		fail_msg("card add: %s", e.msg);
	if (nid_out)
		*nid_out = n.id;
	int64_t id = cd.id;
	card_free(&cd);
	note_free(&n);
	return id;
}

static struct card get_card(int64_t id)
{
	struct card cd;
	struct errinfo e;
	if (col_card_get(fx.c, id, &cd, &e))
		fail_msg("card get: %s", e.msg);
	return cd;
}

struct exp_card {
	int type, queue;
	int64_t due, ivl, factor, reps, lapses, left;
};

static char databuf[512];

/* data JSON with the current time as last review */
static const char *data_lrt(const char *prefix)
{
	snprintf(databuf, sizeof databuf, "%s\"lrt\":%lld}", prefix, (long long)fx.now);
	return databuf;
}

static void check_card(int64_t id, const struct exp_card *x, const char *data)
{
	struct card cd = get_card(id);
	if (cd.type != x->type || cd.queue != x->queue || cd.due != x->due || cd.ivl != x->ivl ||
	    cd.factor != x->factor || cd.reps != x->reps || cd.lapses != x->lapses ||
	    cd.left != x->left)
		fail_msg(
		    "card: type %d queue %d due %lld ivl %lld factor %lld reps %lld lapses %lld "
		    "left %lld; want %d %d %lld %lld %lld %lld %lld %lld",
		    cd.type, cd.queue, (long long)cd.due, (long long)cd.ivl, (long long)cd.factor,
		    (long long)cd.reps, (long long)cd.lapses, (long long)cd.left, x->type, x->queue,
		    (long long)x->due, (long long)x->ivl, (long long)x->factor, (long long)x->reps,
		    (long long)x->lapses, (long long)x->left);
	if (data && strcmp(cd.data, data) != 0)
		fail_msg("data %s, want %s", cd.data, data);
	assert_int_equal(cd.mod, fx.now);
	assert_int_equal(cd.usn, -1);
	card_free(&cd);
}

/* the newest review-log row of a card: ease ivl lastIvl factor time type */
static void check_revlog(int64_t cid, int ease, int64_t ivl, int64_t last, int64_t factor,
                         int64_t time, int type)
{
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(col_db(fx.c),
	                       "select id, ease, ivl, lastIvl, factor, time, type, usn from revlog "
	                       "where cid = ?1 order by id desc limit 1",
	                       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, cid);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v[8];
	for (int i = 0; i < 8; i++)
		v[i] = sqlite3_column_int64(st, i);
	sqlite3_finalize(st);
	if (v[1] != ease || v[2] != ivl || v[3] != last || v[4] != factor || v[5] != time ||
	    v[6] != type || v[7] != -1)
		fail_msg(
		    "revlog ease %lld ivl %lld last %lld factor %lld time %lld type %lld usn %lld; "
		    "want %d %lld %lld %lld %lld %d -1",
		    (long long)v[1], (long long)v[2], (long long)v[3], (long long)v[4],
		    (long long)v[5], (long long)v[6], (long long)v[7], ease, (long long)ivl,
		    (long long)last, (long long)factor, (long long)time, type);
}

static void answer(int64_t cid, int ease, uint32_t ms, const struct sched_opts *opts)
{
	struct sched_answer a = {cid, ease, ms};
	bool ok = false;
	struct errinfo e;
	if (sched_answer_cards(fx.c, &a, 1, opts, &ok, NULL, &e))
		fail_msg("answer: %s", e.msg);
	assert_true(ok);
}

static uint32_t learn_fuzz(int64_t cid, int64_t reps, uint32_t secs)
{
	uint32_t upper = secs + (uint32_t)fminf((float)secs * 0.25f, 300.0f);
	struct sched_rng r;
	sched_rng_init(&r, (uint64_t)cid + (uint64_t)reps);
	return sched_rng_range_u32(&r, secs, upper);
}

static struct deck_common deck_common_of(int64_t did)
{
	struct deck d;
	assert_int_equal(col_load_deck(fx.c, did, &d, NULL), ST_OK);
	struct deck_common c = d.common;
	memset(&d.common, 0, sizeof d.common);
	deck_free(&d);
	return c;
}

static void set_conf(void (*edit)(struct deckconf_config *))
{
	struct deckconf dc;
	assert_int_equal(col_load_deckconf(fx.c, 1, &dc, NULL), ST_OK);
	edit(&dc.cfg);
	assert_int_equal(col_store_deckconf(fx.c, &dc, NULL), ST_OK);
	deckconf_free(&dc);
}

/* ---- SM-2: new -> learning -> review -> relearning -> review ---- */

static void test_sm2_sequence(void **state)
{
	(void)state;
	int64_t t0 = CREATED + 10 * DAY + 3 * 3600; /* day 10, 15:00 */
	set_now(t0);
	int64_t cid = add_card_in(1, fx.basic, 0, NULL);
	int64_t d = today();
	assert_int_equal(d, 10);

	/* Good on a new card: second step (10 min) + up to 25 % fuzz */
	answer(cid, 3, 4321, NULL);
	uint32_t due = learn_fuzz(cid, 0, 600);
	assert_true(due >= 600 && due < 750);
	check_card(cid, &(struct exp_card){1, 1, t0 + due, 0, 0, 1, 0, 1}, data_lrt("{\"pos\":7,"));
	check_revlog(cid, 3, -600, 0, 0, 4321, 0);
	struct deck_common dc = deck_common_of(1);
	assert_int_equal(dc.last_day_studied, 10);
	assert_int_equal(dc.new_studied, 1);
	assert_int_equal(dc.review_studied, 0);
	assert_int_equal(dc.milliseconds_studied, 4321);
	deck_common_free(&dc);

	/* Good on the last step: graduates, 1 day, ease 250 % */
	set_now(t0 + 700);
	answer(cid, 3, 70000, NULL); /* time capped at 60 s */
	check_card(cid, &(struct exp_card){2, 2, d + 1, 1, 2500, 2, 0, 0}, data_lrt("{\"pos\":7,"));
	check_revlog(cid, 3, 1, -600, 2500, 60000, 0);

	/* next day: Good on a 1-day review: 2.5 days -> fuzz range [3, 4] */
	int64_t t1 = t0 + DAY;
	set_now(t1);
	answer(cid, 3, 1000, NULL);
	uint32_t lo, hi;
	sched_fuzz_bounds(2.5f, 3, 36500, &lo, &hi);
	assert_int_equal(lo, 3);
	assert_int_equal(hi, 4);
	int64_t ivl =
	    sched_with_fuzz(true, sched_rng_fuzz_factor((uint64_t)cid + 2), 2.5f, 3, 36500);
	check_card(cid, &(struct exp_card){2, 2, d + 1 + ivl, ivl, 2500, 3, 0, 0}, NULL);
	check_revlog(cid, 3, ivl, 1, 2500, 1000, 1);
	dc = deck_common_of(1);
	assert_int_equal(dc.last_day_studied, 11); /* reset on the new day */
	assert_int_equal(dc.new_studied, 0);
	assert_int_equal(dc.review_studied, 1);
	assert_int_equal(dc.milliseconds_studied, 1000);
	deck_common_free(&dc);

	/* due day, Again: lapse into the 10-minute relearning step */
	int64_t t2 = t0 + (1 + ivl) * DAY;
	set_now(t2);
	answer(cid, 1, 0, NULL);
	uint32_t rdue = learn_fuzz(cid, 3, 600);
	check_card(cid, &(struct exp_card){3, 1, t2 + rdue, 1, 2300, 4, 1, 1}, NULL);
	check_revlog(cid, 1, -600, ivl, 2300, 0, 1);

	/* Good: relearning done, back to review with the lapse interval */
	set_now(t2 + 900);
	answer(cid, 3, 0, NULL);
	check_card(cid, &(struct exp_card){2, 2, d + 1 + ivl + 1, 1, 2300, 5, 1, 0}, NULL);
	check_revlog(cid, 3, 1, -600, 2300, 0, 2);
	assert_int_equal(q_int("select count() from revlog"), 5);
}

/* Anki's own tests run without fuzz: test_schedv3.test_reviews */
static void test_sm2_review_nofuzz(void **state)
{
	(void)state;
	struct sched_opts nofuzz = {true};
	int64_t t0 = CREATED + 200 * DAY + 3600;
	set_now(t0);
	int64_t d = today();
	static const struct {
		int ease;
		int64_t ivl, factor, lapses;
		int queue, type;
	} t[] = {{2, 120, 2350, 1, 2, 2},
	         {3, 260, 2500, 1, 2, 2},
	         {4, 351, 2650, 1, 2, 2},
	         {1, 1, 2300, 2, 1, 3}};
	for (size_t i = 0; i < 4; i++) {
		int64_t cid = add_card_in(1, fx.basic, 0, NULL);
		char sql[256];
		snprintf(
		    sql, sizeof sql,
		    "update cards set type=2, queue=2, due=%lld, factor=2500, reps=3, lapses=1, "
		    "ivl=100 where id=%lld",
		    (long long)(d - 8), (long long)cid);
		exec(sql);
		answer(cid, t[i].ease, 0, &nofuzz);
		struct card cd = get_card(cid);
		assert_int_equal(cd.ivl, t[i].ivl);
		assert_int_equal(cd.factor, t[i].factor);
		assert_int_equal(cd.lapses, t[i].lapses);
		assert_int_equal(cd.reps, 4);
		assert_int_equal(cd.queue, t[i].queue);
		assert_int_equal(cd.type, t[i].type);
		if (cd.type == 2)
			assert_int_equal(cd.due, d + t[i].ivl);
		card_free(&cd);
		check_revlog(cid, t[i].ease, t[i].ease == 1 ? -600 : t[i].ivl, 100, t[i].factor, 0,
		             1);
	}
}

/* a learning step that reaches past the next rollover becomes a day
 * learning card due tomorrow; the log shows days */
static void test_day_boundary(void **state)
{
	(void)state;
	int64_t t0 = CREATED + 30 * DAY + 16 * 3600 - 300; /* 2024-02-10 03:55 */
	set_now(t0);
	int64_t d = today();
	assert_int_equal(d, 30); /* calendar day 31, before the 4:00 rollover */
	int64_t cid = add_card_in(1, fx.basic, 0, NULL);
	answer(cid, 3, 0, NULL);
	check_card(cid, &(struct exp_card){1, 3, d + 1, 0, 0, 1, 0, 1}, NULL);
	check_revlog(cid, 3, 1, 0, 0, 0, 0);
	/* labels: Again 1 minute still today, Good reaches tomorrow */
	char labels[4][SCHED_LABEL_MAX];
	int64_t cid2 = add_card_in(1, fx.basic, 0, NULL);
	assert_int_equal(sched_next_labels(fx.c, cid2, 0, labels, NULL), ST_OK);
	assert_string_equal(labels[0], "<1m");
	assert_string_equal(labels[2], "1d");
	/* the day learning card answered on its day: Good graduates */
	set_now(t0 + 3600);
	assert_int_equal(today(), 31);
	answer(cid, 3, 0, NULL);
	check_card(cid, &(struct exp_card){2, 2, 32, 1, 2500, 2, 0, 0}, NULL);
	check_revlog(cid, 3, 1, -600, 2500, 0, 0);
	/* a day counter written on day 29 is reset by the first answer on 30 */
	struct deck_common dc = deck_common_of(1);
	assert_int_equal(dc.last_day_studied, 31);
	assert_int_equal(dc.review_studied, 1); /* from the day-learning queue */
	assert_int_equal(dc.new_studied, 0);
	deck_common_free(&dc);
}

static void leech_conf(struct deckconf_config *c)
{
	c->leech_action = 0; /* suspend */
}

static void tag_only_conf(struct deckconf_config *c)
{
	c->leech_action = 1;
	c->bury_new = true;
}

static void test_leech(void **state)
{
	(void)state;
	set_now(CREATED + 40 * DAY + 3600);
	int64_t d = today();
	set_conf(leech_conf);
	int64_t nid;
	int64_t cid = add_card_in(1, fx.basic, 0, &nid);
	char sql[256];
	snprintf(
	    sql, sizeof sql,
	    "update cards set type=2, queue=2, due=%lld, factor=2500, reps=20, lapses=7, ivl=5 "
	    "where id=%lld",
	    (long long)d, (long long)cid);
	exec(sql);
	answer(cid, 1, 0, NULL);
	struct card cd = get_card(cid);
	assert_int_equal(cd.queue, -1);
	assert_int_equal(cd.type, 3);
	assert_int_equal(cd.lapses, 8);
	card_free(&cd);
	struct note n;
	assert_int_equal(col_note_get(fx.c, nid, &n, NULL), ST_OK);
	assert_string_equal(n.tags, " leech ");
	assert_int_equal(n.mod, fx.now);
	note_free(&n);
	assert_int_equal(q_int("select count() from tags where tag = 'leech'"), 1);

	/* tag only: stays in relearning, existing tags kept and sorted; also
	 * burying of new siblings */
	set_conf(tag_only_conf);
	int64_t nid2;
	int64_t c2 = add_card_in(1, fx.reversed, 0, &nid2);
	struct card sib;
	card_init_new(&sib, nid2, 1, 1, 8);
	sib.data = strdup("");
	assert_int_equal(col_card_add(fx.c, &sib, NULL), ST_OK);
	snprintf(sql, sizeof sql, "update notes set tags=' zeta Alpha ' where id=%lld",
	         (long long)nid2);
	exec(sql);
	snprintf(
	    sql, sizeof sql,
	    "update cards set type=2, queue=2, due=%lld, factor=1300, reps=20, lapses=11, ivl=5 "
	    "where id=%lld",
	    (long long)d, (long long)c2);
	exec(sql);
	answer(c2, 1, 0, NULL);
	cd = get_card(c2);
	assert_int_equal(cd.queue, 1);
	assert_int_equal(cd.lapses, 12);
	assert_int_equal(cd.factor, 1300);
	card_free(&cd);
	assert_int_equal(col_note_get(fx.c, nid2, &n, NULL), ST_OK);
	assert_string_equal(n.tags, " Alpha leech zeta ");
	note_free(&n);
	struct card s2 = get_card(sib.id);
	assert_int_equal(s2.queue, -2);
	assert_string_equal(s2.data, "{}"); /* rewritten as Anki writes it */
	card_free(&s2);
	card_free(&sib);
}

static void default_conf(struct deckconf_config *c)
{
	deckconf_config_free(c);
	assert_int_equal(deckconf_config_default(c, NULL), ST_OK);
}

/* deck counters go to the deck and its parents */
static void test_parent_counters(void **state)
{
	(void)state;
	set_conf(default_conf);
	set_now(CREATED + 50 * DAY + 3600);
	struct deck dk = {0};
	dk.id = 5000;
	dk.name = strdup("Lang");
	deck_common_default_normal(&dk.common);
	deck_kind_new_normal(&dk.kind);
	assert_int_equal(col_store_deck(fx.c, &dk, COL_STORE_NORMAL, NULL), ST_OK);
	free(dk.name);
	dk.id = 5001;
	dk.name = strdup("Lang\x1f"
	                 "French");
	assert_int_equal(col_store_deck(fx.c, &dk, COL_STORE_NORMAL, NULL), ST_OK);
	deck_free(&dk);
	int64_t cid = add_card_in(5001, fx.basic, 0, NULL);
	answer(cid, 4, 2500, NULL);
	for (int64_t did = 5000; did <= 5001; did++) {
		struct deck_common c = deck_common_of(did);
		assert_int_equal(c.new_studied, 1);
		assert_int_equal(c.milliseconds_studied, 2500);
		assert_int_equal(c.last_day_studied, 50);
		deck_common_free(&c);
		char sql[96];
		snprintf(sql, sizeof sql, "select mtime_secs from decks where id = %lld",
		         (long long)did);
		assert_int_equal(q_int(sql), fx.now);
	}
	/* Easy on a new card: graduating easy interval 4, fuzz range [3, 5] */
	struct card cd = get_card(cid);
	int64_t want = sched_with_fuzz(true, sched_rng_fuzz_factor((uint64_t)cid), 4.0f, 1, 36500);
	assert_int_equal(cd.ivl, want);
	assert_true(want >= 3 && want <= 5);
	card_free(&cd);
	check_revlog(cid, 4, want, 0, 2500, 2500, 0);
}

/* filtered decks: rescheduling sends review states home; preview */
static void test_filtered(void **state)
{
	(void)state;
	set_now(CREATED + 60 * DAY + 3600);
	int64_t d = today();
	struct deck f = {0};
	f.id = 6000;
	f.name = strdup("Filtered");
	deck_common_default_normal(&f.common);
	assert_int_equal(deck_kind_new_filtered(&f.kind, NULL), ST_OK);
	assert_int_equal(col_store_deck(fx.c, &f, COL_STORE_NORMAL, NULL), ST_OK);
	int64_t cid = add_card_in(1, fx.basic, 0, NULL);
	char sql[256];
	snprintf(sql, sizeof sql,
	         "update cards set did=6000, odid=1, odue=%lld, due=-100000, type=2, queue=2, "
	         "factor=2500, ivl=10, reps=5 where id=%lld",
	         (long long)(d + 3), (long long)cid);
	exec(sql);
	/* reviewed 3 days early: early-review intervals, log type 3 */
	struct sched_opts nofuzz = {true};
	answer(cid, 3, 0, &nofuzz);
	struct card cd = get_card(cid);
	assert_int_equal(cd.did, 1);
	assert_int_equal(cd.odid, 0);
	assert_int_equal(cd.odue, 0);
	assert_int_equal(cd.ivl, 18); /* max(7 * 2.5, 10), rounded half up */
	assert_int_equal(cd.due, d + 18);
	card_free(&cd);
	check_revlog(cid, 3, 18, 10, 2500, 0, 3);

	/* a new card in a rescheduling deck stays there while learning */
	int64_t c2 = add_card_in(1, fx.basic, 0, NULL);
	snprintf(sql, sizeof sql,
	         "update cards set did=6000, odid=1, odue=7, due=-100000 where id=%lld",
	         (long long)c2);
	exec(sql);
	answer(c2, 1, 0, NULL);
	cd = get_card(c2);
	assert_int_equal(cd.did, 6000);
	assert_int_equal(cd.queue, 1);
	assert_int_equal(cd.odue, cd.due);
	card_free(&cd);

	/* preview deck: Again repeats after 60 s, Good (0 s) ends the preview */
	f.kind.filtered.reschedule = false;
	assert_int_equal(col_store_deck(fx.c, &f, COL_STORE_NORMAL, NULL), ST_OK);
	deck_free(&f);
	int64_t c3 = add_card_in(1, fx.basic, 0, NULL);
	snprintf(sql, sizeof sql,
	         "update cards set did=6000, odid=1, odue=%lld, due=-100000, type=2, queue=2, "
	         "factor=2500, ivl=10, reps=5 where id=%lld",
	         (long long)(d + 3), (long long)c3);
	exec(sql);
	char labels[4][SCHED_LABEL_MAX];
	assert_int_equal(sched_next_labels(fx.c, c3, 0, labels, NULL), ST_OK);
	assert_string_equal(labels[0], "<1m");
	assert_string_equal(labels[1], "<10m");
	assert_string_equal(labels[2], "(end)");
	assert_string_equal(labels[3], "(end)");
	answer(c3, 1, 0, NULL);
	cd = get_card(c3);
	assert_int_equal(cd.queue, 4);
	assert_int_equal(cd.reps, 5); /* previews do not count */
	assert_int_equal(cd.due, fx.now + learn_fuzz(c3, 5, 60));
	assert_int_equal(cd.did, 6000);
	assert_string_equal(cd.data, "{}"); /* no last review time either */
	card_free(&cd);
	check_revlog(c3, 1, -60, -60, 0, 0, 3);
	answer(c3, 3, 0, NULL);
	cd = get_card(c3);
	assert_int_equal(cd.did, 1);
	assert_int_equal(cd.odid, 0);
	assert_int_equal(cd.queue, 2);
	assert_int_equal(cd.due, d + 3);
	card_free(&cd);
	check_revlog(c3, 3, 0, -60, 0, 0, 3);
}

static void fsrs_on(void)
{
	json_t *t = json_true();
	assert_int_equal(col_config_set(fx.c, "fsrs", t, NULL), ST_OK);
	json_decref(t);
}

static void fsrs_off(void)
{
	json_t *t = json_false();
	assert_int_equal(col_config_set(fx.c, "fsrs", t, NULL), ST_OK);
	json_decref(t);
}

/* FSRS with fsrs-rs's default parameters (none in the preset) */
static void test_fsrs_default(void **state)
{
	(void)state;
	set_conf(default_conf);
	fsrs_on();
	int64_t t0 = CREATED + 70 * DAY + 3600;
	set_now(t0);
	int64_t d = today();
	int64_t cid = add_card_in(1, fx.basic, 0, NULL);
	answer(cid, 3, 0, NULL);
	/* initial Good: S = w2 = 2.3065, D = w4 - e^(2 w5) + 1 = 2.118 */
	check_card(cid, &(struct exp_card){1, 1, t0 + learn_fuzz(cid, 0, 600), 0, 0, 1, 0, 1},
	           data_lrt("{\"pos\":7,\"s\":2.3065,\"d\":2.118,\"dr\":0.9,\"decay\":0.154,"));
	check_revlog(cid, 3, -600, 0, 224, 0, 0); /* (2.118-1)/9+0.1 */
	set_now(t0 + 600);
	answer(cid, 3, 0, NULL);
	struct card cd = get_card(cid);
	assert_int_equal(cd.type, 2);
	assert_int_equal(cd.queue, 2);
	assert_int_equal(cd.factor, 2500);
	assert_int_equal(cd.due, d + cd.ivl);
	struct sched_data data;
	assert_int_equal(sched_data_parse(cd.data, &data, NULL), ST_OK);
	assert_true(data.has_s && data.has_d && data.has_dr && data.has_decay && data.has_lrt);
	/* same-day Good: FSRS-6 short-term stability never drops below S,
	 * here exactly S; interval S at 90 % = 2.3 days, no fuzz below 2.5 */
	assert_true(data.s == 2.3065f);
	assert_int_equal(cd.ivl, 2);
	sched_data_free(&data);
	card_free(&cd);
	char labels[4][SCHED_LABEL_MAX];
	assert_int_equal(sched_next_labels(fx.c, cid, 0, labels, NULL), ST_OK);
	assert_true(strchr(labels[2], 'd') != NULL);
	/* switch FSRS off: the next SM-2 answer drops s, d and dr, keeps decay */
	fsrs_off();
	set_now(t0 + 5 * DAY);
	answer(cid, 3, 0, NULL);
	cd = get_card(cid);
	assert_null(strstr(cd.data, "\"s\""));
	assert_null(strstr(cd.data, "\"dr\""));
	assert_non_null(strstr(cd.data, "\"decay\":0.154"));
	card_free(&cd);
}

/* ---- the FSRS fixture, replayed from scratch ---- */

static void extract(const char *apkg, const char *member, const char *out)
{
	int err;
	zip_t *z = zip_open(tu_fixture(apkg), ZIP_RDONLY, &err);
	assert_non_null(z);
	zip_stat_t st;
	assert_int_equal(zip_stat(z, member, 0, &st), 0);
	zip_file_t *zf = zip_fopen(z, member, 0);
	assert_non_null(zf);
	char *raw = malloc(st.size);
	assert_int_equal(zip_fread(zf, raw, st.size), (zip_int64_t)st.size);
	zip_fclose(zf);
	zip_close(z);
	FILE *f = fopen(out, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(raw, 1, st.size, f), st.size);
	fclose(f);
	free(raw);
}

struct row {
	int64_t id, cid, ease, ivl, last, factor, time, type;
};

static void test_fsrs_fixture(void **state)
{
	(void)state;
	if (!tu_have_fixture("legacy2-fsrs-revlog-media.apkg"))
		skip();
	char *dir = tu_mkdtemp();
	char path[4200];
	snprintf(path, sizeof path, "%s/fsrs.anki2", dir);
	extract("legacy2-fsrs-revlog-media.apkg", "collection.anki21", path);
	setenv("TZ", "Etc/GMT-2", 1); /* the fixture's creationOffset: UTC+2 */
	tzset();
	struct col *c;
	struct errinfo e;
	if (col_open(path, 0, &c, &e))
		fail_msg("open: %s", e.msg);
	use_col(c);

	/* Anki's log and states, then every card back to new */
	struct row rows[32];
	size_t n = 0;
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(col_db(c),
	                       "select id, cid, ease, ivl, lastIvl, factor, time, type "
	                       "from revlog order by id",
	                       -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < 32) {
		int64_t *v = &rows[n].id;
		for (int i = 0; i < 8; i++)
			v[i] = sqlite3_column_int64(st, i);
		n++;
	}
	sqlite3_finalize(st);
	assert_int_equal(n, 26);
	struct {
		int64_t id, ivl, due;
		float s, d;
	} orig[13];
	size_t nc = 0;
	assert_int_equal(sqlite3_prepare_v2(col_db(c),
	                                    "select id, ivl, due, data from cards order by id", -1,
	                                    &st, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && nc < 13) {
		orig[nc].id = sqlite3_column_int64(st, 0);
		orig[nc].ivl = sqlite3_column_int64(st, 1);
		orig[nc].due = sqlite3_column_int64(st, 2);
		struct sched_data dd;
		assert_int_equal(
		    sched_data_parse((const char *)sqlite3_column_text(st, 3), &dd, NULL), ST_OK);
		assert_true(dd.has_s && dd.has_d && dd.has_pos);
		orig[nc].s = dd.s;
		orig[nc].d = dd.d;
		sched_data_free(&dd);
		nc++;
	}
	sqlite3_finalize(st);
	assert_int_equal(nc, 13);
	exec("update cards set type=0, queue=0, due=json_extract(data, '$.pos'), ivl=0, factor=0, "
	     "reps=0, lapses=0, left=0, data='{}'");
	exec("delete from revlog");
	struct deck dk;
	assert_int_equal(col_load_deck(c, 1755501847974, &dk, NULL), ST_OK);
	dk.common.last_day_studied = 0;
	assert_int_equal(col_store_deck(c, &dk, COL_STORE_NORMAL, NULL), ST_OK);
	deck_free(&dk);
	fsrs_on();

	/* the same answers at the same times */
	for (size_t i = 0; i < n; i++) {
		set_now_ms(rows[i].id);
		answer(rows[i].cid, (int)rows[i].ease, (uint32_t)rows[i].time, NULL);
	}
	assert_int_equal(today(), 860);

	/* the log: identical rows, except graduation intervals, which Anki's
	 * load balancer (on by default) picked within the same fuzz range */
	assert_int_equal(
	    sqlite3_prepare_v2(col_db(c),
	                       "select id, cid, ease, ivl, lastIvl, factor, time, type "
	                       "from revlog order by id",
	                       -1, &st, NULL),
	    SQLITE_OK);
	size_t k = 0, exact_ivl = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_true(k < n);
		int64_t v[8];
		for (int i = 0; i < 8; i++)
			v[i] = sqlite3_column_int64(st, i);
		const int64_t *o = &rows[k].id;
		for (int i = 0; i < 8; i++) {
			if (i == 3 && o[3] > 0) {
				assert_true(v[3] >= 10 && v[3] <= 14);
				exact_ivl += v[3] == o[3];
				continue;
			}
			if (v[i] != o[i])
				fail_msg("row %zu column %d: %lld, Anki %lld", k, i,
				         (long long)v[i], (long long)o[i]);
		}
		k++;
	}
	sqlite3_finalize(st);
	assert_int_equal(k, n);
	/* without the balancer 6 of the 13 land on Anki's day, among them the
	 * first two of the session (nothing to balance yet) */
	assert_int_equal(exact_ivl, 6);

	/* cards: review, ivl/due consistent, memory state as Anki stored it
	 * (Anki then rounded s to 3 decimals, now 4) */
	for (size_t i = 0; i < nc; i++) {
		struct card cd = get_card(orig[i].id);
		assert_int_equal(cd.type, 2);
		assert_int_equal(cd.queue, 2);
		assert_int_equal(cd.due, 860 + cd.ivl);
		assert_int_equal(cd.reps, 2);
		struct sched_data dd;
		assert_int_equal(sched_data_parse(cd.data, &dd, NULL), ST_OK);
		assert_true(fabsf(dd.s - orig[i].s) < 0.0006f);
		assert_true(fabsf(dd.d - orig[i].d) < 0.0006f);
		assert_true(dd.has_dr && dd.dr == 0.9f && dd.has_decay && dd.decay == 0.5f);
		sched_data_free(&dd);
		card_free(&cd);
	}
	assert_int_equal(orig[0].ivl, q_int("select ivl from cards where id = 1755501927620"));
	assert_int_equal(orig[1].ivl, q_int("select ivl from cards where id = 1755501927621"));

	/* the deck's day counters as Anki had them: 13 new, 42413 ms */
	struct deck_common dc = deck_common_of(1755501847974);
	assert_int_equal(dc.last_day_studied, 860);
	assert_int_equal(dc.new_studied, 13);
	assert_int_equal(dc.review_studied, 0);
	assert_int_equal(dc.milliseconds_studied, 42413);
	deck_common_free(&dc);

	restore_col(NULL);
	tu_rmtree(dir);
}

/* review cards of the SM-2 fixture, FSRS switched on with custom
 * parameters: memory rebuilt from the log, then scheduled */
static void test_fsrs_custom_v18(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char path[4200];
	snprintf(path, sizeof path, "%s/v18.anki2", dir);
	tu_copy(tu_fixture("v18-two-decks-revlog.anki2"), path);
	setenv("TZ", "Etc/GMT-1", 1); /* creationOffset -60 */
	tzset();
	struct col *c;
	struct errinfo e;
	if (col_open(path, 0, &c, &e))
		fail_msg("open: %s", e.msg);
	use_col(c);
	set_now(1701890503 + 5 * DAY);
	int64_t d = today();
	/* SM-2 first: card due day 4 with ivl 4, answered on day d */
	int64_t cid = 1701890173047;
	int64_t due = q_int("select due from cards where id = 1701890173047");
	struct sched_opts nofuzz = {true};
	struct sched_preview p;
	assert_int_equal(sched_card_preview(c, cid, &nofuzz, &p, NULL), ST_OK);
	assert_int_equal(p.current.kind, SCHED_REVIEW);
	assert_int_equal(p.current.review.scheduled_days, 4);
	assert_int_equal(d, 5);
	assert_int_equal(due, 4);
	assert_int_equal(p.current.review.elapsed_days, 5);
	/* hard 4*1.2 -> at least 5; good (4 + late/2) * 2.5 */
	assert_int_equal(p.next.s[1].review.scheduled_days, 5);
	float late = (float)(d - due > 0 ? d - due : 0);
	assert_int_equal(p.next.s[2].review.scheduled_days,
	                 (uint32_t)roundf((4.0f + late / 2.0f) * 2.5f));

	static const float p21[21] = {0.4f,  0.9f,  2.3f,  10.9f, 4.93f, 0.94f, 0.86f,
	                              0.01f, 1.49f, 0.14f, 0.94f, 2.18f, 0.05f, 0.34f,
	                              1.26f, 0.29f, 2.61f, 0.5f,  0.3f,  0.1f,  0.2f};
	struct deckconf dc;
	int64_t conf_id = q_int("select id from deck_config order by id limit 1");
	assert_int_equal(col_load_deckconf(c, conf_id, &dc, NULL), ST_OK);
	f32_list_free(&dc.cfg.fsrs_params_6);
	dc.cfg.fsrs_params_6.v = malloc(sizeof p21);
	memcpy(dc.cfg.fsrs_params_6.v, p21, sizeof p21);
	dc.cfg.fsrs_params_6.n = 21;
	dc.cfg.desired_retention = 0.85f;
	assert_int_equal(col_store_deckconf(c, &dc, NULL), ST_OK);
	deckconf_free(&dc);
	fsrs_on();
	assert_int_equal(sched_card_preview(c, cid, NULL, &p, NULL), ST_OK);
	/* data {}: the memory state is rebuilt from the review log */
	assert_true(p.current.review.mem.has);
	answer(cid, 3, 0, NULL);
	struct card cd = get_card(cid);
	struct sched_data dd;
	assert_int_equal(sched_data_parse(cd.data, &dd, NULL), ST_OK);
	/* rebuilt from the log (Easy on a new card), stepped once more */
	assert_true(dd.has_s && dd.has_d && dd.dr == 0.85f && dd.decay == 0.2f);
	assert_true(dd.s > 10.9f);
	assert_true(cd.ivl >= 5 && cd.ivl <= 36500);
	assert_int_equal(cd.due, d + cd.ivl);
	assert_int_equal(cd.factor, 2500);
	sched_data_free(&dd);
	card_free(&cd);
	int64_t f =
	    q_int("select factor from revlog where cid = 1701890173047 order by id desc limit 1");
	assert_true(f >= 100 && f <= 1100); /* FSRS difficulty, shifted */
	restore_col(NULL);
	tu_rmtree(dir);
}

/* ---- batch behaviour ---- */

static void test_batch(void **state)
{
	(void)state;
	fsrs_off();
	set_now(CREATED + 80 * DAY + 3600);
	int64_t a = add_card_in(1, fx.basic, 0, NULL), b = add_card_in(1, fx.basic, 0, NULL);
	struct sched_answer ans[4] = {{a, 3, 0}, {42, 3, 0}, {b, 1, 0}, {a, 7, 0}};
	bool ok[4] = {false, true, false, false};
	size_t done = 99;
	struct errinfo e;
	assert_int_equal(sched_answer_cards(fx.c, ans, 4, NULL, ok, &done, &e), ST_INVALID);
	assert_string_equal(e.msg, "invalid ease");
	assert_int_equal(done, 3);
	assert_true(ok[0]);
	assert_false(ok[1]);
	assert_true(ok[2]);
	/* the answers before the bad one stay */
	assert_int_equal(q_int("select reps from cards where id in (select max(id) from cards)"),
	                 1);
	char sql[96];
	snprintf(sql, sizeof sql, "select count() from revlog where cid in (%lld, %lld)",
	         (long long)a, (long long)b);
	assert_int_equal(q_int(sql), 2);
	/* inside the caller's transaction nothing is committed here */
	assert_int_equal(col_begin(fx.c, NULL), ST_OK);
	struct sched_answer one = {a, 3, 0};
	assert_int_equal(sched_answer_cards(fx.c, &one, 1, NULL, NULL, NULL, NULL), ST_OK);
	col_rollback(fx.c);
	snprintf(sql, sizeof sql, "select reps from cards where id = %lld", (long long)a);
	assert_int_equal(q_int(sql), 1);
	/* same answers at the same millisecond get distinct log ids */
	struct sched_answer two[2] = {{a, 3, 0}, {b, 3, 0}};
	assert_int_equal(sched_answer_cards(fx.c, two, 2, NULL, NULL, NULL, NULL), ST_OK);
	assert_int_equal(q_int("select count(distinct id) - count() from revlog"), 0);
}

static void test_labels(void **state)
{
	(void)state;
	fsrs_off();
	set_conf(default_conf);
	set_now(CREATED + 90 * DAY + 3600);
	int64_t d = today();
	int64_t cid = add_card_in(1, fx.basic, 0, NULL);
	char l[4][SCHED_LABEL_MAX];
	assert_int_equal(sched_next_labels(fx.c, cid, 0, l, NULL), ST_OK);
	/* Easy shows the fuzzed graduating interval (4 days, range 3-5), as
	 * Anki's buttons do; the spec's example "4d" is one of them */
	char easy[16], easy_iso[32];
	uint32_t e4 = sched_with_fuzz(true, sched_rng_fuzz_factor((uint64_t)cid), 4.0f, 1, 36500);
	snprintf(easy, sizeof easy, "%ud", e4);
	snprintf(easy_iso, sizeof easy_iso,
	         "\xe2\x81\xa8%u\xe2\x81\xa9"
	         "d",
	         e4);
	const char *want[4] = {"<1m", "<6m", "<10m", easy};
	for (int i = 0; i < 4; i++)
		assert_string_equal(l[i], want[i]);
	assert_int_equal(sched_next_labels(fx.c, cid, SCHED_LABEL_ISOLATE, l, NULL), ST_OK);
	assert_string_equal(l[3], easy_iso);
	/* fuzz off, as in Anki's tests: 4d */
	struct sched_preview pv;
	struct sched_opts nf = {true};
	assert_int_equal(sched_card_preview(fx.c, cid, &nf, &pv, NULL), ST_OK);
	assert_int_equal(pv.next.s[3].review.scheduled_days, 4);
	/* test_schedv3.test_nextIvl: 100-day review card, easy 10.7mo */
	char sql[160];
	snprintf(sql, sizeof sql,
	         "update cards set type=2, queue=2, due=%lld, factor=2500, ivl=100 where id=%lld",
	         (long long)d, (long long)cid);
	exec(sql);
	struct sched_preview p;
	struct sched_opts nofuzz = {true};
	assert_int_equal(sched_card_preview(fx.c, cid, &nofuzz, &p, NULL), ST_OK);
	assert_int_equal(p.next.s[3].review.scheduled_days, 325);
	assert_int_equal(sched_next_labels(fx.c, cid, 0, l, NULL), ST_OK);
	assert_string_equal(l[0], "<10m");
	assert_int_equal(sched_next_labels(fx.c, 12345, 0, l, NULL), ST_NOTFOUND);
	/* one labeler over several cards (cardsInfo) gives each card the
	 * labels it gets alone, a missing card in between included */
	int64_t fresh = add_card_in(1, fx.basic, 0, NULL);
	const int64_t seq[] = {cid, fresh, 12345, cid, fresh};
	struct sched_labeler *lab;
	assert_int_equal(sched_labeler_new(fx.c, &lab, NULL), ST_OK);
	for (size_t i = 0; i < sizeof seq / sizeof *seq; i++) {
		char alone[4][SCHED_LABEL_MAX], many[4][SCHED_LABEL_MAX];
		unsigned flags = i % 2 ? SCHED_LABEL_ISOLATE : 0;
		enum status st = sched_next_labels(fx.c, seq[i], flags, alone, NULL);
		assert_int_equal(sched_labeler_labels(lab, seq[i], flags, many, NULL), st);
		for (int k = 0; k < 4 && st == ST_OK; k++)
			assert_string_equal(many[k], alone[k]);
	}
	sched_labeler_free(lab);
}

/* ---- table-driven sequences, fuzz off (Anki's test builds) ----
 * One card answered row after row at the given day (10:00 + offset
 * seconds); each row gives the card columns afterwards, the review-log
 * row written, and with FSRS the stored memory state.  Expected values
 * were worked out by hand from rslib's scheduler/states and answering
 * (SM-2), and for FSRS by an independent transcription of fsrs-rs 6.6's
 * formulas in Python (f32 emulated; tests/integration/
 * test_connectd_sched.py has the same reference), not by running this
 * library. */

struct seq_row {
	int day, offset, ease;
	int type, queue;
	bool due_secs; /* due is seconds after the answer (learning) */
	int64_t due, ivl, factor, left, reps, lapses;
	int r_ivl, r_last, r_factor, r_type;
	float s, d; /* FSRS: stored s/d (0 = not checked) */
};

static int64_t at_day(int day, int offset)
{
	return CREATED - 2 * 3600 + (int64_t)day * DAY + offset; /* 10:00 UTC */
}

static void run_seq(const struct seq_row *t, size_t n)
{
	struct sched_opts nofuzz = {true};
	set_now(at_day(t[0].day, 0));
	int64_t cid = add_card_in(1, fx.basic, 0, NULL);
	for (size_t i = 0; i < n; i++) {
		set_now(at_day(t[i].day, t[i].offset));
		assert_int_equal(today(), t[i].day);
		answer(cid, t[i].ease, 0, &nofuzz);
		struct card cd = get_card(cid);
		int64_t due = t[i].due_secs ? fx.now + t[i].due : t[i].due;
		if (cd.type != t[i].type || cd.queue != t[i].queue || cd.due != due ||
		    cd.ivl != t[i].ivl || cd.factor != t[i].factor || cd.left != t[i].left ||
		    cd.reps != t[i].reps || cd.lapses != t[i].lapses)
			fail_msg(
			    "row %zu: type %d queue %d due %lld ivl %lld factor %lld left %lld "
			    "reps %lld lapses %lld; want %d %d %lld %lld %lld %lld %lld %lld",
			    i + 1, cd.type, cd.queue, (long long)cd.due, (long long)cd.ivl,
			    (long long)cd.factor, (long long)cd.left, (long long)cd.reps,
			    (long long)cd.lapses, t[i].type, t[i].queue, (long long)due,
			    (long long)t[i].ivl, (long long)t[i].factor, (long long)t[i].left,
			    (long long)t[i].reps, (long long)t[i].lapses);
		struct sched_data dd;
		assert_int_equal(sched_data_parse(cd.data, &dd, NULL), ST_OK);
		if (t[i].s > 0.0f) {
			if (!dd.has_s || !dd.has_d || fabsf(dd.s - t[i].s) > 1e-4f ||
			    fabsf(dd.d - t[i].d) > 1e-3f)
				fail_msg("row %zu: data %s, want s %g d %g", i + 1, cd.data,
				         (double)t[i].s, (double)t[i].d);
		} else {
			assert_false(dd.has_s);
		}
		assert_true(dd.has_lrt && dd.lrt == fx.now);
		sched_data_free(&dd);
		card_free(&cd);
		check_revlog(cid, t[i].ease, t[i].r_ivl, t[i].r_last, t[i].r_factor, 0,
		             t[i].r_type);
	}
	char sql[96];
	snprintf(sql, sizeof sql, "select count() from revlog where cid = %lld", (long long)cid);
	assert_int_equal(q_int(sql), (int64_t)n);
}

/* SM-2, default preset: learning steps 1m 10m, graduating 1 / 4 days,
 * relearning 10m, new interval 0 %, minimum 1 day, hard 1.2, easy 1.3 */
static void test_sm2_table(void **state)
{
	(void)state;
	fsrs_off();
	set_conf(default_conf);
	static const struct seq_row t[] = {
	    /* new: Again, first step */
	    {500, 0, 1, 1, 1, true, 60, 0, 0, 2, 1, 0, -60, 0, 0, 0, 0, 0},
	    /* Hard on the first step: average of 1 and 10 min */
	    {500, 60, 2, 1, 1, true, 330, 0, 0, 2, 2, 0, -330, -60, 0, 0, 0, 0},
	    /* Good: second step; lastIvl is the current step (1 min) */
	    {500, 400, 3, 1, 1, true, 600, 0, 0, 1, 3, 0, -600, -60, 0, 0, 0, 0},
	    /* Hard on the last step repeats it */
	    {500, 1000, 2, 1, 1, true, 600, 0, 0, 1, 4, 0, -600, -600, 0, 0, 0, 0},
	    /* Good graduates: 1 day, ease 250 % */
	    {500, 1600, 3, 2, 2, false, 501, 1, 2500, 0, 5, 0, 1, -600, 2500, 0, 0, 0},
	    /* next day, Good: hard 1.2 -> 2, good 2.5 -> 3 (at least hard + 1) */
	    {501, 0, 3, 2, 2, false, 504, 3, 2500, 0, 6, 0, 3, 1, 2500, 1, 0, 0},
	    /* Hard: 3 * 1.2 = 3.6 -> 4, ease -15 % */
	    {504, 0, 2, 2, 2, false, 508, 4, 2350, 0, 7, 0, 4, 3, 2350, 1, 0, 0},
	    /* two days late, Easy: (4 + 2) * 2.35 * 1.3 = 18.3 -> 18, ease +15 % */
	    {510, 0, 4, 2, 2, false, 528, 18, 2500, 0, 8, 0, 18, 4, 2500, 1, 0, 0},
	    /* lapse: 18 * 0 % -> 1 day, relearning step 10 min, ease -20 % */
	    {528, 0, 1, 3, 1, true, 600, 1, 2300, 1, 9, 1, -600, 18, 2300, 1, 0, 0},
	    /* Again while relearning: no second lapse, log type relearning */
	    {528, 60, 1, 3, 1, true, 600, 1, 2300, 1, 10, 1, -600, -600, 2300, 2, 0, 0},
	    /* Good ends relearning with the lapse interval */
	    {528, 120, 3, 2, 2, false, 529, 1, 2300, 0, 11, 1, 1, -600, 2300, 2, 0, 0},
	    /* Good: 1 * 2.3 -> 2, at least hard (2) + 1 */
	    {529, 0, 3, 2, 2, false, 532, 3, 2300, 0, 12, 1, 3, 1, 2300, 1, 0, 0},
	    /* second lapse */
	    {532, 0, 1, 3, 1, true, 600, 1, 2100, 1, 13, 2, -600, 3, 2100, 1, 0, 0},
	    /* Hard on a single relearning step: 1.5 x 10 min */
	    {532, 60, 2, 3, 1, true, 900, 1, 2100, 1, 14, 2, -900, -600, 2100, 2, 0, 0},
	    /* Easy in relearning: the lapse interval + 1 day, ease unchanged */
	    {532, 120, 4, 2, 2, false, 534, 2, 2100, 0, 15, 2, 2, -600, 2100, 2, 0, 0},
	};
	run_seq(t, sizeof t / sizeof t[0]);
}

static void fsrs5_short_term_conf(struct deckconf_config *c)
{
	static const float p5[19] = {0.6845422f, 1.6790825f,  4.7349424f,  10.042885f,
	                             7.4410233f, 0.64219797f, 1.071918f,   0.0025195254f,
	                             1.432437f,  0.1544f,     0.8692766f,  2.0696752f,
	                             0.0953f,    0.2975f,     2.4691248f,  0.19542035f,
	                             3.201072f,  0.18046261f, 0.121442534f};
	f32_list_free(&c->learn_steps);
	f32_list_free(&c->relearn_steps);
	f32_list_free(&c->fsrs_params_5);
	c->fsrs_params_5.v = malloc(sizeof p5);
	assert_non_null(c->fsrs_params_5.v);
	memcpy(c->fsrs_params_5.v, p5, sizeof p5);
	c->fsrs_params_5.n = 19;
	c->desired_retention = 0.95f;
}

static void test_fsrs_tables(void **state)
{
	(void)state;
	set_conf(default_conf);
	fsrs_on();
	/* fsrs-rs default (FSRS-6) parameters, 90 %, default steps */
	static const struct seq_row a[] = {
	    /* S0 = w2, D0(3); revlog factor = ((D - 1) / 9 + 0.1) * 1000 */
	    {300, 0, 3, 1, 1, true, 600, 0, 0, 1, 1, 0, -600, 0, 224, 0, 2.3065f, 2.118f},
	    /* same day: short-term stability (here unchanged), graduates at 2.3 d */
	    {300, 600, 3, 2, 2, false, 302, 2, 2500, 0, 2, 0, 2, -600, 223, 0, 2.3065f, 2.111f},
	    /* on the due day, 2 days elapsed */
	    {302, 0, 3, 2, 2, false, 313, 11, 2500, 0, 3, 0, 11, 2, 223, 1, 10.9713f, 2.104f},
	    /* 3 days late, lapse (14 days elapsed) into the relearning step */
	    {316, 0, 1, 3, 1, true, 600, 2, 2300, 1, 4, 1, -600, 11, 810, 1, 1.5839f, 7.39f},
	    /* Good leaves relearning: same-day stability 1.6146 -> 2 days */
	    {316, 600, 3, 2, 2, false, 318, 2, 2300, 0, 5, 1, 2, -600, 809, 2, 1.6146f, 7.378f},
	    /* a day late, Hard */
	    {319, 0, 2, 2, 2, false, 323, 4, 2150, 0, 6, 1, 4, 2, 905, 1, 4.2511f, 8.245f},
	    /* on the due day (11:00), Easy */
	    {323, 3600, 4, 2, 2, false, 336, 13, 2300, 0, 7, 1, 13, 4, 838, 1, 13.139f, 7.644f},
	};
	run_seq(a, sizeof a / sizeof a[0]);

	/* custom FSRS-5 parameters (fsrs-rs's test set), 95 %, no learning or
	 * relearning steps: intervals under half a day stay in (re)learning
	 * for that many seconds (short-term scheduling) */
	set_conf(fsrs5_short_term_conf);
	static const struct seq_row b[] = {
	    /* Again: S = w0, 0.315 days -> 27239 s */
	    {400, 0, 1, 1, 1, true, 27239, 0, 0, 0, 1, 0, -27239, 0, 816, 0, 0.6845f, 7.441f},
	    /* Again the same evening: short-term S 0.4877 -> 19406 s */
	    {400, 28800, 1, 1, 1, true, 19406, 0, 0, 0, 2, 0, -19406, 0, 882, 0, 0.4877f, 8.034f},
	    /* next day, Good: 0.75 days -> review, 1 day */
	    {401, 0, 3, 2, 2, false, 402, 1, 2500, 0, 3, 0, 1, 0, 880, 0, 1.6225f, 8.018f},
	    /* Good: 1.25 days -> at least hard (1) + 1 = 2 */
	    {402, 0, 3, 2, 2, false, 404, 2, 2500, 0, 4, 0, 2, 1, 878, 1, 2.7208f, 8.002f},
	    /* lapse: 0.45 days, no relearning steps: short-term relearning */
	    {404, 0, 1, 3, 1, true, 39023, 1, 2300, 0, 5, 1, -39023, 2, 929, 1, 0.9807f, 8.461f},
	    /* next day, Good: 0.90 days -> review, 1 day */
	    {405, 0, 3, 2, 2, false, 406, 1, 2300, 0, 6, 1, 1, 0, 927, 2, 1.9475f, 8.444f},
	};
	run_seq(b, sizeof b / sizeof b[0]);
	set_conf(default_conf);
	fsrs_off();
}

/* ---- property test: random presets, answers and days, fuzz on ----
 * After every answer: a review card's interval is at least 1 day and at
 * most the preset's maximum (Anki's two documented exceptions allowed:
 * SM-2 Easy out of relearning is the lapse interval + 1, an FSRS lapse
 * without relearning steps keeps the model's interval), due = today +
 * interval; a learning card is due within its step + 25 % (5 min at
 * most) or on a later day; one review-log row per answer agreeing with
 * the card; reps count answers; lapses never decrease; FSRS memory
 * finite and in range, desired retention stored. */

static uint64_t prop_x;
static struct {
	float steps[3], relearn[2];
	size_t nsteps, nrelearn;
	uint32_t max_ivl, min_lapse, grad_good, grad_easy;
	float ivl_mult, hard, easy, lapse, dr;
	bool custom_fsrs;
} prop;

static uint64_t prop_rand(uint64_t n)
{
	prop_x = prop_x * 6364136223846793005ULL + 1442695040888963407ULL;
	return (prop_x >> 33) % n;
}

static float prop_frand(float lo, float hi)
{
	return lo + (hi - lo) * (float)prop_rand(100001) / 100000.0f;
}

static void prop_conf(struct deckconf_config *c)
{
	static const float p21[21] = {0.4f,  0.9f,  2.3f,  10.9f, 4.93f, 0.94f, 0.86f,
	                              0.01f, 1.49f, 0.14f, 0.94f, 2.18f, 0.05f, 0.34f,
	                              1.26f, 0.29f, 2.61f, 0.5f,  0.3f,  0.1f,  0.2f};
	default_conf(c);
	f32_list_free(&c->learn_steps);
	f32_list_free(&c->relearn_steps);
	if (prop.nsteps) {
		c->learn_steps.v = malloc(prop.nsteps * sizeof(float));
		assert_non_null(c->learn_steps.v);
		memcpy(c->learn_steps.v, prop.steps, prop.nsteps * sizeof(float));
		c->learn_steps.n = prop.nsteps;
	}
	if (prop.nrelearn) {
		c->relearn_steps.v = malloc(prop.nrelearn * sizeof(float));
		assert_non_null(c->relearn_steps.v);
		memcpy(c->relearn_steps.v, prop.relearn, prop.nrelearn * sizeof(float));
		c->relearn_steps.n = prop.nrelearn;
	}
	c->maximum_review_interval = prop.max_ivl;
	c->minimum_lapse_interval = prop.min_lapse;
	c->graduating_interval_good = prop.grad_good;
	c->graduating_interval_easy = prop.grad_easy;
	c->interval_multiplier = prop.ivl_mult;
	c->hard_multiplier = prop.hard;
	c->easy_multiplier = prop.easy;
	c->lapse_multiplier = prop.lapse;
	c->desired_retention = prop.dr;
	c->leech_threshold = 4;
	c->leech_action = 1; /* tag only: keep the card in play */
	if (prop.custom_fsrs) {
		f32_list_free(&c->fsrs_params_6);
		c->fsrs_params_6.v = malloc(sizeof p21);
		assert_non_null(c->fsrs_params_6.v);
		memcpy(c->fsrs_params_6.v, p21, sizeof p21);
		c->fsrs_params_6.n = 21;
	}
}

static void test_property_sequences(void **state)
{
	(void)state;
	static const float step_menu[] = {1.0f, 10.0f, 60.0f, 1440.0f, 0.5f};
	prop_x = 20240110;
	int64_t now = CREATED + 700 * DAY;
	size_t answers = 0, seen[4] = {0}; /* results: review, learning, relearning, day learning */
	for (int round = 0; round < 24; round++) {
		prop.nsteps = prop_rand(4);
		for (size_t i = 0; i < prop.nsteps; i++)
			prop.steps[i] = step_menu[prop_rand(5)];
		prop.nrelearn = prop_rand(3);
		for (size_t i = 0; i < prop.nrelearn; i++)
			prop.relearn[i] = step_menu[prop_rand(4)];
		prop.max_ivl = prop_rand(3) ? 1 + (uint32_t)prop_rand(200) : 36500;
		prop.min_lapse = 1 + (uint32_t)prop_rand(5);
		prop.grad_good = 1 + (uint32_t)prop_rand(4);
		prop.grad_easy = prop.grad_good + (uint32_t)prop_rand(6);
		prop.ivl_mult = prop_frand(0.5f, 2.0f);
		prop.hard = prop_frand(0.5f, 1.3f);
		prop.easy = prop_frand(1.0f, 3.0f);
		prop.lapse = prop_frand(0.0f, 1.0f);
		prop.dr = prop_frand(0.7f, 0.97f);
		prop.custom_fsrs = prop_rand(2);
		bool fsrs = prop_rand(2);
		set_conf(prop_conf);
		if (fsrs)
			fsrs_on();
		else
			fsrs_off();
		set_now(now);
		int64_t cids[4];
		struct card prev[4];
		for (int i = 0; i < 4; i++) {
			cids[i] = add_card_in(1, fx.basic, 0, NULL);
			prev[i] = get_card(cids[i]);
		}
		assert_int_equal(col_begin(fx.c, NULL), ST_OK); /* one commit per round */
		for (int step = 0; step < 40; step++) {
			now += (int64_t)prop_rand(3) == 0 ? (int64_t)prop_rand(4 * DAY)
			                                  : (int64_t)prop_rand(1200);
			set_now(now);
			int k = (int)prop_rand(4);
			int ease = 1 + (int)prop_rand(4);
			int64_t nrev = q_int("select count() from revlog");
			answer(cids[k], ease, 0, NULL);
			answers++;
			assert_int_equal(q_int("select count() from revlog"), nrev + 1);
			struct card cd = get_card(cids[k]);
			const struct card *pv = &prev[k];
			int64_t d = today();
			char where[160];
			snprintf(where, sizeof where,
			         "round %d step %d ease %d fsrs %d (from type %d)", round, step,
			         ease, fsrs, pv->type);
			if (cd.reps != pv->reps + 1 || cd.lapses < pv->lapses)
				fail_msg("%s: reps %lld lapses %lld", where, (long long)cd.reps,
				         (long long)cd.lapses);
			/* the newest log row describes this answer */
			sqlite3_stmt *st;
			assert_int_equal(
			    sqlite3_prepare_v2(col_db(fx.c),
			                       "select ease, ivl, factor, type, time from revlog "
			                       "where cid = ?1 order by id desc limit 1",
			                       -1, &st, NULL),
			    SQLITE_OK);
			sqlite3_bind_int64(st, 1, cd.id);
			assert_int_equal(sqlite3_step(st), SQLITE_ROW);
			int64_t r_ease = sqlite3_column_int64(st, 0),
			        r_ivl = sqlite3_column_int64(st, 1),
			        r_factor = sqlite3_column_int64(st, 2),
			        r_type = sqlite3_column_int64(st, 3);
			sqlite3_finalize(st);
			assert_int_equal(r_ease, ease);
			assert_true(r_factor >= 0 && r_type >= 0 && r_type <= 3);
			if (cd.type == 2) {
				uint32_t max = prop.max_ivl;
				bool relearn_easy = !fsrs && pv->type == 3 && ease == 4;
				bool fsrs_lapse =
				    fsrs && pv->type == 2 && ease == 1 && !prop.nrelearn;
				if (cd.ivl < 1 ||
				    (cd.ivl > max && !(relearn_easy && cd.ivl <= max + 1) &&
				     !fsrs_lapse))
					fail_msg("%s: review interval %lld, max %u", where,
					         (long long)cd.ivl, max);
				assert_int_equal(cd.queue, 2);
				assert_int_equal(cd.due, d + cd.ivl);
				assert_int_equal(r_ivl, cd.ivl);
				assert_int_equal(cd.left, 0);
				if (!fsrs)
					assert_true(cd.factor >= 1300);
			} else {
				assert_true(cd.type == 1 || cd.type == 3);
				if (cd.queue == 1) {
					assert_true(r_ivl < 0);
					int64_t secs = -r_ivl;
					int64_t fz = secs / 4 < 300 ? secs / 4 : 300;
					if (cd.due < now + secs || cd.due > now + secs + fz)
						fail_msg("%s: due in %lld s for a %lld s step",
						         where, (long long)(cd.due - now),
						         (long long)secs);
				} else {
					assert_int_equal(cd.queue, 3);
					assert_true(r_ivl >= 1);
					assert_int_equal(cd.due, d + r_ivl);
				}
			}
			struct sched_data dd;
			assert_int_equal(sched_data_parse(cd.data, &dd, NULL), ST_OK);
			assert_true(dd.has_lrt && dd.lrt == now);
			if (fsrs) {
				assert_true(dd.has_s && dd.has_d && dd.has_dr);
				if (!isfinite(dd.s) || dd.s < 0.001f || dd.s > 36500.0f ||
				    !isfinite(dd.d) || dd.d < 1.0f || dd.d > 10.0f)
					fail_msg("%s: memory state s %g d %g", where, (double)dd.s,
					         (double)dd.d);
				assert_true(fabsf(dd.dr - sched_round_places(prop.dr, 2)) < 1e-6f);
			} else {
				assert_false(dd.has_s);
			}
			sched_data_free(&dd);
			seen[cd.type == 2 ? 0 : cd.queue == 3 ? 3 : cd.type == 1 ? 1 : 2]++;
			card_free(&prev[k]);
			prev[k] = cd;
		}
		assert_int_equal(col_commit(fx.c, NULL), ST_OK);
		for (int i = 0; i < 4; i++)
			card_free(&prev[i]);
	}
	assert_int_equal(answers, 24 * 40);
	for (int i = 0; i < 4; i++) /* every kind of result was checked */
		if (seen[i] < 10)
			fail_msg("result kind %d seen %zu times", i, seen[i]);
	set_conf(default_conf);
	fsrs_off();
}

/* ---- Set Due Date ---- */

static void test_set_due_date(void **state)
{
	(void)state;
	fsrs_off();
	set_now(CREATED + 100 * DAY + 3600);
	int64_t d = today();
	struct sched_due_spec s;
	assert_int_equal(sched_due_parse("0", &s, NULL), ST_OK);
	assert_true(s.min == 0 && s.max == 0 && !s.force_reset);
	assert_int_equal(sched_due_parse("70-50!", &s, NULL), ST_OK);
	assert_true(s.min == 50 && s.max == 70 && s.force_reset);
	static const char *bad[] = {"", "x", "-5", "1 ", "1-", "5!!", "4294967296", "1-2-3", "!"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(sched_due_parse(bad[i], &s, NULL), ST_INVALID);

	/* new card, "0": review due today, interval 1, starting ease */
	int64_t n1 = add_card_in(1, fx.basic, 0, NULL);
	assert_int_equal(sched_set_due_date(fx.c, &n1, 1, "0", "setDueBrowser", NULL), ST_OK);
	check_card(n1, &(struct exp_card){2, 2, d, 1, 2500, 0, 0, 0}, "{\"pos\":7}");
	check_revlog(n1, 0, 1, 0, 2500, 0, 4);
	json_t *j = NULL;
	assert_int_equal(col_config_get(fx.c, "setDueBrowser", &j, NULL), ST_OK);
	assert_string_equal(json_string_value(j), "0");
	json_decref(j);

	/* review card: "3-7" keeps its interval; "1!" resets it */
	int64_t r1 = add_card_in(1, fx.basic, 0, NULL);
	char sql[160];
	snprintf(
	    sql, sizeof sql,
	    "update cards set type=2, queue=2, due=%lld, factor=2100, ivl=30, reps=9 where id=%lld",
	    (long long)d, (long long)r1);
	exec(sql);
	assert_int_equal(sched_set_due_date(fx.c, &r1, 1, "3-7", NULL, NULL), ST_OK);
	struct card cd = get_card(r1);
	assert_true(cd.due >= d + 3 && cd.due <= d + 7);
	assert_int_equal(cd.ivl, 30);
	assert_int_equal(cd.factor, 2100);
	card_free(&cd);
	check_revlog(r1, 0, 30, 30, 2100, 0, 4);
	assert_int_equal(sched_set_due_date(fx.c, &r1, 1, "1!", NULL, NULL), ST_OK);
	check_card(r1, &(struct exp_card){2, 2, d + 1, 1, 2100, 9, 0, 0}, "{}");
	check_revlog(r1, 0, 1, 30, 2100, 0, 4);
	int64_t both[3] = {n1, r1, 99999};
	assert_int_equal(sched_set_due_date(fx.c, both, 3, "1-3!", NULL, NULL), ST_OK);
	for (int i = 0; i < 2; i++) {
		cd = get_card(both[i]);
		assert_true(cd.due >= d + 1 && cd.due <= d + 3);
		assert_int_equal(cd.ivl, cd.due - d);
		card_free(&cd);
	}
	assert_int_equal(sched_set_due_date(fx.c, both, 2, "x", NULL, NULL), ST_INVALID);

	/* FSRS: interval = days since the last review + the new delay */
	fsrs_on();
	int64_t f1 = add_card_in(1, fx.basic, 0, NULL);
	snprintf(
	    sql, sizeof sql,
	    "update cards set type=2, queue=2, due=%lld, factor=2500, ivl=10, data='{\"s\":10.0,"
	    "\"d\":5.0,\"lrt\":%lld}' where id=%lld",
	    (long long)d, (long long)(fx.now - 10 * DAY), (long long)f1);
	exec(sql);
	assert_int_equal(sched_set_due_date(fx.c, &f1, 1, "2", NULL, NULL), ST_OK);
	cd = get_card(f1);
	assert_int_equal(cd.ivl, 10 + 2);
	assert_int_equal(cd.due, d + 2);
	card_free(&cd);
	check_revlog(f1, 0, 12, 10, 544, 0, 4); /* ((5-1)/9+0.1)*1000, truncated */
	fsrs_off();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sm2_sequence),
	    cmocka_unit_test(test_sm2_review_nofuzz),
	    cmocka_unit_test(test_day_boundary),
	    cmocka_unit_test(test_leech),
	    cmocka_unit_test(test_parent_counters),
	    cmocka_unit_test(test_filtered),
	    cmocka_unit_test(test_fsrs_default),
	    cmocka_unit_test_teardown(test_fsrs_fixture, restore_col),
	    cmocka_unit_test_teardown(test_fsrs_custom_v18, restore_col),
	    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_labels),
	    cmocka_unit_test(test_set_due_date),
	    cmocka_unit_test(test_sm2_table),
	    cmocka_unit_test(test_fsrs_tables),
	    cmocka_unit_test(test_property_sequences),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
