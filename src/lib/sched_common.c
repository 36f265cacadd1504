/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_common.c - helpers shared by the answering and set-due-date code
 * (sched_internal.h): collection flags, the scheduler day (search_day.c's
 * col_sched_timing_at, collection-format.md §6.3.1), presets as Anki reads
 * them (missing = default, out-of-range values fixed, §2.10), card writes
 * with the data column re-serialised (§6.3).
 */
#include "sched_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_store.h"

bool sched_config_bool(struct col *c, const char *key, bool dflt, enum status *st,
                       struct errinfo *e)
{
	json_t *j = NULL;
	struct errinfo tmp;
	enum status s = col_config_get(c, key, &j, &tmp);
	if (s) {
		if (s != ST_NOTFOUND && s != ST_CORRUPT) {
			*st = s;
			if (e)
				*e = tmp;
		}
		return dflt;
	}
	bool v = json_is_boolean(j) ? json_is_true(j) : dflt;
	json_decref(j);
	return v;
}

enum status sched_env_init(struct sched_env *env, struct col *c, struct errinfo *e)
{
	memset(env, 0, sizeof *env);
	env->c = c;
	enum status st = ST_OK;
	env->fsrs = sched_config_bool(c, "fsrs", false, &st, e);
	if (!st)
		env->fsrs_short_term_steps =
		    sched_config_bool(c, "fsrsShortTermWithStepsEnabled", false, &st, e);
	if (st)
		return st;
	env->collapse_secs = 1200;
	json_t *j = NULL;
	struct errinfo tmp;
	enum status s = col_config_get(c, "collapseTime", &j, &tmp);
	if (!s) {
		if (json_is_integer(j) && json_integer_value(j) >= 0 &&
		    json_integer_value(j) <= UINT32_MAX)
			env->collapse_secs = (uint32_t)json_integer_value(j);
		json_decref(j);
	} else if (s != ST_NOTFOUND && s != ST_CORRUPT) {
		if (e)
			*e = tmp;
		return s;
	}
	return ST_OK;
}

enum status sched_env_stmt(struct sched_env *env, int slot, const char *sql, sqlite3_stmt **out,
                           struct errinfo *e)
{
	sqlite3_stmt **st = &env->stmts[slot];
	if (!*st) {
		int rc = sqlite3_prepare_v2(col_db(env->c), sql, -1, st, NULL);
		if (rc != SQLITE_OK)
			return col_sqlite_err(col_db(env->c), rc, e, "preparing a statement");
	} else {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
	}
	*out = *st;
	return ST_OK;
}

void sched_env_free(struct sched_env *env)
{
	for (int i = 0; i < 8; i++) {
		sqlite3_finalize(env->stmts[i]);
		env->stmts[i] = NULL;
	}
	for (size_t i = 0; i < env->nconfs; i++)
		deckconf_free(&env->confs[i].dc);
	env->nconfs = 0;
}

enum status sched_env_today(struct sched_env *env, int64_t now, const struct sched_timing **out,
                            struct errinfo *e)
{
	if (!env->have_timing || now >= env->timing.next_day_at || now < env->timing.now) {
		enum status st = col_sched_timing_at(env->c, now, &env->timing, e);
		if (st)
			return st;
		env->have_timing = true;
	}
	*out = &env->timing;
	return ST_OK;
}

enum status sched_env_conf(struct sched_env *env, int64_t id, const struct deckconf_config **out,
                           struct errinfo *e)
{
	for (size_t i = 0; i < env->nconfs; i++)
		if (env->confs[i].id == id) {
			*out = &env->confs[i].dc.cfg;
			return ST_OK;
		}
	if (env->nconfs == SCHED_CONF_CACHE) {
		deckconf_free(&env->confs[0].dc);
		memmove(&env->confs[0], &env->confs[1],
		        sizeof env->confs[0] * (SCHED_CONF_CACHE - 1));
		env->nconfs--;
	}
	struct deckconf dc;
	struct errinfo tmp;
	enum status st = col_load_deckconf(env->c, id, &dc, &tmp);
	if (st == ST_NOTFOUND) {
		/* Anki: get_deck_config(..).unwrap_or_default() */
		memset(&dc, 0, sizeof dc);
		dc.id = id;
		st = deckconf_config_default(&dc.cfg, e);
	} else if (st && e) {
		*e = tmp;
	}
	if (st)
		return st;
	deckconf_config_fix_ranges(&dc.cfg);
	env->confs[env->nconfs].id = id;
	env->confs[env->nconfs].dc = dc;
	*out = &env->confs[env->nconfs].dc.cfg;
	env->nconfs++;
	return ST_OK;
}

enum status sched_card_decks(struct col *c, const struct card *cd, struct deck *deck,
                             struct sched_home *home, struct errinfo *e)
{
	memset(home, 0, sizeof *home);
	enum status st = col_load_deck(c, cd->did, deck, e);
	if (st == ST_NOTFOUND)
		return errinfo_set(e, ST_CORRUPT, "card %lld: deck %lld not found",
		                   (long long)cd->id, (long long)cd->did);
	if (st)
		return st;
	struct deck other = {0};
	const struct deck *h = deck;
	if (cd->odid) {
		st = col_load_deck(c, cd->odid, &other, e);
		if (st == ST_NOTFOUND)
			st = errinfo_set(e, ST_CORRUPT, "card %lld: home deck %lld not found",
			                 (long long)cd->id, (long long)cd->odid);
		h = &other;
	}
	if (!st && h->kind.type != DECK_KIND_NORMAL)
		st = errinfo_set(e, ST_CORRUPT, "card %lld: home deck is filtered",
		                 (long long)cd->id);
	if (!st) {
		home->id = h->id;
		home->config_id = h->kind.normal.config_id;
		home->has_dr = h->kind.normal.has_desired_retention;
		home->dr = h->kind.normal.desired_retention;
	}
	deck_free(&other);
	if (st)
		deck_free(deck);
	return st;
}

enum status sched_card_write(struct col *c, struct card *cd, const struct sched_data *data,
                             struct errinfo *e)
{
	struct buf b;
	buf_init(&b, 0);
	enum status st = sched_data_format(data, &b, e);
	if (!st)
		st = buf_append(&b, "", 1, e);
	if (st) {
		buf_free(&b);
		return st;
	}
	free(cd->data);
	cd->data = (char *)buf_steal(&b, NULL);
	return col_card_update(c, cd, e);
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	/* proleptic Gregorian days since 1970-01-01 */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

enum status sched_ignore_before_ms(const struct deckconf_config *cfg, int64_t *out,
                                   struct errinfo *e)
{
	const char *s = col_str(cfg->ignore_revlogs_before_date);
	*out = 0;
	if (!*s)
		return ST_OK;
	/* YYYY-MM-DD: digits only, as chrono's %Y-%m-%d accepts them */
	long part[3];
	const char *p = s;
	for (int i = 0; i < 3; i++) {
		char *end;
		if (*p < '0' || *p > '9')
			return errinfo_set(e, ST_INVALID, "Error parsing date: %s", s);
		part[i] = strtol(p, &end, 10);
		if (end - p > 9 || (i < 2 && *end != '-') || (i == 2 && *end != '\0'))
			return errinfo_set(e, ST_INVALID, "Error parsing date: %s", s);
		p = end + (i < 2);
	}
	int y = (int)part[0], m = (int)part[1], d = (int)part[2];
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return errinfo_set(e, ST_INVALID, "Error parsing date: %s", s);
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
		return errinfo_set(e, ST_INVALID, "Error parsing date: %s", s);
	*out = days_from_civil(y, m, d) * 86400000LL;
	return ST_OK;
}

void sched_conf_fsrs_params(const struct deckconf_config *cfg, const float **p, size_t *n)
{
	const struct f32_list *l = cfg->fsrs_params_6.n   ? &cfg->fsrs_params_6
	                           : cfg->fsrs_params_5.n ? &cfg->fsrs_params_5
	                                                  : &cfg->fsrs_params_4;
	*p = l->v;
	*n = l->n;
}
