/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bench_col_insert - insert N notes with one card each into a new
 * collection through the library (fields cleaned, checksum and sort field
 * computed, ids allocated, positions from config), against inserting the
 * same final rows with plain prepared SQLite statements into a copy of the
 * same empty collection, in the same run.  Each side runs in its own child
 * process so its peak RSS is its own.  Prints the ratio.
 *
 *   bench_col_insert DIR [N]
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "col.h"
#include "col_notes.h"
#include "col_store.h"
#include "unicase.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void field_text(long i, char *front, size_t fl, char *back, size_t bl)
{
	static const char *jp[] = {"食べる", "飲む", "行く", "来る", "見る", "聞く", "話す", "読む"};
	snprintf(front, fl, "%s <b>word %ld</b>", jp[i % 8], i);
	snprintf(back, bl, "to %s (%ld) &nbsp; <i>example</i> [sound:w%ld.mp3]",
	         i % 2 ? "eat" : "drink", i, i);
}

static int run_library(const char *path, long n)
{
	struct errinfo e;
	struct col *c;
	if (col_open(path, 0, &c, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	json_t *cur = NULL;
	col_config_get(c, "curModel", &cur, &e);
	int64_t mid = json_integer_value(cur);
	json_decref(cur);
	if (col_begin(c, &e))
		return 1;
	char front[128], back[256], flds[400];
	for (long i = 0; i < n; i++) {
		field_text(i, front, sizeof front, back, sizeof back);
		snprintf(flds, sizeof flds, "%s\x1f%s", front, back);
		struct note note = {.mid = mid, .tags = strdup(" bench vocab "), .flds = strdup(flds)};
		int64_t pos;
		struct card cd;
		if (col_note_add(c, &note, &e) || col_next_position(c, &pos, &e)) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		card_init_new(&cd, note.id, 1, 0, pos);
		if (col_card_add(c, &cd, &e)) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		note_free(&note);
	}
	if (col_commit(c, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	col_close(c);
	return 0;
}

/* The rows the library wrote, loaded into plain C arrays before timing, so
 * the baseline inserts exactly the same data (same ids, checksums, guids,
 * hence the same index work) with plain prepared statements and the same
 * pragmas. */
struct row {
	int ncols;
	sqlite3_int64 iv[18];
	char *tv[18]; /* non-NULL for text columns */
};
static struct row *note_rows, *card_rows;
static long nnotes, ncards;

static long load_rows(const char *path, const char *table, struct row **out)
{
	sqlite3 *db;
	char uri[4200], sql[64];
	snprintf(uri, sizeof uri, "file:%s?immutable=1", path);
	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK)
		return -1;
	snprintf(sql, sizeof sql, "select * from %s order by id", table);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	long n = 0, cap = 1024;
	struct row *r = malloc((size_t)cap * sizeof *r);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap)
			r = realloc(r, (size_t)(cap *= 2) * sizeof *r);
		r[n].ncols = sqlite3_column_count(st);
		for (int i = 0; i < r[n].ncols; i++) {
			r[n].tv[i] = NULL;
			if (sqlite3_column_type(st, i) == SQLITE_TEXT)
				r[n].tv[i] = strdup((const char *)sqlite3_column_text(st, i));
			else
				r[n].iv[i] = sqlite3_column_int64(st, i);
		}
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	*out = r;
	return n;
}

static int insert_rows(sqlite3_stmt *st, const struct row *r, long n)
{
	for (long k = 0; k < n; k++) {
		for (int i = 0; i < r[k].ncols; i++) {
			if (r[k].tv[i])
				sqlite3_bind_text(st, i + 1, r[k].tv[i], -1, SQLITE_STATIC);
			else
				sqlite3_bind_int64(st, i + 1, r[k].iv[i]);
		}
		if (sqlite3_step(st) != SQLITE_DONE)
			return 1;
		sqlite3_reset(st);
	}
	return 0;
}

static int run_plain(const char *path, long n)
{
	(void)n;
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return 1;
	unicase_register(db);
	sqlite3_exec(db, "pragma locking_mode = exclusive; pragma cache_size = -40960; "
	                 "pragma journal_mode = wal; begin",
	             0, 0, 0);
	sqlite3_stmt *ns, *cs;
	sqlite3_prepare_v2(db, "insert into notes values (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)", -1,
	                   &ns, NULL);
	sqlite3_prepare_v2(db,
	                   "insert into cards values (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,"
	                   "?15,?16,?17,?18)",
	                   -1, &cs, NULL);
	if (insert_rows(ns, note_rows, nnotes) || insert_rows(cs, card_rows, ncards))
		return 1;
	sqlite3_finalize(ns);
	sqlite3_finalize(cs);
	int r = sqlite3_exec(db, "commit", 0, 0, 0);
	sqlite3_close(db);
	return r != SQLITE_OK;
}

/* Run fn in a child; returns seconds, *rss_kb = the child's peak RSS. */
static double timed_child(int (*fn)(const char *, long), const char *path, long n, long *rss_kb)
{
	double t0 = now_s();
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(path, n));
	int status;
	struct rusage ru;
	wait4(pid, &status, 0, &ru);
	double t = now_s() - t0;
	*rss_kb = ru.ru_maxrss;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench child failed\n");
		exit(1);
	}
	return t;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_col_insert DIR [N]\n");
		return 2;
	}
	long n = argc > 2 ? atol(argv[2]) : 100000;
	char lib[4096], plain[4096];
	snprintf(lib, sizeof lib, "%s/lib.anki2", argv[1]);
	snprintf(plain, sizeof plain, "%s/plain.anki2", argv[1]);
	struct errinfo e;
	unlink(lib);
	unlink(plain);
	if (col_create(lib, 0, &e) || col_create(plain, 0, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	long rss_lib, rss_plain;
	double tl = timed_child(run_library, lib, n, &rss_lib);
	/* the baseline's input: the library's rows, in memory first */
	nnotes = load_rows(lib, "notes", &note_rows);
	ncards = load_rows(lib, "cards", &card_rows);
	if (nnotes != n || ncards != n) {
		fprintf(stderr, "expected %ld notes and cards, found %ld and %ld\n", n, nnotes, ncards);
		return 1;
	}
	double tp = timed_child(run_plain, plain, n, &rss_plain);
	printf("col insert: %ld notes+cards  library %.2f s  plain SQLite %.2f s  ratio %.2fx "
	       "(target <= 1.5x)\n",
	       n, tl, tp, tl / tp);
	printf("col insert: peak RSS library %ld KiB, plain SQLite %ld KiB (its input rows in memory included)\n", rss_lib, rss_plain);
	return 0;
}
