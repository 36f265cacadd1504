/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search_fsrs.h - the SQL function prop:r needs and sqlfn.c does not
 * register: extract_fsrs_retrievability(data, due, ivl, today,
 * next_day_at, now) (search-syntax.md §6; Anki's storage/sqlite.rs and
 * the FSRS power forgetting curve).
 */
#ifndef ANKIHOST_SEARCH_FSRS_H
#define ANKIHOST_SEARCH_FSRS_H

#include <sqlite3.h>

#include "status.h"

/* Register extract_fsrs_retrievability on db unless it already exists.
 * ST_DB when SQLite refuses. */
enum status search_fsrs_ensure(sqlite3 *db, struct errinfo *e);

/* The FSRS curve: (t / s * factor + 1) ^ -decay with
 * factor = 0.9 ^ (1 / -decay) - 1, in single precision. */
float search_fsrs_retrievability(float stability, float days_elapsed, float decay);

#endif
