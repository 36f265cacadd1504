/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_fsrs.c - FSRS-6 memory model and Anki's review-log replay (see
 * sched_fsrs.h).  Every expression is evaluated in float with the operand
 * order of fsrs-rs 6.6 (expf/powf/logf/expm1f/fmaf from libm, as Rust's
 * f32 methods call them), because the stored memory state and the fuzzed
 * intervals are compared with Anki's bit for bit.
 *
 * Invariant: a fsrs_model always holds 21 finite, clamped parameters.
 */
#include "sched_fsrs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const float fsrs_default_params[FSRS_NPARAMS] = {
    0.212f,  1.2931f, 2.3065f, 8.2956f, 6.4133f, 0.8334f, 3.0194f,
    0.001f,  1.8722f, 0.1666f, 0.796f,  1.4835f, 0.0614f, 0.2629f,
    1.6483f, 0.6014f, 1.8729f, 0.5425f, 0.0912f, 0.0658f, FSRS6_DEFAULT_DECAY,
};

static float clampf(float v, float lo, float hi)
{
	/* Rust's f32::clamp: NaN stays NaN */
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

enum status fsrs_model_init(struct fsrs_model *m, const float *params, size_t n, struct errinfo *e)
{
	float *w = m->w;
	switch (n) {
	case 0:
		memcpy(w, fsrs_default_params, sizeof m->w);
		break;
	case 17:
		memcpy(w, params, 17 * sizeof *w);
		/* FSRS-4.5 -> FSRS-5 difficulty parametrisation */
		w[4] = fmaf(w[5], 2.0f, w[4]);
		w[5] = logf(fmaf(w[5], 3.0f, 1.0f)) / 3.0f;
		w[6] += 0.5f;
		w[17] = 0.0f;
		w[18] = 0.0f;
		w[19] = 0.0f;
		w[20] = FSRS5_DEFAULT_DECAY;
		break;
	case 19:
		memcpy(w, params, 19 * sizeof *w);
		w[19] = 0.0f;
		w[20] = FSRS5_DEFAULT_DECAY;
		break;
	case 21:
		memcpy(w, params, 21 * sizeof *w);
		break;
	default:
		return errinfo_set(e, ST_INVALID, "invalid FSRS parameters (%zu values)", n);
	}
	for (int i = 0; i < FSRS_NPARAMS; i++)
		if (!isfinite(w[i]))
			return errinfo_set(e, ST_INVALID, "invalid FSRS parameters (not finite)");
	/* fsrs-rs clip_parameters with one relearning step and short-term
	 * training off: the w17*w18 ceiling is 2.0 and w19's floor 0.0 */
	static const float lo[FSRS_NPARAMS] = {
	    FSRS_S_MIN, FSRS_S_MIN, FSRS_S_MIN, FSRS_S_MIN, FSRS_D_MIN, 0.001f, 0.001f,
	    0.001f,     0.0f,       0.0f,       0.001f,     0.001f,     0.001f, 0.001f,
	    0.0f,       0.0f,       1.0f,       0.0f,       0.0f,       0.0f,   0.1f,
	};
	static const float hi[FSRS_NPARAMS] = {
	    100.0f, 100.0f, 100.0f, 100.0f, FSRS_D_MAX, 4.0f, 4.0f, 0.75f, 4.5f, 0.8f, 3.5f,
	    5.0f,   0.25f,  0.9f,   4.0f,   1.0f,       6.0f, 2.0f, 2.0f,  0.8f, 0.8f,
	};
	for (int i = 0; i < FSRS_NPARAMS; i++)
		w[i] = clampf(w[i], lo[i], hi[i]);
	return ST_OK;
}

float fsrs_decay_for_params(const float *params, size_t n)
{
	if (n == 0)
		return FSRS6_DEFAULT_DECAY;
	if (n < 21)
		return FSRS5_DEFAULT_DECAY;
	return params[20];
}

bool fsrs_allow_short_term(const float *params, size_t n)
{
	if (n >= 19)
		return params[17] > 0.0f && params[18] > 0.0f;
	return n == 0;
}

float fsrs_retrievability(const struct fsrs_model *m, float t, float s)
{
	float decay = -m->w[20];
	float factor = expf(logf(0.9f) / decay) - 1.0f;
	return powf(t / s * factor + 1.0f, decay);
}

float fsrs_next_interval(const struct fsrs_model *m, float s, float dr)
{
	float decay = -m->w[20];
	float factor = expf(logf(0.9f) / decay) - 1.0f;
	return s / factor * (powf(dr, 1.0f / decay) - 1.0f);
}

static float init_stability(const float *w, uint32_t rating)
{
	uint32_t i = rating ? rating - 1 : 0;
	return w[i > 3 ? 3 : i];
}

static float init_difficulty(const float *w, uint32_t rating)
{
	float r = (float)(rating ? rating - 1 : 0);
	return w[4] - expf(w[5] * r) + 1.0f;
}

static float next_difficulty(const float *w, float d, float rating)
{
	float delta_d = -w[6] * (rating - 3.0f);
	return d + (10.0f - d) * delta_d / 9.0f;
}

static float stability_after_success(const float *w, float s, float d, float r, float rating)
{
	float hard_penalty = rating == 2.0f ? w[15] : 1.0f;
	float easy_bonus = rating == 4.0f ? w[16] : 1.0f;
	return s * (expf(w[8]) * (11.0f - d) * powf(s, -w[9]) * (expf((1.0f - r) * w[10]) - 1.0f) *
	                hard_penalty * easy_bonus +
	            1.0f);
}

static float stability_after_failure(const float *w, float s, float d, float r)
{
	float new_s =
	    w[11] * powf(d, -w[12]) * (powf(s + 1.0f, w[13]) - 1.0f) * expf((1.0f - r) * w[14]);
	float new_s_min = s / expf(w[17] * w[18]);
	return fminf(new_s, new_s_min);
}

static float stability_short_term(const float *w, float s, float rating)
{
	float sinc = expf(w[17] * (rating - 3.0f + w[18])) * powf(s, -w[19]);
	return s * (rating >= 2.0f ? fmaxf(sinc, 1.0f) : sinc);
}

struct fsrs_memory fsrs_step(const struct fsrs_model *m, float delta_t, uint32_t rating_u,
                             struct fsrs_memory state, size_t nth)
{
	const float *w = m->w;
	float rating = (float)rating_u;
	float last_s = clampf(state.stability, FSRS_S_MIN, FSRS_S_MAX);
	float last_d = clampf(state.difficulty, FSRS_D_MIN, FSRS_D_MAX);
	float r = fsrs_retrievability(m, delta_t, last_s);
	float new_s = rating == 1.0f ? stability_after_failure(w, last_s, last_d, r)
	                             : stability_after_success(w, last_s, last_d, r, rating);
	if (delta_t == 0.0f)
		new_s = stability_short_term(w, last_s, rating);
	float new_d = next_difficulty(w, last_d, rating);
	/* mean reversion towards the initial difficulty of Easy */
	new_d = clampf(w[7] * (init_difficulty(w, 4) - new_d) + new_d, FSRS_D_MIN, FSRS_D_MAX);
	if (nth == 0 && state.stability == 0.0f) {
		uint32_t ir = rating_u < 1 ? 1 : rating_u > 4 ? 4 : rating_u;
		new_s = init_stability(w, ir);
		new_d = clampf(init_difficulty(w, ir), FSRS_D_MIN, FSRS_D_MAX);
	}
	if (rating_u == 0) {
		new_s = last_s;
		new_d = last_d;
	}
	return (struct fsrs_memory){clampf(new_s, FSRS_S_MIN, FSRS_S_MAX), new_d};
}

static bool mem_finite(struct fsrs_memory s)
{
	return isfinite(s.stability) && isfinite(s.difficulty);
}

enum status fsrs_next_states(const struct fsrs_model *m, const struct fsrs_memory *mem, float dr,
                             uint32_t days_elapsed, struct fsrs_next_states *out, struct errinfo *e)
{
	struct fsrs_memory cur = mem ? *mem : (struct fsrs_memory){0.0f, 0.0f};
	size_t nth = mem ? 1 : 0;
	for (uint32_t rating = 1; rating <= 4; rating++) {
		struct fsrs_memory s = fsrs_step(m, (float)days_elapsed, rating, cur, nth);
		if (!mem_finite(s))
			return errinfo_set(e, ST_INVALID, "FSRS memory state is not finite");
		out->s[rating - 1].memory = s;
		out->s[rating - 1].interval = fsrs_next_interval(m, s.stability, dr);
	}
	return ST_OK;
}

enum status fsrs_memory_from_reviews(const struct fsrs_model *m, const struct fsrs_review *r,
                                     size_t n, const struct fsrs_memory *start,
                                     struct fsrs_memory *out, struct errinfo *e)
{
	struct fsrs_memory state = {0.0f, 0.0f};
	size_t first = 0;
	if (start) {
		state = *start;
	} else if (n > 0) {
		uint32_t rating = r[0].rating;
		if (rating == 0) {
			state = (struct fsrs_memory){FSRS_S_MIN, FSRS_D_MIN};
		} else {
			if (rating > 4)
				rating = 4;
			state.stability =
			    clampf(init_stability(m->w, rating), FSRS_S_MIN, FSRS_S_MAX);
			state.difficulty =
			    clampf(init_difficulty(m->w, rating), FSRS_D_MIN, FSRS_D_MAX);
		}
		first = 1;
	}
	for (size_t i = first; i < n; i++)
		state = fsrs_step(m, (float)r[i].delta_t, r[i].rating, state, i);
	if (!mem_finite(state))
		return errinfo_set(e, ST_INVALID, "FSRS memory state is not finite");
	*out = state;
	return ST_OK;
}

enum status fsrs_memory_from_sm2(const struct fsrs_model *m, float ease, float interval,
                                 float sm2_retention, struct fsrs_memory *out, struct errinfo *e)
{
	const float *w = m->w;
	float decay = -w[20];
	float factor = powf(0.9f, 1.0f / decay) - 1.0f;
	float stability =
	    fmaxf(interval, FSRS_S_MIN) * factor / (powf(sm2_retention, 1.0f / decay) - 1.0f);
	float difficulty = 11.0f - (ease - 1.0f) / (expf(w[8]) * powf(stability, -w[9]) *
	                                            expm1f((1.0f - sm2_retention) * w[10]));
	if (!isfinite(stability) || !isfinite(difficulty))
		return errinfo_set(e, ST_INVALID, "FSRS memory state from SM-2 is not finite");
	out->stability = stability;
	out->difficulty = clampf(difficulty, FSRS_D_MIN, FSRS_D_MAX);
	return ST_OK;
}

/* revlog kinds (collection-format.md §6.4) */
enum { RL_LEARN = 0, RL_REVIEW = 1, RL_RELEARN = 2, RL_FILTERED = 3, RL_MANUAL = 4 };

static bool is_cramming(const struct fsrs_revlog *r)
{
	return r->type == RL_FILTERED && r->factor == 0;
}

static bool is_reset(const struct fsrs_revlog *r)
{
	return r->type == RL_MANUAL && r->factor == 0;
}

static uint32_t rl_days_elapsed(const struct fsrs_revlog *r, int64_t next_day_at)
{
	int64_t secs = next_day_at - r->id / 1000;
	return secs > 0 ? (uint32_t)(secs / 86400) : 0;
}

enum status fsrs_memory_from_revlog(const struct fsrs_model *m, const struct fsrs_revlog *rows,
                                    size_t n, int64_t next_day_at, float historical_retention,
                                    int64_t ignore_before_ms, bool *found, struct fsrs_memory *out,
                                    struct errinfo *e)
{
	*found = false;
	/* walk back from the latest review to the start of the last learning
	 * run (reviews_for_fsrs, not training) */
	ptrdiff_t first_learn = -1, first_grade = -1;
	bool complete = false;
	for (ptrdiff_t i = (ptrdiff_t)n - 1; i >= 0; i--) {
		const struct fsrs_revlog *r = &rows[i];
		if (is_cramming(r))
			continue;
		bool graded = r->ease > 0;
		bool within = r->id > ignore_before_ms;
		bool interday = r->ivl >= 1 || r->ivl <= -86400;
		if (graded && within && interday)
			first_grade = i;
		if (graded && r->type == RL_LEARN) {
			first_learn = i;
			complete = true;
		} else if (is_reset(r)) {
			if (first_learn >= 0) {
				complete = true;
				break;
			} else if (first_grade >= 0) {
				complete = false;
				break;
			} else {
				return ST_OK;
			}
		} else if (first_learn >= 0) {
			break;
		}
	}
	if (first_learn >= 0 && rows[first_learn].id < ignore_before_ms &&
	    (size_t)first_learn < n - 1) {
		complete = false;
		first_learn = -1;
	}
	size_t start;
	if (first_learn >= 0)
		start = (size_t)first_learn;
	else if (first_grade >= 0)
		start = (size_t)first_grade;
	else
		return ST_OK;

	struct fsrs_review *rev = calloc(n - start, sizeof *rev);
	const struct fsrs_revlog **kept = calloc(n - start, sizeof *kept);
	if (!rev || !kept) {
		free(rev);
		free(kept);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	size_t k = 0;
	for (size_t i = start; i < n; i++) {
		if (rows[i].ease > 0 && !is_cramming(&rows[i])) {
			kept[k] = &rows[i];
			rev[k].rating = (uint32_t)rows[i].ease;
			/* u32 subtraction, as in Anki (ids ascend, so it does not wrap) */
			rev[k].delta_t = k == 0 ? 0
			                        : rl_days_elapsed(kept[k - 1], next_day_at) -
			                              rl_days_elapsed(kept[k], next_day_at);
			k++;
		}
	}
	enum status st = ST_OK;
	if (k == 0)
		goto done;
	if (complete) {
		st = fsrs_memory_from_reviews(m, rev, k, NULL, out, e);
	} else {
		/* truncated history: the first graded review becomes an SM-2
		 * starting state */
		const struct fsrs_revlog *f = kept[0];
		float interval = (float)(f->ivl > 1 ? f->ivl : 1);
		float ease = (float)(f->factor == 0 ? 2500 : f->factor) / 1000.0f;
		struct fsrs_memory startm = {0};
		st = fsrs_memory_from_sm2(m, ease, interval, historical_retention, &startm, e);
		if (st)
			goto done;
		if (ease <= 1.1f)
			startm.difficulty = (ease - 0.1f) * 9.0f + 1.0f;
		st = fsrs_memory_from_reviews(m, rev + 1, k - 1, &startm, out, e);
	}
	if (!st)
		*found = true;
done:
	free(rev);
	free(kept);
	return st;
}
