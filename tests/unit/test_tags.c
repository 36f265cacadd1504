/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_tags.c - tag canonicalisation (collection-format.md §6.1) against
 * a real in-memory SQLite tags table declared like schema 18's (primary
 * key COLLATE unicase), plugged in through struct tags_registry.
 */
#include "testutil.h"

#include <sqlite3.h>
#include <time.h>

#include "tags.h"
#include "unicase.h"

struct memdb {
	sqlite3 *db;
	sqlite3_stmt *get, *add;
	char found[1024];
	int adds;
};

static const char *db_lookup(void *ctx, const char *tag)
{
	struct memdb *m = ctx;
	sqlite3_reset(m->get);
	sqlite3_bind_text(m->get, 1, tag, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(m->get) != SQLITE_ROW)
		return NULL;
	snprintf(m->found, sizeof m->found, "%s", (const char *)sqlite3_column_text(m->get, 0));
	return m->found;
}

static enum status db_add(void *ctx, const char *tag, struct errinfo *e)
{
	struct memdb *m = ctx;
	sqlite3_reset(m->add);
	sqlite3_bind_text(m->add, 1, tag, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(m->add) != SQLITE_DONE)
		return errinfo_set(e, ST_DB, "insert tag: %s", sqlite3_errmsg(m->db));
	m->adds++;
	return ST_OK;
}

static struct memdb *memdb_open(void)
{
	struct memdb *m = calloc(1, sizeof *m);
	assert_int_equal(sqlite3_open(":memory:", &m->db), SQLITE_OK);
	assert_int_equal(unicase_register(m->db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(m->db,
	                 "CREATE TABLE tags (tag text NOT NULL PRIMARY KEY COLLATE unicase, usn "
	                 "integer NOT NULL,"
	                 " collapsed boolean NOT NULL, config blob NULL) WITHOUT ROWID",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(m->db, "SELECT tag FROM tags WHERE tag = ?", -1, &m->get, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(m->db,
	                                    "INSERT INTO tags (tag, usn, collapsed) "
	                                    "VALUES (?, -1, 1)",
	                                    -1, &m->add, NULL),
	                 SQLITE_OK);
	return m;
}

static void memdb_close(struct memdb *m)
{
	sqlite3_finalize(m->get);
	sqlite3_finalize(m->add);
	sqlite3_close(m->db);
	free(m);
}

static void memdb_put(struct memdb *m, const char *tag)
{
	assert_int_equal(db_add(m, tag, NULL), ST_OK);
}

/* Canonify one string through the registry; returns the column text. */
static char *canon(struct memdb *m, const char *in, size_t len, bool *added)
{
	struct tags_registry reg = {db_lookup, db_add, m};
	struct buf b;
	buf_init(&b, 0);
	struct errinfo e = {0};
	if (tags_canonify_string(in, len, m ? &reg : NULL, 0, &b, added, &e) != ST_OK)
		fail_msg("canonify failed: %s", e.msg);
	char *r = strndup((char *)b.data, b.len);
	buf_free(&b);
	return r;
}

#define assert_canon(m, in, want)                                                                  \
	do {                                                                                       \
		char *got_ = canon(m, in, strlen(in), NULL);                                       \
		if (strcmp(got_, want) != 0)                                                       \
			fail_msg("canon(\"%s\") = \"%s\", want \"%s\"", in, got_, want);           \
		free(got_);                                                                        \
	} while (0)

/* The examples of Anki's own tag test, through a fresh database each. */
static void test_anki_examples(void **state)
{
	(void)state;
	struct memdb *m = memdb_open();
	assert_canon(m, "", "");
	assert_canon(m, "foo FOO", " foo ");               /* first instance wins */
	assert_canon(m, "FOO", " foo ");                   /* registered case is used */
	assert_canon(m, "\xef\xa9\x87", " \xe6\xbc\xa2 "); /* NFC: U+FA47 -> U+6F22 */
	assert_canon(m, "one two", " one two ");
	/* blanks: "" and " " vanish, empty components become "blank" */
	const char *in[] = {"", "foo", " ", "::", "foo::"};
	size_t lens[] = {0, 3, 1, 2, 5};
	struct tags_registry reg = {db_lookup, db_add, m};
	struct tags_list l;
	assert_int_equal(tags_canonify(in, lens, 5, &reg, 0, &l, NULL, NULL), ST_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "blank::blank");
	assert_string_equal(l.v[1], "foo");
	assert_string_equal(l.v[2], "foo::blank");
	tags_list_free(&l);
	memdb_close(m);
}

static void test_registration(void **state)
{
	(void)state;
	struct memdb *m = memdb_open();
	bool added = false;
	char *r = canon(m, "Alpha beta", 10, &added);
	assert_string_equal(r, " Alpha beta ");
	free(r);
	assert_true(added);
	assert_int_equal(m->adds, 2);
	r = canon(m, "ALPHA", 5, &added);
	assert_string_equal(r, " Alpha ");
	free(r);
	assert_false(added);
	assert_int_equal(m->adds, 2);
	/* a new tag registered early in the call is seen later in it */
	assert_canon(m, "Gamma GAMMA gamma", " Gamma ");
	assert_int_equal(m->adds, 3);
	/* without a registry: no case adoption, first spelling wins */
	assert_canon(NULL, "Foo foo FOO", " Foo ");
	memdb_close(m);
}

static void test_parent_case(void **state)
{
	(void)state;
	struct memdb *m = memdb_open();
	memdb_put(m, "Parent");
	memdb_put(m, "A::B");
	memdb_put(m, "x::Y::z");
	assert_canon(m, "parent::child", " Parent::child ");
	assert_canon(m, "a::b::c::d", " A::B::c::d "); /* closest registered parent */
	assert_canon(m, "a::c", " a::c ");             /* "a" itself is not registered */
	assert_canon(m, "X::y::Z::w", " x::Y::z::w ");
	assert_canon(m, "PARENT::CHILD", " Parent::child "); /* registered above */
	/* components normalised before lookup */
	assert_canon(m, "parent::\xe2\x80\x83spaced\xc2\xa0", " Parent::spaced ");
	memdb_close(m);
}

static void test_normalisation(void **state)
{
	(void)state;
	assert_canon(NULL,
	             "a\xe3\x80\x80"
	             "b",
	             " a b "); /* U+3000 separates */
	assert_canon(NULL,
	             "a\tb\x01"
	             "c\x7f",
	             " abc ");                          /* controls removed */
	assert_canon(NULL, "\xc2\xa0x\xc2\xa0", " x "); /* trimmed White_Space */
	assert_canon(NULL, "\xc2\xa0", " blank ");
	assert_canon(NULL, "x::\t::y", " x::blank::y ");
	assert_canon(NULL, "a:::b", " a:::b ");        /* split is left to right */
	assert_canon(NULL, "e\xcc\x81", " \xc3\xa9 "); /* NFC */
	assert_canon(NULL, "\xff", " \xef\xbf\xbd ");  /* invalid UTF-8 -> U+FFFD */
	assert_canon(NULL, "   ", "");
	/* unicase order: '_' before letters, case-insensitive, code points */
	assert_canon(NULL, "b é _x A Z", " _x A b Z é ");
	assert_canon(NULL, "Straße STRASSE strasse", " Straße ");
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(tags_normalize_name(" a :: ", 6, &b, NULL), ST_OK);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "a::blank", 8);
	buf_free(&b);
}

static void test_limits(void **state)
{
	(void)state;
	struct buf in, out;
	buf_init(&in, 0);
	buf_init(&out, 0);
	for (int i = 0; i < 100000; i++)
		buf_printf(&in, NULL, "t%d T%d ", (i * 7919) % 100000, i);
	const char *s = (const char *)in.data;
	size_t len = in.len;
	clock_t t0 = clock();
	assert_int_equal(tags_canonify_string(s, len, NULL, 0, &out, NULL, NULL), ST_OK);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 20.0);
	/* 100000 distinct names, each seen twice in two cases */
	size_t spaces = 0;
	for (size_t i = 0; i < out.len; i++)
		spaces += out.data[i] == ' ';
	assert_int_equal(spaces, 100001);
	struct tags_list l;
	assert_int_equal(tags_canonify(&s, &len, 1, NULL, 1000, &l, NULL, NULL), ST_TOOBIG);
	/* random bytes never crash and always give valid, canonical output */
	uint64_t x = 88172645463325252ull;
	for (int iter = 0; iter < 2000; iter++) {
		unsigned char r[64];
		size_t n = 0;
		for (; n < (size_t)(x % 64); n++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			r[n] = (x & 3) == 0 ? ' ' : (x & 3) == 1 ? ':' : (unsigned char)(x >> 8);
		}
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		assert_int_equal(tags_canonify_string((char *)r, n, NULL, 0, &out, NULL, NULL),
		                 ST_OK);
		assert_true(out.len == 0 || (out.data[0] == ' ' && out.data[out.len - 1] == ' '));
	}
	buf_free(&in);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_anki_examples), cmocka_unit_test(test_registration),
	    cmocka_unit_test(test_parent_case),   cmocka_unit_test(test_normalisation),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
