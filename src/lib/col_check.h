/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_check.h - a read-only health check of a collection: what is wrong,
 * never a repair.  Each problem is one line a user can act on.
 */
#ifndef ANKIHOST_COL_CHECK_H
#define ANKIHOST_COL_CHECK_H

#include <stddef.h>

#include "col.h"

#define COL_CHECK_MAX_PROBLEMS 1000 /* enough to act on; the count is exact */

struct col_check_report {
	size_t nproblems;  /* total found (may exceed what is listed) */
	size_t nlisted;
	char **problems;   /* nlisted malloc'd lines */
};

/* Run every check: SQLite integrity (with the unicase collation), notes
 * whose notetype is missing, cards without a note or a deck, notes whose
 * field count differs from their notetype, card values Anki cannot read,
 * stale checksums/sort fields, schema-18 rows that do not decode.  Only
 * SELECTs are run.  A non-OK status means the check could not run; problems
 * found are in the report. */
enum status col_check_run(struct col *c, struct col_check_report *r, struct errinfo *e);
void col_check_report_free(struct col_check_report *r);

#endif
