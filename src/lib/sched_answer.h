/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_answer.h - answering cards with Anki's v3 scheduler, in the
 * library (issue 11): the card's next state as Anki computes it (SM-2 or
 * FSRS per the collection's "fsrs" config, the home deck's preset, the
 * collection's day), written exactly as Anki writes it: the card row
 * (type, queue, due, ivl, factor, reps, lapses, left, odid/odue, mod, usn,
 * data with pos, s, d, dr, decay, lrt), one review-log row, the day
 * counters of the deck and its parents, the "leech" tag, leech suspension
 * and sibling burying per the preset.  Collection mtime is bumped.
 *
 * Also the four answer-button labels (AnkiConnect cardsInfo.nextReviews).
 * Spec: collection-format.md §6.3, §6.3.1, §6.4, §2.9, §2.10;
 * docs/scheduler.md for the rules and what differs from Anki.
 *
 * Time comes from col_now_ms() (ANKIHOST_FAKE_NOW_MS in tests).  The fuzz
 * is Anki's seeded fuzz (card id + reps), so results are reproducible.
 * The load balancer is not used (as in Anki when no study queue is built,
 * e.g. AnkiConnect's answerCards without an open reviewer).
 */
#ifndef ANKIHOST_SCHED_ANSWER_H
#define ANKIHOST_SCHED_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col.h"
#include "sched_labels.h"
#include "sched_states.h"
#include "status.h"

struct sched_answer {
	int64_t card_id;
	int ease;          /* 1 Again, 2 Hard, 3 Good, 4 Easy */
	uint32_t ms_taken; /* answer time; capped at the preset's limit */
};

struct sched_opts {
	bool no_fuzz; /* as Anki's own test builds: no interval/step fuzz */
};

/* Answer n cards in order.  answered[i] (may be NULL) is set to false for
 * a card that does not exist (nothing written for it), true otherwise.
 * An ease outside 1-4 stops the call with ST_INVALID "invalid ease": the
 * answers before it stay, as with AnkiConnect.  Any other failure
 * (ST_DB, ST_CORRUPT for a card whose deck is missing, ST_INVALID for bad
 * FSRS parameters) also keeps the earlier answers and undoes the failing
 * one.  *done (may be NULL) = answers processed before the stop.
 * Runs in its own transaction, or inside the caller's when one is open
 * (then nothing is committed here).  opts may be NULL. */
enum status sched_answer_cards(struct col *c, const struct sched_answer *answers, size_t n,
                               const struct sched_opts *opts, bool *answered, size_t *done,
                               struct errinfo *e);

/* What answering card_id now would do, without writing anything. */
struct sched_preview {
	struct sched_state current;
	struct sched_next next;
	uint32_t secs_until_rollover;
	uint32_t collapse_secs; /* config collapseTime (learn-ahead limit) */
	int64_t today;
};
enum status sched_card_preview(struct col *c, int64_t card_id, const struct sched_opts *opts,
                               struct sched_preview *out, struct errinfo *e);

/* The four answer-button labels for card_id (Again, Hard, Good, Easy),
 * e.g. "<1m" "<6m" "<10m" "4d" for a new card with default options.
 * flags: SCHED_LABEL_ISOLATE adds the U+2068/U+2069 marks Anki's desktop
 * strings carry.  ST_NOTFOUND for a missing card. */
enum status sched_next_labels(struct col *c, int64_t card_id, unsigned flags,
                              char labels[4][SCHED_LABEL_MAX], struct errinfo *e);

/* The same for many cards in one read (cardsInfo): what every card shares
 * (the day, presets, prepared statements) is read once.  Use it only while
 * nothing writes to the collection. */
struct sched_labeler;
enum status sched_labeler_new(struct col *c, struct sched_labeler **out, struct errinfo *e);
enum status sched_labeler_labels(struct sched_labeler *l, int64_t card_id, unsigned flags,
                                 char labels[4][SCHED_LABEL_MAX], struct errinfo *e);
void sched_labeler_free(struct sched_labeler *l);

#endif
