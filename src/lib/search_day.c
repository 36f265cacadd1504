/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search_day.c - the scheduler day (collection-format.md §6.3.1,
 * search-syntax.md §7), computed as Anki's scheduler/timing.rs does:
 *
 *   v1 (schedVer missing or 1): days = (now - crt) / 86400,
 *       next rollover = crt + (days + 1) * 86400;
 *   v2 without a usable creationOffset ("legacy"): days counted from
 *       the rollover hour on crt's date in the current offset;
 *   v2 with creationOffset: calendar days between crt's local date (in
 *       the creation offset) and now's local date (current offset),
 *       minus one before today's rollover; never negative.
 *
 * Offsets are minutes west of UTC, valid when |minutes*60| < 86400
 * (chrono's FixedOffset::west_opt).  Nothing is written: Anki stores
 * rollover=4 / the current localOffset when it computes the day, but a
 * search must not modify the collection.
 */
#include "search_day.h"

#include <jansson.h>
#include <time.h>

#include "col_store.h"

/* floor(a / b) for b > 0 */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* An integer config value in [lo, hi]; false when missing, not JSON, not
 * an integer, or out of range (Anki then treats it as missing). */
static bool config_int(struct col *c, const char *key, int64_t lo, int64_t hi, int64_t *out,
                       enum status *st, struct errinfo *e)
{
	json_t *j = NULL;
	struct errinfo tmp;
	enum status s = col_config_get(c, key, &j, &tmp);
	if (s) {
		if (s != ST_NOTFOUND && s != ST_CORRUPT) {
			*st = s;
			if (e)
				*e = tmp;
		}
		return false;
	}
	bool ok = json_is_integer(j) && json_integer_value(j) >= lo && json_integer_value(j) <= hi;
	if (ok)
		*out = json_integer_value(j);
	json_decref(j);
	return ok;
}

static bool offset_ok(int64_t minutes_west)
{
	return minutes_west > -1440 && minutes_west < 1440;
}

/* Unix secs of hour:00 on the local date of t in the given offset. */
static int64_t rollover_at(int64_t t, int64_t west, int64_t hour)
{
	int64_t local = t - west * 60;
	return floor_div(local, 86400) * 86400 + hour * 3600 + west * 60;
}

static int64_t machine_minutes_west(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm))
		return 0;
	return -(int64_t)tm.tm_gmtoff / 60;
}

enum status col_sched_timing_at(struct col *c, int64_t now, struct sched_timing *out,
                                struct errinfo *e)
{
	struct col_meta m;
	enum status st = col_meta_get(c, &m, e);
	if (st)
		return st;
	out->now = now;
	int64_t crt = m.crt, ver = 1, rollover = 4, creation_west = 0, west = 0;
	bool v2 = config_int(c, "schedVer", 1, 2, &ver, &st, e) && ver == 2;
	if (st)
		return st;
	if (!v2) {
		int64_t days = (now - crt) / 86400;
		out->days_elapsed = days < 0 ? 0 : days;
		out->next_day_at = crt + (days + 1) * 86400;
		return ST_OK;
	}
	if (config_int(c, "rollover", 0, 255, &rollover, &st, e) && rollover > 23)
		rollover = 23;
	if (st)
		return st;
	bool have_creation =
	    config_int(c, "creationOffset", INT32_MIN, INT32_MAX, &creation_west, &st, e) &&
	    offset_ok(creation_west);
	if (st)
		return st;
	if (col_is_server(c)) {
		if (!config_int(c, "localOffset", INT32_MIN, INT32_MAX, &west, &st, e) ||
		    !offset_ok(west))
			west = 0;
		if (st)
			return st;
	} else {
		west = machine_minutes_west(now);
		if (!offset_ok(west))
			west = 0;
	}

	if (!have_creation) {
		int64_t crt_roll = rollover_at(crt, west, rollover);
		int64_t days = (now - crt_roll) / 86400;
		out->days_elapsed = days < 0 ? 0 : days;
		int64_t next = rollover_at(now, west, rollover);
		out->next_day_at = next < now ? next + 86400 : next;
		return ST_OK;
	}
	int64_t today_roll = rollover_at(now, west, rollover);
	bool passed = today_roll <= now;
	out->next_day_at = passed ? today_roll + 86400 : today_roll;
	int64_t days =
	    floor_div(now - west * 60, 86400) - floor_div(crt - creation_west * 60, 86400);
	if (!passed)
		days--;
	out->days_elapsed = days < 0 ? 0 : days;
	return ST_OK;
}

enum status col_sched_today(struct col *c, struct sched_timing *out, struct errinfo *e)
{
	return col_sched_timing_at(c, col_now_secs(), out, e);
}
