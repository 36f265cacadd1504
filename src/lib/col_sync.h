/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_sync.h - the server side of Anki's normal (incremental) collection
 * sync, on a collection opened with COL_SERVER.  sync-protocol.md §0.3 (usn
 * rules), §3.3-3.12 (start ... finish), Appendix A (row and object forms).
 *
 * One struct col_sync is one sync conversation.  It holds the collection's
 * transaction open from start to finish, so everything a sync changes is
 * committed by finish or rolled back by abort (or a failed step):
 *
 *   start ──> applyGraves* ──> applyChanges ──> chunk* ──> applyChunk*
 *         ──> sanityCheck2 ──> finish            (abort at any point)
 *
 * Requests and responses are the protocol's JSON (jansson) before zstd.
 * A step that fails returns non-OK with the message the client should see;
 * the caller then discards the state (col_sync_abort), as the official
 * server does.  The caller serialises steps of one user (one conversation
 * per collection at a time).
 */
#ifndef ANKIHOST_COL_SYNC_H
#define ANKIHOST_COL_SYNC_H

#include <jansson.h>
#include <stdint.h>

#include "col.h"

#define COL_SYNC_CHUNK_SIZE 250 /* rows per chunk, as Anki (§3.6) */

struct col_sync;

/* start: begin the transaction, remember col.usn (stamped on everything
 * this sync changes) and the client's minUsn/lnewer, apply inline legacy
 * graves (may be NULL or JSON null), and answer the server's graves with
 * usn >= minUsn.  *resp is a new object the caller owns. */
enum status col_sync_start(struct col *c, const json_t *req, struct col_sync **out, json_t **resp,
                           struct errinfo *e);

enum status col_sync_apply_graves(struct col_sync *s, const json_t *req, struct errinfo *e);
enum status col_sync_apply_changes(struct col_sync *s, const json_t *req, json_t **resp,
                                   struct errinfo *e);
enum status col_sync_chunk(struct col_sync *s, json_t **resp, struct errinfo *e);
enum status col_sync_apply_chunk(struct col_sync *s, const json_t *req, struct errinfo *e);
/* *ok tells ok/bad; on bad the transaction is rolled back here (the state
 * stays until abort, as the official server keeps it). */
enum status col_sync_sanity(struct col_sync *s, const json_t *req, json_t **resp, int *ok,
                            struct errinfo *e);
/* finish: ls = now, usn + 1, commit, then mod = now.  *mod_ms = now.  The
 * state is freed in every case. */
enum status col_sync_finish(struct col_sync *s, int64_t *mod_ms, struct errinfo *e);
/* Roll back and free.  NULL-safe. */
void col_sync_abort(struct col_sync *s);

/* The collection a sync works on. */
struct col *col_sync_col(const struct col_sync *s);

/* Whole sanity counts of a collection (8-element array), or a NULL result
 * when a usn -1 row exists (§3.8). */
enum status col_sync_counts(struct col *c, json_t **out, struct errinfo *e);

#endif
