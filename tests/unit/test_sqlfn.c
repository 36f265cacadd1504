/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_sqlfn.c - Anki's SQL functions (collection-format.md §1.3), all
 * exercised through real SQL on an in-memory database and on fixture
 * collections; strip_clozes is also checked against PCRE2 running Anki's
 * CLOZE pattern.
 */
#include "testutil.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <time.h>

#include "sqlfn.h"
#include "text.h"

#include "fixcol.h"

static sqlite3 *mem(void)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlfn_register(db), SQLITE_OK);
	return db;
}

/* Run a one-value query; returns a malloc'd text, "NULL", or "ERR: msg". */
static char *q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		char *r;
		assert_true(asprintf(&r, "ERR: %s", sqlite3_errmsg(db)) > 0);
		return r;
	}
	int rc = sqlite3_step(st);
	char *r = NULL;
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			r = strdup("NULL");
		else
			r = strndup((const char *)sqlite3_column_text(st, 0),
			            (size_t)sqlite3_column_bytes(st, 0));
	} else {
		assert_true(asprintf(&r, "ERR: %s", sqlite3_errmsg(db)) > 0);
	}
	sqlite3_finalize(st);
	return r;
}

#define assert_q(db, sql, want)                                                                    \
	do {                                                                                       \
		char *got_ = q1(db, sql);                                                          \
		if (strcmp(got_, want) != 0)                                                       \
			fail_msg("%s\n  gave [%s]\n  want [%s]", sql, got_, want);                 \
		free(got_);                                                                        \
	} while (0)

#define assert_q_err(db, sql)                                                                      \
	do {                                                                                       \
		char *got_ = q1(db, sql);                                                          \
		if (strncmp(got_, "ERR: ", 5) != 0)                                                \
			fail_msg("%s\n  gave [%s], want an error", sql, got_);                     \
		free(got_);                                                                        \
	} while (0)

static void test_field_at_index(void **state)
{
	(void)state;
	sqlite3 *db = mem();
	assert_q(db, "SELECT field_at_index('a' || char(31) || 'bb' || char(31) || 'c', 1)", "bb");
	assert_q(db, "SELECT field_at_index('a' || char(31) || 'bb', 0)", "a");
	assert_q(db, "SELECT field_at_index('a' || char(31), 1)", "");
	assert_q(db, "SELECT field_at_index('a', 5)", "");
	assert_q(db, "SELECT field_at_index('', 0)", "");
	assert_q(db, "SELECT field_at_index('a', 65535)", "");
	assert_q_err(db, "SELECT field_at_index('a', 65536)");
	assert_q_err(db, "SELECT field_at_index('a', -1)");
	assert_q_err(db, "SELECT field_at_index('a', 0.5)");
	assert_q_err(db, "SELECT field_at_index(5, 0)");
	assert_q_err(db, "SELECT field_at_index(NULL, 0)");
	assert_q(db, "SELECT 'a' = 'A' COLLATE unicase", "1"); /* collation registered too */
	sqlite3_close(db);
}

static void test_regexp(void **state)
{
	(void)state;
	sqlite3 *db = mem();
	assert_q(db, "SELECT 'abc' REGEXP 'b'", "1");
	assert_q(db, "SELECT regexp('b', 'abc')", "1");
	assert_q(db, "SELECT 'ABC' REGEXP 'b'", "0");
	assert_q(db, "SELECT 'ABC' REGEXP '(?i)b'", "1");
	assert_q(db, "SELECT 'CAFÉ' REGEXP '(?i)^café$'", "1");  /* Unicode case folding */
	assert_q(db, "SELECT 'straße' REGEXP '^\\w+$'", "1");    /* Unicode \\w */
	assert_q(db, "SELECT '١٢٣' REGEXP '^\\d+$'", "1");       /* Unicode \\d */
	assert_q(db, "SELECT 'a' || char(10) REGEXP 'a$'", "0"); /* $ only at the end */
	assert_q(db, "SELECT 'a' || char(10) || 'b' REGEXP '(?m)a$'", "1");
	assert_q(db, "SELECT 'a' || char(10) || 'b' REGEXP 'a.b'", "0"); /* . excludes LF */
	assert_q(db, "SELECT 'a' || char(10) || 'b' REGEXP '(?s)a.b'", "1");
	assert_q(db, "SELECT 'a' || char(13) || 'b' REGEXP 'a.b'", "1"); /* ...but not CR */
	assert_q(db, "SELECT 'x' || char(31) || 'y' REGEXP 'x.y'", "1");
	assert_q(db, "SELECT '' REGEXP ''", "1");
	assert_q(db, "SELECT CAST(X'61FF62' AS TEXT) REGEXP 'b'", "1"); /* invalid UTF-8 subject */
	assert_q_err(db, "SELECT 'a' REGEXP '('");
	assert_q_err(db, "SELECT 'a' REGEXP NULL");
	assert_q_err(db, "SELECT NULL REGEXP 'a'");
	assert_q_err(db, "SELECT 5 REGEXP '5'");
	/* a catastrophic pattern ends with an error, quickly */
	clock_t t0 = clock();
	assert_q_err(db,
	             "SELECT 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx!y' REGEXP "
	             "'^(x+x+)+y'");
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 20.0);

	/* many rows: constant pattern (cached) and per-row patterns */
	assert_int_equal(
	    sqlite3_exec(
	        db,
	        "CREATE TABLE t(s TEXT, p TEXT);"
	        "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 999) "
	        "INSERT INTO t SELECT 'row' || i, CASE i % 3 WHEN 0 THEN '0$' WHEN 1 THEN '^row1' "
	        "ELSE 'z' END FROM c",
	        NULL, NULL, NULL),
	    SQLITE_OK);
	assert_q(db, "SELECT count(*) FROM t WHERE s REGEXP '5$'", "100");
	assert_q(db, "SELECT count(*) FROM t WHERE s REGEXP '(?i)^ROW9'", "111");
	/* 0$: i%3==0 and i%10==0 -> 34; ^row1: i%3==1 and starts with 1 -> 39 */
	assert_q(db, "SELECT count(*) FROM t WHERE s REGEXP p", "73");
	sqlite3_close(db);
}

static void test_regexp_fields_tags(void **state)
{
	(void)state;
	sqlite3 *db = mem();
	assert_int_equal(sqlite3_exec(db,
	                              "CREATE TABLE n(flds TEXT, tags TEXT);"
	                              "INSERT INTO n VALUES ('apple' || char(31) || 'Banana' || "
	                              "char(31) || '', ' fruit::red Yellow ');",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_q(db, "SELECT regexp_fields('(?i)banana', flds) FROM n", "1");
	assert_q(db, "SELECT regexp_fields('(?i)banana', flds, 1) FROM n", "1");
	assert_q(db, "SELECT regexp_fields('(?i)banana', flds, 0) FROM n", "0");
	assert_q(db, "SELECT regexp_fields('(?i)banana', flds, 0, 2, 1) FROM n", "1");
	assert_q(db, "SELECT regexp_fields('^$', flds, 2) FROM n", "1"); /* empty last field */
	assert_q(db, "SELECT regexp_fields('^$', flds, 0, 1) FROM n", "0");
	assert_q(db, "SELECT regexp_fields('apple', flds, 7) FROM n", "0"); /* no such field */
	assert_q(db, "SELECT regexp_fields('a.*B', flds) FROM n", "0");     /* per field */
	assert_q_err(db, "SELECT regexp_fields('a') FROM n");
	assert_q_err(db, "SELECT regexp_fields('a', flds, -1) FROM n");
	assert_q_err(db, "SELECT regexp_fields('a', flds, 'x') FROM n");
	assert_q_err(db, "SELECT regexp_fields('a', 5)");
	assert_q(db, "SELECT regexp_tags('(?i)^yellow$', tags) FROM n", "1");
	assert_q(db, "SELECT regexp_tags('(?i)^fruit::red$', tags) FROM n", "1");
	assert_q(db, "SELECT regexp_tags('^fruit$', tags) FROM n", "0");
	assert_q(db, "SELECT regexp_tags('^$', tags) FROM n", "1");    /* the empty edge pieces */
	assert_q(db, "SELECT regexp_tags('red Y', tags) FROM n", "0"); /* never across a space */
	assert_q(db, "SELECT regexp_tags('x', '')", "0");
	/* Anki's tag search shape */
	assert_q(db, "SELECT tags REGEXP '(?i).* fruit::red(::| ).*' FROM n", "1");
	sqlite3_close(db);
}

static void test_process_text(void **state)
{
	(void)state;
	sqlite3 *db = mem();
	assert_q(db, "SELECT process_text('café', 1)", "cafe");
	assert_q(db, "SELECT process_text('Ærøskøbing ß ı Œuvre €5', 1)",
	         "AEroskobing s i OEuvre E5");
	assert_q(db, "SELECT process_text('ﬁ ①', 1)", "fi 1");   /* NFKD */
	assert_q(db, "SELECT process_text('plain', 1)", "NULL"); /* unchanged: NULL */
	assert_q(db, "SELECT coalesce(process_text('plain', 1), 'plain')", "plain");
	assert_q(db, "SELECT process_text('a {{c1::b::hint}} c', 2)", "a b c");
	assert_q(db, "SELECT process_text('{{c1,2::x}}{{c3::}}{{c4::::h}}', 2)", "x");
	assert_q(db, "SELECT process_text('{{c١::x}}', 2)", "x"); /* Unicode \\d */
	assert_q(db, "SELECT process_text('{{c1::a{{c2::b}}}}', 2)", "a{{c2}}");
	assert_q(db, "SELECT process_text('{{c1::unclosed', 2)", "NULL");
	assert_q(db, "SELECT process_text('{{C1::x}}', 2)", "NULL");
	assert_q(db, "SELECT process_text('{{c1::é}}', 3)", "e"); /* clozes, then marks */
	assert_q(db, "SELECT process_text('{{c1::é}}', 0)", "NULL");
	assert_q(db, "SELECT process_text('{{c1::é}}', 256 + 2)", "é"); /* flags truncated to u8 */
	assert_q_err(db, "SELECT process_text('x', '1')");
	assert_q_err(db, "SELECT process_text(5, 1)");
	sqlite3_close(db);
}

static void test_fnvhash(void **state)
{
	(void)state;
	sqlite3 *db = mem();
	assert_q(db, "SELECT fnvhash()", "-3750763034362895579");
	assert_q(db, "SELECT fnvhash(1)", "-8517097267634966620");
	assert_q(db, "SELECT fnvhash(1, 2)", "8581494755304202342");
	assert_q(db, "SELECT fnvhash(-1)", "-8289690350564177859");
	assert_q_err(db, "SELECT fnvhash(1.5)");
	assert_q_err(db, "SELECT fnvhash('1')");
	assert_q_err(db, "SELECT fnvhash(NULL)");
	sqlite3_close(db);
}

static void test_card_data(void **state)
{
	(void)state;
	sqlite3 *db = mem();
	const char *d = "'{\"pos\":5,\"s\":12.116,\"d\":5.61,\"dr\":0.9,\"lrt\":1700000000}'";
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT extract_original_position(%s)", d);
	assert_q(db, sql, "5");
	snprintf(sql, sizeof sql,
	         "SELECT extract_fsrs_variable(%s, 's') = CAST(12.116000175476074 AS REAL)", d);
	assert_q(db, sql, "1"); /* f32 precision, widened */
	snprintf(sql, sizeof sql, "SELECT extract_fsrs_variable(%s, 'dr') = 0.8999999761581421", d);
	assert_q(db, sql, "1");
	snprintf(sql, sizeof sql, "SELECT extract_fsrs_variable(%s, 'd') = 5.610000133514404", d);
	assert_q(db, sql, "1");
	snprintf(sql, sizeof sql, "SELECT extract_fsrs_variable(%s, 'x')", d);
	assert_q_err(db, sql);
	assert_q(db, "SELECT extract_fsrs_variable('{\"s\":3}', 's')", "3.0");
	assert_q(db, "SELECT extract_fsrs_variable('{\"s\":\"3\"}', 's')", "NULL");
	assert_q(db, "SELECT extract_fsrs_variable('', 'x')", "NULL"); /* empty before key */
	assert_q(db, "SELECT extract_fsrs_variable(NULL, 's')", "NULL");
	assert_q(db, "SELECT extract_fsrs_variable('{}', 5)", "NULL");
	assert_q(db, "SELECT extract_original_position('')", "NULL");
	assert_q(db, "SELECT extract_original_position('{}')", "NULL");
	assert_q(db, "SELECT extract_original_position('nonsense')", "NULL");
	assert_q(db, "SELECT extract_original_position('{\"pos\":-1}')", "NULL");
	assert_q(db, "SELECT extract_original_position('{\"pos\":5.0}')", "NULL");
	assert_q(db, "SELECT extract_original_position('{\"pos\":4294967295}')", "4294967295");
	assert_q(db, "SELECT extract_original_position('{\"pos\":4294967296}')", "NULL");
	assert_q(db, "SELECT extract_original_position('{\"pos\":\"5\"}')", "NULL");
	assert_q(db, "SELECT extract_original_position('{\"pos\":5,\"x\":[1,{}]}')", "5");
	/* a "cd" that is not a string invalidates the whole record */
	assert_q(db, "SELECT extract_original_position('{\"pos\":5,\"cd\":1}')", "NULL");
	assert_q(db, "SELECT extract_original_position('{\"pos\":5,\"cd\":null}')", "NULL");
	assert_q(db, "SELECT extract_original_position('{\"pos\":5,\"s\":\"bad\"}')", "5");
	/* serde accepts the array form, fields in declaration order */
	assert_q(db, "SELECT extract_original_position('[7]')", "7");
	assert_q(db, "SELECT extract_fsrs_variable('[7, 2.5]', 's')", "2.5");
	assert_q(db, "SELECT extract_original_position('[1,2,3,4,5,6,\"\",8]')", "NULL");
	assert_q(db, "SELECT extract_original_position(5)", "NULL");

	const char *cd =
	    "'{\"cd\":\"{\\\"r\\\":1,\\\"t\\\":\\\"x\\\",\\\"o\\\":{\\\"b\\\":1,\\\"a\\\":"
	    "[1.5,2e-7,true,null,1e21,100.0,0.0001,\\\"q\\\\\\\"\\\\u0001\\\"]}}\"}'";
	snprintf(sql, sizeof sql, "SELECT extract_custom_data(%s, 'r')", cd);
	assert_q(db, sql, "1");
	snprintf(sql, sizeof sql, "SELECT extract_custom_data(%s, 't')", cd);
	assert_q(db, sql, "x");
	snprintf(sql, sizeof sql, "SELECT extract_custom_data(%s, 'o')", cd);
	assert_q(db, sql,
	         "{\"a\":[1.5,2e-7,true,null,1e21,100.0,0.0001,\"q\\\"\\u0001\"],\"b\":1}");
	snprintf(sql, sizeof sql, "SELECT extract_custom_data(%s, 'missing')", cd);
	assert_q(db, sql, "NULL");
	assert_q(db, "SELECT extract_custom_data('{\"cd\":\"[1]\"}', '0')", "NULL");
	assert_q(db, "SELECT extract_custom_data('{\"cd\":\"\"}', 'r')", "NULL");
	assert_q(db, "SELECT extract_custom_data('{}', 'r')", "NULL");
	assert_q(db, "SELECT extract_custom_data('', 'r')", "NULL");
	assert_q(db, "SELECT extract_custom_data('{\"cd\":\"{\\\"r\\\":-0.5}\"}', 'r')", "-0.5");
	assert_q(db, "SELECT extract_custom_data('{\"cd\":\"{\\\"r\\\":1.25e-9}\"}', 'r')",
	         "1.25e-9");
	assert_q(
	    db,
	    "SELECT extract_custom_data('{\"cd\":\"{\\\"r\\\":123456789012345678901.0}\"}', 'r')",
	    "1.2345678901234568e20");
	assert_q(db, "SELECT extract_custom_data('{\"cd\":\"{\\\"r\\\":12345.678}\"}', 'r')",
	         "12345.678");
	assert_q(db, "SELECT extract_custom_data('{\"cd\":\"{\\\"r\\\":1e16}\"}', 'r')", "1e16");
	assert_q(db, "SELECT extract_custom_data('{\"cd\":\"{\\\"r\\\":1e15}\"}', 'r')",
	         "1000000000000000.0");
	/* Anki's search shape */
	assert_q(db,
	         "SELECT CAST(extract_custom_data('{\"cd\":\"{\\\"r\\\":1}\"}', 'r') AS float) = 1",
	         "1");
	sqlite3_close(db);
}

/* strip_clozes against PCRE2 running Anki's CLOZE pattern */
static void test_strip_clozes_differential(void **state)
{
	(void)state;
	int errc;
	PCRE2_SIZE erroff;
	pcre2_code *re =
	    pcre2_compile((PCRE2_SPTR) "(?s)\\{\\{c[\\d,]+::(.*?)(::.*?)?\\}\\}",
	                  PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &errc, &erroff, NULL);
	assert_non_null(re);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	static const char *const tokens[] = {"{{c", "{{", "c", "1", "2",  ",", "::",     ":",
	                                     "}}",  "}",  "x", " ", "\n", "١", "{{c1::", "é"};
	uint64_t x = 0x853c49e6748fea9bull;
	struct buf in, want, got;
	buf_init(&in, 0);
	buf_init(&want, 0);
	buf_init(&got, 0);
	int rewrites = 0;
	for (int iter = 0; iter < 5000; iter++) {
		buf_reset(&in);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int ntok = 1 + (int)(x % 20);
		for (int t = 0; t < ntok; t++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf_append_str(&in, tokens[x % (sizeof tokens / sizeof *tokens)], NULL);
		}
		const char *s = (const char *)in.data;
		buf_reset(&want);
		size_t pos = 0, copied = 0;
		while (pcre2_match(re, (PCRE2_SPTR)s, in.len, pos, 0, md, NULL) >= 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			buf_append(&want, s + copied, ov[0] - copied, NULL);
			buf_append(&want, s + ov[2], ov[3] - ov[2], NULL);
			copied = pos = ov[1];
		}
		buf_append(&want, s + copied, in.len - copied, NULL);
		int changed;
		assert_int_equal(sqlfn_strip_clozes(s, in.len, &got, &changed, NULL), ST_OK);
		if (got.len != want.len || memcmp(got.data, want.data, got.len))
			fail_msg("[%s]: pcre2 [%.*s], ours [%.*s]", s, (int)want.len, want.data,
			         (int)got.len, got.data);
		rewrites += changed;
	}
	assert_true(rewrites > 300);
	buf_free(&in);
	buf_free(&want);
	buf_free(&got);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
}

static void test_hostile(void **state)
{
	(void)state;
	struct buf b, out;
	buf_init(&b, 0);
	buf_init(&out, 0);
	static const char *const units[] = {"{{c1::",    "{{c1,",    "::}}",
	                                    "{{c1::a::", "\xff\xc3", "e\xcc\x81"};
	for (size_t k = 0; k < sizeof units / sizeof *units; k++) {
		buf_reset(&b);
		while (b.len < (2u << 20))
			buf_append_str(&b, units[k], NULL);
		clock_t t0 = clock();
		int changed;
		assert_int_equal(sqlfn_strip_clozes((char *)b.data, b.len, &out, &changed, NULL),
		                 ST_OK);
		assert_int_equal(
		    sqlfn_without_combining((char *)b.data, b.len, &out, &changed, NULL), ST_OK);
		assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 10.0);
	}
	sqlite3 *db = mem();
	/* random card data never crashes */
	uint64_t x = 0x1234567887654321ull;
	static const char alpha[] = "{}[]\":,0123456789.-eE pscdrtuxn\\";
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT extract_original_position(?1), "
	                                    "extract_custom_data(?1, 'r'), "
	                                    "extract_fsrs_variable(?1, 's'), process_text(?1, 3), "
	                                    "field_at_index(?1, 1), fnvhash(length(?1))",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	for (int iter = 0; iter < 3000; iter++) {
		char r[64];
		size_t n;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t len = x % sizeof r;
		for (n = 0; n < len; n++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			r[n] = alpha[x % (sizeof alpha - 1)];
		}
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, r, (int)n, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	buf_free(&b);
	buf_free(&out);
}

/* Searches on real collections, cross-checked in C. */
static void test_fixtures(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	struct fixcol *cols;
	int n = fixcol_all(dir, &cols);
	int fsrs_cards = 0, searched = 0;
	for (int c = 0; c < n; c++) {
		sqlite3 *db = fixcol_open(cols[c].path);
		assert_int_equal(sqlfn_register(db), SQLITE_OK);
		assert_true(fixcol_schema(db) >= 1);
		/* field_at_index agrees with text_fields_split on every note */
		sqlite3_stmt *st;
		assert_int_equal(
		    sqlite3_prepare_v2(db,
		                       "SELECT flds, field_at_index(flds, 0), "
		                       "field_at_index(flds, 1), regexp_fields('(?i)a', flds, 1), "
		                       "coalesce(process_text(flds, 3), flds) FROM notes",
		                       -1, &st, NULL),
		    SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *flds = (const char *)sqlite3_column_text(st, 0);
			struct text_slice *f;
			size_t nf;
			assert_int_equal(text_fields_split(flds, strlen(flds), 0, &f, &nf, NULL),
			                 ST_OK);
			assert_int_equal((size_t)sqlite3_column_bytes(st, 1), f[0].len);
			assert_memory_equal(sqlite3_column_text(st, 1), f[0].p, f[0].len);
			size_t l1 = nf > 1 ? f[1].len : 0;
			assert_int_equal((size_t)sqlite3_column_bytes(st, 2), l1);
			bool has_a = false;
			for (size_t i = 0; nf > 1 && i < f[1].len; i++)
				has_a |= f[1].p[i] == 'a' || f[1].p[i] == 'A';
			assert_int_equal(sqlite3_column_int(st, 3), has_a);
			assert_non_null(sqlite3_column_text(st, 4));
			free(f);
			searched++;
		}
		sqlite3_finalize(st);
		/* FSRS memory state in cards.data */
		assert_int_equal(
		    sqlite3_prepare_v2(db,
		                       "SELECT data, extract_fsrs_variable(data, 's'), "
		                       "extract_fsrs_variable(data, 'd'), "
		                       "extract_original_position(data) FROM cards",
		                       -1, &st, NULL),
		    SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *data = (const char *)sqlite3_column_text(st, 0);
			json_t *j = json_loads(data ? data : "", 0, NULL);
			json_t *s = json_object_get(j, "s"), *pos = json_object_get(j, "pos");
			if (s) {
				assert_int_equal(sqlite3_column_type(st, 1), SQLITE_FLOAT);
				assert_true(sqlite3_column_double(st, 1) ==
				            (double)(float)json_number_value(s));
				assert_int_equal(sqlite3_column_type(st, 2), SQLITE_FLOAT);
				fsrs_cards++;
			} else {
				assert_int_equal(sqlite3_column_type(st, 1), SQLITE_NULL);
			}
			if (pos)
				assert_int_equal(sqlite3_column_int64(st, 3),
				                 json_integer_value(pos));
			else
				assert_int_equal(sqlite3_column_type(st, 3), SQLITE_NULL);
			json_decref(j);
		}
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	assert_int_equal(fsrs_cards, 13); /* legacy2-fsrs-revlog-media: 13 reviewed cards */
	assert_int_equal(searched, 519);
	free(cols);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_field_at_index),
	    cmocka_unit_test(test_regexp),
	    cmocka_unit_test(test_regexp_fields_tags),
	    cmocka_unit_test(test_process_text),
	    cmocka_unit_test(test_fnvhash),
	    cmocka_unit_test(test_card_data),
	    cmocka_unit_test(test_strip_clozes_differential),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_fixtures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
