/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search_day.h - the scheduler's notion of "today" for a collection
 * (collection-format.md §6.3.1, search-syntax.md §7; the rules of Anki's
 * rslib/src/scheduler/timing.rs), needed by is:due, prop:due, rated:,
 * added:, edited:, introduced:.
 */
#ifndef ANKIHOST_SEARCH_DAY_H
#define ANKIHOST_SEARCH_DAY_H

#include <stdint.h>

#include "col.h"
#include "status.h"

struct sched_timing {
	int64_t now;          /* Unix secs the timing was computed for */
	int64_t days_elapsed; /* today's day number (>= 0) */
	int64_t next_day_at;  /* Unix secs of the next rollover */
};

/* Timing at now_secs.  Reads config schedVer (missing = 1), rollover
 * (missing or not a u8 = 4; capped at 23), creationOffset and, for a
 * server collection, localOffset (minutes west of UTC; a missing or
 * out-of-range value = UTC); a client collection uses the machine's
 * current UTC offset (TZ).  Never writes.  ST_DB on SQLite errors. */
enum status col_sched_timing_at(struct col *c, int64_t now_secs, struct sched_timing *out,
                                struct errinfo *e);

/* col_sched_timing_at(c, col_now_secs(), ...): honours
 * ANKIHOST_FAKE_NOW_MS through col_now_ms. */
enum status col_sched_today(struct col *c, struct sched_timing *out, struct errinfo *e);

#endif
