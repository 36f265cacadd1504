/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_unicase.c - the unicase collation (collection-format.md §1.2):
 * ordering cases, invalid UTF-8, no allocation, and PRAGMA integrity_check
 * on every schema >= 15 database among the fixtures (those built by Anki
 * with its own collation, so only an identical order passes).
 */
#include "testutil.h"

/* From the sanitizer runtime (its header is not installed here); the
 * build without sanitizers (for valgrind) skips the test that needs it. */
#ifdef __SANITIZE_ADDRESS__
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
#endif

#include "unicase.h"

#include "fixcol.h"

static int sgn(int v)
{
	return (v > 0) - (v < 0);
}

static int cmp(const char *a, const char *b)
{
	return sgn(unicase_compare(a, -1, b, -1));
}

static void test_ascii(void **state)
{
	(void)state;
	assert_int_equal(cmp("abc", "ABC"), 0);
	assert_int_equal(cmp("Default", "default"), 0);
	assert_int_equal(cmp("a", "B"), -1);
	assert_int_equal(cmp("B", "a"), 1);
	assert_int_equal(cmp("abc", "abcd"), -1); /* prefix first */
	assert_int_equal(cmp("ABCD", "abc"), 1);
	assert_int_equal(cmp("", ""), 0);
	assert_int_equal(cmp("", "a"), -1);
	/* '_' (0x5F) sorts before letters, even capitals (lowercased 0x61..) */
	assert_int_equal(cmp("_", "A"), -1);
	assert_int_equal(cmp("[", "a"), -1);
	assert_int_equal(cmp("Z", "["), 1);
	/* explicit lengths: not NUL-terminated, embedded NUL counts */
	assert_int_equal(sgn(unicase_compare("abcX", 3, "ABCY", 3)), 0);
	assert_int_equal(sgn(unicase_compare("a\0b", 3, "a\0c", 3)), -1);
	assert_int_equal(sgn(unicase_compare("a", 1, "a\0", 2)), -1);
}

static void test_unicode(void **state)
{
	(void)state;
	assert_int_equal(cmp("ß", "ss"), 0);
	assert_int_equal(cmp("ß", "SS"), 0);
	assert_int_equal(cmp("Straße", "STRASSE"), 0);
	assert_int_equal(cmp("Maße", "MASSE"), 0);
	assert_int_equal(cmp("Straß", "Strasse"), -1); /* "strass" prefix */
	assert_int_equal(cmp("ẞ", "ss"), 0);           /* capital sharp s */
	assert_int_equal(cmp("ﬃ", "FFI"), 0);          /* ligature, status F */
	assert_int_equal(cmp("\xe2\x84\xaa", "k"), 0); /* KELVIN SIGN */
	assert_int_equal(cmp("É", "é"), 0);
	assert_int_equal(cmp("e", "é"), -1);
	/* ASCII vs non-ASCII: code point order after folding */
	assert_int_equal(cmp("z", "é"), -1);
	assert_int_equal(cmp("Z", "é"), -1);
	assert_int_equal(cmp("é", "Z"), 1);
	assert_int_equal(cmp("abc", "abcé"), -1);
	assert_int_equal(cmp("abcé", "ABC"), 1);
	/* Turkish: İ folds to i + U+0307 (status F); the T mappings are not
	 * used; dotless ı has no folding. */
	assert_int_equal(cmp("İ", "i\xcc\x87"), 0);
	assert_int_equal(cmp("İ", "i"), 1);
	assert_int_equal(cmp("İ", "I"), 1);
	assert_int_equal(cmp("ı", "I"), 1);
	assert_int_equal(cmp("ı", "i"), 1);
	/* Greek: final sigma and capital sigma fold to σ */
	assert_int_equal(cmp("ΟΔΟΣ", "οδος"), 0);
	assert_int_equal(cmp("οδος", "οδοσ"), 0);
	assert_int_equal(cmp("ς", "Σ"), 0);
	assert_int_equal(cmp("α", "Β"), -1);
	/* no normalisation: precomposed vs combining sequence differ */
	assert_int_equal(cmp("é", "e\xcc\x81"), 1);
	/* CJK and emoji have no folding: plain code point order */
	assert_int_equal(cmp("英语", "英语词汇"), -1);
	assert_int_equal(cmp("😀", "英"), 1);
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	/* read like Rust's from_utf8_lossy: maximal ill-formed subpart -> U+FFFD */
	assert_int_equal(cmp("\xff", "\xef\xbf\xbd"), 0);
	assert_int_equal(cmp("\xf0\x9f\x98", "\xef\xbf\xbd"), 0);         /* truncated 4-byte */
	assert_int_equal(cmp("\xe0\x80", "\xef\xbf\xbd\xef\xbf\xbd"), 0); /* E0 80: two */
	assert_int_equal(cmp("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"), 0);
	assert_int_equal(cmp("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"), 0); /* overlong */
	assert_int_equal(cmp("a\x80"
	                     "b",
	                     "A\xef\xbf\xbd"
	                     "B"),
	                 0);
	assert_int_equal(
	    cmp("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"), 0);
	assert_int_equal(cmp("\xc3", "\xc3\xa9"), 1); /* U+FFFD > é */
	assert_int_equal(cmp("z", "\x80"), -1);
	/* truncated at an explicit length in the middle of a sequence */
	assert_int_equal(sgn(unicase_compare("\xc3\xa9", 1, "\xef\xbf\xbd", 3)), 0);

	/* total order: antisymmetric and transitive over awkward inputs */
	static const char *const s[] = {"",
	                                "a",
	                                "A",
	                                "ß",
	                                "ss",
	                                "SSS",
	                                "\xff",
	                                "\xc3",
	                                "\xe0\x80",
	                                "İ",
	                                "i",
	                                "ı",
	                                "Σ",
	                                "ς",
	                                "é",
	                                "e\xcc\x81",
	                                "z",
	                                "_",
	                                "\xf0\x9f\x98\x80",
	                                "\xf0\x9f\x98",
	                                "ﬃ",
	                                "ffi",
	                                "ffj",
	                                "\x7f",
	                                "\x01"};
	size_t n = sizeof s / sizeof s[0];
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			assert_int_equal(cmp(s[i], s[j]), -cmp(s[j], s[i]));
			for (size_t k = 0; k < n; k++)
				if (cmp(s[i], s[j]) <= 0 && cmp(s[j], s[k]) <= 0)
					assert_true(cmp(s[i], s[k]) <= 0);
		}
}

#ifdef __SANITIZE_ADDRESS__
static volatile size_t allocations; /* volatile: GCC assumes malloc touches no globals */

static void count_malloc(const volatile void *p, size_t size)
{
	(void)p;
	(void)size;
	allocations++;
}

static void ignore_free(const volatile void *p)
{
	(void)p;
}

static void test_no_allocation(void **state)
{
	(void)state;
	char big[4096];
	memset(big, 'A', sizeof big);
	volatile int sink = 0;
	__sanitizer_install_malloc_and_free_hooks(count_malloc, ignore_free);
	allocations = 0;
	for (int i = 0; i < 1000; i++) {
		sink += unicase_compare(big, (int)sizeof big, "aaaa", 4);
		sink += unicase_compare("Default", 7, "default", 7);
	}
	size_t ascii = allocations;
	for (int i = 0; i < 1000; i++)
		sink += unicase_compare("Straße", -1, "STRASSE\xff", -1);
	size_t unicode = allocations - ascii;
	void *volatile control = malloc(16); /* proves the hook sees allocations */
	size_t after_control = allocations - ascii - unicode;
	__sanitizer_install_malloc_and_free_hooks(NULL, NULL);
	free(control);
	assert_int_equal(after_control, 1);
	(void)sink;
	assert_int_equal(ascii, 0);
	assert_int_equal(unicode, 0);
}
#else
static void test_no_allocation(void **state)
{
	(void)state;
	skip();
}
#endif

/* The collation through SQL: ORDER BY, DISTINCT and a unique index. */
static void test_sql(void **state)
{
	(void)state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(unicase_register(db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
	                 "CREATE TABLE t(name TEXT COLLATE unicase PRIMARY KEY) WITHOUT ROWID;"
	                 "INSERT INTO t VALUES ('b'),('Straße'),('_x'),('A'),('é'),('Z');",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	/* 'STRASSE' collides with 'Straße' on the primary key */
	assert_int_equal(sqlite3_exec(db, "INSERT INTO t VALUES ('STRASSE')", NULL, NULL, NULL),
	                 SQLITE_CONSTRAINT);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT group_concat(name, '|') FROM "
	                                    "(SELECT name FROM t ORDER BY name)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "_x|A|b|Straße|Z|é");
	sqlite3_finalize(st);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE name = 'strasse'", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* PRAGMA integrity_check's single text answer, or NULL if it failed. */
static char *integrity(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	char *res = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		res = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return res;
}

static int reversed(void *ctx, int alen, const void *a, int blen, const void *b)
{
	(void)ctx;
	return -unicase_compare(a, alen, b, blen);
}

static void test_fixture_integrity(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	struct fixcol *cols;
	int n = fixcol_all(dir, &cols);
	int checked = 0;
	for (int i = 0; i < n; i++) {
		sqlite3 *db = fixcol_open(cols[i].path);
		int ver = fixcol_schema(db);
		sqlite3_close(db);
		if (ver < 15)
			continue;
		checked++;

		/* without the collation: refused */
		db = fixcol_open(cols[i].path);
		char *r = integrity(db);
		if (r)
			fail_msg("%s: integrity_check without unicase gave '%s'", cols[i].label, r);
		sqlite3_close(db);

		/* with it: ok */
		db = fixcol_open(cols[i].path);
		assert_int_equal(unicase_register(db), SQLITE_OK);
		r = integrity(db);
		if (!r || strcmp(r, "ok") != 0)
			fail_msg("%s: integrity_check: %s", cols[i].label,
			         r ? r : sqlite3_errmsg(db));
		free(r);
		sqlite3_close(db);

		/* with a wrong order: the indexes look corrupt */
		db = fixcol_open(cols[i].path);
		assert_int_equal(
		    sqlite3_create_collation_v2(db, "unicase", SQLITE_UTF8, NULL, reversed, NULL),
		    SQLITE_OK);
		r = integrity(db);
		assert_non_null(r);
		if (strcmp(r, "ok") == 0)
			fail_msg("%s: reversed collation passed integrity_check", cols[i].label);
		free(r);
		sqlite3_close(db);
	}
	/* new-empty-v18, schema16-empty, v18-two-decks, and the anki21b member
	 * of latest-20notes, latest-459notes-revlog, latest-empty-backup */
	assert_int_equal(checked, 6);
	free(cols);
	tu_rmtree(dir);
}

/* Names that Anki stored through its indexes come back strictly ascending
 * under our order (latest-459notes-revlog has non-ASCII names: 英语...). */
static void test_fixture_name_order(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	struct fixcol *cols;
	int n = fixcol_all(dir, &cols);
	int rows = 0;
	for (int i = 0; i < n; i++) {
		sqlite3 *db = fixcol_open(cols[i].path);
		if (fixcol_schema(db) < 15) {
			sqlite3_close(db);
			continue;
		}
		assert_int_equal(unicase_register(db), SQLITE_OK);
		static const char *const q[] = {"SELECT name FROM decks ORDER BY name",
		                                "SELECT name FROM notetypes ORDER BY name",
		                                "SELECT tag FROM tags",
		                                "SELECT name FROM deck_config ORDER BY name"};
		for (size_t k = 0; k < sizeof q / sizeof q[0]; k++) {
			sqlite3_stmt *st;
			assert_int_equal(sqlite3_prepare_v2(db, q[k], -1, &st, NULL), SQLITE_OK);
			char prev[512] = "";
			int have = 0;
			while (sqlite3_step(st) == SQLITE_ROW) {
				const char *s = (const char *)sqlite3_column_text(st, 0);
				if (have)
					assert_true(unicase_compare(prev, -1, s, -1) < 0);
				snprintf(prev, sizeof prev, "%s", s);
				have = 1;
				rows++;
			}
			sqlite3_finalize(st);
		}
		sqlite3_close(db);
	}
	assert_true(rows > 20);
	free(cols);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ascii),
	    cmocka_unit_test(test_unicode),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_no_allocation),
	    cmocka_unit_test(test_sql),
	    cmocka_unit_test(test_fixture_integrity),
	    cmocka_unit_test(test_fixture_name_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
