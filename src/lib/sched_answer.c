/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_answer.c - applying an answer to a card as Anki's
 * scheduler/answering/ modules do (see sched_answer.h): the current state is
 * read from the card row, the next state comes from sched_states.c, and
 * the card, a review-log row, the deck day counters, the leech tag and
 * buried siblings are written in one savepoint per answer.
 *
 * Invariants: one "now" per answer (revlog id = answered_at ms; due of a
 * learning step = now + fuzzed delay); the fuzz seed is card id + reps as
 * read before the answer; a card in a filtered deck gets its preset from
 * its home deck.
 */
#include "sched_answer.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "col_notes.h"
#include "col_proto.h"
#include "col_store.h"
#include "sched_internal.h"
#include "sched_rng.h"
#include "tags.h"
#include "unicase.h"

enum { CARD_NEW = 0, CARD_LEARN = 1, CARD_REVIEW = 2, CARD_RELEARN = 3 };
enum {
	Q_USER_BURIED = -3,
	Q_SCHED_BURIED = -2,
	Q_SUSPENDED = -1,
	Q_NEW = 0,
	Q_LEARN = 1,
	Q_REVIEW = 2,
	Q_DAY_LEARN = 3,
	Q_PREVIEW = 4
};

/* Everything known about one card between reading and writing it
 * (Anki's CardStateUpdater). */
struct updater {
	struct card card;
	struct sched_data data;
	struct deck deck;
	struct sched_home home;
	const struct deckconf_config *cfg;
	int64_t now_ms, now;
	int64_t today, next_day_at;
	uint32_t secs_until_rollover;
	bool fsrs;
	float dr;
	bool fuzz;
	uint64_t seed;
	struct sched_ctx ctx;
	struct sched_state current;
};

static void updater_free(struct updater *u)
{
	card_free(&u->card);
	sched_data_free(&u->data);
	deck_free(&u->deck);
}

static uint32_t u32_of(int64_t v)
{
	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* cards.due as Anki reads it: i32, anything else 0 */
static int32_t due_i32(int64_t v)
{
	return v < INT32_MIN || v > INT32_MAX ? 0 : (int32_t)v;
}

/* ---- memory state for cards that have none (moved into FSRS) ---- */

enum { S_REVLOG, S_LAST_REVIEW, S_DECK_ID, S_DECK_NAME, S_DECK_UPDATE };

static enum status revlog_rows(struct sched_env *env, int64_t cid, struct fsrs_revlog **out,
                               size_t *n, struct errinfo *e)
{
	struct col *c = env->c;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st;
	enum status s =
	    sched_env_stmt(env, S_REVLOG,
	                   "select id, ease, cast(ivl as integer), factor, type from revlog "
	                   "where cid = ?1 order by id",
	                   &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, cid);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct fsrs_revlog *p = realloc(*out, cap * sizeof *p);
			if (!p) {
				s = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			*out = p;
		}
		struct fsrs_revlog *r = &(*out)[(*n)++];
		r->id = sqlite3_column_int64(st, 0);
		r->ease = sqlite3_column_int(st, 1);
		r->ivl = sqlite3_column_int64(st, 2);
		r->factor = sqlite3_column_int64(st, 3);
		r->type = sqlite3_column_int(st, 4);
		if (r->type < 0 || r->type > 5) /* Anki reads an unknown kind as learning */
			r->type = 0;
	}
	if (!s && rc != SQLITE_DONE)
		s = col_sqlite_err(col_db(c), rc, e, "reading the review log");
	sqlite3_reset(st);
	if (s) {
		free(*out);
		*out = NULL;
	}
	return s;
}

/* Time of the last rated, scheduling review (Anki's time_of_last_review). */
static enum status last_review_secs(struct sched_env *env, int64_t cid, bool *found, int64_t *secs,
                                    struct errinfo *e)
{
	struct col *c = env->c;
	sqlite3_stmt *st;
	enum status s =
	    sched_env_stmt(env, S_LAST_REVIEW,
	                   "select id / 1000 from revlog where cid = ?1 and ease between "
	                   "1 and 4 and (type != 3 or factor != 0) order by id desc limit 1",
	                   &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, cid);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (*found)
		*secs = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
	           ? ST_OK
	           : col_sqlite_err(col_db(c), rc, e, "reading the review log");
}

static enum status fsrs_prepare(struct sched_env *env, struct updater *u, struct errinfo *e)
{
	const float *params;
	size_t np;
	sched_conf_fsrs_params(u->cfg, &params, &np);
	struct fsrs_model m = {0};
	enum status st = fsrs_model_init(&m, params, np, e);
	if (st)
		return st;
	u->data.has_decay = true;
	u->data.decay = fsrs_decay_for_params(params, np);
	bool has_mem = u->data.has_s && u->data.has_d;
	if (!has_mem && u->card.type != CARD_NEW) {
		/* moved or imported into an FSRS preset: rebuild from the log */
		int64_t ignore_before;
		st = sched_ignore_before_ms(u->cfg, &ignore_before, e);
		struct fsrs_revlog *rows = NULL;
		size_t n = 0;
		if (!st)
			st = revlog_rows(env, u->card.id, &rows, &n, e);
		bool found = false;
		struct fsrs_memory mem = {0};
		if (!st)
			st = fsrs_memory_from_revlog(&m, rows, n, u->next_day_at,
			                             u->cfg->historical_retention, ignore_before,
			                             &found, &mem, e);
		free(rows);
		if (st)
			return st;
		if (!found && u->card.ivl != 0)
			st = fsrs_memory_from_sm2(&m, (float)u32_of(u->card.factor) / 1000.0f,
			                          (float)u32_of(u->card.ivl),
			                          u->cfg->historical_retention, &mem, e);
		if (st)
			return st;
		if (found || u->card.ivl != 0) {
			u->data.has_s = u->data.has_d = has_mem = true;
			u->data.s = mem.stability;
			u->data.d = mem.difficulty;
		}
	}
	uint32_t days_elapsed = 0;
	int64_t last;
	bool have_last = u->data.has_lrt;
	if (have_last) {
		last = u->data.lrt;
	} else {
		st = last_review_secs(env, u->card.id, &have_last, &last, e);
		if (st)
			return st;
	}
	if (have_last) {
		int64_t d = u->next_day_at - last;
		days_elapsed = (uint32_t)(d > 0 ? d / 86400 : 0);
	}
	struct fsrs_memory mem = {u->data.s, u->data.d};
	st = fsrs_next_states(&m, has_mem ? &mem : NULL, u->dr, days_elapsed, &u->ctx.fsrs_next, e);
	if (st)
		return st;
	u->ctx.fsrs = true;
	u->ctx.fsrs_allow_short_term = fsrs_allow_short_term(params, np);
	return ST_OK;
}

/* ---- the current state (answering/current.rs) ---- */

static struct sched_mem card_mem(const struct updater *u)
{
	struct sched_mem m = {0};
	if (u->data.has_s && u->data.has_d) {
		m.has = true;
		m.m.stability = u->data.s;
		m.m.difficulty = u->data.d;
	}
	return m;
}

static void current_state(struct updater *u)
{
	const struct card *cd = &u->card;
	bool filtered = u->deck.kind.type == DECK_KIND_FILTERED;
	int32_t due = due_i32(cd->due);
	if (filtered) {
		if (cd->odue != 0)
			due = due_i32(cd->odue);
	} else if (cd->type == CARD_REVIEW && due > u->today) {
		due = (int32_t)u->today;
	}
	struct sched_state s = {0};
	uint32_t remaining = u32_of(cd->left) % 1000;
	switch (cd->type) {
	case CARD_NEW:
		s.kind = SCHED_NEW;
		s.position = due > 0 ? (uint32_t)due : 0;
		break;
	case CARD_LEARN:
		s.kind = SCHED_LEARNING;
		s.learn.remaining_steps = remaining;
		s.learn.scheduled_secs =
		    sched_steps_current_secs(u->ctx.steps, u->ctx.nsteps, remaining);
		s.learn.mem = card_mem(u);
		break;
	case CARD_REVIEW: {
		s.kind = SCHED_REVIEW;
		uint32_t ivl = u32_of(cd->ivl);
		int64_t elapsed = (int64_t)(int32_t)ivl - ((int64_t)due - u->today);
		s.review.scheduled_days = ivl;
		s.review.elapsed_days = elapsed > 0 ? u32_of(elapsed) : 0;
		s.review.ease = (float)u32_of(cd->factor) / 1000.0f;
		s.review.lapses = u32_of(cd->lapses);
		s.review.mem = card_mem(u);
		break;
	}
	default:
		s.kind = SCHED_RELEARNING;
		s.learn.remaining_steps = remaining;
		s.learn.scheduled_secs = sched_steps_current_secs(u->ctx.relearn_steps,
		                                                  u->ctx.nrelearn_steps, remaining);
		s.learn.mem = card_mem(u);
		s.review.scheduled_days = u32_of(cd->ivl);
		s.review.elapsed_days = u32_of(cd->ivl);
		s.review.ease = (float)u32_of(cd->factor) / 1000.0f;
		s.review.lapses = u32_of(cd->lapses);
		s.review.mem = card_mem(u);
		break;
	}
	if (filtered) {
		if (u->deck.kind.filtered.reschedule) {
			s.rescheduling = true;
		} else {
			struct sched_state p = {.kind = SCHED_PREVIEW};
			p.preview_secs = u->deck.kind.filtered.preview_again_secs;
			s = p;
		}
	}
	u->current = s;
}

/* ---- building the updater (answering/mod.rs card_state_updater) ---- */

static enum status updater_init(struct sched_env *env, int64_t cid, const struct sched_opts *opts,
                                struct updater *u, struct errinfo *e)
{
	memset(u, 0, sizeof *u);
	struct col *c = env->c;
	enum status st = col_card_get(c, cid, &u->card, e);
	if (st)
		return st;
	if (u->card.type < CARD_NEW || u->card.type > CARD_RELEARN)
		return errinfo_set(e, ST_CORRUPT, "card %lld: invalid type %d", (long long)cid,
		                   u->card.type);
	u->now_ms = col_now_ms();
	u->now = u->now_ms / 1000;
	const struct sched_timing *t;
	st = sched_env_today(env, u->now, &t, e);
	if (st)
		return st;
	u->today = t->days_elapsed;
	u->next_day_at = t->next_day_at;
	u->secs_until_rollover = (uint32_t)(t->next_day_at - u->now);
	st = sched_card_decks(c, &u->card, &u->deck, &u->home, e);
	if (!st)
		st = sched_env_conf(env, u->home.config_id, &u->cfg, e);
	if (!st)
		st = sched_data_parse(u->card.data, &u->data, e);
	if (st)
		return st;
	const struct deckconf_config *cfg = u->cfg;
	u->dr = u->home.has_dr ? u->home.dr : cfg->desired_retention;
	u->fsrs = env->fsrs;
	u->fuzz = !(opts && opts->no_fuzz);
	u->seed = (uint64_t)u->card.id + (uint64_t)u32_of(u->card.reps);

	struct sched_ctx *x = &u->ctx;
	x->has_fuzz = u->fuzz;
	if (u->fuzz)
		x->fuzz_factor = sched_rng_fuzz_factor(u->seed);
	x->fsrs_short_term_with_steps = env->fsrs_short_term_steps;
	x->steps = cfg->learn_steps.v;
	x->nsteps = cfg->learn_steps.n;
	x->graduating_interval_good = cfg->graduating_interval_good;
	x->graduating_interval_easy = cfg->graduating_interval_easy;
	x->initial_ease = cfg->initial_ease;
	x->hard_multiplier = cfg->hard_multiplier;
	x->easy_multiplier = cfg->easy_multiplier;
	x->interval_multiplier = cfg->interval_multiplier;
	x->maximum_review_interval = cfg->maximum_review_interval;
	x->leech_threshold = cfg->leech_threshold;
	x->relearn_steps = cfg->relearn_steps.v;
	x->nrelearn_steps = cfg->relearn_steps.n;
	x->lapse_multiplier = cfg->lapse_multiplier;
	x->minimum_lapse_interval = cfg->minimum_lapse_interval;
	x->in_filtered_deck = u->deck.kind.type == DECK_KIND_FILTERED;
	if (x->in_filtered_deck) {
		x->preview_again_secs = u->deck.kind.filtered.preview_again_secs;
		x->preview_hard_secs = u->deck.kind.filtered.preview_hard_secs;
		x->preview_good_secs = u->deck.kind.filtered.preview_good_secs;
	}
	if (u->fsrs) {
		st = fsrs_prepare(env, u, e);
		if (st)
			return st;
	}
	current_state(u);
	return ST_OK;
}

/* ---- applying the next state (answering/{learning,review,relearning,
 * preview}.rs) ---- */

struct revlog_partial {
	struct sched_interval ivl, last_ivl;
	float ease;
	int kind;
};

/* Up to 25 % more, at most 5 minutes, from the card's seeded RNG. */
static uint32_t learning_fuzz(const struct updater *u, uint32_t secs)
{
	if (!u->fuzz)
		return secs;
	uint32_t upper = secs + sched_f32_to_u32(floorf(fminf((float)secs * 0.25f, 300.0f)));
	if (secs >= upper)
		return secs;
	struct sched_rng r;
	sched_rng_init(&r, u->seed);
	return sched_rng_range_u32(&r, secs, upper);
}

static void set_mem(struct updater *u, struct sched_mem m)
{
	u->data.has_s = u->data.has_d = m.has;
	u->data.s = m.m.stability;
	u->data.d = m.m.difficulty;
}

static float shifted(struct sched_mem m, float dflt)
{
	return m.has ? (m.m.difficulty - 1.0f) / 9.0f + 0.1f : dflt;
}

static int64_t due_for(struct updater *u, struct sched_interval iv, int *queue)
{
	if (iv.days) {
		*queue = Q_DAY_LEARN;
		return u->today + iv.v;
	}
	*queue = Q_LEARN;
	return (int64_t)(int32_t)u->now + learning_fuzz(u, iv.v);
}

static uint16_t ease_permille(float ease)
{
	float v = roundf(ease * 1000.0f);
	return v <= 0.0f ? 0 : v >= 65535.0f ? 65535 : (uint16_t)v;
}

static void revlog_partial(const struct updater *u, const struct sched_state *cur,
                           const struct sched_state *next, float ease, struct revlog_partial *rp)
{
	rp->ivl = sched_interval_as_days(sched_interval_of(next), u->secs_until_rollover);
	rp->last_ivl = sched_interval_as_days(sched_interval_of(cur), u->secs_until_rollover);
	rp->ease = ease;
	rp->kind = sched_revlog_kind(cur);
}

static void apply_normal(struct updater *u, const struct sched_state *cur,
                         const struct sched_state *next, struct revlog_partial *rp)
{
	struct card *cd = &u->card;
	cd->reps = u32_of(cd->reps) + 1;
	u->data.has_dr = u->fsrs;
	u->data.dr = u->dr;
	bool from_new = cur->kind == SCHED_NEW;
	int queue;
	switch (next->kind) {
	case SCHED_LEARNING: {
		cd->left = next->learn.remaining_steps;
		cd->type = CARD_LEARN;
		if (from_new) {
			u->data.has_pos = true;
			u->data.pos = cur->position;
		}
		set_mem(u, next->learn.mem);
		struct sched_interval iv =
		    sched_interval_as_days(sched_interval_of(next), u->secs_until_rollover);
		cd->due = due_for(u, iv, &queue);
		cd->queue = queue;
		revlog_partial(u, cur, next, shifted(next->learn.mem, 0.0f), rp);
		break;
	}
	case SCHED_REVIEW:
		cd->queue = Q_REVIEW;
		cd->type = CARD_REVIEW;
		cd->ivl = next->review.scheduled_days;
		cd->due = u->today + next->review.scheduled_days;
		cd->factor = ease_permille(next->review.ease);
		cd->lapses = next->review.lapses;
		cd->left = 0;
		if (from_new) {
			u->data.has_pos = true;
			u->data.pos = cur->position;
		}
		set_mem(u, next->review.mem);
		revlog_partial(u, cur, next, shifted(next->review.mem, next->review.ease), rp);
		break;
	case SCHED_RELEARNING: {
		cd->ivl = next->review.scheduled_days;
		cd->left = next->learn.remaining_steps;
		cd->type = CARD_RELEARN;
		cd->lapses = next->review.lapses;
		cd->factor = ease_permille(next->review.ease);
		if (from_new) {
			u->data.has_pos = true;
			u->data.pos = cur->position;
		}
		set_mem(u, next->learn.mem);
		struct sched_interval iv =
		    sched_interval_as_days(sched_interval_of(next), u->secs_until_rollover);
		cd->due = due_for(u, iv, &queue);
		cd->queue = queue;
		revlog_partial(u, cur, next, shifted(next->learn.mem, next->review.ease), rp);
		break;
	}
	default: /* a new or preview state is never reached by answering */
		revlog_partial(u, cur, next, 0.0f, rp);
		break;
	}
	/* leech action 0 = suspend, 1 = tag only */
	if (sched_state_leeched(next) && u->cfg->leech_action == 0)
		cd->queue = Q_SUSPENDED;
}

static void restore_queue_from_type(struct card *cd)
{
	switch (cd->type) {
	case CARD_LEARN:
	case CARD_RELEARN:
		cd->queue = cd->due > 1000000000 ? Q_LEARN : Q_DAY_LEARN;
		break;
	case CARD_NEW:
		cd->queue = Q_NEW;
		break;
	default:
		cd->queue = Q_REVIEW;
		break;
	}
}

static enum status apply_state(struct updater *u, const struct sched_state *next,
                               struct revlog_partial *rp, struct errinfo *e)
{
	const struct sched_state *cur = &u->current;
	struct card *cd = &u->card;
	if (next->kind == SCHED_PREVIEW) {
		if (!cd->odid)
			return errinfo_set(e, ST_INVALID,
			                   "card answering can't transition into filtered state");
		revlog_partial(u, cur, next, 0.0f, rp);
		if (next->preview_finished) {
			/* back home, queue restored from the type */
			cd->did = cd->odid;
			cd->odid = 0;
			if (cd->odue != 0)
				cd->due = cd->odue;
			if (cd->queue >= 0)
				restore_queue_from_type(cd);
			cd->odue = 0;
		} else {
			cd->queue = Q_PREVIEW;
			cd->due = (int64_t)(int32_t)u->now + learning_fuzz(u, next->preview_secs);
		}
		return ST_OK;
	}
	if (next->rescheduling) {
		if (!cd->odid)
			return errinfo_set(e, ST_INVALID,
			                   "card answering can't transition into filtered state");
		apply_normal(u, cur, next, rp);
		cd->odue = cd->due;
		return ST_OK;
	}
	if (cur->kind == SCHED_PREVIEW)
		return errinfo_set(e, ST_INVALID,
		                   "should set finished=true, not return different state");
	if (cur->rescheduling && cd->odid) {
		/* leaving the filtered deck to be scheduled normally */
		cd->did = cd->odid;
		cd->odid = 0;
		cd->odue = 0;
	}
	apply_normal(u, cur, next, rp);
	return ST_OK;
}

/* ---- side effects: deck counters, siblings, leech tag ---- */

static enum status deck_stats_one(struct sched_env *env, int64_t did, const char *name_or_null,
                                  int64_t today, int32_t new_d, int32_t rev_d, int32_t ms,
                                  int64_t now, char **name_out, struct errinfo *e)
{
	struct col *c = env->c;
	sqlite3_stmt *st;
	enum status s;
	*name_out = NULL;
	if (name_or_null) {
		s = sched_env_stmt(env, S_DECK_NAME,
		                   "select id, name, common from decks where name = ?1", &st, e);
		if (!s)
			sqlite3_bind_text(st, 1, name_or_null, -1, SQLITE_STATIC);
	} else {
		s = sched_env_stmt(env, S_DECK_ID,
		                   "select id, name, common from decks where id = ?1", &st, e);
		if (!s)
			sqlite3_bind_int64(st, 1, did);
	}
	if (s)
		return s;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? ST_OK
		                         : col_sqlite_err(col_db(c), rc, e, "reading a deck");
	}
	did = sqlite3_column_int64(st, 0);
	*name_out = strdup((const char *)sqlite3_column_text(st, 1));
	struct deck_common cm;
	s = deck_common_decode(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), &cm,
	                       e);
	sqlite3_reset(st);
	if (!*name_out && !s) {
		deck_common_free(&cm);
		s = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	if (s) {
		free(*name_out);
		*name_out = NULL;
		return s;
	}
	if (cm.last_day_studied != (uint32_t)today) {
		cm.new_studied = 0;
		cm.learning_studied = 0;
		cm.review_studied = 0;
		cm.milliseconds_studied = 0;
		cm.last_day_studied = (uint32_t)today;
	}
	/* i32 counters wrap as Anki's do */
	cm.new_studied = (int32_t)((uint32_t)cm.new_studied + (uint32_t)new_d);
	cm.review_studied = (int32_t)((uint32_t)cm.review_studied + (uint32_t)rev_d);
	cm.milliseconds_studied = (int32_t)((uint32_t)cm.milliseconds_studied + (uint32_t)ms);
	struct buf b;
	buf_init(&b, 0);
	s = deck_common_encode(&cm, &b, e);
	deck_common_free(&cm);
	if (!s)
		s = sched_env_stmt(
		    env, S_DECK_UPDATE,
		    "update decks set common = ?1, mtime_secs = ?2, usn = ?3 where id = ?4", &st,
		    e);
	if (!s) {
		sqlite3_bind_blob(st, 1, b.data ? (const void *)b.data : "", (int)b.len,
		                  SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int(st, 3, col_usn(c));
		sqlite3_bind_int64(st, 4, did);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			s = col_sqlite_err(col_db(c), rc, e, "writing a deck");
	}
	buf_free(&b);
	if (s) {
		free(*name_out);
		*name_out = NULL;
	}
	return s;
}

/* The deck and each parent that exists ("A\x1fB\x1fC" -> "A\x1fB" -> "A"). */
static enum status update_deck_stats(struct sched_env *env, int64_t did, int64_t today,
                                     int32_t new_d, int32_t rev_d, int32_t ms, int64_t now,
                                     struct errinfo *e)
{
	char *name = NULL;
	enum status s = deck_stats_one(env, did, NULL, today, new_d, rev_d, ms, now, &name, e);
	while (!s && name) {
		char *sep = strrchr(name, '\x1f');
		if (!sep)
			break;
		*sep = '\0';
		char *parent = NULL;
		s = deck_stats_one(env, 0, name, today, new_d, rev_d, ms, now, &parent, e);
		free(name);
		name = parent;
	}
	free(name);
	return s;
}

static int gather_ord(int64_t queue)
{
	switch (queue) {
	case Q_LEARN:
	case Q_PREVIEW:
		return 0;
	case Q_DAY_LEARN:
		return 1;
	case Q_REVIEW:
		return 2;
	case Q_NEW:
		return 3;
	default:
		return 255;
	}
}

static enum status bury_siblings(struct col *c, const struct card *orig,
                                 const struct deckconf_config *cfg, struct errinfo *e)
{
	bool bury_new = cfg->bury_new;
	bool bury_rev = cfg->bury_reviews && gather_ord(orig->queue) <= 2;
	bool bury_day = cfg->bury_interday_learning && gather_ord(orig->queue) <= 1;
	if (!bury_new && !bury_rev && !bury_day)
		return ST_OK;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(col_db(c),
	                            "select id from cards where id != ?1 and nid = ?2 and ((?3 and "
	                            "queue = 0) or (?4 and queue = 2) or (?5 and queue = 3))",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, "finding siblings");
	sqlite3_bind_int64(st, 1, orig->id);
	sqlite3_bind_int64(st, 2, orig->nid);
	sqlite3_bind_int(st, 3, bury_new);
	sqlite3_bind_int(st, 4, bury_rev);
	sqlite3_bind_int(st, 5, bury_day);
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			int64_t *p = realloc(ids, (cap = cap ? cap * 2 : 8) * sizeof *p);
			if (!p) {
				free(ids);
				sqlite3_finalize(st);
				return errinfo_set(e, ST_NOMEM, "out of memory");
			}
			ids = p;
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(ids);
		return col_sqlite_err(col_db(c), rc, e, "finding siblings");
	}
	enum status s = ST_OK;
	for (size_t i = 0; !s && i < n; i++) {
		struct card sib;
		struct sched_data d = {0};
		s = col_card_get(c, ids[i], &sib, e);
		if (s)
			break;
		s = sched_data_parse(sib.data, &d, e);
		if (!s) {
			sib.queue = Q_SCHED_BURIED;
			s = sched_card_write(c, &sib, &d, e);
		}
		sched_data_free(&d);
		card_free(&sib);
	}
	free(ids);
	return s;
}

/* tags registry over the tags table, for the leech tag's spelling */
struct leech_reg {
	struct col *c;
	char *last;
};

static const char *leech_lookup(void *ctx, const char *tag)
{
	struct leech_reg *r = ctx;
	sqlite3_stmt *st;
	free(r->last);
	r->last = NULL;
	if (sqlite3_prepare_v2(col_db(r->c), "select tag from tags where tag = ?1", -1, &st,
	                       NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		r->last = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return r->last;
}

static enum status leech_add(void *ctx, const char *tag, struct errinfo *e)
{
	struct leech_reg *r = ctx;
	return col_tag_register(r->c, tag, col_usn(r->c), e);
}

static int cmp_tags(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	return unicase_compare(x, (int)strlen(x), y, (int)strlen(y));
}

/* Anki's add_tags_to_notes_inner(nid, "leech"): the tag gets its
 * registered spelling; the note is rewritten (tags sorted, mod, usn) only
 * when it lacks the tag. */
static enum status add_leech_tag(struct col *c, int64_t nid, int64_t now, struct errinfo *e)
{
	struct leech_reg reg_ctx = {c, NULL};
	struct tags_registry reg = {leech_lookup, leech_add, &reg_ctx};
	const char *in[] = {"leech"};
	size_t lens[] = {5};
	struct tags_list want = {0};
	enum status s = tags_canonify(in, lens, 1, &reg, 0, &want, NULL, e);
	free(reg_ctx.last);
	if (s)
		return s;
	sqlite3_stmt *st;
	int rc =
	    sqlite3_prepare_v2(col_db(c), "select tags from notes where id = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		tags_list_free(&want);
		return col_sqlite_err(col_db(c), rc, e, "reading a note");
	}
	sqlite3_bind_int64(st, 1, nid);
	char *tags = NULL;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		tags = strdup(t ? (const char *)t : "");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		tags_list_free(&want);
		return rc == SQLITE_DONE ? ST_OK
		                         : col_sqlite_err(col_db(c), rc, e, "reading a note");
	}
	if (!tags) {
		tags_list_free(&want);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	/* split on the tag separators, keeping each spelling */
	size_t cap = 8, n = 0;
	char **v = want.n ? malloc(cap * sizeof *v) : NULL;
	if (!v) {
		free(tags);
		tags_list_free(&want);
		return want.n ? errinfo_set(e, ST_NOMEM, "out of memory") : ST_OK;
	}
	char *p = tags;
	bool have = false;
	while (!s && *p) {
		size_t adv;
		if (tags_is_separator(p, strlen(p), &adv)) {
			*p = '\0';
			p += adv;
			continue;
		}
		char *start = p;
		while (*p && !tags_is_separator(p, strlen(p), &adv))
			p++;
		bool end = !*p;
		if (!end) {
			*p = '\0';
			p += adv;
		}
		if (n + 2 > cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof *nv);
			if (!nv) {
				s = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			v = nv;
		}
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			if (unicase_compare(v[i], (int)strlen(v[i]), start, (int)strlen(start)) ==
			    0)
				dup = true;
		if (!dup)
			v[n++] = start;
		if (unicase_compare(start, (int)strlen(start), want.v[0], (int)strlen(want.v[0])) ==
		    0)
			have = true;
		if (end)
			break;
	}
	if (!s && !have) {
		v[n++] = want.v[0];
		qsort(v, n, sizeof *v, cmp_tags);
		struct buf b;
		buf_init(&b, 0);
		s = buf_append(&b, " ", 1, e);
		for (size_t i = 0; !s && i < n; i++) {
			s = buf_append_str(&b, v[i], e);
			if (!s)
				s = buf_append(&b, " ", 1, e);
		}
		if (!s)
			s = buf_append(&b, "", 1, e);
		if (!s) {
			rc = sqlite3_prepare_v2(
			    col_db(c),
			    "update notes set tags = ?1, mod = ?2, usn = ?3 where id = ?4", -1, &st,
			    NULL);
			if (rc != SQLITE_OK) {
				s = col_sqlite_err(col_db(c), rc, e, "writing a note");
			} else {
				sqlite3_bind_text(st, 1, (const char *)b.data, -1, SQLITE_STATIC);
				sqlite3_bind_int64(st, 2, now);
				sqlite3_bind_int(st, 3, col_usn(c));
				sqlite3_bind_int64(st, 4, nid);
				rc = sqlite3_step(st);
				sqlite3_finalize(st);
				if (rc != SQLITE_DONE)
					s = col_sqlite_err(col_db(c), rc, e, "writing a note");
			}
		}
		buf_free(&b);
	}
	free(v);
	free(tags);
	tags_list_free(&want);
	return s;
}

/* ---- one answer ---- */

static enum status answer_one(struct sched_env *env, const struct sched_answer *a,
                              const struct sched_opts *opts, bool *found, struct errinfo *e)
{
	struct col *c = env->c;
	struct updater u;
	enum status st = updater_init(env, a->card_id, opts, &u, e);
	if (st == ST_NOTFOUND && u.card.id == 0) {
		*found = false;
		updater_free(&u);
		return ST_OK;
	}
	*found = true;
	if (st) {
		updater_free(&u);
		return st;
	}
	struct sched_next next;
	sched_next_states(&u.current, &u.ctx, &next);
	const struct sched_state *ns = &next.s[a->ease - 1];

	uint32_t ms = a->ms_taken;
	uint64_t cap = (uint64_t)u.cfg->cap_answer_time_to_secs * 1000;
	if (ms > cap)
		ms = (uint32_t)cap;
	int64_t orig_queue = u.card.queue, orig_did = u.card.did;
	struct card orig = u.card;

	struct revlog_partial rp = {0};
	st = apply_state(&u, ns, &rp, e);
	if (!st) {
		struct revlog_entry r = {
		    .id = u.now_ms,
		    .cid = u.card.id,
		    .ease = a->ease,
		    .ivl = sched_interval_revlog(rp.ivl),
		    .last_ivl = sched_interval_revlog(rp.last_ivl),
		    .factor = sched_f32_to_u32(roundf(rp.ease * 1000.0f)),
		    .time = ms,
		    .type = rp.kind,
		};
		st = col_revlog_add(c, &r, e);
	}
	if (!st) {
		int32_t new_d = orig_queue == Q_NEW;
		int32_t rev_d = orig_queue == Q_REVIEW || orig_queue == Q_DAY_LEARN;
		st = update_deck_stats(env, orig_did, u.today, new_d, rev_d, (int32_t)ms, u.now, e);
	}
	if (!st) {
		orig.queue = orig_queue;
		st = bury_siblings(c, &orig, u.cfg, e);
	}
	if (!st) {
		if (u.current.kind != SCHED_PREVIEW) {
			u.data.has_lrt = true;
			u.data.lrt = u.now;
		}
		st = sched_card_write(c, &u.card, &u.data, e);
	}
	if (!st && sched_state_leeched(ns))
		st = add_leech_tag(c, u.card.nid, u.now, e);
	updater_free(&u);
	return st;
}

enum status sched_answer_cards(struct col *c, const struct sched_answer *answers, size_t n,
                               const struct sched_opts *opts, bool *answered, size_t *done,
                               struct errinfo *e)
{
	if (done)
		*done = 0;
	struct sched_env env;
	enum status st = sched_env_init(&env, c, e);
	if (st)
		return st;
	bool own_tx = sqlite3_get_autocommit(col_db(c));
	if (own_tx) {
		st = col_begin(c, e);
		if (st) {
			sched_env_free(&env);
			return st;
		}
	}
	size_t i, changed = 0;
	enum status fail = ST_OK;
	for (i = 0; i < n; i++) {
		if (answers[i].ease < 1 || answers[i].ease > 4) {
			fail = errinfo_set(e, ST_INVALID, "invalid ease");
			break;
		}
		st = col_exec(c, "SAVEPOINT sched_answer", e);
		if (st) {
			fail = st;
			break;
		}
		bool found = false;
		st = answer_one(&env, &answers[i], opts, &found, e);
		if (st) {
			struct errinfo tmp;
			col_exec(c, "ROLLBACK TO sched_answer", &tmp);
			col_exec(c, "RELEASE sched_answer", &tmp);
			fail = st;
			break;
		}
		st = col_exec(c, "RELEASE sched_answer", e);
		if (st) {
			fail = st;
			break;
		}
		if (answered)
			answered[i] = found;
		changed += found;
	}
	if (done)
		*done = i;
	sched_env_free(&env);
	struct errinfo tmp;
	if (changed) {
		st = col_touch(c, fail ? &tmp : e);
		if (st && !fail)
			fail = st;
	}
	if (own_tx) {
		st = col_commit(c, fail ? &tmp : e);
		if (st) {
			col_rollback(c);
			if (!fail)
				fail = st;
		}
	}
	return fail;
}

/* ---- preview and labels ---- */

static enum status preview_in(struct sched_env *env, int64_t card_id, const struct sched_opts *opts,
                              struct sched_preview *out, struct errinfo *e)
{
	struct updater u;
	enum status st = updater_init(env, card_id, opts, &u, e);
	if (!st) {
		out->current = u.current;
		sched_next_states(&u.current, &u.ctx, &out->next);
		out->secs_until_rollover = u.secs_until_rollover;
		out->collapse_secs = env->collapse_secs;
		out->today = u.today;
	}
	updater_free(&u);
	return st;
}

enum status sched_card_preview(struct col *c, int64_t card_id, const struct sched_opts *opts,
                               struct sched_preview *out, struct errinfo *e)
{
	struct sched_env env;
	enum status st = sched_env_init(&env, c, e);
	if (st)
		return st;
	st = preview_in(&env, card_id, opts, out, e);
	sched_env_free(&env);
	return st;
}

/* A labeler is an env kept from card to card: the day, the presets and
 * the prepared statements are read once per request, not once per card. */
struct sched_labeler {
	struct sched_env env;
};

enum status sched_labeler_new(struct col *c, struct sched_labeler **out, struct errinfo *e)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	enum status st = sched_env_init(&(*out)->env, c, e);
	if (st) {
		free(*out);
		*out = NULL;
	}
	return st;
}

void sched_labeler_free(struct sched_labeler *l)
{
	if (!l)
		return;
	sched_env_free(&l->env);
	free(l);
}

enum status sched_labeler_labels(struct sched_labeler *l, int64_t card_id, unsigned flags,
                                 char labels[4][SCHED_LABEL_MAX], struct errinfo *e)
{
	struct sched_preview p;
	enum status st = preview_in(&l->env, card_id, NULL, &p, e);
	if (st)
		return st;
	for (int i = 0; i < 4; i++) {
		struct sched_interval iv =
		    sched_interval_as_days(sched_interval_of(&p.next.s[i]), p.secs_until_rollover);
		sched_label(sched_interval_secs(iv), p.collapse_secs, flags, labels[i]);
	}
	return ST_OK;
}

enum status sched_next_labels(struct col *c, int64_t card_id, unsigned flags,
                              char labels[4][SCHED_LABEL_MAX], struct errinfo *e)
{
	struct sched_labeler *l;
	enum status st = sched_labeler_new(c, &l, e);
	if (!st)
		st = sched_labeler_labels(l, card_id, flags, labels, e);
	sched_labeler_free(l);
	return st;
}
