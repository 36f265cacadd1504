/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fuzz_search.c - libFuzzer target for the search language
 * (search-syntax.md): every input is parsed, formatted, compiled for
 * notes and cards, prepared and run on a small real collection built
 * once at start-up (decks incl. a filtered one, three notetypes, notes,
 * cards, review log, one field excluded from search).
 *
 * It aborts (a finding) when:
 *   - parsing fails with anything but ST_INVALID / ST_TOOBIG, or an
 *     error message that is not "Invalid search: ..." in valid UTF-8;
 *   - a parsed query fails to compile for another reason than a refused
 *     regex (ST_INVALID);
 *   - the compiled SQL does not prepare, except for SQLite's own limits
 *     on expression depth and parameter count (Anki has the same);
 *   - running it fails otherwise than with ST_INVALID (a regex over its
 *     match limit, the time budget);
 *   - search_run_kept (statements kept on the connection, as
 *     anki-connectd runs searches) answers differently from search_run,
 *     the first time or the second (on the kept statements).
 * One note's field is 30 a's and a "!", so a catastrophic regex meets
 * the PCRE2 match limit of sqlfn.c (checked at start-up: the limit must
 * be in force, or fuzzing would hang on such inputs instead of showing
 * them).  ASan/UBSan catch the rest.
 *
 * tests/check-fuzz.sh builds and runs this target (make check: 20 s,
 * make fuzz: longer); by hand:
 *
 * (from the repository root; L = the pkg-config list of the Makefile):
 *   L="sqlite3 libzstd jansson libmicrohttpd libcurl libzip libcrypto libutf8proc libpcre2-8"
 *   F="-std=c17 -D_GNU_SOURCE -g -O1 $(pkg-config --cflags $L) -Isrc/lib"
 *   mkdir -p build/fuzz/obj
 *   for f in src/lib/[a-z]*.c; do clang $F -fsanitize=fuzzer-no-link,address,undefined \
 *     -c $f -o build/fuzz/obj/$(basename $f .c).o || exit 1; done
 *   ar rcs build/fuzz/libankihost.a build/fuzz/obj/[a-z]*.o
 *   clang $F -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_search.c \
 *     build/fuzz/libankihost.a $(pkg-config --libs $L) -lm -o build/fuzz/fuzz_search
 * Run:
 *   build/fuzz/fuzz_search -max_len=512 -timeout=60 -rss_limit_mb=4096 \
 *     tests/fuzz/corpus_search
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "col.h"
#include "col_model.h"
#include "col_notes.h"
#include "col_store.h"
#include "search.h"
#include "search_parse.h"
#include "search_stmt.h"
#include "text.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1773576000LL

static struct col *col;
static char dir[64];
/* "{basic}", "{rev}", "{cloze}" in an input stand for these notetype ids,
 * so dupe:, mid: and ntid-based seeds reach notes of a real notetype */
static int64_t nt_ids[3];
static const char *const nt_tokens[3] = {"{basic}", "{rev}", "{cloze}"};

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "fuzz_search: %s: %s\n", what, msg ? msg : "");
	abort();
}

static void must(enum status st, const struct errinfo *e, const char *what)
{
	if (st)
		die(what, e->msg);
}

static int64_t note(int64_t mid, const char *flds, const char *tags)
{
	struct errinfo e;
	struct note n = {0};
	n.mid = mid;
	n.flds = strdup(flds);
	n.tags = strdup(tags);
	must(col_note_add(col, &n, &e), &e, "note");
	int64_t id = n.id;
	note_free(&n);
	return id;
}

static void card(int64_t nid, int64_t did, int ord, int type, int queue, int64_t due, int64_t odid,
                 int64_t odue)
{
	struct errinfo e;
	struct card c;
	card_init_new(&c, nid, did, ord, due);
	c.type = type;
	c.queue = queue;
	c.odid = odid;
	c.odue = odue;
	c.ivl = type == 2 ? 10 : 0;
	c.factor = type ? 2500 : 0;
	free(c.data);
	c.data = strdup(type == 2 ? "{\"s\":3.5,\"d\":5.0,\"cd\":\"{\\\"k\\\":1}\"}" : "{}");
	must(col_card_add(col, &c, &e), &e, "card");
	struct revlog_entry r = {0};
	r.cid = c.id;
	r.id = (NOW - 3600) * 1000 + c.id % 1000;
	r.ease = type ? 3 : 0;
	if (type)
		must(col_revlog_add(col, &r, &e), &e, "revlog");
	card_free(&c);
}

static int64_t notetype(const char *name)
{
	sqlite3_stmt *st;
	sqlite3_prepare_v2(col_db(col), "select id from notetypes where name = ?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return id;
}

static void deck(int64_t id, const char *name, int filtered)
{
	struct errinfo e;
	struct deck d = {0};
	d.id = id;
	d.name = strdup(name);
	deck_common_default_normal(&d.common);
	if (filtered)
		must(deck_kind_new_filtered(&d.kind, &e), &e, "filtered deck");
	else
		deck_kind_new_normal(&d.kind);
	must(col_store_deck(col, &d, COL_STORE_NORMAL, &e), &e, "deck");
	deck_free(&d);
}

static void cleanup(void)
{
	char path[128];
	search_stmt_release(col_db(col));
	col_close(col);
	snprintf(path, sizeof path, "%s/c.anki2", dir);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	struct errinfo e;
	setenv("TZ", "UTC", 1);
	tzset();
	char now[32];
	snprintf(now, sizeof now, "%lld", (NOW - 30 * 86400) * 1000);
	setenv("ANKIHOST_FAKE_NOW_MS", now, 1);
	snprintf(dir, sizeof dir, "/tmp/fuzz_search.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp", "");
	char path[128];
	snprintf(path, sizeof path, "%s/c.anki2", dir);
	must(col_create(path, 0, &e), &e, "create");
	snprintf(now, sizeof now, "%lld", NOW * 1000);
	setenv("ANKIHOST_FAKE_NOW_MS", now, 1);
	must(col_open(path, 0, &col, &e), &e, "open");
	atexit(cleanup);

	int64_t basic = notetype("Basic"), rev = notetype("Basic (and reversed card)"),
	        cloze = notetype("Cloze");
	nt_ids[0] = basic;
	nt_ids[1] = rev;
	nt_ids[2] = cloze;
	deck(100, "French", 0);
	deck(101, "French\x1fWords", 0);
	deck(102, "Filtered", 1);
	int64_t n1 = note(basic,
	                  "dog\x1f"
	                  "chien",
	                  " animal ");
	int64_t n2 = note(basic, "a <b>dog</b>\x1fun chien&amp;", " animal::mammal french ");
	int64_t n3 = note(rev,
	                  "\xC3\xBC"
	                  "ber\x1fuber 3:30",
	                  " lesson-17 ");
	int64_t n4 = note(cloze, "The {{c1::capital}} of {{c2::France}}\x1fParis", "");
	int64_t n5 = note(basic, "\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0\x1f(text) d_g",
	                  " parent::child ");
	card(n1, 1, 0, 0, 0, 1, 0, 0);
	card(n2, 100, 0, 2, 2, 30, 0, 0);
	card(n3, 101, 0, 1, 1, NOW - 60, 0, 0);
	card(n3, 1, 1, 0, -3, 2, 0, 0);
	card(n4, 102, 0, 2, 2, -100000, 1, 29);
	card(n4, 1, 1, 0, -2, 3, 0, 0);
	card(n5, 1, 0, 3, 1, NOW + 600, 0, 0);
	int64_t n6 = note(basic, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\x1fx", "");
	card(n6, 1, 0, 0, 0, 4, 0, 0);

	/* one excluded field, so the per-notetype SQL paths run too */
	struct notetype nt;
	must(col_load_notetype(col, rev, &nt, &e), &e, "load notetype");
	nt.fields[1].cfg.exclude_from_search = true;
	must(col_store_notetype(col, &nt, COL_STORE_NORMAL, &e), &e, "store notetype");
	notetype_free(&nt);

	/* the PCRE2 match limit is in force: a catastrophic pattern ends
	 * with a search error, not after 2^30 steps */
	int64_t *ids;
	size_t n;
	if (search_run(col, "\"re:^(a|a?)+$\"", SEARCH_NOTES, NULL, &ids, &n, &e) != ST_INVALID ||
	    !strstr(e.msg, "match limit"))
		die("match limit", "a catastrophic regex was not stopped");
	return 0;
}

static void check_msg(const struct errinfo *e)
{
	if (strncmp(e->msg, "Invalid search: ", 16) != 0)
		die("error without the prefix", e->msg);
	if (!text_utf8_valid(e->msg, strlen(e->msg)))
		die("error message is not UTF-8", e->msg);
}

/* SQLite limits Anki shares: a query too deep or with too many
 * parameters cannot run there either. */
static int is_sqlite_limit(const char *msg)
{
	return strstr(msg, "too large") || strstr(msg, "too many") ||
	       strstr(msg, "variable number");
}

static void run_target(const char *q, enum search_target t)
{
	struct errinfo e;
	errinfo_clear(&e);
	struct search_sql s;
	enum status st = search_compile(col, q, t, &s, &e);
	if (st == ST_INVALID) {
		check_msg(&e);
		return;
	}
	if (st)
		die("compile", e.msg);
	sqlite3_stmt *stmt;
	if (sqlite3_prepare_v2(col_db(col), s.sql, -1, &stmt, NULL) != SQLITE_OK) {
		const char *msg = sqlite3_errmsg(col_db(col));
		if (!is_sqlite_limit(msg)) {
			fprintf(stderr, "SQL: %s\n", s.sql);
			die("prepare", msg);
		}
		search_sql_free(&s);
		return;
	}
	must(search_sql_bind(&s, stmt, &e), &e, "bind");
	sqlite3_finalize(stmt);
	search_sql_free(&s);

	int64_t *ids = NULL;
	size_t n = 0;
	st = search_run(col, q, t, NULL, &ids, &n, &e);
	if (st == ST_INVALID)
		check_msg(&e);
	else if (st)
		die("run", e.msg);
	for (size_t i = 1; i < n; i++)
		if (ids[i - 1] >= ids[i])
			die("order", "ids not ascending");

	/* kept statements answer exactly as fresh ones */
	for (int round = 0; round < 2; round++) {
		struct errinfo ke;
		errinfo_clear(&ke);
		int64_t *kids = NULL;
		size_t kn = 0;
		enum status kst = search_run_kept(col, q, t, NULL, &kids, &kn, &ke);
		if (kst != st) {
			fprintf(stderr, "uncached: %d %s\nkept: %d %s\n", st, e.msg, kst, ke.msg);
			die("kept", "status differs");
		}
		if (st && strcmp(ke.msg, e.msg) && !strstr(e.msg, "took too long"))
			die("kept: message differs", ke.msg);
		if (!st && (kn != n || (n && memcmp(kids, ids, n * sizeof *ids))))
			die("kept", "ids differ");
		free(kids);
	}
	free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	/* each token (at least 5 bytes) becomes at most 20 digits */
	char *q = malloc(size * 4 + 1);
	if (!q)
		return 0;
	size_t o = 0;
	for (size_t i = 0; i < size;) {
		size_t t = 0;
		while (t < 3 && (size - i < strlen(nt_tokens[t]) ||
		                 memcmp(data + i, nt_tokens[t], strlen(nt_tokens[t]))))
			t++;
		if (t < 3) {
			o += (size_t)sprintf(q + o, "%lld", (long long)nt_ids[t]);
			i += strlen(nt_tokens[t]);
		} else {
			q[o++] = (char)data[i++];
		}
	}
	q[o] = 0;

	struct errinfo e;
	errinfo_clear(&e);
	struct search_node *tree = NULL;
	enum status st = search_parse(q, &tree, &e);
	if (st == ST_OK) {
		struct buf b;
		buf_init(&b, 0);
		must(search_node_format(tree, &b, &e), &e, "format");
		buf_free(&b);
		search_node_free(tree);
		run_target(q, SEARCH_NOTES);
		run_target(q, SEARCH_CARDS);
	} else if (st == ST_INVALID || st == ST_TOOBIG) {
		check_msg(&e);
	} else {
		die("parse", e.msg);
	}
	free(q);
	return 0;
}
