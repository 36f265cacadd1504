/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_search.c - the search language on a real collection: every worked
 * example of search-syntax.md §10 (one cmocka test each, on the §10.1
 * fixture built with the collection library), plus the SQL it compiles
 * to (bound parameters only, the checksum index for first-field
 * searches and dupe:), excluded fields, prop:r, and hostile input.
 * Every §10 example and the excluded-field cases also run through
 * search_run_kept (statements kept on the connection, search_stmt.h),
 * which must answer exactly as search_run does, also after the
 * notetypes change under it.
 *
 * Time: TZ=UTC and ANKIHOST_FAKE_NOW_MS fixed at 2026-03-15 12:00 UTC
 * (rollover 04:00), so "today" and "n days ago" are exact.
 */
#include "testutil.h"

#include <math.h>
#include <sqlite3.h>
#include <time.h>

#include "col.h"
#include "col_model.h"
#include "col_notes.h"
#include "col_store.h"
#include "search.h"
#include "search_day.h"
#include "search_fsrs.h"
#include "search_stmt.h"

#define DAY 86400LL
#define NOW 1773576000LL /* 2026-03-15 12:00:00 UTC */
#define NOW_MS (NOW * 1000)
#define CREATED (NOW - 100 * DAY)

enum { N1, N2, N3, N4, N5, N6, N7, N8, NNOTES };
enum { C1, C2, C3, C4, C5A, C5B, C6A, C6B, C7, C8, NCARDS };

static const char *const note_labels[NNOTES] = {"N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8"};
static const char *const card_labels[NCARDS] = {"C1",  "C2",  "C3",  "C4", "C5a",
                                                "C5b", "C6a", "C6b", "C7", "C8"};

static struct fixture {
	char *dir;
	char path[4200];
	struct col *c;
	int64_t nid[NNOTES], cid[NCARDS];
	int64_t basic, reversed, cloze;
	int64_t d_default, d_french, d_words, d_languages, d_lang_french, d_filtered;
	int64_t today;
} fx;

static void set_now(int64_t secs)
{
	char v[32];
	snprintf(v, sizeof v, "%lld", (long long)secs * 1000);
	setenv("ANKIHOST_FAKE_NOW_MS", v, 1);
}

static int64_t notetype_id(const char *name)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(col_db(fx.c),
	                                    "select id from notetypes where name = ?1", -1, &st,
	                                    NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

static void exec(const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(col_db(fx.c), sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static void add_deck(int64_t id, const char *native, int filtered)
{
	struct errinfo e;
	struct deck d = {0};
	d.id = id;
	d.name = strdup(native);
	d.mtime = NOW;
	deck_common_default_normal(&d.common);
	if (filtered)
		assert_int_equal(deck_kind_new_filtered(&d.kind, &e), ST_OK);
	else
		deck_kind_new_normal(&d.kind);
	assert_int_equal(col_store_deck(fx.c, &d, COL_STORE_NORMAL, &e), ST_OK);
	deck_free(&d);
}

static int64_t add_note(int64_t id, int64_t mid, const char *flds, const char *tags, int64_t mod)
{
	struct errinfo e;
	struct note n = {0};
	n.id = id;
	n.mid = mid;
	n.flds = strdup(flds);
	n.tags = strdup(tags);
	if (col_note_add(fx.c, &n, &e))
		fail_msg("note add: %s", e.msg);
	int64_t nid = n.id;
	note_free(&n);
	char sql[128];
	snprintf(sql, sizeof sql, "update notes set mod = %lld where id = %lld", (long long)mod,
	         (long long)nid);
	exec(sql);
	return nid;
}

struct cardspec {
	int note, ord;
	int64_t did, odid, odue, due;
	int type, queue;
	int64_t ivl, factor, reps, lapses, flags;
	int64_t created;
};

static int64_t add_card(const struct cardspec *s, int64_t idplus)
{
	struct errinfo e;
	struct card cd;
	card_init_new(&cd, fx.nid[s->note], s->did, s->ord, 0);
	cd.id = s->created * 1000 + idplus;
	cd.type = s->type;
	cd.queue = s->queue;
	cd.due = s->due;
	cd.ivl = s->ivl;
	cd.factor = s->factor;
	cd.reps = s->reps;
	cd.lapses = s->lapses;
	cd.flags = s->flags;
	cd.odid = s->odid;
	cd.odue = s->odue;
	if (col_card_add(fx.c, &cd, &e))
		fail_msg("card add: %s", e.msg);
	int64_t id = cd.id;
	card_free(&cd);
	return id;
}

static void add_revlog(int card, int64_t secs_ago, int ease)
{
	struct errinfo e;
	struct revlog_entry r = {0};
	r.id = (NOW - secs_ago) * 1000 + card; /* unique per card */
	r.cid = fx.cid[card];
	r.ease = ease;
	r.type = ease ? 1 : 4;
	assert_int_equal(col_revlog_add(fx.c, &r, &e), ST_OK);
}

static int fixture_setup(void **state)
{
	(void)state;
	struct errinfo e;
	setenv("TZ", "UTC", 1);
	tzset();
	fx.dir = tu_mkdtemp();
	snprintf(fx.path, sizeof fx.path, "%s/collection.anki2", fx.dir);
	set_now(CREATED + 3600);
	if (col_create(fx.path, 0, &e))
		fail_msg("create: %s", e.msg);
	set_now(NOW);
	if (col_open(fx.path, 0, &fx.c, &e))
		fail_msg("open: %s", e.msg);
	assert_int_equal(col_begin(fx.c, &e), ST_OK);
	exec("insert or replace into config (KEY, usn, mtime_secs, val) values "
	     "('rollover', -1, 0, cast('4' as blob)), ('collapseTime', -1, 0, cast('1200' as "
	     "blob))");

	fx.basic = notetype_id("Basic");
	fx.reversed = notetype_id("Basic (and reversed card)");
	fx.cloze = notetype_id("Cloze");
	fx.d_default = 1;
	fx.d_french = 1000;
	fx.d_words = 1001;
	fx.d_languages = 1002;
	fx.d_lang_french = 1003;
	fx.d_filtered = 1004;
	add_deck(fx.d_french, "French", 0);
	add_deck(fx.d_words, "French\x1fWords", 0);
	add_deck(fx.d_languages, "Languages", 0);
	add_deck(fx.d_lang_french,
	         "Languages\x1f"
	         "French",
	         0);
	add_deck(fx.d_filtered, "Filtered 1", 1);

	int64_t ago60 = NOW - 60 * DAY, ago5 = NOW - 5 * DAY;
	fx.nid[N1] = add_note(NOW_MS, fx.basic,
	                      "dog\x1f"
	                      "chien",
	                      " animal ", NOW);
	fx.nid[N2] = add_note(ago60 * 1000 + 2, fx.basic, "a dog\x1fun chien",
	                      " animal::mammal french ", ago60);
	fx.nid[N3] = add_note(ago60 * 1000 + 3, fx.basic, "doggy\x1f<b>exa</b>mple", "", ago60);
	fx.nid[N4] = add_note(ago60 * 1000 + 4, fx.basic,
	                      "underdog\x1f"
	                      "cat",
	                      " pets ", ago60);
	fx.nid[N5] = add_note(ago60 * 1000 + 5, fx.reversed,
	                      "\xC3\xBC"
	                      "ber\x1fuber 3:30",
	                      " lesson-17 ", ago60);
	fx.nid[N6] = add_note(ago60 * 1000 + 6, fx.cloze,
	                      "The {{c1::capital}} of {{c2::France}}\x1fParis", " geo ", ago60);
	fx.nid[N7] =
	    add_note(ago60 * 1000 + 7, fx.basic,
	             "\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0\x1f(text) d_g *star*",
	             " parent parent::child ", ago60);
	fx.nid[N8] = add_note(ago5 * 1000 + 8, fx.basic,
	                      "hei\xC3\x9F"
	                      "en\x1f"
	                      "a&amp;b",
	                      " marked ", ago5);

	fx.today = 100;
	int64_t t = fx.today;
	const struct cardspec cards[NCARDS] = {
	    [C1] = {N1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, NOW - 60},
	    [C2] = {N2, 0, fx.d_french, 0, 0, t, 2, 2, 10, 2500, 5, 0, 1, ago60},
	    [C3] = {N3, 0, fx.d_words, 0, 0, t + 1, 2, -1, 3, 2300, 3, 2, 0, ago60},
	    [C4] = {N4, 0, fx.d_lang_french, 0, 0, NOW - 60, 1, 1, 0, 2500, 1, 0, 2, ago60},
	    [C5A] = {N5, 0, 1, 0, 0, NOW + 3600, 3, 1, 1, 2500, 10, 4, 0, ago60},
	    [C5B] = {N5, 1, 1, 0, 0, 5, 0, -3, 0, 0, 0, 0, 0, ago60},
	    [C6A] = {N6, 0, fx.d_filtered, 1, t - 1, -100000, 2, 2, 20, 2700, 7, 0, 0, ago60},
	    [C6B] = {N6, 1, 1, 0, 0, 6, 0, -2, 0, 0, 0, 0, 0, ago60},
	    [C7] = {N7, 0, 1, 0, 0, 7, 0, 0, 0, 0, 0, 0, 7, ago60},
	    [C8] = {N8, 0, 1, 0, 0, t + 1, 2, 2, 30, 1300, 20, 8, 0, ago5},
	};
	for (int i = 0; i < NCARDS; i++)
		fx.cid[i] = add_card(&cards[i], i);

	add_revlog(C2, 20 * DAY, 3);
	add_revlog(C2, 3600, 3);
	add_revlog(C3, 10 * DAY, 3);
	add_revlog(C3, 3 * DAY, 2);
	add_revlog(C4, 1800, 1);
	add_revlog(C5A, 100 * DAY - 7200, 3);
	add_revlog(C5A, 2 * DAY, 1);
	add_revlog(C6A, 40 * DAY, 3);
	add_revlog(C8, 60 * DAY, 4);
	add_revlog(C8, 600, 0);
	assert_int_equal(col_commit(fx.c, &e), ST_OK);
	return 0;
}

static int fixture_teardown(void **state)
{
	(void)state;
	assert_int_equal(search_stmt_release(col_db(fx.c)), 0);
	assert_int_equal(search_stmt_count(col_db(fx.c)), 0);
	col_close(fx.c);
	fx.c = NULL;
	tu_rmtree(fx.dir);
	unsetenv("ANKIHOST_FAKE_NOW_MS");
	return 0;
}

/* ---- §10.2 ---- */

struct example {
	int no;
	const char *query;
	int cards;          /* 1: findCards, 0: findNotes */
	const char *expect; /* labels, "all", "all-C6a"; NULL for an error */
	const char *error;  /* the exact message */
};

#define E_PREFIX "Invalid search: "
static const struct example examples[] = {
    {1, "dog", 0, "N1 N2 N3 N4", NULL},
    {2, "dog cat", 0, "N4", NULL},
    {3, "dog and cat", 0, "N4", NULL},
    {4, "dog or cat", 0, "N1 N2 N3 N4", NULL},
    {5, "dog (cat or chien)", 0, "N1 N2 N4", NULL},
    {6, "chien dog or cat", 0, "N1 N2 N4", NULL},
    {7, "chien (dog or cat)", 0, "N1 N2", NULL},
    {8, "-dog", 0, "N5 N6 N7 N8", NULL},
    {9, "-(dog or cat)", 0, "N5 N6 N7 N8", NULL},
    {10, "\"a dog\"", 0, "N2", NULL},
    {11, "dog -\"a dog\"", 0, "N1 N3 N4", NULL},
    {12, "d_g", 0, "N1 N2 N3 N4 N7", NULL},
    {13, "d\\_g", 0, "N7", NULL},
    {14, "d*g", 0, "N1 N2 N3 N4 N7", NULL},
    {15, "\\*star\\*", 0, "N7", NULL},
    {16, "DOG", 0, "N1 N2 N3 N4", NULL},
    {17, "\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0", 0, "", NULL},
    {18, "w:\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0", 0, "N7", NULL},
    {19, "re:\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0", 0, "N7", NULL},
    {20, "w:dog", 0, "N1 N2", NULL},
    {21, "w:dog*", 0, "N1 N2 N3", NULL},
    {22, "w:*dog", 0, "N1 N2 N4", NULL},
    {23, "front:dog", 0, "N1", NULL},
    {24, "front:*dog*", 0, "N1 N2 N3 N4", NULL},
    {25, "front:", 0, "", NULL},
    {26, "front:_*", 0, "N1 N2 N3 N4 N5 N7 N8", NULL},
    {27, "front:*", 0, "N1 N2 N3 N4 N5 N7 N8", NULL},
    {28, "fr*:dog", 0, "N1", NULL},
    {29, "FRONT:DOG", 0, "N1", NULL},
    {30, "back:*chien", 0, "N1 N2", NULL},
    {31, "\"back:un chien\"", 0, "N2", NULL},
    {32, "back:\"un chien\"", 0, "N2", NULL},
    {33, "text:*capital*", 0, "N6", NULL},
    {34, "*:dog", 0, "N1", NULL},
    {35, "front:re:^[a-d]", 0, "N1 N2 N3", NULL},
    {36, "re:\\d{2}", 0, "N5", NULL},
    {37, "3\\:30", 0, "N5", NULL},
    {38, "w:3:30", 0, "N5", NULL},
    {39,
     "\xC3\xBC"
     "ber",
     0, "N5", NULL},
    {40, "nc:uber", 0, "N5", NULL},
    {41, "nc:heisen", 0, "N8", NULL},
    {42,
     "nc:hei\xC3\x9F"
     "en",
     0, "N8", NULL},
    {43, "\"sc:capital of France\"", 0, "N6", NULL},
    {44, "\"capital of France\"", 0, "", NULL},
    {45, "paris", 0, "N6", NULL},
    {46, "example", 0, "", NULL},
    {47, "a&amp;b", 0, "N8", NULL},
    {48, "a&b", 0, "", NULL},
    {49, "\"(text)\"", 0, "N7", NULL},
    {50, "\\(text\\)", 0, "N7", NULL},
    {51, "tag:animal", 0, "N1 N2", NULL},
    {52, "tag:animal::mammal", 0, "N2", NULL},
    {53, "tag:ani*", 0, "N1 N2", NULL},
    {54, "tag:MARKED", 0, "N8", NULL},
    {55, "tag:none", 0, "N3", NULL},
    {56, "-tag:none", 0, "N1 N2 N4 N5 N6 N7 N8", NULL},
    {57, "tag:*", 0, "all", NULL},
    {58, "tag:re:^parent$", 0, "N7", NULL},
    {59, "\"tag:re:lesson-(1[7-9]|2[0-5])\"", 0, "N5", NULL},
    {60, "deck:French", 0, "N2 N3", NULL},
    {61, "deck:french::words", 0, "N3", NULL},
    {62, "deck:french -deck:french::*", 0, "N2", NULL},
    {63, "deck:*french*", 0, "N2 N3 N4", NULL},
    {64, "deck:Default", 0, "N1 N5 N6 N7 N8", NULL},
    {65, "deck:filtered", 1, "C6a", NULL},
    {66, "-deck:filtered", 1, "all-C6a", NULL},
    {67, "deck:*", 1, "all", NULL},
    {68, "preset:Default", 1, "all", NULL},
    {69, "preset:Nope", 1, "", NULL},
    {70, "note:basic", 0, "N1 N2 N3 N4 N7 N8", NULL},
    {71, "note:basic*", 0, "N1 N2 N3 N4 N5 N7 N8", NULL},
    {72, "-note:Basic dog", 0, "", NULL},
    {73, "card:2", 1, "C5b C6b", NULL},
    {74, "\"card:card 2\"", 1, "C5b", NULL},
    {75, "card:cloze", 1, "C6a", NULL},
    {76, "is:new", 1, "C1 C5b C6b C7", NULL},
    {77, "is:review", 1, "C2 C3 C5a C6a C8", NULL},
    {78, "is:learn", 1, "C4 C5a", NULL},
    {79, "is:learn is:review", 1, "C5a", NULL},
    {80, "-is:learn is:review", 1, "C2 C3 C6a C8", NULL},
    {81, "is:due", 1, "C2 C4 C6a", NULL},
    {82, "is:suspended", 1, "C3", NULL},
    {83, "is:buried", 1, "C5b C6b", NULL},
    {84, "is:buried-manually", 1, "C5b", NULL},
    {85, "is:buried-sibling", 1, "C6b", NULL},
    {86, "flag:0", 1, "C1 C3 C5a C5b C6a C6b C8", NULL},
    {87, "flag:1", 1, "C2", NULL},
    {88, "flag:7", 1, "C7", NULL},
    {89, "prop:ivl>=10", 1, "C2 C6a C8", NULL},
    {90, "prop:due=1", 1, "C8", NULL},
    {91, "prop:due=-1", 1, "C6a", NULL},
    {92, "prop:due<=-1", 1, "C6a", NULL},
    {93, "prop:due>=-1 prop:due<=1", 1, "C2 C4 C5a C6a C8", NULL},
    {94, "prop:reps<10", 1, "C1 C2 C3 C4 C5b C6a C6b C7", NULL},
    {95, "prop:lapses>3", 1, "C5a C8", NULL},
    {96, "prop:ease!=2.5", 1, "C1 C3 C5b C6a C6b C7 C8", NULL},
    {97, "prop:ease<2", 1, "C1 C5b C6b C7 C8", NULL},
    {98, "prop:pos<=5", 1, "C1 C5b", NULL},
    {99, "rated:1", 1, "C2 C4", NULL},
    {100, "rated:1:1", 1, "C4", NULL},
    {101, "rated:7:2", 1, "C3", NULL},
    {102, "rated:31", 1, "C2 C3 C4 C5a", NULL},
    {103, "prop:rated=0", 1, "C2 C4", NULL},
    {104, "prop:rated=-3", 1, "C3", NULL},
    {105, "resched:1", 1, "C8", NULL},
    {106, "introduced:1", 1, "C4", NULL},
    {107, "introduced:30", 1, "C2 C3 C4", NULL},
    {108, "added:1", 1, "C1", NULL},
    {109, "added:7", 1, "C1 C8", NULL},
    {110, "edited:1", 0, "N1", NULL},
    {111, "nid:{N1},{N2}", 0, "N1 N2", NULL},
    {112, "cid:{C7}", 1, "C7", NULL},
    {113, "mid:{cloze}", 0, "N6", NULL},
    {114, "dupe:{basic},dog", 0, "N1", NULL},
    {115, "", 0, "all", NULL},
    {116, "dog or", 0, NULL,
     E_PREFIX "an `or` was found but it is not connecting two search terms. If you want to "
              "search for the word itself, wrap it in double quotes: `\"or\"`."},
    {117, "(dog", 0, NULL,
     E_PREFIX "an opening bracket `(` was found, but there was no closing bracket `)` following "
              "it. If you want to search for a literal `(`, wrap it in double quotes or prepend "
              "a backslash: `\"(\"` or `\\(` ."},
    {118, "dog)", 0, NULL,
     E_PREFIX "a closing bracket `)` was found, but there was no opening bracket `(` preceding "
              "it. If you want to search for a literal `)`, wrap it in double quotes or prepend "
              "a backslash: `\")\"` or `\\)`."},
    {119, "()", 0, NULL,
     E_PREFIX "a group `(...)` was found, but there was nothing between the brackets to search "
              "for. If you want to search for literal brackets, wrap them in double quotes: "
              "`\"( )\"`."},
    {120, "\"\"", 0, NULL,
     E_PREFIX "a pair of double quotes `\"\"` was found, but there was nothing between them to "
              "search for. If you want to search for literal double quotes, prepend "
              "backslashes: `\\\"\\\"`."},
    {121, "\"dog", 0, NULL,
     E_PREFIX "an opening double quote `\"` was found, but there was no second one to close it. "
              "If you want to search for a literal `\"`, prepend a backslash: `\\\"`."},
    {122, ":dog", 0, NULL,
     E_PREFIX "a colon `:` was found, but there was no keyword preceding it. If you want to "
              "search for a literal `:`, prepend a backslash: `\\:`."},
    {123, "\\foo", 0, NULL,
     E_PREFIX "the escape sequence `\\f` is not defined. If you want to search for a literal "
              "backslash `\\`, prepend another one: `\\\\`."},
    {124, "is:foo", 0, NULL, E_PREFIX "`is:` was given an invalid argument '`foo`'."},
    {125, "flag:8", 0, NULL,
     E_PREFIX "`flag:` must be followed by a valid flag number: `1` (red), `2` (orange), `3` "
              "(green), `4` (blue), `5` (pink), `6` (turquoise), `7` (purple) or `0` (no "
              "flag)."},
    {126, "prop:foo>1", 0, NULL, E_PREFIX "`prop:` was given an invalid argument '`foo>1`'."},
    {127, "prop:ivl~1", 0, NULL,
     E_PREFIX "`prop:ivl` must be followed by one of the following comparison operators: `=`, "
              "`!=`, `<`, `>`, `<=` or `>=`."},
    {128, "rated:1:5", 0, NULL,
     E_PREFIX "expected an answer button between 1-4 in \"`1:5`\", but found \"`5`\"."},
    {129, "added:-1", 0, NULL,
     E_PREFIX "expected a positive whole number in \"`added:`\", but found \"`-1`\"."},
    {130, "prop:rated=1", 0, NULL,
     E_PREFIX "expected a whole number less than or equal to 0 in \"`rated=1`\", but found "
              "\"`1`\"."},
    {131, "nid:1,a", 0, NULL, E_PREFIX "expected only digits and commas in nid:"},
};
#define NEXAMPLES (sizeof examples / sizeof examples[0])

/* Replace {N1}, {C7}, {cloze}, {basic} by ids. */
static void expand(const char *q, char *out, size_t outsz)
{
	size_t o = 0;
	while (*q && o + 32 < outsz) {
		if (*q != '{') {
			out[o++] = *q++;
			continue;
		}
		const char *end = strchr(q, '}');
		if (!end || end - q > 10) {
			out[o++] = *q++;
			continue;
		}
		char name[16];
		snprintf(name, sizeof name, "%.*s", (int)(end - q - 1), q + 1);
		int64_t v = -1;
		for (int i = 0; i < NNOTES; i++)
			if (!strcmp(name, note_labels[i]))
				v = fx.nid[i];
		for (int i = 0; i < NCARDS; i++)
			if (!strcmp(name, card_labels[i]))
				v = fx.cid[i];
		if (!strcmp(name, "cloze"))
			v = fx.cloze;
		if (!strcmp(name, "basic"))
			v = fx.basic;
		if (v == -1) { /* a regex repetition such as {2} */
			out[o++] = *q++;
			continue;
		}
		o += (size_t)snprintf(out + o, outsz - o, "%lld", (long long)v);
		q = end + 1;
	}
	out[o] = 0;
}

/* Labels of ids, sorted like the expectation strings (by index). */
static void labels_of(const int64_t *ids, size_t n, int cards, char *out, size_t outsz)
{
	out[0] = 0;
	int count = cards ? NCARDS : NNOTES;
	for (int i = 0; i < count; i++) {
		int64_t id = cards ? fx.cid[i] : fx.nid[i];
		for (size_t k = 0; k < n; k++) {
			if (ids[k] == id) {
				if (out[0])
					strncat(out, " ", outsz - strlen(out) - 1);
				strncat(out, cards ? card_labels[i] : note_labels[i],
				        outsz - strlen(out) - 1);
			}
		}
	}
}

/* search_run_kept, twice (the second time on kept statements), must
 * give what search_run gave: the same status, message and ids. */
static void kept_agrees(const char *q, enum search_target t, enum status want_st,
                        const struct errinfo *want_e, const int64_t *want, size_t nwant)
{
	for (int round = 0; round < 2; round++) {
		int64_t *ids = NULL;
		size_t n = 0;
		struct errinfo e;
		errinfo_clear(&e);
		enum status st = search_run_kept(fx.c, q, t, NULL, &ids, &n, &e);
		if (st != want_st)
			fail_msg("%s: kept status %d, uncached %d (%s)", q, st, want_st, e.msg);
		if (st)
			assert_string_equal(e.msg, want_e->msg);
		else if (n != nwant || (n && memcmp(ids, want, n * sizeof *ids)))
			fail_msg("%s: kept search found %zu ids, uncached %zu", q, n, nwant);
		free(ids);
	}
}

static void expected_labels(const struct example *ex, char *out, size_t outsz)
{
	if (!strcmp(ex->expect, "all") || !strcmp(ex->expect, "all-C6a")) {
		int64_t all[NCARDS];
		size_t n = 0;
		int count = ex->cards ? NCARDS : NNOTES;
		for (int i = 0; i < count; i++) {
			if (ex->cards && i == C6A && strcmp(ex->expect, "all"))
				continue;
			all[n++] = ex->cards ? fx.cid[i] : fx.nid[i];
		}
		labels_of(all, n, ex->cards, out, outsz);
	} else {
		snprintf(out, outsz, "%s", ex->expect);
	}
}

static void test_example(void **state)
{
	const struct example *ex = *state;
	char q[512];
	expand(ex->query, q, sizeof q);
	int64_t *ids = NULL;
	size_t n = 0;
	struct errinfo e;
	errinfo_clear(&e);
	enum status st =
	    search_run(fx.c, q, ex->cards ? SEARCH_CARDS : SEARCH_NOTES, NULL, &ids, &n, &e);
	kept_agrees(q, ex->cards ? SEARCH_CARDS : SEARCH_NOTES, st, &e, ids, n);
	if (ex->error) {
		assert_int_equal(st, ST_INVALID);
		assert_string_equal(e.msg, ex->error);
		assert_null(ids);
		return;
	}
	if (st)
		fail_msg("#%d %s: %s", ex->no, q, e.msg);
	for (size_t i = 1; i < n; i++)
		assert_true(ids[i - 1] < ids[i]); /* ascending, no duplicates */
	char got[512], want[512];
	labels_of(ids, n, ex->cards, got, sizeof got);
	expected_labels(ex, want, sizeof want);
	if (strcmp(got, want))
		fail_msg("#%d %s: got [%s] want [%s]", ex->no, q, got, want);
	/* every returned id is one of the fixture's */
	char all[512];
	labels_of(ids, n, ex->cards, all, sizeof all);
	size_t words = all[0] ? 1 : 0;
	for (const char *p = all; *p; p++)
		words += *p == ' ';
	assert_int_equal(words, n);
	free(ids);
}

/* More terms on the same fixture, beyond §10's table. */
static void test_more_terms(void **state)
{
	(void)state;
	static const struct {
		const char *q;
		int cards;
		const char *want;
	} cases[] = {
	    {"tag:nc:animal", 0, "N1 N2"},
	    {"\"tag:animal french\"", 0, ""}, /* a tag never holds a space */
	    {"tag:parent", 0, "N7"},
	    {"tag:child", 0, ""},
	    {"tag:*::child", 0, "N7"},
	    {"front:nc:uber", 0, "N5"},
	    {"dupe:{basic},<b>dog</b>", 0, "N1"}, /* HTML stripped on both sides */
	    {"dupe:{basic},DOG", 0, ""},          /* but compared exactly */
	    {"dupe:{cloze},dog", 0, ""},
	    {"w:exa", 0, "N3"}, /* tags make word boundaries */
	    {"deck:Filtered*", 0, "N6"},
	    {"\"deck:french words\"", 0, ""},
	    {"deck:French::*", 0, "N3"},
	    {"deck:french*", 0, "N2 N3"},
	    {"note:Cloze", 0, "N6"},
	    {"re:^dog", 0, "N1 N3"},
	    {"re:chien$", 0, "N1 N2"},
	    {"\"*:re:^un\"", 0, "N2 N4"},
	    {"back:*", 0, "N1 N2 N3 N4 N5 N7 N8"},
	    {"b*:*", 0, "N1 N2 N3 N4 N5 N6 N7 N8"},
	    {"front:*dog", 0, "N1 N2 N4"},
	    {"front:d_g", 0, "N1"},
	    {"back:d_g", 0, ""},
	    {"back:*d\\_g*", 0, "N7"},
	    {"sc:capital", 0, "N6"},
	    {"sc:dog", 0, ""},
	    {"nc:\xC3\x9C"
	     "BER",
	     0, "N5"},
	    {"u\xCC\x88"
	     "ber",
	     0, "N5"}, /* NFD input, NFC notes */
	    {"\"w:a dog\"", 0, "N2"},
	    {"mid:{basic} -tag:none", 0, "N1 N2 N4 N7 N8"},
	    {"nid:{N1} or cid:{C8}", 0, "N1 N8"},
	    {"edited:6", 0, "N1 N8"},
	    {"card:1", 1, "C1 C2 C3 C4 C5a C6a C7 C8"},
	    {"-is:buried is:new", 1, "C1 C7"},
	    {"prop:ease=2.5", 1, "C2 C4 C5a"},
	    {"prop:ivl<1", 1, "C1 C4 C5b C6b C7"},
	    {"rated:2:1", 1, "C4"},
	    {"rated:3:1", 1, "C4 C5a"},
	    {"prop:rated>=-2", 1, "C2 C4 C5a"},
	    {"prop:rated<-2", 1, "C2 C3 C5a C6a C8"},
	    {"prop:rated!=0", 1, "C2 C3 C5a C6a C8"},
	    {"prop:resched=0", 1, "C8"},
	    {"added:61", 1, "C1 C2 C3 C4 C5a C5b C6a C6b C7 C8"},
	    {"introduced:2", 1, "C4"},
	    {"is:due -deck:filtered", 1, "C2 C4"},
	    {"flag:2", 1, "C4"},
	    {"prop:due>1", 1, ""},
	    {"prop:due<0", 1, "C6a"},
	    {"prop:pos>5", 1, "C6b C7"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char q[256];
		expand(cases[i].q, q, sizeof q);
		int64_t *ids;
		size_t n;
		struct errinfo e;
		if (search_run(fx.c, q, cases[i].cards ? SEARCH_CARDS : SEARCH_NOTES, NULL, &ids,
		               &n, &e))
			fail_msg("%s: %s", q, e.msg);
		char got[256];
		labels_of(ids, n, cases[i].cards, got, sizeof got);
		if (strcmp(got, cases[i].want))
			fail_msg("%s: got [%s] want [%s]", q, got, cases[i].want);
		free(ids);
	}
}

/* ---- the compiled SQL ---- */

static void compile(const char *q, enum search_target t, struct search_sql *out)
{
	struct errinfo e;
	if (search_compile(fx.c, q, t, out, &e))
		fail_msg("%s: %s", q, e.msg);
}

/* No text of the query reaches the SQL: every value is a parameter. */
static void test_sql_binds_user_text(void **state)
{
	(void)state;
	static const char *const hostile[] = {
	    "\"x'; drop table notes; --\"",
	    "front:\"' or 1=1 --\"",
	    "deck:\"a') or 1=1 --\"",
	    "tag:\"';--\"",
	    "note:\"x' or 'a'='a\"",
	    "\"card:x' or 1=1\"",
	    "\"prop:cds:k=')--\"",
	    "has-cd:'or1",
	    "preset:'--",
	    "re:'x",
	    "w:'x",
	    "nc:'x",
	    "sc:'x",
	    "\"dupe:1,x' or '1\"",
	};
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		struct search_sql s;
		compile(hostile[i], SEARCH_NOTES, &s);
		/* the SQL's quotes are only the fixed '' fragments */
		for (const char *p = s.sql; (p = strchr(p, '\'')); p++) {
			const char *end = strchr(p + 1, '\'');
			assert_non_null(end);
			for (const char *k = p + 1; k < end; k++)
				assert_true(strchr("%\x1f\\ ", *k) || (*k >= 'a' && *k <= 'z'));
			p = end;
		}
		assert_null(strstr(s.sql, "drop"));
		assert_null(strstr(s.sql, "1=1"));
		search_sql_free(&s);
		int64_t *ids;
		size_t n;
		struct errinfo e;
		assert_int_equal(search_run(fx.c, hostile[i], SEARCH_NOTES, NULL, &ids, &n, &e),
		                 ST_OK);
		assert_int_equal(n, 0);
		free(ids);
	}
	/* the notes table is intact */
	int64_t *ids;
	size_t n;
	struct errinfo e;
	assert_int_equal(search_run(fx.c, "", SEARCH_NOTES, NULL, &ids, &n, &e), ST_OK);
	assert_int_equal(n, NNOTES);
	free(ids);
}

/* The table choice of search-syntax.md §1 step 4. */
static void test_sql_tables(void **state)
{
	(void)state;
	static const struct {
		const char *q;
		enum search_target t;
		const char *head;
	} cases[] = {
	    {"dog", SEARCH_NOTES, "select n.id from notes n where "},
	    {"is:new", SEARCH_CARDS, "select c.id from cards c where "},
	    {"nid:1", SEARCH_CARDS, "select c.id from cards c where "},
	    {"dog", SEARCH_CARDS, "select c.id from cards c, notes n where c.nid=n.id and "},
	    {"is:new", SEARCH_NOTES,
	     "select distinct n.id from cards c, notes n where c.nid=n.id and "},
	    {"card:1", SEARCH_NOTES,
	     "select distinct n.id from cards c, notes n where c.nid=n.id and "},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct search_sql s;
		compile(cases[i].q, cases[i].t, &s);
		assert_memory_equal(s.sql, cases[i].head, strlen(cases[i].head));
		search_sql_free(&s);
	}
	struct search_sql s;
	compile("nid:1", SEARCH_CARDS, &s);
	assert_non_null(strstr(s.sql, "c.nid in"));
	search_sql_free(&s);
}

/* A note matches when one of its cards matches the whole expression
 * (§1 step 4): N5 has a new card and a relearning one, none both. */
static void test_notes_match_per_card(void **state)
{
	(void)state;
	int64_t *ids;
	size_t n;
	struct errinfo e;
	assert_int_equal(search_run(fx.c, "is:new is:learn", SEARCH_NOTES, NULL, &ids, &n, &e),
	                 ST_OK);
	assert_int_equal(n, 0);
	free(ids);
	assert_int_equal(search_run(fx.c, "is:new", SEARCH_NOTES, NULL, &ids, &n, &e), ST_OK);
	char got[128];
	labels_of(ids, n, 0, got, sizeof got);
	assert_string_equal(got, "N1 N5 N6 N7");
	free(ids);
}

static void explain(const char *q, enum search_target t, char *plan, size_t planlen)
{
	struct search_sql s;
	compile(q, t, &s);
	char sql[8192];
	snprintf(sql, sizeof sql, "explain query plan %s", s.sql);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(col_db(fx.c), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(search_sql_bind(&s, st, NULL), ST_OK);
	plan[0] = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		strncat(plan, (const char *)sqlite3_column_text(st, 3), planlen - strlen(plan) - 2);
		strncat(plan, "\n", planlen - strlen(plan) - 1);
	}
	sqlite3_finalize(st);
	search_sql_free(&s);
}

/* Yomitan's duplicate check: an exact first-field search uses the
 * checksum index, not a scan of notes. */
static void test_first_field_uses_csum_index(void **state)
{
	(void)state;
	static const char *const queries[] = {
	    "\"Front:\xE9\xA3\x9F\xE3\x81\xB9\xE3\x82\x8B\"", /* 食べる */
	    "\"Front:dog\"",
	    "\"deck:Default\" \"Front:dog\"",
	    "\"note:Basic\" \"Front:dog\"",
	};
	for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
		char plan[2048];
		explain(queries[i], SEARCH_NOTES, plan, sizeof plan);
		if (!strstr(plan, "ix_notes_csum"))
			fail_msg("%s:\n%s", queries[i], plan);
		assert_null(strstr(plan, "SCAN n"));
	}
	/* and the results are exact, case variants included */
	static const struct {
		const char *q;
		const char *want;
	} cases[] = {
	    {"Front:dog", "N1"},
	    {"front:DoG", "N1"},
	    {"\"front:a dog\"", "N2"},
	    {"front:do", ""},
	    {"back:chien", "N1"},
	    {"front:heiSSen", ""},
	    {"front:hei\xC3\x9F"
	     "en",
	     "N8"},
	    {"front:MOSKVA", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t *ids;
		size_t n;
		struct errinfo e;
		assert_int_equal(search_run(fx.c, cases[i].q, SEARCH_NOTES, NULL, &ids, &n, &e),
		                 ST_OK);
		char got[128];
		labels_of(ids, n, 0, got, sizeof got);
		if (strcmp(got, cases[i].want))
			fail_msg("%s: got [%s] want [%s]", cases[i].q, got, cases[i].want);
		free(ids);
	}
	/* a wildcard value cannot use it */
	char plan[2048];
	explain("front:dog*", SEARCH_NOTES, plan, sizeof plan);
	assert_null(strstr(plan, "ix_notes_csum"));
}

/* A stored field whose case differs from the search still matches, as
 * LIKE does: the checksum candidates cover every ASCII-case variant. */
static void test_first_field_case_variants(void **state)
{
	(void)state;
	struct errinfo e;
	int64_t nid = add_note(NOW_MS + 77, fx.basic, "<b>HeLLo</b> W\x1fx", "", NOW);
	int64_t *ids;
	size_t n;
	assert_int_equal(
	    search_run(fx.c, "\"front:<b>hello</b> w\"", SEARCH_NOTES, NULL, &ids, &n, &e), ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], nid);
	free(ids);
	/* more letters than the shortcut handles: still found (by a scan) */
	int64_t nid2 = add_note(NOW_MS + 78, fx.basic, "ABCDEFGHIJKLmn\x1fx", "", NOW);
	assert_int_equal(search_run(fx.c, "front:abcdefghijklMN", SEARCH_NOTES, NULL, &ids, &n, &e),
	                 ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], nid2);
	free(ids);
	/* many such words in one query stay within SQLite's parameter limit */
	char q[4096] = "front:dog";
	for (int i = 0; i < 40; i++)
		snprintf(q + strlen(q), sizeof q - strlen(q), " or front:abcdefgh%c%c",
		         'a' + i % 26, 'a' + i / 26);
	assert_int_equal(search_run(fx.c, q, SEARCH_NOTES, NULL, &ids, &n, &e), ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], fx.nid[N1]);
	free(ids);
	assert_int_equal(col_note_delete(fx.c, nid, &e), ST_OK);
	assert_int_equal(col_note_delete(fx.c, nid2, &e), ST_OK);
}

/* Every statement SQLite starts while a search runs (its own and the
 * lookups it makes while compiling), so their plans can be checked. */
struct traced {
	char sql[16][2048];
	int n;
};

static int trace_stmt(unsigned type, void *ctx, void *p, void *x)
{
	(void)x;
	struct traced *t = ctx;
	const char *sql = type == SQLITE_TRACE_STMT ? sqlite3_sql(p) : NULL;
	if (sql && t->n < 16)
		snprintf(t->sql[t->n++], sizeof t->sql[0], "%s", sql);
	return 0;
}

/* The plan of every traced statement that reads notes: none scans the
 * table; returns how many use the checksum index. */
static int plans_use_csum(const char *q, const struct traced *t)
{
	int csum = 0;
	for (int i = 0; i < t->n; i++) {
		if (!strstr(t->sql[i], "from notes"))
			continue;
		char sql[2200], plan[2048] = "";
		snprintf(sql, sizeof sql, "explain query plan %s", t->sql[i]);
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(col_db(fx.c), sql, -1, &st, NULL) != SQLITE_OK)
			fail_msg("%s: %s", t->sql[i], sqlite3_errmsg(col_db(fx.c)));
		while (sqlite3_step(st) == SQLITE_ROW) {
			strncat(plan, (const char *)sqlite3_column_text(st, 3),
			        sizeof plan - strlen(plan) - 2);
			strncat(plan, "\n", sizeof plan - strlen(plan) - 1);
		}
		sqlite3_finalize(st);
		if (strstr(plan, "SCAN n") || strstr(plan, "idx_notes_mid"))
			fail_msg("%s: %s\n%s", q, t->sql[i], plan);
		csum += strstr(plan, "ix_notes_csum") != NULL;
	}
	return csum;
}

static void run_traced(const char *q, const char *want)
{
	struct traced t = {.n = 0};
	sqlite3_trace_v2(col_db(fx.c), SQLITE_TRACE_STMT, trace_stmt, &t);
	int64_t *ids;
	size_t n;
	struct errinfo e;
	enum status st = search_run(fx.c, q, SEARCH_NOTES, NULL, &ids, &n, &e);
	sqlite3_trace_v2(col_db(fx.c), 0, NULL, NULL);
	if (st)
		fail_msg("%s: %s", q, e.msg);
	char got[128];
	labels_of(ids, n, 0, got, sizeof got);
	free(ids);
	if (strcmp(got, want))
		fail_msg("%s: got [%s] want [%s]", q, got, want);
	if (plans_use_csum(q, &t) < 1)
		fail_msg("%s: no statement used ix_notes_csum", q);
}

/* Duplicate lookups - dupe:NTID,text (the browser's "find duplicates",
 * run by AnkiConnect clients too) and an exact first-field search - go
 * through the checksum index, even when SQLite's statistics make the
 * notetype index look better (a collection with many small notetypes
 * after ANALYZE): the notetype test is "+mid", which no index serves. */
static void test_dupe_uses_csum_index(void **state)
{
	(void)state;
	char q[128];
	for (int stats = 0; stats < 2; stats++) {
		if (stats) {
			exec("analyze");
			exec("delete from sqlite_stat1 where tbl = 'notes'");
			exec("insert into sqlite_stat1 values ('notes', 'idx_notes_mid', '1000000 1'), "
			     "('notes', 'ix_notes_csum', '1000000 8')");
			exec("analyze sqlite_schema"); /* reload the statistics */
		}
		snprintf(q, sizeof q, "dupe:%lld,dog", (long long)fx.basic);
		run_traced(q, "N1");
		snprintf(q, sizeof q, "\"dupe:%lld,<b>dog</b>\"", (long long)fx.basic);
		run_traced(q, "N1");
		run_traced("\"Front:dog\"", "N1");
		run_traced("\"front:a dog\"", "N2");
	}
	/* back to no statistics for the tests after this one: reloading
	 * from an empty table resets them (dropping it alone would not) */
	exec("delete from sqlite_stat1");
	exec("analyze sqlite_schema");
	exec("drop table sqlite_stat1");
}

/* search_run_kept: statements stay on the connection and are found
 * again; generated ones are bounded; release finalizes them all. */
static void test_kept_statements(void **state)
{
	(void)state;
	sqlite3 *db = col_db(fx.c);
	int64_t *ids;
	size_t n;
	struct errinfo e;
	assert_int_equal(search_run_kept(fx.c, "\"Front:dog\"", SEARCH_NOTES, NULL, &ids, &n, &e),
	                 ST_OK);
	free(ids);
	int kept = search_stmt_count(db);
	assert_true(kept >= 2); /* the notetype lookup, the search */
	for (int i = 0; i < 5; i++) {
		/* same SQL shape, other words: nothing new is prepared */
		char q[64];
		snprintf(q, sizeof q, "\"Front:%c%c%c\"", 'a' + i, 'b' + i, 'c' + i);
		assert_int_equal(search_run_kept(fx.c, q, SEARCH_NOTES, NULL, &ids, &n, &e), ST_OK);
		assert_int_equal(n, 0);
		free(ids);
		assert_int_equal(search_stmt_count(db), kept);
	}
	/* many shapes: at most SEARCH_STMT_MAX_QUERIES of them stay */
	for (int i = 0; i < SEARCH_STMT_MAX_QUERIES + 20; i++) {
		char q[64];
		snprintf(q, sizeof q, "prop:ivl>%d%s", i, i % 2 ? " is:due" : "");
		for (int k = 0; k < i % 3; k++)
			strcat(q, " -is:new");
		assert_int_equal(search_run_kept(fx.c, q, SEARCH_CARDS, NULL, &ids, &n, &e), ST_OK);
		free(ids);
	}
	assert_true(search_stmt_count(db) <= SEARCH_STMT_MAX_QUERIES + 8);
	/* a statement in use is not handed out twice */
	sqlite3_stmt *a, *b;
	assert_int_equal(search_stmt_get(db, SEARCH_STMT_FIXED, "select 1 union all select 2", &a,
	                                 NULL, &e),
	                 ST_OK);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(search_stmt_get(db, SEARCH_STMT_FIXED, "select 1 union all select 2", &b,
	                                 NULL, &e),
	                 ST_OK);
	assert_ptr_not_equal(a, b);
	/* release leaves what is running (a), finalizes the rest (b too) */
	assert_int_equal(search_stmt_release(db), 1);
	assert_int_equal(search_stmt_count(db), 1);
	search_stmt_done(a);
	assert_int_equal(search_stmt_release(db), 0);
	assert_int_equal(search_stmt_count(db), 0);
	/* a bad statement is an error, not a kept statement */
	int rc = 0;
	assert_int_equal(search_stmt_get(db, SEARCH_STMT_QUERY, "select from", &a, &rc, &e), ST_DB);
	assert_null(a);
	assert_int_equal(rc, SQLITE_ERROR);
	assert_int_equal(search_stmt_count(db), 0);
}

/* Id lists stay one parameter and use the primary key. */
static void test_id_lists(void **state)
{
	(void)state;
	char plan[2048];
	explain("cid:1,2,3", SEARCH_CARDS, plan, sizeof plan);
	assert_non_null(strstr(plan, "PRIMARY KEY"));
	int64_t *ids;
	size_t n;
	struct errinfo e;
	char q[256];
	snprintf(q, sizeof q, "nid:99999999999999999999,00%lld", (long long)fx.nid[N3]);
	assert_int_equal(search_run(fx.c, q, SEARCH_NOTES, NULL, &ids, &n, &e), ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], fx.nid[N3]);
	free(ids);
	/* a long list (guiBrowse "nid:..." of a big selection) is one parameter */
	size_t cap = 30000 * 16 + 64, o = 0;
	char *big = malloc(cap);
	o += (size_t)snprintf(big, cap, "nid:");
	for (int i = 0; i < 30000; i++)
		o +=
		    (size_t)snprintf(big + o, cap - o, "%lld,", (long long)(fx.nid[N1] + 1000 + i));
	snprintf(big + o, cap - o, "%lld", (long long)fx.nid[N8]);
	struct search_sql s;
	compile(big, SEARCH_NOTES, &s);
	assert_int_equal(s.nparams, 1);
	search_sql_free(&s);
	assert_int_equal(search_run(fx.c, big, SEARCH_NOTES, NULL, &ids, &n, &e), ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], fx.nid[N8]);
	free(ids);
	free(big);
	/* parenthesised, unlike Anki: "not (in deck 1 or from deck 1)" */
	assert_int_equal(search_run(fx.c, "-did:1", SEARCH_CARDS, NULL, &ids, &n, &e), ST_OK);
	char got[128];
	labels_of(ids, n, 1, got, sizeof got);
	assert_string_equal(got, "C2 C3 C4");
	free(ids);
	assert_int_equal(search_run(fx.c, "did:1", SEARCH_CARDS, NULL, &ids, &n, &e), ST_OK);
	assert_int_equal(n, 7); /* C6a by its home deck, no children */
	free(ids);
}

/* Fields marked "exclude from search" (§4.1, §4.3). */
static void test_excluded_fields(void **state)
{
	(void)state;
	struct errinfo e;
	struct notetype nt;
	assert_int_equal(col_load_notetype(fx.c, fx.basic, &nt, &e), ST_OK);
	nt.fields[1].cfg.exclude_from_search = true; /* Back */
	assert_int_equal(col_store_notetype(fx.c, &nt, COL_STORE_NORMAL, &e), ST_OK);
	static const struct {
		const char *q;
		const char *want;
	} cases[] = {
	    {"chien", ""},          /* Back of N1, N2: excluded */
	    {"cat", ""},            /* N4 back */
	    {"dog", "N1 N2 N3 N4"}, /* Front still searched */
	    {"uber", "N5"},         /* other notetype unaffected */
	    {"re:chien", ""},       /* regex: only included fields */
	    {"re:^dog$", "N1"},     /* per field */
	    {"back:chien", "N1"},   /* a field search still sees it */
	    {"w:paris", "N6"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t *ids;
		size_t n;
		if (search_run(fx.c, cases[i].q, SEARCH_NOTES, NULL, &ids, &n, &e))
			fail_msg("%s: %s", cases[i].q, e.msg);
		/* the kept statements of the §10 examples ran before the
		 * notetype changed: they must not answer from the old one */
		kept_agrees(cases[i].q, SEARCH_NOTES, ST_OK, &e, ids, n);
		char got[128];
		labels_of(ids, n, 0, got, sizeof got);
		if (strcmp(got, cases[i].want))
			fail_msg("%s: got [%s] want [%s]", cases[i].q, got, cases[i].want);
		free(ids);
	}
	/* exclude the sort field too: Basic drops out entirely */
	nt.fields[0].cfg.exclude_from_search = true;
	assert_int_equal(col_store_notetype(fx.c, &nt, COL_STORE_NORMAL, &e), ST_OK);
	int64_t *ids;
	size_t n;
	assert_int_equal(search_run(fx.c, "d*g", SEARCH_NOTES, NULL, &ids, &n, &e), ST_OK);
	assert_int_equal(n, 0);
	free(ids);
	nt.fields[0].cfg.exclude_from_search = false;
	nt.fields[1].cfg.exclude_from_search = false;
	assert_int_equal(col_store_notetype(fx.c, &nt, COL_STORE_NORMAL, &e), ST_OK);
	notetype_free(&nt);
}

static void set_config(const char *key, const char *json)
{
	char sql[256];
	snprintf(sql, sizeof sql,
	         "insert or replace into config (KEY, usn, mtime_secs, val) values ('%s', -1, 0, "
	         "cast('%s' as blob))",
	         key, json);
	exec(sql);
}

/* ignoreAccentsInSearch makes plain text and w: ignore accents (§3.3). */
static void test_ignore_accents(void **state)
{
	(void)state;
	struct errinfo e;
	int64_t *ids;
	size_t n;
	assert_int_equal(search_run(fx.c, "w:heisen", SEARCH_NOTES, NULL, &ids, &n, &e), ST_OK);
	assert_int_equal(n, 0);
	free(ids);
	set_config("ignoreAccentsInSearch", "true");
	static const char *const found[] = {"heisen", "w:heisen",
	                                    "\xC3\xBC"
	                                    "ber",
	                                    "w:uber"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(search_run(fx.c, found[i], SEARCH_NOTES, NULL, &ids, &n, &e),
		                 ST_OK);
		assert_int_equal(n, 1);
		free(ids);
	}
	set_config("ignoreAccentsInSearch", "false");
}

/* deck:current follows config curDeck, children included. */
static void test_deck_current(void **state)
{
	(void)state;
	struct errinfo e;
	int64_t *ids;
	size_t n;
	set_config("curDeck", "1000");
	assert_int_equal(search_run(fx.c, "deck:current", SEARCH_CARDS, NULL, &ids, &n, &e), ST_OK);
	char got[128];
	labels_of(ids, n, 1, got, sizeof got);
	assert_string_equal(got, "C2 C3");
	free(ids);
	set_config("curDeck", "424242"); /* missing: Default */
	assert_int_equal(search_run(fx.c, "deck:current", SEARCH_CARDS, NULL, &ids, &n, &e), ST_OK);
	assert_int_equal(n, 7);
	free(ids);
	set_config("curDeck", "1");
}

/* prop:s, prop:d, prop:r, prop:cdn/cds, has-cd on cards.data. */
static void test_card_data_props(void **state)
{
	(void)state;
	struct errinfo e;
	char sql[512];
	/* C2 reviewed 1 h ago (lrt), stability 10 days; C3 via due - ivl */
	snprintf(
	    sql, sizeof sql,
	    "update cards set data = '{\"s\":10.0,\"d\":5.5,\"lrt\":%lld,\"cd\":\"{\\\"v\\\":3,"
	    "\\\"t\\\":\\\"x\\\"}\"}' where id = %lld",
	    (long long)(NOW - 10 * DAY), (long long)fx.cid[C2]);
	exec(sql);
	snprintf(sql, sizeof sql, "update cards set data = '{\"s\":1.0,\"d\":9.1}' where id = %lld",
	         (long long)fx.cid[C3]);
	exec(sql);
	static const struct {
		const char *q;
		const char *want;
	} cases[] = {
	    {"prop:s>5", "C2"},
	    {"prop:s<=2", "C3"},
	    {"prop:d>0.85", "C3"}, /* 0.85 * 9 + 1 = 8.65 */
	    {"prop:d<0.6", "C2"},
	    {"prop:r>0.91", ""},
	    {"prop:r>0.89", "C2"}, /* C2: 10 days (lrt) at s=10 -> 0.9 */
	    {"prop:r<0.91", "C2 C3"},
	    {"prop:r<0.85", "C3"},          /* C3: 2 days (due - ivl) at s=1 -> 0.825 */
	    {"-prop:r<2", "C1 C5b C6b C7"}, /* new: false; no memory state: NULL */
	    {"prop:cdn:v>2", "C2"},
	    {"prop:cdn:v=3", "C2"},
	    {"prop:cds:t=x", "C2"},
	    {"has-cd:v", "C2"},
	    {"has-cd:w", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t *ids;
		size_t n;
		if (search_run(fx.c, cases[i].q, SEARCH_CARDS, NULL, &ids, &n, &e))
			fail_msg("%s: %s", cases[i].q, e.msg);
		char got[128];
		labels_of(ids, n, 1, got, sizeof got);
		if (strcmp(got, cases[i].want))
			fail_msg("%s: got [%s] want [%s]", cases[i].q, got, cases[i].want);
		free(ids);
	}
	exec("update cards set data = '{}'");
	/* the curve itself: R(S days) = 0.9 for any decay */
	assert_true(fabsf(search_fsrs_retrievability(10.0f, 10.0f, 0.5f) - 0.9f) < 1e-6f);
	assert_true(fabsf(search_fsrs_retrievability(3.0f, 3.0f, 0.2f) - 0.9f) < 1e-6f);
	assert_true(search_fsrs_retrievability(10.0f, 0.0f, 0.5f) == 1.0f);
}

/* Bad regexes are search errors, before any SQL runs; catastrophic ones
 * end at the PCRE2 match limit instead of hanging. */
static void test_regex_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "\"re:(\"", "re:a{2,1}", "\"re:(?=x)\"",     "\"re:(a)\\1\"",  "\"re:(?<!x)y\"",
	    "re:a*+",   "re:\\Qx",   "\"tag:re:(?>a)\"", "\"front:re:(\"", "\"*:re:[\"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t *ids;
		size_t n;
		struct errinfo e;
		errinfo_clear(&e);
		assert_int_equal(search_run(fx.c, bad[i], SEARCH_NOTES, NULL, &ids, &n, &e),
		                 ST_INVALID);
		assert_memory_equal(e.msg, "Invalid search: ", 16);
	}
	/* 30 a's and a non-matching end: exponential for a backtracker */
	struct errinfo e;
	int64_t nid =
	    add_note(NOW_MS + 99, fx.basic, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\x1fx", "", NOW);
	int64_t *ids;
	size_t n;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	enum status st = search_run(fx.c, "\"re:^(a|a?)+$\"", SEARCH_NOTES, NULL, &ids, &n, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(st, ST_INVALID);
	assert_non_null(strstr(e.msg, "match limit"));
	assert_true(t1.tv_sec - t0.tv_sec < 20);
	assert_int_equal(col_note_delete(fx.c, nid, &e), ST_OK);
	/* a field-name glob that a backtracking engine cannot decide cheaply
	 * is refused instead of taking seconds per field */
	struct timespec t2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = search_run(fx.c, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*az:x",
	                SEARCH_NOTES, NULL, &ids, &n, &e);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (st == ST_OK)
		free(ids);
	else
		assert_string_equal(e.msg,
		                    "Invalid search: the field name pattern is too complex.");
	assert_true(t2.tv_sec - t0.tv_sec < 5);
	assert_int_equal(search_run(fx.c, "***************************************ront:dog",
	                            SEARCH_NOTES, NULL, &ids, &n, &e),
	                 ST_OK);
	assert_int_equal(n, 1);
	free(ids);
	/* what Rust accepts works */
	assert_int_equal(
	    search_run(fx.c, "\"re:(?i:DOG)|(?P<x>zz)\"", SEARCH_NOTES, NULL, &ids, &n, &e), ST_OK);
	assert_int_equal(n, 4);
	free(ids);
	assert_int_equal(search_run(fx.c, "re:\\p{Cyrillic}+", SEARCH_NOTES, NULL, &ids, &n, &e),
	                 ST_OK);
	assert_int_equal(n, 1);
	free(ids);
}

/* Hostile strings: never a crash, always OK or ST_INVALID with a
 * message starting "Invalid search: ". */
static void test_hostile_inputs(void **state)
{
	(void)state;
	char deep[2000];
	memset(deep, '(', 1000);
	memset(deep + 1000, ')', 999);
	deep[1999] = 0;
	char deep2[1200];
	for (int i = 0; i < 300; i++)
		memcpy(deep2 + 2 * i, "-(", 2);
	memcpy(deep2 + 600, "a", 1);
	memset(deep2 + 601, ')', 300);
	deep2[901] = 0;
	static char many[60000];
	many[0] = 0;
	for (int i = 0; i < 2000; i++)
		strcat(many, "a ");
	const char *inputs[] = {
	    "\"",
	    "\\",
	    "(",
	    ")",
	    "-",
	    "--",
	    "- -",
	    "-and",
	    "-or",
	    "a -and b",
	    "and",
	    "\"and\"",
	    "a\\ b",
	    "\xff\xfe",
	    "a\x01b",
	    "\"\\\"",
	    "x:\"",
	    "(a or (b))",
	    ":",
	    "\\\\",
	    "'",
	    "%",
	    "_",
	    "*",
	    "\x1f",
	    "front:\x1f",
	    "deck:\\\\",
	    "tag:\\",
	    "re:\\",
	    "prop:",
	    "prop:ease>nan",
	    "prop:ease<inf",
	    "prop:ease>-1",
	    "prop:s>1e40",
	    "prop:due>2147483647",
	    "prop:due<-2147483648",
	    "prop:due>2147483648",
	    "rated:4294967295",
	    "rated:4294967296",
	    "added:4294967295",
	    "card:65535",
	    "card:65536",
	    "mid:-9223372036854775808",
	    "mid:9223372036854775808",
	    "flag:+1",
	    "dupe:-1,",
	    "dupe:1,\\",
	    "nid:0",
	    "is:due is:due",
	    deep,
	    deep2,
	    many,
	    "\xE3\x80\x80"
	    "dog\xE3\x80\x80",
	    "dog\xC2\xA0"
	    "cat",
	    "w:\\",
	    "nc:\\\\",
	    "deck:::",
	    "deck:*::*",
	    "deck:\\-",
	    "\"deck:a b\"",
	    "tag:a::",
	    "fr\\*:x",
	    "*:",
	    "_*:",
	    "*_:re:",
	    "x:re:",
	    "x:nc:",
	    "tag:nc:none",
	    "preset:",
	    "sc:",
	};
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		for (int t = 0; t < 2; t++) {
			int64_t *ids = NULL;
			size_t n = 0;
			struct errinfo e;
			errinfo_clear(&e);
			enum status st = search_run(
			    fx.c, inputs[i], t ? SEARCH_CARDS : SEARCH_NOTES, NULL, &ids, &n, &e);
			if (st != ST_OK && st != ST_INVALID)
				fail_msg("input %zu: status %d %s", i, st, e.msg);
			if (st == ST_INVALID)
				assert_memory_equal(e.msg, "Invalid search: ", 16);
			free(ids);
		}
	}
	/* the cases that must work */
	int64_t *ids;
	size_t n;
	struct errinfo e;
	assert_int_equal(search_run(fx.c,
	                            "\xE3\x80\x80"
	                            "dog\xE3\x80\x80",
	                            SEARCH_NOTES, NULL, &ids, &n, &e),
	                 ST_OK);
	assert_int_equal(n, 4);
	free(ids);
	assert_int_equal(search_run(fx.c,
	                            "dog\xC2\xA0"
	                            "cat",
	                            SEARCH_NOTES, NULL, &ids, &n, &e),
	                 ST_OK);
	assert_int_equal(n, 1);
	free(ids);
	assert_int_equal(search_run(fx.c, "\xff", SEARCH_NOTES, NULL, &ids, &n, &e), ST_INVALID);
	assert_int_equal(search_run(fx.c, "-and", SEARCH_NOTES, NULL, &ids, &n, &e), ST_INVALID);
	assert_int_equal(search_run(fx.c, deep, SEARCH_NOTES, NULL, &ids, &n, &e), ST_INVALID);
}

/* An order clause from the caller. */
static void test_order(void **state)
{
	(void)state;
	int64_t *ids;
	size_t n;
	struct errinfo e;
	assert_int_equal(
	    search_run(fx.c, "dog", SEARCH_NOTES, "n.sfld collate nocase desc", &ids, &n, &e),
	    ST_OK);
	assert_int_equal(n, 4);
	/* underdog, doggy, dog, a dog */
	assert_int_equal(ids[0], fx.nid[N4]);
	assert_int_equal(ids[1], fx.nid[N3]);
	assert_int_equal(ids[2], fx.nid[N1]);
	assert_int_equal(ids[3], fx.nid[N2]);
	free(ids);
	/* an order on the other table joins it (cards-only query, note order) */
	assert_int_equal(
	    search_run(fx.c, "is:new", SEARCH_CARDS, "n.sfld collate nocase, c.ord", &ids, &n, &e),
	    ST_OK);
	char got[128];
	labels_of(ids, n, 1, got, sizeof got);
	assert_string_equal(got, "C1 C5b C6b C7");
	assert_int_equal(ids[0], fx.cid[C1]); /* dog, The {{c1::..., über, Москва */
	assert_int_equal(ids[1], fx.cid[C6B]);
	assert_int_equal(ids[2], fx.cid[C5B]);
	assert_int_equal(ids[3], fx.cid[C7]);
	free(ids);
	assert_int_equal(search_run(fx.c, "dog", SEARCH_NOTES, "c.due", &ids, &n, &e), ST_OK);
	assert_int_equal(n, 4);
	free(ids);
}

/* The scheduler day of the fixture. */
static void test_fixture_day(void **state)
{
	(void)state;
	struct sched_timing t;
	struct errinfo e;
	assert_int_equal(col_sched_today(fx.c, &t, &e), ST_OK);
	assert_int_equal(t.days_elapsed, fx.today);
	assert_int_equal(t.next_day_at, NOW + 16 * 3600);
	assert_int_equal(t.now, NOW);
}

int main(void)
{
	static struct CMUnitTest tests[NEXAMPLES + 32];
	static char names[NEXAMPLES][96];
	size_t k = 0;
	tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_fixture_day);
	for (size_t i = 0; i < NEXAMPLES; i++) {
		snprintf(names[i], sizeof names[i], "s10_%03d %s", examples[i].no,
		         examples[i].query);
		tests[k++] =
		    (struct CMUnitTest){names[i], test_example, NULL, NULL, (void *)&examples[i]};
	}
	const struct CMUnitTest more[] = {
	    cmocka_unit_test(test_more_terms),
	    cmocka_unit_test(test_sql_binds_user_text),
	    cmocka_unit_test(test_sql_tables),
	    cmocka_unit_test(test_notes_match_per_card),
	    cmocka_unit_test(test_first_field_uses_csum_index),
	    cmocka_unit_test(test_first_field_case_variants),
	    cmocka_unit_test(test_dupe_uses_csum_index),
	    cmocka_unit_test(test_kept_statements),
	    cmocka_unit_test(test_id_lists),
	    cmocka_unit_test(test_excluded_fields),
	    cmocka_unit_test(test_ignore_accents),
	    cmocka_unit_test(test_deck_current),
	    cmocka_unit_test(test_card_data_props),
	    cmocka_unit_test(test_regex_errors),
	    cmocka_unit_test(test_hostile_inputs),
	    cmocka_unit_test(test_order),
	};
	for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
		tests[k++] = more[i];
	return _cmocka_run_group_tests("search", tests, k, fixture_setup, fixture_teardown);
}
