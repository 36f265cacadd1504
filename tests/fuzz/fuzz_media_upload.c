/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fuzz_media_upload.c - libFuzzer target for the media sync's most
 * hostile input: the decoded body of an uploadChanges request, a zip of
 * files and a _meta member (sync-protocol.md §5.4), applied to one user's
 * media folder and media.db as the server applies it
 * (media_srv_upload_mem, not durable).
 *
 * The folder and DB live on across inputs (a fresh user every 256 runs),
 * so each input is applied on top of what earlier ones left: a sequence
 * of uploads, as a client makes them.  After every input it aborts (a
 * finding) when:
 *   - the answer is neither applied (ST_OK) nor refused as bad input
 *     (ST_INVALID, 400): a client's bytes must never cause a 500;
 *   - an applied upload's reply is not {"data":[processed,usn],"err":""}
 *     with the usn the result reports, or the usn went down;
 *   - a refused upload changed the media usn;
 *   - the folder and the DB disagree in any way anki-sync-admin check
 *     looks for (rows without files, files without rows, sizes, SHA-1s,
 *     temporaries left, totals);
 *   - anything exists beside the user directory, or in it beside media/,
 *     the DB and its WAL files and the journal (a name escaped).
 * ASan/UBSan catch the rest.
 *
 * Built and run by tests/check-fuzz.sh (briefly in make check; longer
 * with FUZZ_SECONDS=...).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz_util.h"
#include "media_db.h"
#include "media_srv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FRESH_EVERY 256

/* libFuzzer calls in from one thread; the state of the run is here. */
static struct {
	char root[4096];
	char user[4200];
	struct media_srv *m;
	unsigned runs;
} fz;

static void finding(const char *what, const struct errinfo *e)
{
	fuzz_finding("fuzz_media_upload", what, e);
}

static void cleanup(void)
{
	if (fz.m)
		media_srv_close(fz.m);
	fz.m = NULL;
	if (fz.root[0])
		fuzz_rmtree(fz.root);
}

static void fresh_user(void)
{
	struct errinfo e;
	if (!fz.root[0]) {
		if (!fuzz_mkdtemp(fz.root, sizeof fz.root, "fuzz-media"))
			finding("mkdtemp failed", NULL);
		snprintf(fz.user, sizeof fz.user, "%s/user", fz.root);
		atexit(cleanup);
	}
	if (fz.m)
		media_srv_close(fz.m);
	fz.m = NULL;
	fuzz_rmtree(fz.user);
	if (mkdir(fz.user, 0700) != 0)
		finding("cannot make the user directory", NULL);
	struct media_opts o = {.durable = 0};
	if (media_srv_open(fz.user, &o, &fz.m, &e) != ST_OK)
		finding("media_srv_open", &e);
}

/* Only the names the media code may create, here and one level up. */
static void check_tree(void)
{
	static const char *const ok[] = {
	    MEDIA_DIR,          MEDIA_DB_FILE, MEDIA_DB_FILE "-wal", MEDIA_DB_FILE "-shm",
	    MEDIA_JOURNAL_FILE, NULL};
	DIR *d = opendir(fz.user);
	if (!d)
		finding("user directory gone", NULL);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int known = 0;
		for (int i = 0; ok[i] && !known; i++)
			known = !strcmp(de->d_name, ok[i]);
		if (!known) {
			fprintf(stderr, "unexpected %s/%s\n", fz.user, de->d_name);
			finding("a file outside the media folder", NULL);
		}
	}
	closedir(d);
	if (!(d = opendir(fz.root)))
		finding("root directory gone", NULL);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "user"))
			finding("a file beside the user directory", NULL);
	closedir(d);
}

static void check_reply(const struct buf *out, const struct media_upload_result *r)
{
	json_error_t je;
	json_t *root = json_loadb((const char *)out->data, out->len, 0, &je);
	json_int_t processed = -1, usn = -1;
	const char *err = NULL;
	if (!root ||
	    json_unpack(root, "{s:[II],s:s}", "data", &processed, &usn, "err", &err) != 0 ||
	    strcmp(err, "") != 0 || processed != (json_int_t)r->processed ||
	    usn != (json_int_t)r->current_usn)
		finding("reply is not {\"data\":[processed,usn],\"err\":\"\"}", NULL);
	json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fz.m || ++fz.runs % FRESH_EVERY == 0)
		fresh_user();
	struct errinfo e;
	int32_t before = 0, after = 0;
	if (media_srv_usn(fz.m, &before, &e) != ST_OK)
		finding("usn before", &e);
	struct media_upload_result r;
	struct buf out;
	buf_init(&out, 0);
	enum status st = media_srv_upload_mem(fz.m, data, size, &r, &out, &e);
	if (st != ST_OK && st != ST_INVALID)
		finding("upload neither applied nor refused as bad input", &e);
	if (media_srv_usn(fz.m, &after, &e) != ST_OK)
		finding("usn after", &e);
	if (st == ST_OK) {
		check_reply(&out, &r);
		if (after != r.current_usn || after < before)
			finding("usn after an applied upload", NULL);
	} else if (after != before) {
		finding("a refused upload changed the usn", NULL);
	}
	buf_free(&out);
	struct media_check c;
	if (media_srv_check(fz.m, MEDIA_CHECK_HASH, &c, NULL, NULL, &e) != ST_OK)
		finding("check", &e);
	if (c.total_issues) {
		for (int k = 0; k < MI_COUNT; k++)
			if (c.issues[k])
				fprintf(stderr, "issue %s: %llu\n", media_srv_issue_name(k),
				        (unsigned long long)c.issues[k]);
		finding("folder and DB disagree", NULL);
	}
	check_tree();
	return 0;
}
