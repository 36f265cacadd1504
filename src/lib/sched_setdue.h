/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_setdue.h - Anki's "Set Due Date" (rslib/src/scheduler/reviews.rs;
 * AnkiConnect setDueDate).
 *
 * Syntax: "N" (N days from today, 0 = today), "N-M" (a random day in the
 * range, either order), and a trailing "!" that also resets the interval
 * to the chosen number of days.  Digits only, no spaces, values fit u32.
 *
 * Each card becomes a review card due today + N; interval: SM-2 keeps a
 * review/relearning card's interval (at least 1) unless "!", other cards
 * get N (at least 1); with FSRS on, the interval becomes the days since the
 * last review + N (0 for new cards).  The ease of a card without one is
 * the home preset's starting ease.  A card in a filtered deck goes home.
 * One manual review-log row per card (type 4, ease 0, time 0, factor =
 * ease or FSRS difficulty), the card row rewritten (mod, usn, data).
 */
#ifndef ANKIHOST_SCHED_SETDUE_H
#define ANKIHOST_SCHED_SETDUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col.h"
#include "status.h"

struct sched_due_spec {
	uint32_t min, max;
	bool force_reset;
};

/* Parse the syntax above.  ST_INVALID (message names the text). */
enum status sched_due_parse(const char *s, struct sched_due_spec *out, struct errinfo *e);

/* Set the due date of the given cards (missing ids are skipped, repeated
 * ids handled once).  config_key (may be NULL), e.g. "setDueBrowser",
 * receives days as a JSON string, as Anki remembers the last input.  Own
 * transaction unless the caller has one open.  ST_INVALID for bad syntax
 * (nothing changed), ST_CORRUPT for a card whose home deck is missing or
 * filtered, ST_DB. */
enum status sched_set_due_date(struct col *c, const int64_t *cids, size_t n, const char *days,
                               const char *config_key, struct errinfo *e);

#endif
