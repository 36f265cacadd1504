/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bench_sched - answerCards for N cards in one call (issue 11): N new
 * cards and N review cards (FSRS off, then the same with FSRS on) answered
 * Good through sched_answer_cards, against the floor any implementation
 * pays: the same number of card updates and review-log inserts with plain
 * prepared SQLite statements in one transaction, same run.  Prints the
 * time per call and the ratio to the floor.
 *
 *   bench_sched DIR [N]
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "col.h"
#include "col_notes.h"
#include "col_store.h"
#include "sched_answer.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t basic_id(struct col *c)
{
	sqlite3_stmt *st;
	int64_t id = 0;
	if (sqlite3_prepare_v2(col_db(c), "select id from notetypes where name = 'Basic'", -1, &st,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

/* N new cards and N review cards due today */
static int make_col(const char *path, long n, int64_t **ids)
{
	struct errinfo e;
	if (col_create(path, 0, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	struct col *c;
	if (col_open(path, 0, &c, &e) || col_begin(c, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	int64_t mid = basic_id(c);
	*ids = malloc(sizeof **ids * (size_t)n * 2);
	for (long i = 0; i < 2 * n; i++) {
		struct note nt = {0};
		char flds[64];
		snprintf(flds, sizeof flds, "word %ld\x1fmeaning %ld", i, i);
		nt.mid = mid;
		nt.flds = strdup(flds);
		nt.tags = strdup("");
		struct card cd;
		if (col_note_add(c, &nt, &e))
			goto fail;
		card_init_new(&cd, nt.id, 1, 0, i + 1);
		cd.data = strdup("{}");
		if (i >= n) {
			cd.type = cd.queue = 2;
			cd.due = 0;
			cd.ivl = 1 + i % 30;
			cd.factor = 2500;
			cd.reps = 3;
		}
		if (col_card_add(c, &cd, &e))
			goto fail;
		(*ids)[i] = cd.id;
		card_free(&cd);
		note_free(&nt);
	}
	if (col_commit(c, &e))
		goto fail;
	col_close(c);
	return 0;
fail:
	fprintf(stderr, "%s\n", e.msg);
	return -1;
}

static double run_lib(const char *path, const int64_t *ids, long n, int fsrs)
{
	struct errinfo e;
	struct col *c;
	if (col_open(path, 0, &c, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	if (fsrs) {
		json_t *t = json_true();
		col_config_set(c, "fsrs", t, &e);
		json_decref(t);
	}
	struct sched_answer *a = calloc((size_t)n, sizeof *a);
	for (long i = 0; i < n; i++)
		a[i] = (struct sched_answer){ids[i], 3, 1500};
	double t0 = now_s();
	enum status st = sched_answer_cards(c, a, (size_t)n, NULL, NULL, NULL, &e);
	double t = now_s() - t0;
	if (st)
		fprintf(stderr, "answer: %s\n", e.msg);
	free(a);
	col_close(c);
	return st ? -1 : t;
}

/* the floor: read each card, write it back changed, add a log row */
static double run_plain(const char *path, const int64_t *ids, long n)
{
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	sqlite3_stmt *get, *upd, *ins;
	sqlite3_prepare_v2(db,
	                   "select type, queue, due, ivl, factor, reps, left, data from cards "
	                   "where id = ?1",
	                   -1, &get, NULL);
	sqlite3_prepare_v2(db,
	                   "update cards set type = ?2, queue = ?3, due = ?4, ivl = ?5, "
	                   "factor = ?6, reps = ?7, left = ?8, mod = ?9, usn = -1, data = ?10 "
	                   "where id = ?1",
	                   -1, &upd, NULL);
	sqlite3_prepare_v2(db,
	                   "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, "
	                   "type) values (?1, ?2, -1, 3, ?3, ?4, ?5, 1500, 1)",
	                   -1, &ins, NULL);
	double t0 = now_s();
	sqlite3_exec(db, "begin immediate", NULL, NULL, NULL);
	int64_t base = (int64_t)time(NULL) * 1000;
	for (long i = 0; i < n; i++) {
		sqlite3_bind_int64(get, 1, ids[i]);
		if (sqlite3_step(get) != SQLITE_ROW)
			return -1;
		int64_t ivl = sqlite3_column_int64(get, 3);
		sqlite3_reset(get);
		sqlite3_bind_int64(upd, 1, ids[i]);
		for (int k = 2; k <= 8; k++)
			sqlite3_bind_int64(upd, k, k);
		sqlite3_bind_int64(upd, 9, base / 1000);
		sqlite3_bind_text(upd, 10, "{\"lrt\":1}", -1, SQLITE_STATIC);
		sqlite3_step(upd);
		sqlite3_reset(upd);
		sqlite3_bind_int64(ins, 1, base + i);
		sqlite3_bind_int64(ins, 2, ids[i]);
		sqlite3_bind_int64(ins, 3, ivl * 2);
		sqlite3_bind_int64(ins, 4, ivl);
		sqlite3_bind_int64(ins, 5, 2500);
		sqlite3_step(ins);
		sqlite3_reset(ins);
	}
	sqlite3_exec(db, "commit", NULL, NULL, NULL);
	double t = now_s() - t0;
	sqlite3_finalize(get);
	sqlite3_finalize(upd);
	sqlite3_finalize(ins);
	sqlite3_close(db);
	return t;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_sched DIR [N]\n");
		return 2;
	}
	long n = argc > 2 ? atol(argv[2]) : 1000;
	static const char *names[] = {"new, SM-2", "review, SM-2", "new, FSRS", "review, FSRS"};
	int rc = 0;
	for (int k = 0; k < 4; k++) {
		char lib[4096], plain[4096];
		snprintf(lib, sizeof lib, "%s/lib%d.anki2", argv[1], k);
		snprintf(plain, sizeof plain, "%s/plain%d.anki2", argv[1], k);
		int64_t *ids;
		if (make_col(lib, n, &ids))
			return 1;
		free(ids);
		if (make_col(plain, n, &ids))
			return 1;
		const int64_t *set = ids + (k % 2 ? n : 0);
		double tp = run_plain(plain, set, n);
		double tl = run_lib(lib, set, n, k >= 2);
		free(ids);
		if (tl < 0 || tp <= 0) {
			rc = 1;
			continue;
		}
		printf(
		    "answerCards %ld cards (%s): %.1f ms (%.1f us/card); plain SQL floor %.1f ms; "
		    "ratio %.1f\n",
		    n, names[k], tl * 1e3, tl * 1e6 / (double)n, tp * 1e3, tl / tp);
	}
	return rc;
}
