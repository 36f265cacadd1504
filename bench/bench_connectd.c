/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bench_connectd.c - helpers for bench/bench-connectd.sh (issue 10):
 *
 *   bench_connectd gen DIR NOTES   a collection DIR/collection.anki2 with
 *       NOTES notes of "Basic (and reversed card)" (2 cards each),
 *       Japanese words with English glosses, 2,000 tags, 300 decks, a
 *       third of the cards in review (some due today), through the
 *       collection library (col_notegen_add), so the file is what
 *       anki-connectd itself would write.
 *   bench_connectd sql COL WORD DECK TAG
 *       times the SQL the search language compiles for the benchmark's
 *       queries against hand-written SQL for the same question, on one
 *       connection, same run, and prints the ratios; then a whole
 *       first-field findNotes (parse, compile, prepare, run) with fresh
 *       statements (search_run) and with kept ones (search_run_kept, as
 *       anki-connectd runs it), CPU time per search.
 *   bench_connectd words COL N     N first fields of existing notes (one a line).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "col.h"
#include "col_decks.h"
#include "col_notegen.h"
#include "col_notes.h"
#include "search.h"
#include "search_day.h"
#include "search_stmt.h"
#include "text.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A deterministic pseudo-random sequence (xorshift). */
static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *const kana[] = {"あ", "い", "う", "え", "お", "か", "き", "く", "け", "こ",
                                   "さ", "し", "す", "せ", "そ", "た", "ち", "つ", "て", "と",
                                   "な", "に", "ぬ", "ね", "の", "ま", "み", "む", "め", "も"};
static const char *const kanji[] = {"食", "飲", "見", "行", "来", "学", "生",   "先", "日", "本",
                                    "語", "話", "読", "書", "聞", "言", "time", "水", "火", "山"};
static const char *const gloss[] = {"to eat",   "to drink", "to see",  "to go",    "to come",
                                    "study",    "life",     "ahead",   "day",      "book",
                                    "language", "story",    "to read", "to write", "to hear"};

/* A unique word for note i: kanji + kana spelling of i in base 30. */
static void word(uint64_t i, char *out, size_t cap)
{
	size_t k = (size_t)snprintf(out, cap, "%s", kanji[i % 20]);
	uint64_t x = i;
	do {
		k += (size_t)snprintf(out + k, cap - k, "%s", kana[x % 30]);
		x /= 30;
	} while (x && k < cap - 8);
	snprintf(out + k, cap - k, "%s", "る");
}

static int gen(const char *dir, long notes)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/collection.anki2", dir);
	struct col *c;
	struct errinfo e;
	if (col_open(path, COL_CREATE | COL_SHARED, &c, &e)) {
		fprintf(stderr, "open: %s\n", e.msg);
		return 1;
	}
	int64_t decks[300];
	if (col_begin(c, &e))
		goto fail;
	for (int i = 0; i < 300; i++) {
		char name[96];
		snprintf(name, sizeof name, "%s::Topic %d", i % 2 ? "English" : "Japanese", i);
		if (col_decks_get_or_create(c, name, &decks[i], NULL, &e))
			goto fail;
	}
	int64_t mid = 0;
	sqlite3_stmt *q;
	sqlite3_prepare_v2(col_db(c),
	                   "select id from notetypes where name = 'Basic (and reversed card)'", -1,
	                   &q, NULL);
	if (sqlite3_step(q) == SQLITE_ROW)
		mid = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	struct col_ntinfo nt;
	if (col_ntinfo_load(c, mid, &nt, &e))
		goto fail;
	double t0 = now_ms();
	for (long i = 0; i < notes; i++) {
		char w[128], back[256], tags[96];
		word((uint64_t)i, w, sizeof w);
		snprintf(back, sizeof back, "<div>%s</div><div>example %ld: %s %s</div>",
		         gloss[next() % 15], i, w, "を使った例文です。");
		snprintf(tags, sizeof tags, "tag%04u jlpt::n%u %s", (unsigned)(next() % 1990),
		         (unsigned)(next() % 5 + 1), i % 7 ? "" : "verb");
		struct note n;
		memset(&n, 0, sizeof n);
		size_t wl = strlen(w), bl = strlen(back);
		n.flds = malloc(wl + bl + 2);
		memcpy(n.flds, w, wl);
		n.flds[wl] = '\x1f';
		memcpy(n.flds + wl + 1, back, bl + 1);
		n.tags = strdup(tags);
		if (col_notegen_add(c, &nt, &n, decks[i % 300], &e)) {
			note_free(&n);
			goto fail;
		}
		note_free(&n);
		if (i % 20000 == 19999) {
			if (col_commit(c, &e) || col_begin(c, &e))
				goto fail;
		}
	}
	col_ntinfo_free(&nt);
	struct sched_timing t;
	if (col_sched_today(c, &t, &e))
		goto fail;
	char sql[512];
	snprintf(
	    sql, sizeof sql,
	    "update cards set type = 2, queue = 2, ivl = 1 + id %% 30, factor = 2500, reps = 3,"
	    " due = %lld - 10 + abs(id %% 20) where id %% 3 = 0",
	    (long long)t.days_elapsed);
	if (col_exec(c, sql, &e) || col_commit(c, &e))
		goto fail;
	fprintf(stderr, "generated %ld notes in %.1f s\n", notes, (now_ms() - t0) / 1e3);
	col_close(c);
	return 0;
fail:
	fprintf(stderr, "gen: %s\n", e.msg);
	col_close(c);
	return 1;
}

/* Median wall time (ms) of running a prepared statement to the end. */
static double time_stmt(sqlite3_stmt *st, int reps, long *rows)
{
	double *v = calloc((size_t)reps, sizeof *v);
	for (int r = 0; r < reps; r++) {
		double t0 = now_ms();
		long n = 0;
		while (sqlite3_step(st) == SQLITE_ROW)
			n++;
		sqlite3_reset(st);
		v[r] = now_ms() - t0;
		*rows = n;
	}
	for (int i = 1; i < reps; i++) /* insertion sort: reps is small */
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			double x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	double m = v[reps / 2];
	free(v);
	return m;
}

static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU microseconds per whole search of q, fresh or kept statements, in
 * one read transaction (as a request runs). */
static int whole_search(struct col *c, const char *q, int keep, int reps, double *us)
{
	struct errinfo e;
	sqlite3_exec(col_db(c), "begin", NULL, NULL, NULL);
	double t0 = cpu_us();
	for (int i = 0; i < reps; i++) {
		int64_t *ids;
		size_t n;
		enum status st = keep ? search_run_kept(c, q, SEARCH_NOTES, NULL, &ids, &n, &e)
		                      : search_run(c, q, SEARCH_NOTES, NULL, &ids, &n, &e);
		if (st) {
			fprintf(stderr, "%s: %s\n", q, e.msg);
			sqlite3_exec(col_db(c), "rollback", NULL, NULL, NULL);
			return 1;
		}
		free(ids);
	}
	*us = (cpu_us() - t0) / reps;
	sqlite3_exec(col_db(c), "commit", NULL, NULL, NULL);
	return 0;
}

static int compare(struct col *c, const char *label, const char *query, enum search_target tg,
                   const char *hand, const char *const *args, int nargs, int reps)
{
	struct search_sql s;
	struct errinfo e;
	if (search_compile(c, query, tg, &s, &e)) {
		fprintf(stderr, "%s: %s\n", query, e.msg);
		return 1;
	}
	sqlite3_stmt *a, *b;
	if (sqlite3_prepare_v2(col_db(c), s.sql, -1, &a, NULL) || search_sql_bind(&s, a, &e) ||
	    sqlite3_prepare_v2(col_db(c), hand, -1, &b, NULL)) {
		fprintf(stderr, "%s: %s\n", label, sqlite3_errmsg(col_db(c)));
		return 1;
	}
	for (int i = 0; i < nargs; i++)
		sqlite3_bind_text(b, i + 1, args[i], -1, SQLITE_TRANSIENT);
	long ra = 0, rb = 0;
	double ta = time_stmt(a, reps, &ra), tb = time_stmt(b, reps, &rb);
	printf("%-34s search SQL %8.3f ms (%ld rows)  hand SQL %8.3f ms (%ld rows)  ratio %.2f\n",
	       label, ta, ra, tb, rb, tb > 0 ? ta / tb : 0.0);
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	search_sql_free(&s);
	return 0;
}

static int sql(const char *path, const char *w, const char *deck, const char *tag)
{
	struct col *c;
	struct errinfo e;
	if (col_open(path, COL_READONLY, &c, &e)) {
		fprintf(stderr, "open: %s\n", e.msg);
		return 1;
	}
	struct sched_timing t;
	if (col_sched_today(c, &t, &e))
		return 1;
	char q1[512], q2[512], today[32], nextday[32], pat[64], csum[32];
	snprintf(q1, sizeof q1, "\"Front:%s\"", w);
	snprintf(q2, sizeof q2, "\"deck:%s\" tag:%s is:due", deck, tag);
	snprintf(today, sizeof today, "%lld", (long long)t.days_elapsed);
	snprintf(nextday, sizeof nextday, "%lld", (long long)t.next_day_at);
	uint32_t cs = 0;
	text_checksum(w, strlen(w), &cs, NULL);
	snprintf(csum, sizeof csum, "%u", cs);
	const char *a1[] = {csum, w};
	int rc = compare(c, "findNotes first field", q1, SEARCH_NOTES,
	                 "select id from notes where csum = ?1 and field_at_index(flds, 0) = ?2",
	                 a1, 2, 201);
	char like[128], native[256];
	snprintf(like, sizeof like, "%% %s %%", tag);
	snprintf(native, sizeof native, "%s", deck);
	for (char *p = native; (p = strstr(p, "::")) != NULL;) {
		*p = '\x1f';
		memmove(p + 1, p + 2, strlen(p + 2) + 1);
	}
	const char *a2[] = {native, like, today, nextday};
	rc |=
	    compare(c, "findCards deck tag is:due", q2, SEARCH_CARDS,
	            "select c.id from cards c join notes n on c.nid = n.id where c.did in "
	            "(select id from decks where name = ?1 or name like ?1 || char(31) || '%') and "
	            "n.tags like ?2 escape '\\' and ((c.queue in (2, 3) and c.due <= ?3) or "
	            "(c.queue in (1, 4) and c.due <= ?4))",
	            a2, 4, 51);
	snprintf(pat, sizeof pat, "(?i)%s.*る", "食");
	const char *a3[] = {pat};
	rc |= compare(c, "findNotes regex", "\"re:食.*る\"", SEARCH_NOTES,
	              "select id from notes where regexp(?1, flds)", a3, 1, 11);
	double fresh = 0, kept = 0;
	rc |= whole_search(c, q1, 0, 2000, &fresh);
	rc |= whole_search(c, q1, 1, 2000, &kept);
	printf("whole findNotes first field (parse+compile+prepare+run), CPU per search: "
	       "fresh statements %.1f us, kept statements %.1f us\n",
	       fresh, kept);
	search_stmt_release(col_db(c));
	col_close(c);
	return rc;
}

static int words(const char *path, long n)
{
	struct col *c;
	struct errinfo e;
	if (col_open(path, COL_READONLY, &c, &e))
		return 1;
	sqlite3_stmt *st;
	sqlite3_prepare_v2(
	    col_db(c),
	    "select field_at_index(flds, 0) from notes order by (id * 7919) % 100003 "
	    "limit ?1",
	    -1, &st, NULL);
	sqlite3_bind_int64(st, 1, n);
	while (sqlite3_step(st) == SQLITE_ROW)
		printf("%s\n", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	col_close(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "gen") == 0)
		return gen(argv[2], atol(argv[3]));
	if (argc >= 6 && strcmp(argv[1], "sql") == 0)
		return sql(argv[2], argv[3], argv[4], argv[5]);
	if (argc >= 4 && strcmp(argv[1], "words") == 0)
		return words(argv[2], atol(argv[3]));
	fprintf(stderr,
	        "usage: bench_connectd gen DIR NOTES | sql COL WORD DECK TAG | words COL N\n");
	return 2;
}
