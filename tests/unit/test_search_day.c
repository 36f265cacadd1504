/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_search_day.c - the scheduler day (collection-format.md §6.3.1):
 * col_sched_today / col_sched_timing_at on new collections, with the
 * rollover hour, time zones (POSIX TZ strings, no tzdata needed), the
 * legacy and v1 rules, server collections (localOffset) and
 * ANKIHOST_FAKE_NOW_MS.
 */
#include "testutil.h"

#include <sqlite3.h>
#include <time.h>

#include "col.h"
#include "search_day.h"

#define DAY 86400LL
#define H 3600LL
#define NOW 1773576000LL /* 2026-03-15 12:00:00 UTC */
#define CREATED (NOW - 100 * DAY)
#define CRT (CREATED - 8 * H) /* 04:00 UTC that day */

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void set_now(int64_t secs)
{
	char v[32];
	snprintf(v, sizeof v, "%lld", (long long)secs * 1000);
	setenv("ANKIHOST_FAKE_NOW_MS", v, 1);
}

static void cfg(struct col *c, const char *key, const char *json)
{
	char sql[256];
	if (json)
		snprintf(
		    sql, sizeof sql,
		    "insert or replace into config (KEY, usn, mtime_secs, val) values ('%s', 0, 0, "
		    "cast('%s' as blob))",
		    key, json);
	else
		snprintf(sql, sizeof sql, "delete from config where KEY = '%s'", key);
	assert_int_equal(sqlite3_exec(col_db(c), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* A new collection created at CREATED in UTC. */
static struct col *make(char **dir, unsigned flags)
{
	struct errinfo e;
	char path[4200];
	*dir = tu_mkdtemp();
	snprintf(path, sizeof path, "%s/c.anki2", *dir);
	set_tz("UTC");
	set_now(CREATED);
	assert_int_equal(col_create(path, flags, &e), ST_OK);
	struct col *c;
	assert_int_equal(col_open(path, flags, &c, &e), ST_OK);
	struct col_meta m;
	assert_int_equal(col_meta_get(c, &m, &e), ST_OK);
	assert_int_equal(m.crt, CRT);
	return c;
}

static void at(struct col *c, int64_t now, int64_t days, int64_t next)
{
	struct sched_timing t;
	struct errinfo e;
	assert_int_equal(col_sched_timing_at(c, now, &t, &e), ST_OK);
	if (t.days_elapsed != days || t.next_day_at != next || t.now != now)
		fail_msg("at %lld: got day %lld next %lld, want day %lld next %lld", (long long)now,
		         (long long)t.days_elapsed, (long long)t.next_day_at, (long long)days,
		         (long long)next);
}

static void test_rollover(void **state)
{
	(void)state;
	char *dir;
	struct col *c = make(&dir, 0);
	int64_t today4 = NOW - 8 * H; /* 2026-03-15 04:00 UTC */
	/* creationOffset 0 (UTC), no rollover key yet: 4 */
	at(c, NOW, 100, today4 + DAY);
	at(c, today4, 100, today4 + DAY); /* at the rollover: the new day */
	at(c, today4 - 1, 99, today4);    /* a second before */
	at(c, CRT, 0, CRT + DAY);
	at(c, CRT - 1, 0, CRT); /* never negative */
	at(c, CRT - 10 * DAY, 0, CRT - 9 * DAY);
	cfg(c, "rollover", "0");
	at(c, NOW, 100, today4 - 4 * H + DAY);
	at(c, today4 - 4 * H - 1, 99, today4 - 4 * H);
	cfg(c, "rollover", "23");
	at(c, NOW, 99, today4 + 19 * H);
	at(c, today4 + 19 * H, 100, today4 + 19 * H + DAY);
	cfg(c, "rollover", "30"); /* capped at 23 */
	at(c, NOW, 99, today4 + 19 * H);
	cfg(c, "rollover", "-1"); /* not a u8: the default */
	at(c, NOW, 100, today4 + DAY);
	cfg(c, "rollover", "\"x\"");
	at(c, NOW, 100, today4 + DAY);
	/* the fake clock */
	set_now(NOW);
	struct sched_timing t;
	struct errinfo e;
	assert_int_equal(col_sched_today(c, &t, &e), ST_OK);
	assert_int_equal(t.days_elapsed, 100);
	assert_int_equal(t.now, NOW);
	set_now(NOW - 9 * H);
	assert_int_equal(col_sched_today(c, &t, &e), ST_OK);
	assert_int_equal(t.days_elapsed, 99);
	col_close(c);
	tu_rmtree(dir);
	unsetenv("ANKIHOST_FAKE_NOW_MS");
}

static void test_time_zones(void **state)
{
	(void)state;
	char *dir;
	struct col *c = make(&dir, 0);
	/* now 5 h west of UTC: 12:00 UTC is 07:00 local on the 15th */
	set_tz("XXX+5");
	int64_t local4 = NOW - 8 * H + 5 * H; /* 04:00 local = 09:00 UTC */
	at(c, NOW, 100, local4 + DAY);
	at(c, local4 - 1, 99, local4);
	/* 10 h east: 12:00 UTC is 22:00 local on the 15th */
	set_tz("YYY-10");
	int64_t east4 = NOW - 8 * H - 10 * H;
	at(c, NOW, 100, east4 + DAY);
	at(c, NOW + 6 * H, 101, east4 + 2 * DAY); /* 04:00 local on the 16th */
	/* a creation offset far east moves the creation date */
	set_tz("UTC");
	cfg(c, "creationOffset", "-600"); /* crt 04:00 UTC = 14:00 local, same date */
	at(c, NOW, 100, NOW - 8 * H + DAY);
	cfg(c, "creationOffset", "300"); /* 23:00 the day before */
	at(c, NOW, 101, NOW - 8 * H + DAY);
	cfg(c, "creationOffset", "100000"); /* invalid offset: the legacy rule */
	at(c, NOW, 100, NOW - 8 * H + DAY);
	col_close(c);
	tu_rmtree(dir);
}

static void test_legacy_and_v1(void **state)
{
	(void)state;
	char *dir;
	struct col *c = make(&dir, 0);
	cfg(c, "creationOffset", NULL);
	at(c, NOW, 100, NOW - 8 * H + DAY);
	at(c, NOW - 8 * H - 1, 99, NOW - 8 * H);
	/* crt's rollover is taken in the current offset: crt (04:00 UTC) is
	 * 23:00 the day before, so day 0 began at 09:00 UTC that day */
	set_tz("XXX+5");
	at(c, NOW, 101, NOW - 3 * H + DAY);
	at(c, NOW - 3 * H - 1, 100, NOW - 3 * H);
	set_tz("UTC");
	cfg(c, "schedVer", "1");
	at(c, NOW, 100, CRT + 101 * DAY);
	at(c, CRT + 5 * DAY - 1, 4, CRT + 5 * DAY);
	cfg(c, "schedVer", NULL); /* missing: v1 too */
	at(c, NOW - 9 * H, 99, CRT + 100 * DAY);
	col_close(c);
	tu_rmtree(dir);
}

static void test_server(void **state)
{
	(void)state;
	char *dir;
	struct col *c = make(&dir, COL_SERVER);
	/* server collections have no creationOffset and use localOffset */
	set_tz("XXX+5"); /* the machine's zone does not matter */
	at(c, NOW, 100, NOW - 8 * H + DAY);
	cfg(c, "localOffset", "-600");
	at(c, NOW, 100, NOW + 6 * H);
	/* at the rollover instant the legacy rule keeps next_day_at = now */
	at(c, NOW + 6 * H, 101, NOW + 6 * H);
	at(c, NOW + 6 * H + 1, 101, NOW + 6 * H + DAY);
	cfg(c, "localOffset", "99999");
	at(c, NOW, 100, NOW - 8 * H + DAY);
	set_tz("UTC");
	col_close(c);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rollover),
	    cmocka_unit_test(test_time_zones),
	    cmocka_unit_test(test_legacy_and_v1),
	    cmocka_unit_test(test_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
