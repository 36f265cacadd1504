/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fuzz_col_upload.c - libFuzzer target for a full upload
 * (sync-protocol.md §4.1): the client sends a whole collection file,
 * anki-sync-server checks it (syncproto_col_check), upgrades an older
 * schema, and stores it; from then on every sync of that user reads it.
 *
 * An input is the uploaded file's bytes (seeds: real collections with
 * 1 KiB pages, tests/fuzz/corpus_col_upload).  The target does what
 * handle_upload does, then what the next syncs do with a stored file:
 * meta's col info, a full download's usn bump, and a normal sync that
 * sends the client everything (start, applyChanges, every chunk, the
 * sanity counts), aborted at the end.  It aborts (a finding) when:
 *   - the check answers anything but accepted or ST_CORRUPT/ST_NOTFOUND
 *     (the client's "corrupt" reply): a client's bytes must not cause a
 *     500;
 *   - a stored file cannot be opened, its col info read (meta) or its
 *     usn bumped (full download): the ways out of a bad upload (another
 *     device downloading it, a forced upload replacing it) must work;
 *   - a normal sync on it breaks one of our invariants (ST_INTERNAL).
 *     It may fail otherwise: the official server checks uploads no
 *     further than SQLite's integrity check and an open, and we add only
 *     the tables and columns, so a row Anki cannot decode (a notetype's
 *     protobuf with bad UTF-8) or a schema whose text was edited (an id
 *     column that is no longer the rowid, read as NULL) is accepted and
 *     fails when a sync reads it, in the user's own account only.
 * ASan/UBSan catch the rest.
 *
 * Built and run by tests/check-fuzz.sh (briefly in make check; longer
 * with FUZZ_SECONDS=...).
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col.h"
#include "col_sync.h"
#include "fuzz_util.h"
#include "syncproto_col.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CHUNKS 10000

/* libFuzzer calls in from one thread; the state of the run is here. */
static struct {
	char root[4096];
	char path[4200];
} fz;

static void finding(const char *what, const struct errinfo *e)
{
	fuzz_finding("fuzz_col_upload", what, e);
}

static void cleanup(void)
{
	if (fz.root[0])
		fuzz_rmtree(fz.root);
}

static void write_upload(const uint8_t *data, size_t size)
{
	if (!fz.root[0]) {
		if (!fuzz_mkdtemp(fz.root, sizeof fz.root, "fuzz-upload"))
			finding("mkdtemp failed", NULL);
		snprintf(fz.path, sizeof fz.path, "%s/collection.anki2", fz.root);
		atexit(cleanup);
	}
	fuzz_remove_db(fz.path, 0);
	int fd = open(fz.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) != 0)
		finding("writing the upload", NULL);
}

/* A normal sync may stop at bad data; 0 when it did. */
static int sync_step(enum status st, const char *what, const struct errinfo *e)
{
	if (st == ST_INTERNAL)
		finding(what, e);
	return st == ST_OK;
}

/* What the server does with a stored collection. */
static void use_stored(void)
{
	struct errinfo e;
	sqlite3 *db = NULL;
	struct syncproto_col_info info;
	if (syncproto_col_open(fz.path, &db, &e) != ST_OK)
		finding("a stored upload does not open (meta)", &e);
	if (syncproto_col_info(db, &info, &e) != ST_OK)
		finding("a stored upload has no col info (meta)", &e);
	if (syncproto_col_bump_usn(db, col_now_ms(), &e) != ST_OK)
		finding("a stored upload's usn cannot be bumped (full download)", &e);
	sqlite3_close(db);

	struct col *c = NULL;
	if (col_open(fz.path, COL_SERVER | COL_SHARED, &c, &e) != ST_OK)
		finding("a stored upload does not open for a normal sync", &e);
	json_t *req = json_pack("{s:i,s:b,s:n}", "minUsn", 0, "lnewer", 0, "graves");
	json_t *resp = NULL;
	struct col_sync *s = NULL;
	if (!req)
		finding("out of memory", NULL);
	int ok = sync_step(col_sync_start(c, req, &s, &resp, &e), "start on a stored upload", &e);
	json_decref(req);
	json_decref(resp);
	req = json_pack("{s:{s:[],s:[[],[]],s:[]}}", "changes", "models", "decks", "tags");
	if (!req)
		finding("out of memory", NULL);
	resp = NULL;
	if (ok)
		ok = sync_step(col_sync_apply_changes(s, req, &resp, &e),
		               "applyChanges on a stored upload", &e);
	json_decref(req);
	json_decref(resp);
	int done = 0;
	for (int i = 0; i < MAX_CHUNKS && ok && !done; i++) {
		resp = NULL;
		ok = sync_step(col_sync_chunk(s, &resp, &e), "chunk on a stored upload", &e);
		done = ok && json_is_true(json_object_get(resp, "done"));
		json_decref(resp);
	}
	if (ok && !done)
		finding("chunks never end", NULL);
	json_t *counts = NULL;
	if (ok)
		sync_step(col_sync_counts(c, &counts, &e), "sanity counts of a stored upload", &e);
	json_decref(counts);
	col_sync_abort(s);
	col_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	write_upload(data, size);
	struct errinfo e;
	struct syncproto_col_info info;
	enum status st = syncproto_col_check(fz.path, NULL, &info, &e);
	if (st == ST_CORRUPT || st == ST_NOTFOUND)
		return 0; /* the client is told its collection is corrupt */
	if (st != ST_OK)
		finding("the upload check answered neither accepted nor corrupt", &e);
	if (info.ver != 18) {
		/* handle_upload refuses an upload that does not upgrade */
		struct col *c = NULL;
		st = col_open(fz.path, COL_SERVER, &c, &e);
		col_close(c);
		if (st)
			return 0;
	}
	if (syncproto_col_quiesce(fz.path, &e) != ST_OK)
		finding("an accepted upload cannot be quiesced", &e);
	use_stored();
	return 0;
}
