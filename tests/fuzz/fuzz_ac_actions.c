/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fuzz_ac_actions.c - libFuzzer target for anki-connectd's actions: an
 * input is one AnkiConnect request ({"action": ..., "version": ...,
 * "params": ...}, or a multi of several), run by ac_handle on a real
 * collection and media folder, as the daemon runs it after the transport
 * (ankiconnect.md §1.5, §3).  Clients such as Yomitan send note text,
 * field names, tags, deck and model names from web pages.
 *
 * The collection lives on across inputs (a fresh one every 512 runs), so
 * each request meets what earlier ones created.  Requests that would
 * reach outside the run's directory are skipped: anything naming a
 * package (exportPackage, importPackage: file paths), a URL or path
 * (storeMediaFile, addNote's media), or "..".  Ids are made by the
 * clock, so no input could name an existing note or card by itself:
 * integers from ID_MARK up stand for them instead and are replaced before
 * the request runs (real_ids), which takes the fuzzer into every action
 * that works on existing notes, cards, decks, note types and presets
 * (libFuzzer learns the marks from the comparisons here).  After every
 * input it aborts (a finding) when:
 *   - ac_handle gives no reply;
 *   - the writer connection was left inside a transaction;
 *   - the collection fails col_check (notes without cards excepted: an
 *     empty first field leaves them, as in Anki);
 *   - a temporary is left in the media folder.
 * ASan/UBSan catch the rest.
 *
 * Built (with src/anki-connectd/ but its main.c) and run by
 * tests/check-fuzz.sh (briefly in make check; longer with
 * FUZZ_SECONDS=...).
 */
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/anki-connectd/ac.h"
#include "col_check.h"
#include "fuzz_util.h"
#include "media_name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FRESH_EVERY 512

/* ID_MARK * (k + 1) + i stands for the (i mod count)-th id of kind k. */
#define ID_MARK 1000000
static const char *const id_sql[] = {
    "select id from notes order by id limit 1 offset ?1 % (select max(count(), 1) from notes)",
    "select id from cards order by id limit 1 offset ?1 % (select max(count(), 1) from cards)",
    "select id from decks order by id limit 1 offset ?1 % (select max(count(), 1) from decks)",
    "select id from notetypes order by id limit 1 offset ?1 % "
    "(select max(count(), 1) from notetypes)",
    "select id from deck_config order by id limit 1 offset ?1 % "
    "(select max(count(), 1) from deck_config)",
};
#define ID_KINDS (sizeof id_sql / sizeof *id_sql)

/* libFuzzer calls in from one thread; the state of the run is here. */
static struct {
	char root[4096];
	char col[4200];
	struct ac_server srv;
	int open;
	unsigned runs;
} fz;

static void finding(const char *what, const struct errinfo *e)
{
	fuzz_finding("fuzz_ac_actions", what, e);
}

static void close_server(void)
{
	if (fz.open)
		ac_server_close(&fz.srv);
	ac_settings_free(&fz.srv.set);
	fz.open = 0;
}

static void cleanup(void)
{
	close_server();
	if (fz.root[0])
		fuzz_rmtree(fz.root);
}

static void fresh_server(void)
{
	struct errinfo e;
	if (!fz.root[0]) {
		if (!fuzz_mkdtemp(fz.root, sizeof fz.root, "fuzz-ac"))
			finding("mkdtemp failed", NULL);
		snprintf(fz.col, sizeof fz.col, "%s/User 1/collection.anki2", fz.root);
		atexit(cleanup);
	}
	close_server();
	char dir[4300];
	snprintf(dir, sizeof dir, "%s/User 1", fz.root);
	fuzz_rmtree(dir);
	memset(&fz.srv, 0, sizeof fz.srv);
	char *const env[] = {NULL};
	if (ac_settings_load(&fz.srv.set, NULL, env, &e) != ST_OK)
		finding("ac_settings_load", &e);
	if (ac_server_open(&fz.srv, fz.col, &e) != ST_OK)
		finding("ac_server_open", &e);
	fz.open = 1;
}

/* Requests that would touch files or the network outside the run. */
static int reaches_out(const json_t *req)
{
	char *text = json_dumps(req, JSON_ENCODE_ANY);
	if (!text)
		return 1;
	static const char *const words[] = {"export", "import", "url", "path", ".."};
	int out = 0;
	for (size_t i = 0; i < sizeof words / sizeof *words && !out; i++)
		out = strcasestr(text, words[i]) != NULL;
	free(text);
	return out;
}

static void check_media(void)
{
	DIR *d = opendir(fz.srv.media_dir);
	if (!d)
		finding("the media folder is gone", NULL);
	struct dirent *de;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, MEDIA_TMP_PREFIX, strlen(MEDIA_TMP_PREFIX)))
			finding("a temporary was left in the media folder", NULL);
	closedir(d);
}

static void check_collection(void)
{
	struct errinfo e;
	struct col *w = ac_pool_writer(&fz.srv);
	if (!sqlite3_get_autocommit(col_db(w)))
		finding("the writer was left inside a transaction", NULL);
	struct col_check_report rep;
	if (col_check_run(w, &rep, &e) != ST_OK)
		finding("col_check could not run", &e);
	ac_pool_writer_put(&fz.srv);
	if (rep.nlisted < rep.nproblems)
		finding("the collection has many problems", NULL);
	for (size_t i = 0; i < rep.nlisted; i++) {
		if (strstr(rep.problems[i], ": has no cards"))
			continue;
		fprintf(stderr, "fuzz_ac_actions: %s\n", rep.problems[i]);
		finding("a request left the collection with a problem", NULL);
	}
	col_check_report_free(&rep);
}

/* The id a mark stands for, or the mark itself when there is none of
 * its kind. */
static json_int_t real_id(struct col *c, size_t kind, json_int_t i)
{
	sqlite3_stmt *st;
	json_int_t id = (json_int_t)ID_MARK * (json_int_t)(kind + 1) + i;
	if (sqlite3_prepare_v2(col_db(c), id_sql[kind], -1, &st, NULL) != SQLITE_OK)
		finding("preparing an id lookup", NULL);
	sqlite3_bind_int64(st, 1, i);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

static void real_ids(struct col *c, json_t *v);

/* x, a member of an array or object: a mark is replaced, anything else
 * searched for marks. */
static void real_id_in(struct col *c, json_t *x)
{
	json_int_t n = json_is_integer(x) ? json_integer_value(x) : 0;
	if (n >= ID_MARK && n < ID_MARK * (json_int_t)(ID_KINDS + 1))
		json_integer_set(x, real_id(c, (size_t)(n / ID_MARK) - 1, n % ID_MARK));
	else
		real_ids(c, x);
}

/* Replace every mark in v (recursively) by the id it stands for. */
static void real_ids(struct col *c, json_t *v)
{
	size_t i;
	const char *k;
	json_t *x;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) real_id_in(c, x);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, x) real_id_in(c, x);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *req = json_loadb((const char *)data, size, 0, NULL);
	if (!req)
		return 0; /* the transport answers these itself */
	if (reaches_out(req)) {
		json_decref(req);
		return 0;
	}
	if (!fz.open || ++fz.runs % FRESH_EVERY == 0)
		fresh_server();
	struct col *w = ac_pool_writer(&fz.srv);
	real_ids(w, req);
	ac_pool_writer_put(&fz.srv);
	json_t *reply = ac_handle(&fz.srv, req, true, NULL, true, 0);
	json_decref(req);
	if (!reply)
		finding("no reply", NULL);
	json_decref(reply);
	check_collection();
	check_media();
	return 0;
}
