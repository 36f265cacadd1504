/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_stats.h - the figures of Anki's legacy statistics report (the old
 * "Statistics" window, pylib CollectionStats.report() with the default
 * one-month period) computed from cards and revlog, and an HTML report of
 * them.  Used by anki-connectd's getCollectionStatsHTML (ankiconnect.md
 * §3.8).
 *
 * Days: "today" is the scheduler day of search_day.h; day 0 of a history
 * is the 24 hours before the next rollover, day k the 24 hours before
 * that, and the period is days 0..30 (COL_STATS_DAYS).  A revlog row or
 * card whose id lies after the next rollover (a clock ahead) counts as
 * today.  Forecast day k is the scheduler day today + k.
 *
 * Scope: the whole collection (cards in any existing deck, every revlog
 * row, even those of deleted cards) or the current deck ("curDeck",
 * deck 1 when missing or gone) with its children (cards by did, revlog
 * rows of those cards), as Anki's report limits them.
 */
#ifndef ANKIHOST_COL_STATS_H
#define ANKIHOST_COL_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "col.h"
#include "status.h"

#define COL_STATS_DAYS 31    /* the one-month period: today and 30 days back */
#define COL_STATS_IVL_MAX 31 /* interval histogram: 0..31 days */
#define COL_STATS_MATURE 21  /* interval (days) from which a card is mature */

/* Kinds of answers in the review history (revlog.type, with type 1 split
 * by lastIvl into young and mature). */
enum col_stats_kind {
	CS_LEARN,   /* type 0 */
	CS_YOUNG,   /* type 1, lastIvl < 21 */
	CS_MATURE,  /* type 1, lastIvl >= 21 */
	CS_RELEARN, /* type 2 */
	CS_CRAM,    /* type 3 (filtered) */
	CS_NKINDS
};

/* Answer-button classes: learning (revlog type 0 or 2), young and mature
 * (any other type but 4, by lastIvl). */
enum col_stats_class { CS_CLS_LEARNING, CS_CLS_YOUNG, CS_CLS_MATURE, CS_NCLASSES };

struct col_stats_today {
	int64_t cards;                            /* answers since the last rollover (type != 4) */
	int64_t secs;                             /* their time, whole seconds (sum(ms) / 1000) */
	int64_t again;                            /* of which ease 1 */
	int64_t learn, review, relearn, filtered; /* by revlog type 0..3 */
	int64_t mature, mature_correct; /* rows with lastIvl >= 21 (any type), not ease 1 */
};

struct col_stats_forecast {
	int64_t young[COL_STATS_DAYS]; /* review/day-learning cards due today+k, ivl < 21 */
	int64_t mature[COL_STATS_DAYS];
	int64_t total;    /* sum of both over the 31 days */
	int64_t days_due; /* days with anything due (Anki divides the average by it) */
	int64_t overdue;  /* due before today (not part of Anki's graph) */
	int64_t tomorrow; /* due exactly tomorrow */
};

struct col_stats_reviews {
	int64_t count[COL_STATS_DAYS][CS_NKINDS]; /* [days ago][kind] */
	int64_t ms[COL_STATS_DAYS][CS_NKINDS];    /* answer time, milliseconds */
	int64_t total;                            /* answers of the five kinds in the period */
	int64_t total_ms;
	int64_t days_studied; /* days with any revlog row (types 4/5 included, as Anki) */
};

struct col_stats_intervals {
	int64_t hist[COL_STATS_IVL_MAX + 1]; /* review cards (queue 2) by ivl 0..31 */
	int64_t count;                       /* all review cards */
	double avg;                          /* mean ivl in days (0 when none) */
	int64_t max;                         /* longest ivl in days */
};

struct col_stats_hours {
	int64_t count[24];   /* answers (types 0..2) in the period by local hour */
	int64_t correct[24]; /* of which not ease 1 */
};

struct col_stats_buttons {
	int64_t ease[CS_NCLASSES][5]; /* [class][ease 0..4] (types != 4, period) */
	int64_t total[CS_NCLASSES];   /* all eases, including out-of-range ones */
	int64_t again[CS_NCLASSES];   /* ease 1 */
};

struct col_stats_cards {
	int64_t mature;                      /* queue 2, ivl >= 21 */
	int64_t young;                       /* queue 2, ivl < 21 */
	int64_t learning;                    /* queue 1, 3 (and 4, preview) */
	int64_t unseen;                      /* queue 0 */
	int64_t suspended;                   /* queue -1 */
	int64_t buried;                      /* queue -2, -3 */
	int64_t total;                       /* every card in scope */
	int64_t notes;                       /* distinct notes of those cards */
	bool have_ease;                      /* review cards with a non-zero lowest factor */
	double ease_min, ease_avg, ease_max; /* factor / 10, percent */
};

struct col_stats {
	bool whole;    /* whole collection (else the current deck and children) */
	char *scope;   /* "whole collection" or the current deck's human name */
	int64_t now;   /* Unix secs the report was made for */
	int64_t today; /* scheduler day number */
	int64_t next_day_at;
	int64_t rollover; /* the rollover hour used for the hourly breakdown */
	struct col_stats_today td;
	struct col_stats_forecast due;
	struct col_stats_reviews reps;
	int64_t added[COL_STATS_DAYS]; /* cards created, by days ago */
	int64_t added_total;
	struct col_stats_intervals ivl;
	struct col_stats_hours hours;
	struct col_stats_buttons buttons;
	struct col_stats_cards cards;
};

/* Compute every figure at the collection's current time (col_now_secs,
 * so ANKIHOST_FAKE_NOW_MS applies).  Reads only.  On success the caller
 * frees *out with col_stats_free (also after a failure: safe).  ST_DB,
 * ST_NOMEM. */
enum status col_stats_compute(struct col *c, bool whole, struct col_stats *out, struct errinfo *e);
void col_stats_free(struct col_stats *s);

/* Append the report as a self-contained HTML fragment (a <style> block
 * and one <div>, no scripts, no external resources; the deck name is
 * escaped).  Section headings are Anki's: Today, Forecast, Review Count,
 * Review Time, Added, Intervals, Hourly Breakdown, Answer Buttons, Card
 * Types.  ST_TOOBIG when out's cap is reached. */
enum status col_stats_html(const struct col_stats *s, struct buf *out, struct errinfo *e);

/* Anki's time_span for intervals ("3 days", "1.5 months", "2 years"):
 * the largest fitting unit, seconds and days rounded to integers, other
 * units to one decimal.  Writes at most cap bytes (NUL included). */
void col_stats_timespan(double secs, char *dst, size_t cap);

#endif
