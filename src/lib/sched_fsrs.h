/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_fsrs.h - the FSRS memory model as Anki 25.x uses it (fsrs-rs 6.6:
 * FSRS-6 formulas, FSRS-4.5/5 parameter sets converted on load), in single
 * precision with the same operation order, so results match Anki built on
 * glibc to the last bit (docs/scheduler.md "FSRS").
 *
 * Parameters come from the preset (collection-format.md §2.10 fields 6,
 * 5, 4, first non-empty); an empty list means fsrs-rs's default FSRS-6
 * parameters.  17 values (FSRS-4.5) and 19 (FSRS-5) are filled to 21, then
 * every value is clamped to fsrs-rs's ranges.
 */
#ifndef ANKIHOST_SCHED_FSRS_H
#define ANKIHOST_SCHED_FSRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define FSRS_NPARAMS 21
#define FSRS_S_MIN 0.001f
#define FSRS_S_MAX 36500.0f
#define FSRS_D_MIN 1.0f
#define FSRS_D_MAX 10.0f
#define FSRS5_DEFAULT_DECAY 0.5f
#define FSRS6_DEFAULT_DECAY 0.1542f

extern const float fsrs_default_params[FSRS_NPARAMS];

struct fsrs_model {
	float w[FSRS_NPARAMS];
};

struct fsrs_memory {
	float stability;  /* days */
	float difficulty; /* 1..10 */
};

struct fsrs_item_state {
	struct fsrs_memory memory;
	float interval; /* days, unrounded */
};

/* again, hard, good, easy */
struct fsrs_next_states {
	struct fsrs_item_state s[4];
};

/* FSRS::new(params): 0, 17, 19 or 21 values, all finite; else ST_INVALID
 * ("invalid FSRS parameters"). */
enum status fsrs_model_init(struct fsrs_model *m, const float *params, size_t n, struct errinfo *e);

/* The decay Anki stores in cards.data for these raw preset params:
 * FSRS-6 default for none, 0.5 below 21 values, else params[20]. */
float fsrs_decay_for_params(const float *params, size_t n);

/* Anki's "allow short-term" rule on the raw preset params: true for none,
 * params[17] > 0 && params[18] > 0 when 19 or more, else false. */
bool fsrs_allow_short_term(const float *params, size_t n);

float fsrs_retrievability(const struct fsrs_model *m, float days, float stability);
float fsrs_next_interval(const struct fsrs_model *m, float stability, float desired_retention);

/* One review: state after `rating` (0-4) delta_t days after `state`; nth
 * is the index of the review in the card's history (fsrs-rs step()). */
struct fsrs_memory fsrs_step(const struct fsrs_model *m, float delta_t, uint32_t rating,
                             struct fsrs_memory state, size_t nth);

/* FSRS::next_states(mem or NULL, desired retention, days elapsed).
 * ST_INVALID when a resulting state is not finite. */
enum status fsrs_next_states(const struct fsrs_model *m, const struct fsrs_memory *mem,
                             float desired_retention, uint32_t days_elapsed,
                             struct fsrs_next_states *out, struct errinfo *e);

struct fsrs_review {
	uint32_t rating;  /* 1-4 (0 = manual) */
	uint32_t delta_t; /* days since the previous review */
};

/* FSRS::memory_state(item, starting_state): replays reviews.  ST_INVALID
 * when the result is not finite. */
enum status fsrs_memory_from_reviews(const struct fsrs_model *m, const struct fsrs_review *r,
                                     size_t n, const struct fsrs_memory *start,
                                     struct fsrs_memory *out, struct errinfo *e);

/* FSRS::memory_state_from_sm2(ease (2.5 = 250 %), interval days,
 * historical retention).  ST_INVALID when not finite. */
enum status fsrs_memory_from_sm2(const struct fsrs_model *m, float ease, float interval,
                                 float sm2_retention, struct fsrs_memory *out, struct errinfo *e);

/* A review-log row as the memory-state code needs it. */
struct fsrs_revlog {
	int64_t id; /* ms */
	int32_t ease, type;
	int64_t ivl, factor;
};

/* Anki's fsrs_item_for_memory_state for one card (scheduler/fsrs/
 * memory_state.rs + params.rs reviews_for_fsrs, not training): rows in id
 * order; ignore_before_ms from the preset's "ignore reviews before" date.
 * *found = false when the history gives no item (then *out is untouched);
 * else *out is the replayed state (with the SM-2 starting state for a
 * truncated history).  ST_NOMEM, ST_INVALID. */
enum status fsrs_memory_from_revlog(const struct fsrs_model *m, const struct fsrs_revlog *rows,
                                    size_t n, int64_t next_day_at, float historical_retention,
                                    int64_t ignore_before_ms, bool *found, struct fsrs_memory *out,
                                    struct errinfo *e);

#endif
