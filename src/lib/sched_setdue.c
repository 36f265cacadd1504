/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_setdue.c - Set Due Date (see sched_setdue.h).  The random day of a
 * range comes from OpenSSL's RNG (Anki uses an unseeded thread RNG, so no
 * two runs agree there either); everything else is deterministic.
 */
#include "sched_setdue.h"

#include <jansson.h>
#include <math.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "col_notes.h"
#include "col_store.h"
#include "sched_internal.h"

static bool parse_u32(const char **p, uint32_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return false;
		s++;
	}
	*out = (uint32_t)v;
	*p = s;
	return true;
}

enum status sched_due_parse(const char *s, struct sched_due_spec *out, struct errinfo *e)
{
	const char *p = s ? s : "";
	uint32_t a, b;
	if (!parse_u32(&p, &a))
		goto bad;
	b = a;
	if (*p == '-') {
		p++;
		if (!parse_u32(&p, &b))
			goto bad;
	}
	out->force_reset = *p == '!';
	if (*p == '!')
		p++;
	if (*p)
		goto bad;
	out->min = a < b ? a : b;
	out->max = a < b ? b : a;
	return ST_OK;
bad:
	return errinfo_set(e, ST_INVALID, "invalid due date: %s", s ? s : "");
}

static enum status random_day(const struct sched_due_spec *spec, uint32_t *out, struct errinfo *e)
{
	uint64_t range = (uint64_t)spec->max - spec->min + 1;
	if (range == 1) {
		*out = spec->min;
		return ST_OK;
	}
	/* uniform by rejection of the biased tail */
	uint64_t limit = UINT64_MAX - UINT64_MAX % range;
	for (;;) {
		uint64_t r;
		if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
			return errinfo_set(e, ST_INTERNAL, "random number generator failed");
		if (r < limit) {
			*out = spec->min + (uint32_t)(r % range);
			return ST_OK;
		}
	}
}

static uint32_t sat_add_signed(uint32_t v, int64_t d)
{
	int64_t r = (int64_t)v + d;
	return r < 0 ? 0 : r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

static enum status set_one(struct sched_env *env, int64_t cid, const struct sched_due_spec *spec,
                           const struct sched_timing *t, bool *found, struct errinfo *e)
{
	struct col *c = env->c;
	struct card cd;
	enum status st = col_card_get(c, cid, &cd, e);
	*found = st != ST_NOTFOUND;
	if (st == ST_NOTFOUND)
		return ST_OK;
	if (st)
		return st;
	struct deck deck;
	struct sched_home home;
	struct sched_data data = {0};
	const struct deckconf_config *cfg = NULL;
	st = sched_card_decks(c, &cd, &deck, &home, e);
	if (!st) {
		st = sched_env_conf(env, home.config_id, &cfg, e);
		deck_free(&deck);
	}
	if (!st)
		st = sched_data_parse(cd.data, &data, e);
	uint32_t days = 0;
	if (!st)
		st = random_day(spec, &days, e);
	if (st)
		goto out;

	int64_t today = t->days_elapsed;
	int32_t new_due = (int32_t)(today + days);
	uint32_t orig_ivl = cd.ivl < 0 ? 0 : cd.ivl > UINT32_MAX ? UINT32_MAX : (uint32_t)cd.ivl;
	uint32_t ivl;
	if (env->fsrs) {
		if (cd.queue == 0 || orig_ivl == 0) {
			ivl = 0;
		} else if (data.has_lrt) {
			int64_t d = t->next_day_at - data.lrt;
			ivl = (uint32_t)((d > 0 ? d / 86400 : 0) + days);
		} else {
			int32_t due = (int32_t)(cd.odid ? cd.odue : cd.due);
			int64_t diff;
			if (due > 1000000000) {
				/* a learning timestamp: its day, relative to today */
				int64_t offset = ((int64_t)due - t->next_day_at) / 86400;
				diff = (int64_t)new_due - (int32_t)(today + offset);
			} else {
				diff = (int64_t)new_due - due;
			}
			ivl = sat_add_signed(orig_ivl, diff);
		}
	} else if (spec->force_reset || (cd.type != 2 && cd.type != 3)) {
		ivl = days ? days : 1;
	} else {
		ivl = orig_ivl ? orig_ivl : 1;
	}
	float ease_f = roundf(cfg->initial_ease * 1000.0f);
	int64_t ease = ease_f <= 0.0f ? 0 : ease_f >= 65535.0f ? 65535 : (int64_t)ease_f;

	/* schedule_as_review: remember the new-queue position, leave a
	 * filtered deck, become a review card */
	if (cd.type == 0) {
		int32_t pos = (int32_t)(cd.odid ? cd.odue : cd.due);
		data.has_pos = true;
		data.pos = (uint32_t)pos;
	}
	if (cd.odid) {
		cd.did = cd.odid;
		cd.odid = 0;
		cd.odue = 0;
	}
	cd.ivl = ivl;
	cd.due = new_due;
	cd.type = 2;
	cd.queue = 2;
	if (cd.factor == 0)
		cd.factor = ease;

	int64_t factor = cd.factor;
	if (data.has_s && data.has_d) {
		float v = ((data.d - 1.0f) / 9.0f + 0.1f) * 1000.0f;
		factor = v <= 0.0f       ? 0
		         : v >= 65535.0f ? 65535
		                         : (int64_t)v; /* `as u16` truncates */
	}
	struct revlog_entry r = {
	    .id = col_now_ms(),
	    .cid = cd.id,
	    .ease = 0,
	    .ivl = ivl > INT32_MAX ? INT32_MAX : (int64_t)ivl,
	    .last_ivl = orig_ivl > INT32_MAX ? INT32_MAX : (int64_t)orig_ivl,
	    .factor = factor,
	    .time = 0,
	    .type = 4,
	};
	st = col_revlog_add(c, &r, e);
	if (!st)
		st = sched_card_write(c, &cd, &data, e);
out:
	sched_data_free(&data);
	card_free(&cd);
	return st;
}

enum status sched_set_due_date(struct col *c, const int64_t *cids, size_t n, const char *days,
                               const char *config_key, struct errinfo *e)
{
	struct sched_due_spec spec = {0};
	enum status st = sched_due_parse(days, &spec, e);
	if (st)
		return st;
	struct sched_env env;
	st = sched_env_init(&env, c, e);
	if (st)
		return st;
	bool own_tx = sqlite3_get_autocommit(col_db(c));
	if (own_tx && (st = col_begin(c, e))) {
		sched_env_free(&env);
		return st;
	}
	const struct sched_timing *t;
	st = sched_env_today(&env, col_now_secs(), &t, e);
	bool changed = false;
	for (size_t i = 0; !st && i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = cids[j] == cids[i];
		if (seen)
			continue;
		bool found;
		st = set_one(&env, cids[i], &spec, t, &found, e);
		changed |= found;
	}
	if (!st && config_key) {
		json_t *v = json_string(days);
		st = v ? col_config_set(c, config_key, v, e)
		       : errinfo_set(e, ST_NOMEM, "out of memory");
		json_decref(v);
	}
	if (!st && changed)
		st = col_touch(c, e);
	sched_env_free(&env);
	if (own_tx) {
		if (!st)
			st = col_commit(c, e);
		if (st)
			col_rollback(c);
	}
	return st;
}
