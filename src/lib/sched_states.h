/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_states.h - the v3 scheduler's card states and their transitions
 * (Anki's rslib/src/scheduler/states/), without any database: given the
 * current state of a card and the context built from its preset, compute
 * the state each answer button leads to.  SM-2 and FSRS; learning and
 * relearning steps, graduating/easy intervals, ease changes, lapses and
 * leech detection, interval modifier, maximum interval, hard/easy
 * multipliers, fuzz from a fuzz factor; filtered decks (rescheduling and
 * preview).  The load balancer is not applied (load balancing off).
 * docs/scheduler.md has the rules in prose.
 */
#ifndef ANKIHOST_SCHED_STATES_H
#define ANKIHOST_SCHED_STATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched_fsrs.h"

enum sched_kind {
	SCHED_NEW,
	SCHED_LEARNING,
	SCHED_REVIEW,
	SCHED_RELEARNING,
	SCHED_PREVIEW, /* filtered deck without rescheduling */
};

struct sched_mem {
	bool has;
	struct fsrs_memory m;
};

struct sched_learn {
	uint32_t remaining_steps;
	uint32_t scheduled_secs;
	struct sched_mem mem;
};

struct sched_review {
	uint32_t scheduled_days;
	uint32_t elapsed_days;
	float ease; /* multiplier, 2.5 = 250 % */
	uint32_t lapses;
	bool leeched;
	struct sched_mem mem;
};

struct sched_state {
	enum sched_kind kind;
	/* a normal state wrapped for a filtered deck that reschedules */
	bool rescheduling;
	uint32_t position;          /* NEW: position in the new queue */
	struct sched_learn learn;   /* LEARNING, RELEARNING */
	struct sched_review review; /* REVIEW, RELEARNING */
	uint32_t preview_secs;      /* PREVIEW */
	bool preview_finished;
};

/* again, hard, good, easy */
struct sched_next {
	struct sched_state s[4];
};

/* Everything a transition needs (Anki's StateContext). */
struct sched_ctx {
	bool has_fuzz;
	float fuzz_factor; /* [0, 1) */
	bool fsrs;         /* fsrs_next set */
	struct fsrs_next_states fsrs_next;
	bool fsrs_short_term_with_steps;
	bool fsrs_allow_short_term;
	const float *steps; /* minutes */
	size_t nsteps;
	uint32_t graduating_interval_good, graduating_interval_easy;
	float initial_ease;
	float hard_multiplier, easy_multiplier, interval_multiplier;
	uint32_t maximum_review_interval;
	uint32_t leech_threshold;
	const float *relearn_steps;
	size_t nrelearn_steps;
	float lapse_multiplier;
	uint32_t minimum_lapse_interval;
	bool in_filtered_deck;
	uint32_t preview_again_secs, preview_hard_secs, preview_good_secs;
};

/* Next states for every button. */
void sched_next_states(const struct sched_state *cur, const struct sched_ctx *ctx,
                       struct sched_next *out);

/* The interval a state stands for: days (true) or seconds. */
struct sched_interval {
	bool days;
	uint32_t v;
};
struct sched_interval sched_interval_of(const struct sched_state *s);
/* Seconds-based intervals that reach the next rollover become days. */
struct sched_interval sched_interval_as_days(struct sched_interval iv,
                                             uint32_t secs_until_rollover);
uint32_t sched_interval_secs(struct sched_interval iv);
/* revlog ivl/lastIvl: days positive, seconds negative. */
int32_t sched_interval_revlog(struct sched_interval iv);

/* revlog type for answering from this state (0 learn, 1 review, 2
 * relearn, 3 filtered). */
int sched_revlog_kind(const struct sched_state *s);

/* True if the state carries a leech flag (review or relearn inside). */
bool sched_state_leeched(const struct sched_state *s);

/* ---- fuzz (states/fuzz.rs) ---- */

/* Rounded bounds of the fuzz range of interval, within [minimum,
 * maximum]; upper > lower when the range allows it. */
void sched_fuzz_bounds(float interval, uint32_t minimum, uint32_t maximum, uint32_t *lower,
                       uint32_t *upper);
/* The fuzzed interval (has_fuzz) or the rounded, clamped one. */
uint32_t sched_with_fuzz(bool has_fuzz, float fuzz_factor, float interval, uint32_t minimum,
                         uint32_t maximum);
/* Lower bound keeping a review interval from shrinking through fuzz. */
uint32_t sched_min_review_fuzz_interval(float interval, uint32_t previous, uint32_t maximum);
/* Leech at threshold and every half threshold (rounded up) after. */
bool sched_leech_threshold_met(uint32_t lapses, uint32_t threshold);

/* ---- learning steps (states/steps.rs) ---- */
uint32_t sched_steps_current_secs(const float *steps, size_t n, uint32_t remaining);

/* Saturating float -> integer conversions of Rust's `as`. */
uint32_t sched_f32_to_u32(float v);

#endif
