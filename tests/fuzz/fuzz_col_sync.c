/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fuzz_col_sync.c - libFuzzer target for what a client sends into a
 * user's collection during a normal sync (sync-protocol.md §3.4-3.8): the
 * JSON of applyGraves, applyChanges and applyChunk, applied by col_sync to
 * a real server collection, as anki-sync-server applies them.
 *
 * An input is one byte then a JSON array of steps [k, body]: k 0 is
 * applyGraves, 1 applyChanges, 2 applyChunk (other elements are skipped).
 * The byte's high bit says whether the sync then finishes (commit) or is
 * aborted.  Each input is one sync conversation started with
 * {"minUsn":0,"lnewer":true,"graves":null} on a collection that lives on
 * across inputs (a fresh one every 512 runs), so accepted rows pile up as
 * from a sequence of clients; the steps run until one fails (the server
 * then drops the conversation).  It aborts (a finding) when:
 *   - a step answers ST_INTERNAL (an invariant of ours broke on input);
 *   - an aborted or failed conversation changed the collection (col row,
 *     row counts of notes, cards, revlog, graves);
 *   - after a finished one the collection fails the check a full upload
 *     must pass (syncproto_col_check: integrity, col row, tables).
 * ASan/UBSan catch the rest.
 *
 * Built and run by tests/check-fuzz.sh (briefly in make check; longer
 * with FUZZ_SECONDS=...).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "col.h"
#include "col_sync.h"
#include "fuzz_util.h"
#include "syncproto_col.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FRESH_EVERY 512

/* libFuzzer calls in from one thread; the state of the run is here. */
static struct {
	char root[4096];
	char path[4200];
	struct col *c;
	unsigned runs;
} fz;

static void finding(const char *what, const struct errinfo *e)
{
	fuzz_finding("fuzz_col_sync", what, e);
}

static void cleanup(void)
{
	if (fz.c)
		col_close(fz.c);
	fz.c = NULL;
	if (fz.root[0])
		fuzz_rmtree(fz.root);
}

static void fresh_collection(void)
{
	struct errinfo e;
	if (!fz.root[0]) {
		if (!fuzz_mkdtemp(fz.root, sizeof fz.root, "fuzz-col"))
			finding("mkdtemp failed", NULL);
		snprintf(fz.path, sizeof fz.path, "%s/collection.anki2", fz.root);
		atexit(cleanup);
	}
	if (fz.c)
		col_close(fz.c);
	fz.c = NULL;
	fuzz_remove_db(fz.path, 1);
	if (col_create(fz.path, COL_SERVER, &e) != ST_OK)
		finding("col_create", &e);
	if (col_open(fz.path, COL_SERVER, &fz.c, &e) != ST_OK)
		finding("col_open", &e);
}

/* What a conversation that did not finish must leave as it was. */
struct shape {
	int64_t n[8];
};

static struct shape shape_of(void)
{
	static const char sql[] =
	    "select (select usn from col), (select mod from col), (select ls from col),"
	    " (select scm from col), (select count() from notes), (select count() from cards),"
	    " (select count() from revlog), (select count() from graves)";
	struct shape s;
	memset(&s, 0, sizeof s);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(col_db(fz.c), sql, -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW)
		finding("cannot read the collection's shape", NULL);
	for (int i = 0; i < 8; i++)
		s.n[i] = sqlite3_column_int64(q, i);
	sqlite3_finalize(q);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!fz.c || ++fz.runs % FRESH_EVERY == 0)
		fresh_collection();
	json_error_t je;
	json_t *req = json_loadb((const char *)data + 1, size - 1, 0, &je);
	if (!req)
		return 0; /* the server answers 400 before col_sync sees it */
	struct shape before = shape_of();
	struct errinfo e;
	struct col_sync *s = NULL;
	json_t *resp = NULL;
	json_t *start = json_pack("{s:i,s:b,s:n}", "minUsn", 0, "lnewer", 1, "graves");
	if (!start || col_sync_start(fz.c, start, &s, &resp, &e) != ST_OK)
		finding("col_sync_start", &e);
	json_decref(start);
	json_decref(resp);
	resp = NULL;
	enum status st = ST_OK;
	size_t i;
	json_t *step;
	json_array_foreach(req, i, step)
	{
		const json_t *body = json_array_get(step, 1);
		if (!json_is_array(step) || json_array_size(step) != 2 || !body ||
		    !json_is_integer(json_array_get(step, 0)))
			continue;
		switch (json_integer_value(json_array_get(step, 0))) {
		case 0:
			st = col_sync_apply_graves(s, body, &e);
			break;
		case 1:
			st = col_sync_apply_changes(s, body, &resp, &e);
			json_decref(resp);
			resp = NULL;
			break;
		case 2:
			st = col_sync_apply_chunk(s, body, &e);
			break;
		default:
			continue;
		}
		if (st != ST_OK)
			break;
	}
	json_decref(req);
	if (st == ST_INTERNAL)
		finding("a step broke an invariant", &e);
	int finished = 0;
	if (st == ST_OK && (data[0] & 0x80)) {
		int64_t mod = 0;
		st = col_sync_finish(s, &mod, &e); /* frees s either way */
		if (st == ST_INTERNAL)
			finding("finish broke an invariant", &e);
		finished = st == ST_OK;
	} else {
		col_sync_abort(s);
	}
	if (finished) {
		/* the check opens the file itself: the server's connection holds
		 * its lock (as anki-sync-server's does between syncs) */
		col_close(fz.c);
		fz.c = NULL;
		if (syncproto_col_check(fz.path, NULL, NULL, &e) != ST_OK)
			finding("a finished sync left a collection a full upload would refuse", &e);
		if (col_open(fz.path, COL_SERVER, &fz.c, &e) != ST_OK)
			finding("col_open after a finished sync", &e);
	} else {
		struct shape after = shape_of();
		if (memcmp(&before, &after, sizeof before) != 0)
			finding("a conversation that did not finish changed the collection", NULL);
	}
	return 0;
}
