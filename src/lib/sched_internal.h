/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_internal.h - what sched_answer.c and sched_setdue.c share and
 * nobody else uses: the per-call environment (collection flags read once,
 * the day, a cache of presets) and card/deck helpers.
 */
#ifndef ANKIHOST_SCHED_INTERNAL_H
#define ANKIHOST_SCHED_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "col.h"
#include "col_model.h"
#include "col_notes.h"
#include "sched_data.h"
#include "search_day.h"
#include "status.h"

#define SCHED_CONF_CACHE 16

struct sched_env {
	struct col *c;
	bool fsrs;                  /* config "fsrs" */
	bool fsrs_short_term_steps; /* config "fsrsShortTermWithStepsEnabled" */
	uint32_t collapse_secs;     /* config "collapseTime", default 1200 */
	bool have_timing;
	struct sched_timing timing;
	struct {
		int64_t id;
		struct deckconf dc;
	} confs[SCHED_CONF_CACHE];
	size_t nconfs;
	sqlite3_stmt *stmts[8]; /* prepared on first use, see sched_env_stmt */
};

/* A statement prepared once per env for slot (0..7) with sql; reset and
 * unbound.  ST_DB. */
enum status sched_env_stmt(struct sched_env *env, int slot, const char *sql, sqlite3_stmt **out,
                           struct errinfo *e);

/* Read the collection flags.  ST_DB. */
enum status sched_env_init(struct sched_env *env, struct col *c, struct errinfo *e);
void sched_env_free(struct sched_env *env);

/* The day at now_secs (cached until the next rollover). */
enum status sched_env_today(struct sched_env *env, int64_t now_secs,
                            const struct sched_timing **out, struct errinfo *e);

/* The preset with that id, with Anki's read-time range fixes, or the
 * default preset when it does not exist.  Owned by env. */
enum status sched_env_conf(struct sched_env *env, int64_t id, const struct deckconf_config **out,
                           struct errinfo *e);

/* What the scheduler needs of a card's home deck (its own deck, or the
 * original deck of a card in a filtered deck). */
struct sched_home {
	int64_t id, config_id;
	bool has_dr; /* deck-specific FSRS desired retention */
	float dr;
};

/* Deck and home deck of a card; the home deck must be a normal deck
 * (ST_CORRUPT otherwise, or when a deck is missing).  *deck is owned by
 * the caller (deck_free). */
enum status sched_card_decks(struct col *c, const struct card *cd, struct deck *deck,
                             struct sched_home *home, struct errinfo *e);

/* Store cd with data serialised into cd->data (mod = now, usn). */
enum status sched_card_write(struct col *c, struct card *cd, const struct sched_data *data,
                             struct errinfo *e);

/* A config value as a boolean (missing or not a bool = dflt). */
bool sched_config_bool(struct col *c, const char *key, bool dflt, enum status *st,
                       struct errinfo *e);

/* Preset's "ignore reviews before" date ("YYYY-MM-DD", UTC midnight) in
 * ms; 0 when empty.  ST_INVALID for a malformed date (Anki refuses too). */
enum status sched_ignore_before_ms(const struct deckconf_config *cfg, int64_t *out,
                                   struct errinfo *e);

/* The FSRS parameters Anki uses for a preset: fsrs_params_6, else 5, else
 * 4 (first non-empty). */
void sched_conf_fsrs_params(const struct deckconf_config *cfg, const float **p, size_t *n);

#endif
