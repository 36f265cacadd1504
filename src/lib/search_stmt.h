/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search_stmt.h - prepared statements kept on an SQLite connection from
 * one call to the next, so a busy caller (anki-connectd answering
 * Yomitan's findNotes and canAddNotes many times a second) does not pay
 * SQLite's parser and planner for the same SQL again and again.
 *
 * The cache is the connection's own list of prepared statements
 * (sqlite3_next_stmt): a kept statement carries a marker comment at the
 * start of its SQL text, and a later request for the same text gets it
 * back (reset, bindings cleared) instead of a new one.  Nothing is
 * stored elsewhere, so a connection needs no extra handle.  What a kept
 * statement returns is always read afresh: only the compiled SQL is
 * reused, never a result, so there is nothing to invalidate (SQLite
 * recompiles a kept statement itself when the schema changes).
 *
 * Two kinds:
 *   SEARCH_STMT_FIXED  SQL from a fixed set of strings in the program:
 *                      kept for the life of the connection;
 *   SEARCH_STMT_QUERY  generated SQL (a compiled search): at most
 *                      SEARCH_STMT_MAX_QUERIES are kept per connection,
 *                      the oldest prepared one is finalized first.
 * SEARCH_STMT_ONCE prepares an ordinary statement (finalized by done).
 *
 * anki-connectd keeps its own fixed lookups this way too (util.c), since
 * its pool releases every kept statement before closing a connection.
 *
 * Ownership: kept statements belong to the connection; the caller must
 * call search_stmt_release before closing it (sqlite3_close refuses a
 * connection with statements left).  A connection is used by one thread
 * at a time, as everywhere in ankihost.
 */
#ifndef ANKIHOST_SEARCH_STMT_H
#define ANKIHOST_SEARCH_STMT_H

#include <sqlite3.h>

#include "status.h"

enum search_stmt_kind { SEARCH_STMT_ONCE, SEARCH_STMT_FIXED, SEARCH_STMT_QUERY };

#define SEARCH_STMT_MAX_QUERIES 32

/* A statement for sql (without the marker; the marker is added here).
 * A kept one that is not in use is handed back reset, with its bindings
 * cleared.  ST_DB (SQLite's message in e) or ST_NOMEM; rc (may be NULL)
 * gets SQLite's result code of a failed prepare. */
enum status search_stmt_get(sqlite3 *db, enum search_stmt_kind kind, const char *sql,
                            sqlite3_stmt **out, int *rc, struct errinfo *e);

/* Done with st (may be NULL): a kept one is reset and stays on its
 * connection, any other is finalized. */
void search_stmt_done(sqlite3_stmt *st);

/* Finalize every kept statement of db that is not running.  Returns how
 * many stay (running ones), 0 normally. */
int search_stmt_release(sqlite3 *db);

/* How many kept statements db holds (tests, diagnostics). */
int search_stmt_count(sqlite3 *db);

#endif
