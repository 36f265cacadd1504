/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_states.c - v3 scheduler state transitions (see sched_states.h and
 * docs/scheduler.md).  Mirrors the arithmetic of Anki's states/ modules: f32
 * for intervals and multipliers, u32 day and second counts with
 * saturating adds, Rust's saturating float->int casts, round-half-away.
 *
 * Invariants: a transition never reads the database; the same context
 * (same fuzz factor) is used for every button, as Anki does, so the four
 * states are consistent with each other (hard <= good <= easy).
 */
#include "sched_states.h"

#include <math.h>

#define DAY_SECS 86400u

uint32_t sched_f32_to_u32(float v)
{
	if (!(v > 0.0f)) /* NaN and negatives */
		return 0;
	if (v >= 4294967296.0f)
		return UINT32_MAX;
	return (uint32_t)v;
}

static uint32_t sat_add(uint32_t a, uint32_t b)
{
	uint64_t s = (uint64_t)a + b;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static uint32_t sat_mul(uint32_t a, uint32_t b)
{
	uint64_t s = (uint64_t)a * b;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static uint32_t clamp_u32(uint32_t v, uint32_t lo, uint32_t hi)
{
	/* Ord::clamp without its min <= max assertion */
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

static float clampf(float v, float lo, float hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

/* ---- learning steps ---- */

static uint32_t to_secs(float minutes)
{
	return sched_f32_to_u32(minutes * 60.0f);
}

static size_t step_index(size_t n, uint32_t remaining)
{
	size_t rem = remaining % 1000;
	size_t idx = n > rem ? n - rem : 0;
	size_t last = n ? n - 1 : 0;
	return idx < last ? idx : last;
}

static bool step_secs(const float *steps, size_t n, size_t idx, uint32_t *out)
{
	if (idx >= n)
		return false;
	*out = to_secs(steps[idx]);
	return true;
}

/* Whole days for delays over a day, so answers early and late in the day
 * agree. */
static uint32_t maybe_round_in_days(uint32_t secs)
{
	if (secs > DAY_SECS)
		return sat_mul(sched_f32_to_u32(roundf((float)secs / (float)DAY_SECS)), DAY_SECS);
	return secs;
}

static bool again_delay(const float *steps, size_t n, uint32_t *out)
{
	return step_secs(steps, n, 0, out);
}

static bool hard_delay(const float *steps, size_t n, uint32_t remaining, uint32_t *out)
{
	size_t idx = step_index(n, remaining);
	uint32_t cur;
	if (!step_secs(steps, n, idx, &cur) && !step_secs(steps, n, 0, &cur))
		return false;
	if (idx != 0) {
		*out = cur;
		return true;
	}
	uint32_t next;
	if (step_secs(steps, n, 1, &next)) {
		/* halfway between again and good */
		*out = maybe_round_in_days(sat_add(cur, next) / 2);
	} else {
		/* 50 % over again, but at most a day more */
		uint32_t a = sat_mul(cur, 3) / 2, b = sat_add(cur, DAY_SECS);
		*out = maybe_round_in_days(a < b ? a : b);
	}
	return true;
}

static bool good_delay(const float *steps, size_t n, uint32_t remaining, uint32_t *out)
{
	return step_secs(steps, n, step_index(n, remaining) + 1, out);
}

uint32_t sched_steps_current_secs(const float *steps, size_t n, uint32_t remaining)
{
	uint32_t v = 0;
	step_secs(steps, n, step_index(n, remaining), &v);
	return v;
}

static uint32_t remaining_for_good(size_t n, uint32_t remaining)
{
	size_t idx = step_index(n, remaining);
	return n > idx + 1 ? (uint32_t)(n - idx - 1) : 0;
}

/* ---- fuzz ---- */

static float fuzz_delta(float interval)
{
	if (interval < 2.5f)
		return 0.0f;
	static const struct {
		float start, end, factor;
	} ranges[] = {{2.5f, 7.0f, 0.15f}, {7.0f, 20.0f, 0.1f}, {20.0f, 3.40282347e+38f, 0.05f}};
	float delta = 1.0f;
	for (size_t i = 0; i < 3; i++)
		delta = delta + ranges[i].factor *
		                    fmaxf(fminf(interval, ranges[i].end) - ranges[i].start, 0.0f);
	return delta;
}

void sched_fuzz_bounds(float interval, uint32_t minimum, uint32_t maximum, uint32_t *lower,
                       uint32_t *upper)
{
	if (minimum > maximum)
		minimum = maximum;
	interval = clampf(interval, (float)minimum, (float)maximum);
	float delta = fuzz_delta(interval);
	uint32_t lo = sched_f32_to_u32(roundf(interval - delta));
	uint32_t hi = sched_f32_to_u32(roundf(interval + delta));
	lo = clamp_u32(lo, minimum, maximum);
	hi = clamp_u32(hi, minimum, maximum);
	if (hi == lo && hi > 2 && hi < maximum)
		hi = lo + 1;
	*lower = lo;
	*upper = hi;
}

uint32_t sched_with_fuzz(bool has_fuzz, float fuzz_factor, float interval, uint32_t minimum,
                         uint32_t maximum)
{
	if (!has_fuzz) {
		/* Anki's u32::clamp would panic on minimum > maximum (possible only
		 * in its fuzz-free test builds); the maximum wins here */
		if (minimum > maximum)
			minimum = maximum;
		return clamp_u32(sched_f32_to_u32(roundf(interval)), minimum, maximum);
	}
	uint32_t lo, hi;
	sched_fuzz_bounds(interval, minimum, maximum, &lo, &hi);
	return sched_f32_to_u32(floorf((float)lo + fuzz_factor * (float)(1 + hi - lo)));
}

uint32_t sched_min_review_fuzz_interval(float interval, uint32_t previous, uint32_t maximum)
{
	uint32_t rounded = sched_f32_to_u32(roundf(interval));
	uint32_t lo, hi;
	sched_fuzz_bounds(interval, 1, maximum, &lo, &hi);
	if (rounded > previous)
		return previous + 1;
	if (previous <= hi)
		return previous; /* grew little: fuzz must not shrink it */
	return 0;                /* shrank (changed parameters or retention) */
}

bool sched_leech_threshold_met(uint32_t lapses, uint32_t threshold)
{
	if (threshold == 0)
		return false;
	uint32_t half = sched_f32_to_u32(fmaxf(ceilf((float)threshold / 2.0f), 1.0f));
	if (half == 0)
		half = 1;
	return lapses >= threshold && (lapses - threshold) % half == 0;
}

/* ---- context helpers ---- */

static void min_max(const struct sched_ctx *ctx, uint32_t minimum, uint32_t *lo, uint32_t *hi)
{
	uint32_t maximum = ctx->maximum_review_interval ? ctx->maximum_review_interval : 1;
	*hi = maximum;
	*lo = clamp_u32(minimum, 1, maximum);
}

static uint32_t fuzz(const struct sched_ctx *ctx, float interval, uint32_t minimum,
                     uint32_t maximum)
{
	return sched_with_fuzz(ctx->has_fuzz, ctx->fuzz_factor, interval, minimum, maximum);
}

static struct sched_mem fsrs_mem(const struct sched_ctx *ctx, int button)
{
	struct sched_mem m = {0};
	if (ctx->fsrs) {
		m.has = true;
		m.m = ctx->fsrs_next.s[button].memory;
	}
	return m;
}

static bool short_term(const struct sched_ctx *ctx, size_t nsteps, float interval)
{
	return ctx->fsrs_allow_short_term && (ctx->fsrs_short_term_with_steps || nsteps == 0) &&
	       interval < 0.5f;
}

static struct sched_state learning(uint32_t remaining, uint32_t secs, struct sched_mem mem)
{
	struct sched_state s = {.kind = SCHED_LEARNING};
	s.learn.remaining_steps = remaining;
	s.learn.scheduled_secs = secs;
	s.learn.mem = mem;
	return s;
}

static struct sched_state review(uint32_t days, float ease, struct sched_mem mem)
{
	struct sched_state s = {.kind = SCHED_REVIEW};
	s.review.scheduled_days = days;
	s.review.ease = ease;
	s.review.mem = mem;
	return s;
}

/* ---- learning ---- */

/* Leaving the learning steps with button b (0 again .. 2 good). */
static struct sched_state learn_graduate(const struct sched_ctx *ctx, const struct sched_learn *cur,
                                         int b, bool failed)
{
	struct sched_mem mem = fsrs_mem(ctx, b);
	uint32_t lo, hi;
	min_max(ctx, 1, &lo, &hi);
	float interval = (float)ctx->graduating_interval_good;
	bool st = false;
	if (ctx->fsrs) {
		interval = ctx->fsrs_next.s[b].interval;
		st = short_term(ctx, ctx->nsteps, interval);
	}
	if (st) {
		uint32_t remaining = failed ? (uint32_t)ctx->nsteps : cur->remaining_steps;
		return learning(remaining, sched_f32_to_u32(interval * 86400.0f), mem);
	}
	return review(fuzz(ctx, fmaxf(roundf(interval), 1.0f), lo, hi), ctx->initial_ease, mem);
}

static void learn_next(const struct sched_learn *cur, const struct sched_ctx *ctx,
                       struct sched_next *out)
{
	uint32_t d;
	/* again: back to the first step */
	if (again_delay(ctx->steps, ctx->nsteps, &d))
		out->s[0] = learning((uint32_t)ctx->nsteps, d, fsrs_mem(ctx, 0));
	else
		out->s[0] = learn_graduate(ctx, cur, 0, true);
	/* hard: repeat the current step */
	if (hard_delay(ctx->steps, ctx->nsteps, cur->remaining_steps, &d))
		out->s[1] = learning(cur->remaining_steps, d, fsrs_mem(ctx, 1));
	else
		out->s[1] = learn_graduate(ctx, cur, 1, false);
	/* good: next step or graduate */
	if (good_delay(ctx->steps, ctx->nsteps, cur->remaining_steps, &d))
		out->s[2] = learning(remaining_for_good(ctx->nsteps, cur->remaining_steps), d,
		                     fsrs_mem(ctx, 2));
	else
		out->s[2] = learn_graduate(ctx, cur, 2, false);
	/* easy: always graduates */
	uint32_t lo, hi, ivl;
	min_max(ctx, 1, &lo, &hi);
	if (ctx->fsrs) {
		uint32_t good = fuzz(ctx, ctx->fsrs_next.s[2].interval, lo, hi);
		lo = good + 1;
		ivl = sched_f32_to_u32(fmaxf(roundf(ctx->fsrs_next.s[3].interval), 1.0f));
	} else {
		ivl = ctx->graduating_interval_easy;
	}
	out->s[3] = review(fuzz(ctx, (float)ivl, lo, hi), ctx->initial_ease, fsrs_mem(ctx, 3));
}

/* ---- review ---- */

static int32_t days_late(const struct sched_review *r)
{
	return (int32_t)r->elapsed_days - (int32_t)r->scheduled_days;
}

/* interval modifier (SM-2 only), bounds, optional fuzz */
static uint32_t constrain_passing(const struct sched_ctx *ctx, float interval, uint32_t minimum,
                                  bool with_fuzz)
{
	if (!ctx->fsrs)
		interval = interval * ctx->interval_multiplier;
	uint32_t lo, hi;
	min_max(ctx, minimum, &lo, &hi);
	if (with_fuzz)
		return fuzz(ctx, interval, lo, hi);
	return clamp_u32(sched_f32_to_u32(roundf(interval)), lo, hi);
}

static void passing_intervals(const struct sched_review *r, const struct sched_ctx *ctx,
                              uint32_t *hard, uint32_t *good, uint32_t *easy)
{
	if (ctx->fsrs) {
		const struct fsrs_next_states *n = &ctx->fsrs_next;
		uint32_t m = ctx->maximum_review_interval;
		uint32_t mh =
		    sched_min_review_fuzz_interval(n->s[1].interval, r->scheduled_days, m);
		*hard = constrain_passing(ctx, n->s[1].interval, mh > 1 ? mh : 1, true);
		uint32_t mg =
		    sched_min_review_fuzz_interval(n->s[2].interval, r->scheduled_days, m);
		*good =
		    constrain_passing(ctx, n->s[2].interval, mg > *hard + 1 ? mg : *hard + 1, true);
		uint32_t me =
		    sched_min_review_fuzz_interval(n->s[3].interval, r->scheduled_days, m);
		*easy =
		    constrain_passing(ctx, n->s[3].interval, me > *good + 1 ? me : *good + 1, true);
	} else if (days_late(r) < 0) {
		/* early review in a filtered deck */
		float scheduled = fmaxf((float)r->scheduled_days, 1.0f);
		float elapsed = (float)r->elapsed_days;
		float hf = ctx->hard_multiplier;
		*hard =
		    constrain_passing(ctx, fmaxf(elapsed * hf, scheduled * (hf / 2.0f)), 0, false);
		*good = constrain_passing(ctx, fmaxf(elapsed * r->ease, scheduled), 0, false);
		float bonus = ctx->easy_multiplier - (ctx->easy_multiplier - 1.0f) / 2.0f;
		*easy =
		    constrain_passing(ctx, fmaxf(elapsed * r->ease, scheduled) * bonus, 0, false);
	} else {
		float current = fmaxf((float)r->scheduled_days, 1.0f);
		float late = (float)(days_late(r) > 0 ? days_late(r) : 0);
		float hf = ctx->hard_multiplier;
		uint32_t hard_min = hf <= 1.0f ? 0 : r->scheduled_days + 1;
		*hard = constrain_passing(ctx, current * hf, hard_min, true);
		uint32_t good_min = hf <= 1.0f ? r->scheduled_days + 1 : *hard + 1;
		*good = constrain_passing(ctx, (current + late / 2.0f) * r->ease, good_min, true);
		*easy = constrain_passing(ctx, (current + late) * r->ease * ctx->easy_multiplier,
		                          *good + 1, true);
	}
}

/* The lapse interval (days, unrounded) and memory after Again. */
static float failing_interval(const struct sched_review *r, const struct sched_ctx *ctx,
                              struct sched_mem *mem)
{
	if (ctx->fsrs) {
		/* FSRS fuzzes when the card leaves relearning */
		*mem = fsrs_mem(ctx, 0);
		return ctx->fsrs_next.s[0].interval;
	}
	mem->has = false;
	uint32_t lo, hi;
	min_max(ctx, ctx->minimum_lapse_interval, &lo, &hi);
	return (float)fuzz(ctx, fmaxf((float)r->scheduled_days, 1.0f) * ctx->lapse_multiplier, lo,
	                   hi);
}

static struct sched_state relearning(struct sched_learn l, struct sched_review r)
{
	struct sched_state s = {.kind = SCHED_RELEARNING};
	s.learn = l;
	s.review = r;
	return s;
}

static void review_next(const struct sched_review *cur, const struct sched_ctx *ctx,
                        struct sched_next *out)
{
	uint32_t hard, good, easy;
	passing_intervals(cur, ctx, &hard, &good, &easy);

	/* again: a lapse */
	struct sched_mem mem;
	float days = failing_interval(cur, ctx, &mem);
	struct sched_review ar = *cur;
	ar.lapses = cur->lapses + 1;
	ar.leeched = sched_leech_threshold_met(ar.lapses, ctx->leech_threshold);
	ar.scheduled_days = sched_f32_to_u32(fmaxf(roundf(days), 1.0f));
	ar.elapsed_days = 0;
	ar.ease = fmaxf(cur->ease + -0.2f, 1.3f);
	ar.mem = mem;
	uint32_t d;
	if (again_delay(ctx->relearn_steps, ctx->nrelearn_steps, &d)) {
		struct sched_learn l = {(uint32_t)ctx->nrelearn_steps, d, mem};
		out->s[0] = relearning(l, ar);
	} else if (short_term(ctx, ctx->nrelearn_steps, days)) {
		struct sched_learn l = {(uint32_t)ctx->nrelearn_steps,
		                        sched_f32_to_u32(days * 86400.0f), mem};
		out->s[0] = relearning(l, ar);
	} else {
		out->s[0] = (struct sched_state){.kind = SCHED_REVIEW, .review = ar};
	}

	struct sched_review r = *cur;
	r.elapsed_days = 0;
	r.scheduled_days = hard;
	r.ease = fmaxf(cur->ease + -0.15f, 1.3f);
	r.mem = fsrs_mem(ctx, 1);
	out->s[1] = (struct sched_state){.kind = SCHED_REVIEW, .review = r};
	r = *cur;
	r.elapsed_days = 0;
	r.scheduled_days = good;
	r.mem = fsrs_mem(ctx, 2);
	out->s[2] = (struct sched_state){.kind = SCHED_REVIEW, .review = r};
	r = *cur;
	r.elapsed_days = 0;
	r.scheduled_days = easy;
	r.ease = cur->ease + 0.15f;
	r.mem = fsrs_mem(ctx, 3);
	out->s[3] = (struct sched_state){.kind = SCHED_REVIEW, .review = r};
}

/* ---- relearning ---- */

/* FSRS leaving relearning with button b: review, or short-term step. */
static struct sched_state relearn_fsrs_exit(const struct sched_state *cur,
                                            const struct sched_ctx *ctx, int b, uint32_t remaining)
{
	struct sched_mem mem = fsrs_mem(ctx, b);
	uint32_t lo, hi;
	min_max(ctx, 1, &lo, &hi);
	float interval = ctx->fsrs_next.s[b].interval;
	struct sched_review r = cur->review;
	r.scheduled_days = fuzz(ctx, fmaxf(roundf(interval), 1.0f), lo, hi);
	r.mem = mem;
	if (short_term(ctx, ctx->nrelearn_steps, interval)) {
		struct sched_learn l = {remaining, sched_f32_to_u32(interval * 86400.0f), mem};
		return relearning(l, r);
	}
	return (struct sched_state){.kind = SCHED_REVIEW, .review = r};
}

static struct sched_state plain_review(struct sched_review r)
{
	return (struct sched_state){.kind = SCHED_REVIEW, .review = r};
}

static void relearn_next(const struct sched_state *cur, const struct sched_ctx *ctx,
                         struct sched_next *out)
{
	const float *rs = ctx->relearn_steps;
	size_t rn = ctx->nrelearn_steps;
	uint32_t remaining = cur->learn.remaining_steps, d;

	/* again */
	struct sched_mem mem;
	float days = failing_interval(&cur->review, ctx, &mem);
	if (again_delay(rs, rn, &d)) {
		struct sched_learn l = {(uint32_t)rn, d, mem};
		struct sched_review r = cur->review;
		r.scheduled_days = sched_f32_to_u32(fmaxf(roundf(days), 1.0f));
		r.elapsed_days = 0;
		r.mem = mem;
		out->s[0] = relearning(l, r);
	} else if (ctx->fsrs) {
		out->s[0] = relearn_fsrs_exit(cur, ctx, 0, (uint32_t)rn);
	} else {
		out->s[0] = plain_review(cur->review);
	}

	/* hard */
	if (hard_delay(rs, rn, remaining, &d)) {
		struct sched_learn l = cur->learn;
		l.scheduled_secs = d;
		l.mem = fsrs_mem(ctx, 1);
		struct sched_review r = cur->review;
		r.elapsed_days = 0;
		r.mem = l.mem;
		out->s[1] = relearning(l, r);
	} else if (ctx->fsrs) {
		out->s[1] = relearn_fsrs_exit(cur, ctx, 1, remaining);
	} else {
		out->s[1] = plain_review(cur->review);
	}

	/* good */
	if (good_delay(rs, rn, remaining, &d)) {
		struct sched_learn l = {remaining_for_good(rn, remaining), d, fsrs_mem(ctx, 2)};
		struct sched_review r = cur->review;
		r.elapsed_days = 0;
		r.mem = l.mem;
		out->s[2] = relearning(l, r);
	} else if (ctx->fsrs) {
		out->s[2] = relearn_fsrs_exit(cur, ctx, 2, remaining_for_good(rn, remaining));
	} else {
		out->s[2] = plain_review(cur->review);
	}

	/* easy: back to review */
	uint32_t days_easy;
	if (ctx->fsrs) {
		uint32_t lo, hi;
		min_max(ctx, 1, &lo, &hi);
		uint32_t g = fuzz(ctx, ctx->fsrs_next.s[2].interval, lo, hi);
		days_easy = fuzz(ctx, fmaxf(roundf(ctx->fsrs_next.s[3].interval), 1.0f), g + 1, hi);
	} else {
		days_easy = cur->review.scheduled_days + 1;
	}
	struct sched_review r = cur->review;
	r.scheduled_days = days_easy;
	r.elapsed_days = 0;
	r.mem = fsrs_mem(ctx, 3);
	out->s[3] = plain_review(r);
}

/* ---- preview (filtered deck without rescheduling) ---- */

static struct sched_state preview_delay(uint32_t secs)
{
	struct sched_state s = {.kind = SCHED_PREVIEW};
	s.preview_secs = secs;
	s.preview_finished = secs == 0;
	return s;
}

void sched_next_states(const struct sched_state *cur, const struct sched_ctx *ctx,
                       struct sched_next *out)
{
	switch (cur->kind) {
	case SCHED_NEW: {
		/* a new card answers like a failed learning card */
		struct sched_learn l = {(uint32_t)ctx->nsteps, 0, {0}};
		learn_next(&l, ctx, out);
		break;
	}
	case SCHED_LEARNING:
		learn_next(&cur->learn, ctx, out);
		break;
	case SCHED_REVIEW:
		review_next(&cur->review, ctx, out);
		break;
	case SCHED_RELEARNING:
		relearn_next(cur, ctx, out);
		break;
	case SCHED_PREVIEW:
		out->s[0] = preview_delay(ctx->preview_again_secs);
		out->s[1] = preview_delay(ctx->preview_hard_secs);
		out->s[2] = preview_delay(ctx->preview_good_secs);
		out->s[3] = preview_delay(0);
		return;
	}
	if (cur->rescheduling && ctx->in_filtered_deck)
		for (int i = 0; i < 4; i++)
			out->s[i].rescheduling = out->s[i].kind != SCHED_REVIEW;
}

/* ---- intervals and revlog kinds ---- */

struct sched_interval sched_interval_of(const struct sched_state *s)
{
	switch (s->kind) {
	case SCHED_NEW:
		return (struct sched_interval){false, 0};
	case SCHED_LEARNING:
	case SCHED_RELEARNING:
		return (struct sched_interval){false, s->learn.scheduled_secs};
	case SCHED_REVIEW:
		return (struct sched_interval){true, s->review.scheduled_days};
	case SCHED_PREVIEW:
		return (struct sched_interval){false, s->preview_secs};
	}
	return (struct sched_interval){false, 0};
}

struct sched_interval sched_interval_as_days(struct sched_interval iv, uint32_t until_rollover)
{
	if (!iv.days && iv.v >= until_rollover)
		return (struct sched_interval){true, (iv.v - until_rollover) / DAY_SECS + 1};
	return iv;
}

uint32_t sched_interval_secs(struct sched_interval iv)
{
	return iv.days ? sat_mul(iv.v, DAY_SECS) : iv.v;
}

int32_t sched_interval_revlog(struct sched_interval iv)
{
	if (iv.days)
		return (int32_t)iv.v;
	return iv.v > INT32_MAX ? -INT32_MAX : -(int32_t)iv.v;
}

int sched_revlog_kind(const struct sched_state *s)
{
	switch (s->kind) {
	case SCHED_NEW:
	case SCHED_LEARNING:
		return 0;
	case SCHED_REVIEW:
		return days_late(&s->review) < 0 ? 3 : 1;
	case SCHED_RELEARNING:
		return 2;
	case SCHED_PREVIEW:
		return 3;
	}
	return 0;
}

bool sched_state_leeched(const struct sched_state *s)
{
	return (s->kind == SCHED_REVIEW || s->kind == SCHED_RELEARNING) && s->review.leeched;
}
