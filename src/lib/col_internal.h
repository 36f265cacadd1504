/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_internal.h - what the col_*.c files share and nobody else uses: the
 * collection handle's fields and the schema/creation steps.
 */
#ifndef ANKIHOST_COL_INTERNAL_H
#define ANKIHOST_COL_INTERNAL_H

#include <sqlite3.h>

#include "col.h"

#define COL_STMT_CACHE 64 /* more than our cached statements (30 call sites) */

struct col {
	sqlite3 *db;
	char *path;
	unsigned flags;
	int opened_ver; /* schema version found at open */
	int unlink_on_close; /* a private copy made by col_open_copy */
	int in_tx;
	/* prepared statements keyed by the address of their static SQL text */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[COL_STMT_CACHE];
	int ncache;
	/* config nextPos while a transaction runs: read once, written back at
	 * commit, forgotten on rollback (one JSON round trip per transaction
	 * instead of per note) */
	int64_t next_pos;
	int next_pos_dirty;
	/* notetype facts that every note write needs */
	int64_t nt_mid;
	size_t nt_nfields;
	uint32_t nt_sort_idx;
};

/* A cached prepared statement for a static SQL string (reset, bindings
 * cleared).  Do not finalize it; col_stmt_run steps and resets it. */
enum status col_stmt(struct col *c, const char *sql, sqlite3_stmt **out, struct errinfo *e);
enum status col_stmt_run(struct col *c, sqlite3_stmt *st, struct errinfo *e, const char *what);

/* Refuse what Anki refuses (§4.1). */
enum status col_check_version(int ver, const char *path, struct errinfo *e);

/* col_schema.c: schema 11 tables and the col row of a new collection;
 * minutes_west NULL = server mode (creationOffset null). */
enum status col_schema_create11(struct col *c, int64_t crt, int64_t now_ms, const int *minutes_west,
                                struct errinfo *e);
/* Upgrade from schema `from` (11, 14..17) to 18 inside the caller's
 * transaction (§4.2). */
enum status col_schema_upgrade(struct col *c, int from, struct errinfo *e);
/* Downgrade 18 -> 11 inside the caller's transaction (§4.3). */
enum status col_schema_downgrade(struct col *c, struct errinfo *e);

/* col_notes.c: clean fields, check the count against the notetype, compute
 * sfld and csum (§6.1); id, guid, mod and usn untouched. */
struct note;
enum status col_note_prepare(struct col *c, struct note *n, struct errinfo *e);

/* col_stock.c: default preset, default deck, the six stock notetypes and
 * curModel (§5.2-5.4). */
enum status col_stock_add_defaults(struct col *c, struct errinfo *e);

#endif
