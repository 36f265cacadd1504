/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_col_json.c - schema 11 JSON <-> model (src/lib/col_json.c):
 *   - the serde_json-style dumper (reals, escapes) against jansson and
 *     against text Anki itself wrote (legacy-2 packages);
 *   - the worked examples of collection-format.md 3.2/3.3/3.4, exactly;
 *   - every notetype/deck/preset of the schema 11 fixtures: JSON -> model
 *     -> JSON equals the original up to the documented normalisations;
 *   - every object of the schema 18 fixtures: blobs -> model -> JSON ->
 *     model -> blobs is byte-identical, except the two presets whose
 *     differences are asserted exactly;
 *   - the reading quirks and edge cases of sections 3 and 10.
 */
#include "testutil.h"

#include <math.h>
#include <sqlite3.h>
#include <zip.h>
#include <zstd.h>

#include "col_json.h"
#include "col_model.h"
#include "col_proto.h"

/* ---- fixture access (same approach as test_col_proto.c) ---- */

static int stub_unicase(void *arg, int n1, const void *a, int n2, const void *b)
{
	(void)arg;
	int r = memcmp(a, b, (size_t)(n1 < n2 ? n1 : n2));
	return r ? r : n1 - n2;
}

static char *fixture_db(const char *dir, const char *name, const char *member)
{
	char *out = malloc(4096);
	snprintf(out, 4096, "%s/%s%s%s.db", dir, name, member ? "-" : "", member ? member : "");
	if (!member) {
		tu_copy(tu_fixture(name), out);
		return out;
	}
	int err = 0;
	zip_t *za = zip_open(tu_fixture(name), ZIP_RDONLY, &err);
	assert_non_null(za);
	zip_stat_t sb;
	assert_int_equal(zip_stat(za, member, 0, &sb), 0);
	zip_file_t *zf = zip_fopen(za, member, 0);
	assert_non_null(zf);
	uint8_t *raw = malloc(sb.size + 1);
	assert_true(zip_fread(zf, raw, sb.size) == (zip_int64_t)sb.size);
	zip_fclose(zf);
	zip_close(za);
	FILE *f = fopen(out, "wb");
	assert_non_null(f);
	size_t mlen = strlen(member);
	if (mlen > 3 && strcmp(member + mlen - 3, "21b") == 0) {
		ZSTD_DStream *ds = ZSTD_createDStream();
		ZSTD_inBuffer in = {raw, sb.size, 0};
		uint8_t chunk[65536];
		for (;;) {
			ZSTD_outBuffer o = {chunk, sizeof chunk, 0};
			size_t r = ZSTD_decompressStream(ds, &o, &in);
			assert_false(ZSTD_isError(r));
			assert_int_equal(fwrite(chunk, 1, o.pos, f), o.pos);
			if (r == 0 || (in.pos >= in.size && o.pos == 0))
				break;
		}
		ZSTD_freeDStream(ds);
	} else {
		assert_int_equal(fwrite(raw, 1, sb.size, f), sb.size);
	}
	assert_int_equal(fclose(f), 0);
	free(raw);
	return out;
}

static sqlite3 *open_db(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_create_collation(db, "unicase", SQLITE_UTF8, NULL, stub_unicase),
	                 SQLITE_OK);
	return db;
}

static char *col_text(sqlite3 *db, const char *column)
{
	char sql[64];
	snprintf(sql, sizeof sql, "select %s from col", column);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	char *s = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return s;
}

static json_t *col_json_column(sqlite3 *db, const char *column)
{
	char *text = col_text(db, column);
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	if (!j)
		fail_msg("col.%s: %s", column, err.text);
	free(text);
	return j;
}

static char *dup_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return strdup(t ? (const char *)t : "");
}

/* ---- schema 18 rows -> model (test-only reader) ---- */

static void load_notetype(sqlite3 *db, int64_t id, struct notetype *nt)
{
	memset(nt, 0, sizeof *nt);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "select name, mtime_secs, usn, config from notetypes "
	                                    "where id = ?",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	nt->id = id;
	nt->name = dup_col(st, 0);
	nt->mtime = sqlite3_column_int64(st, 1);
	nt->usn = sqlite3_column_int(st, 2);
	assert_int_equal(notetype_config_decode(sqlite3_column_blob(st, 3),
	                                        (size_t)sqlite3_column_bytes(st, 3), &nt->cfg,
	                                        NULL),
	                 ST_OK);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "select name, config, ord from fields where ntid = ? "
	                                    "order by ord",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_int_equal(sqlite3_column_int(st, 2), (int)nt->nfields);
		nt->fields = realloc(nt->fields, (nt->nfields + 1) * sizeof *nt->fields);
		struct nt_field *f = &nt->fields[nt->nfields++];
		f->name = dup_col(st, 0);
		assert_int_equal(field_config_decode(sqlite3_column_blob(st, 1),
		                                     (size_t)sqlite3_column_bytes(st, 1), &f->cfg,
		                                     NULL),
		                 ST_OK);
	}
	sqlite3_finalize(st);
	assert_int_equal(
	    sqlite3_prepare_v2(db,
	                       "select name, mtime_secs, usn, config, ord from templates "
	                       "where ntid = ? order by ord",
	                       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_int_equal(sqlite3_column_int(st, 4), (int)nt->ntemplates);
		nt->templates =
		    realloc(nt->templates, (nt->ntemplates + 1) * sizeof *nt->templates);
		struct nt_template *t = &nt->templates[nt->ntemplates++];
		t->name = dup_col(st, 0);
		t->mtime = sqlite3_column_int64(st, 1);
		t->usn = sqlite3_column_int(st, 2);
		assert_int_equal(template_config_decode(sqlite3_column_blob(st, 3),
		                                        (size_t)sqlite3_column_bytes(st, 3),
		                                        &t->cfg, NULL),
		                 ST_OK);
	}
	sqlite3_finalize(st);
}

static void load_deck(sqlite3 *db, int64_t id, struct deck *d)
{
	memset(d, 0, sizeof *d);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "select name, mtime_secs, usn, common, kind from decks "
	                                    "where id = ?",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	d->id = id;
	d->name = dup_col(st, 0);
	d->mtime = sqlite3_column_int64(st, 1);
	d->usn = sqlite3_column_int(st, 2);
	assert_int_equal(deck_common_decode(sqlite3_column_blob(st, 3),
	                                    (size_t)sqlite3_column_bytes(st, 3), &d->common, NULL),
	                 ST_OK);
	assert_int_equal(deck_kind_decode(sqlite3_column_blob(st, 4),
	                                  (size_t)sqlite3_column_bytes(st, 4), &d->kind, NULL),
	                 ST_OK);
	sqlite3_finalize(st);
}

static void load_deckconf(sqlite3 *db, int64_t id, struct deckconf *dc)
{
	memset(dc, 0, sizeof *dc);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "select name, mtime_secs, usn, config from deck_config "
	                                    "where id = ?",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	dc->id = id;
	dc->name = dup_col(st, 0);
	dc->mtime = sqlite3_column_int64(st, 1);
	dc->usn = sqlite3_column_int(st, 2);
	assert_int_equal(deckconf_config_decode(sqlite3_column_blob(st, 3),
	                                        (size_t)sqlite3_column_bytes(st, 3), &dc->cfg,
	                                        NULL),
	                 ST_OK);
	sqlite3_finalize(st);
}

static size_t list_ids(sqlite3 *db, const char *table, int64_t *ids, size_t max)
{
	char sql[80];
	snprintf(sql, sizeof sql, "select id from %s order by id", table);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	size_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW && n < max)
		ids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static char *dumps(const json_t *j)
{
	char *s = col_json_dumps(j);
	assert_non_null(s);
	return s;
}

static void assert_json_text(const json_t *j, const char *want)
{
	char *got = dumps(j);
	if (strcmp(got, want) != 0) {
		size_t i = 0;
		while (got[i] && got[i] == want[i])
			i++;
		fail_msg("JSON differs at byte %zu:\n got: %.200s\nwant: %.200s", i, got + i,
		         want + i);
	}
	free(got);
}

/* ======================================================================
 * The dumper
 * ====================================================================== */

static void test_dumps_reals(void **state)
{
	(void)state;
	static const struct {
		double v;
		const char *want;
	} d[] = {
	    {0.0, "0.0"},
	    {-0.0, "-0.0"},
	    {1.0, "1.0"},
	    {10.0, "10.0"},
	    {0.05, "0.05"},
	    {0.1, "0.1"},
	    {2.5, "2.5"},
	    {-1.25, "-1.25"},
	    {123.456, "123.456"},
	    {1e15, "1000000000000000.0"},
	    {1e16, "1e16"},
	    {1.5e22, "1.5e22"},
	    {1e-4, "0.0001"},
	    {1e-5, "0.00001"},
	    {1e-6, "1e-6"},
	    {1.234e-7, "1.234e-7"},
	    {0.123456789012345, "0.123456789012345"},
	    {5e-324, "5e-324"},
	    {1.7976931348623157e308, "1.7976931348623157e308"},
	    {9007199254740993.0, "9007199254740992.0"},
	};
	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
		json_t *j = json_real(d[i].v);
		char *s = dumps(j);
		if (strcmp(s, d[i].want) != 0)
			fail_msg("%.17g: got %s, want %s", d[i].v, s, d[i].want);
		/* the text reads back as the same double */
		assert_true(strtod(s, NULL) == d[i].v);
		free(s);
		json_decref(j);
	}
	/* f32 values: the shortest decimal that reads back as the same f32 */
	static const struct {
		float v;
		const char *want;
	} f[] = {
	    {0.9f, "0.9"},
	    {1.3f, "1.3"},
	    {10.0f, "10.0"},
	    {1.2f, "1.2"},
	    {0.0f, "0.0"},
	    {0.058629394f, "0.058629394"},
	    {1.3608981f, "1.3608981"},
	    {0.33333334f, "0.33333334"},
	    {16777216.0f, "16777216.0"},
	    {0.1f, "0.1"},
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		json_t *j = col_json_f32(f[i].v);
		char *s = dumps(j);
		if (strcmp(s, f[i].want) != 0)
			fail_msg("f32 %.9g: got %s, want %s", (double)f[i].v, s, f[i].want);
		assert_true(strtof(s, NULL) == f[i].v);
		free(s);
		json_decref(j);
	}
	json_t *n = col_json_f32(NAN);
	assert_true(json_is_null(n));
	json_decref(n);

	/* Why a dumper of our own: jansson prints the f32-derived double 0.9
	 * with %.17g, and JSON_REAL_PRECISION(9), which would suit f32 values,
	 * truncates genuine f64 values kept in `other`. */
	json_t *a = json_pack("[f,f]", 0.9, 0.123456789012345);
	char *js = json_dumps(a, JSON_COMPACT);
	assert_string_equal(js, "[0.90000000000000002,0.123456789012345]");
	free(js);
	js = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(9));
	assert_string_equal(js, "[0.9,0.123456789]");
	free(js);
	assert_json_text(a, "[0.9,0.123456789012345]");
	json_decref(a);
}

static void test_dumps_structure(void **state)
{
	(void)state;
	json_t *o = json_object();
	json_object_set_new(o, "z", json_integer(-9007199254740993LL));
	json_object_set_new(o, "a", json_stringn("q\"\\/\x01\x1f\b\f\n\r\t\xc3\xa9\x7f", 14));
	json_object_set_new(o, "m",
	                    json_pack("{s:[],s:{},s:n,s:b,s:b}", "e", "o", "n", "t", 1, "f", 0));
	/* insertion order is kept; escapes as serde_json: lowercase \u00xx,
	 * '/' and DEL and non-ASCII raw */
	assert_json_text(
	    o, "{\"z\":-9007199254740993,\"a\":\"q\\\"\\\\/\\u0001\\u001f\\b\\f\\n\\r\\t"
	       "\xc3\xa9\x7f\",\"m\":{\"e\":[],\"o\":{},\"n\":null,\"t\":true,\"f\":false}}");
	json_decref(o);
	/* NUL inside a string value */
	json_t *s = json_stringn("a\0b", 3);
	assert_json_text(s, "\"a\\u0000b\"");
	json_decref(s);
	assert_null(col_json_dumps(NULL));
}

/* Anki's own serde output (legacy-2 packages written by Anki 24.11+)
 * parses and dumps back to the identical text. */
static void test_dumps_matches_anki_text(void **state)
{
	(void)state;
	static const struct {
		const char *name, *member;
	} pk[] = {
	    {"legacy2-empty.colpkg", "collection.anki21"},
	    {"legacy2-fsrs-revlog-media.apkg", "collection.anki21"},
	};
	static const char *const cols[] = {"conf", "models", "decks", "dconf", "tags"};
	char *dir = tu_mkdtemp();
	for (size_t i = 0; i < 2; i++) {
		char *path = fixture_db(dir, pk[i].name, pk[i].member);
		sqlite3 *db = open_db(path);
		for (size_t c = 0; c < 5; c++) {
			char *text = col_text(db, cols[c]);
			json_t *j = json_loads(text, 0, NULL);
			assert_non_null(j);
			char *again = dumps(j);
			if (strcmp(text, again) != 0)
				fail_msg("%s col.%s differs", pk[i].name, cols[c]);
			free(again);
			free(text);
			json_decref(j);
		}
		sqlite3_close(db);
		free(path);
	}
	tu_rmtree(dir);
}

/* ======================================================================
 * Worked examples (3.2, 3.3, 3.4)
 * ====================================================================== */

#define NORMAL_CSS                                                                                 \
	".card {\\n    font-family: arial;\\n    font-size: 20px;\\n    line-height: 1.5;\\n    "  \
	"text-align: center;\\n    color: black;\\n    background-color: white;\\n}\\n"
#define LATEX_PRE                                                                                  \
	"\\\\documentclass[12pt]{article}\\n\\\\special{papersize=3in,5in}\\n\\\\usepackage"       \
	"[utf8]{inputenc}\\n\\\\usepackage{amssymb,amsmath}\\n\\\\pagestyle{empty}\\n"             \
	"\\\\setlength{\\\\parindent}{0in}\\n\\\\begin{document}\\n"

static void test_worked_examples(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char *path = fixture_db(dir, "new-empty-v18.anki2", NULL);
	sqlite3 *db = open_db(path);

	/* 3.2: the stock Basic notetype */
	struct notetype nt;
	load_notetype(db, 1774903411533LL, &nt);
	assert_int_equal(nt.nfields, 2);
	char want[4096];
	snprintf(
	    want, sizeof want,
	    "{\"id\":1774903411533,\"name\":\"Basic\",\"type\":0,\"mod\":0,\"usn\":0,\"sortf\":0,"
	    "\"did\":null,\"tmpls\":[{\"name\":\"Card 1\",\"ord\":0,\"qfmt\":\"{{Front}}\","
	    "\"afmt\":\"{{FrontSide}}\\n\\n<hr id=answer>\\n\\n{{Back}}\",\"bqfmt\":\"\","
	    "\"bafmt\":\"\",\"did\":null,\"bfont\":\"\",\"bsize\":0,\"id\":%" PRId64 "}],"
	    "\"flds\":[{\"name\":\"Front\",\"ord\":0,\"sticky\":false,\"rtl\":false,"
	    "\"font\":\"Arial\",\"size\":20,\"description\":\"\",\"plainText\":false,"
	    "\"collapsed\":false,\"excludeFromSearch\":false,\"id\":%" PRId64 ",\"tag\":null,"
	    "\"preventDeletion\":false},{\"name\":\"Back\",\"ord\":1,\"sticky\":false,"
	    "\"rtl\":false,\"font\":\"Arial\",\"size\":20,\"description\":\"\","
	    "\"plainText\":false,\"collapsed\":false,\"excludeFromSearch\":false,"
	    "\"id\":%" PRId64 ",\"tag\":null,\"preventDeletion\":false}],"
	    "\"css\":\"" NORMAL_CSS "\",\"latexPre\":\"" LATEX_PRE "\","
	    "\"latexPost\":\"\\\\end{document}\",\"latexsvg\":false,"
	    "\"req\":[[0,\"any\",[0]]],\"originalStockKind\":1}",
	    nt.templates[0].cfg.id, nt.fields[0].cfg.id, nt.fields[1].cfg.id);
	/* the ids are the fixture's random ones (negative ones included) */
	assert_true(nt.fields[0].cfg.id == -4394193144308505085LL);
	assert_true(nt.fields[1].cfg.id == -1621599153193760428LL);
	assert_true(nt.templates[0].cfg.id == 7937104758660333631LL);
	json_t *j = notetype_to_json(&nt);
	assert_non_null(j);
	assert_json_text(j, want);
	json_decref(j);
	notetype_free(&nt);

	/* 3.3: the default deck */
	struct deck d;
	load_deck(db, 1, &d);
	j = deck_to_json(&d);
	assert_json_text(j, "{\"id\":1,\"mod\":0,\"name\":\"Default\",\"usn\":0,\"lrnToday\":[0,0],"
	                    "\"revToday\":[0,0],\"newToday\":[0,0],\"timeToday\":[0,0],"
	                    "\"collapsed\":true,\"browserCollapsed\":true,\"desc\":\"\",\"dyn\":0,"
	                    "\"conf\":1,\"extendNew\":0,\"extendRev\":0,\"reviewLimit\":null,"
	                    "\"newLimit\":null,\"reviewLimitToday\":null,\"newLimitToday\":null,"
	                    "\"desiredRetention\":null}");
	json_decref(j);
	deck_free(&d);

	/* 3.4: the default preset */
	struct deckconf dc;
	load_deckconf(db, 1, &dc);
	j = deckconf_to_json(&dc);
	assert_json_text(
	    j,
	    "{\"id\":1,\"mod\":0,\"name\":\"Default\",\"usn\":0,\"maxTaken\":60,\"autoplay\":true,"
	    "\"timer\":0,\"replayq\":true,\"new\":{\"bury\":false,\"delays\":[1.0,10.0],"
	    "\"initialFactor\":2500,\"ints\":[1,4,0],\"order\":1,\"perDay\":20},\"rev\":{\"bury\":"
	    "false,\"ease4\":1.3,\"ivlFct\":1.0,\"maxIvl\":36500,\"perDay\":200,\"hardFactor\":"
	    "1.2},\"lapse\":{\"delays\":[10.0],\"leechAction\":1,\"leechFails\":8,\"minInt\":1,"
	    "\"mult\":0.0},\"dyn\":false,\"newMix\":0,\"newPerDayMinimum\":0,"
	    "\"interdayLearningMix\":0,\"reviewOrder\":0,\"newSortOrder\":0,\"newGatherPriority\""
	    ":0,\"buryInterdayLearning\":false,\"fsrsWeights\":[],\"fsrsParams5\":[],"
	    "\"fsrsParams6\":[],\"desiredRetention\":0.9,\"ignoreRevlogsBeforeDate\":\"\","
	    "\"easyDaysPercentages\":[1.0,1.0,1.0,1.0,1.0,1.0,1.0],\"stopTimerOnAnswer\":false,"
	    "\"secondsToShowQuestion\":0.0,\"secondsToShowAnswer\":0.0,\"questionAction\":0,"
	    "\"answerAction\":0,\"waitForAudio\":true,\"sm2Retention\":0.9,\"weightSearch\":\"\"}");
	json_decref(j);
	deckconf_free(&dc);
	sqlite3_close(db);
	free(path);
	tu_rmtree(dir);
}

/* ======================================================================
 * Schema 11 fixtures: JSON -> model -> JSON
 * ====================================================================== */

/* JSON equality with numbers compared by value (1 == 1.0). */
static bool value_eq(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!value_eq(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return false;
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)a, k, v)
		{
			const json_t *w = json_object_get(b, k);
			if (!w || !value_eq(v, w))
				return false;
		}
		return true;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

/* Add key with value v unless present (the documented added defaults). */
static void add_default(json_t *o, const char *key, json_t *v)
{
	if (!json_object_get(o, key))
		json_object_set(o, key, v);
	json_decref(v);
}

/* The documented normalisations of 3.2 applied to an original notetype. */
static void expect_notetype(json_t *o)
{
	json_t *id = json_object_get(o, "id");
	if (json_is_string(id)) /* "1581236385343" -> 1581236385343 */
		json_object_set_new(o, "id",
		                    json_integer(strtoll(json_string_value(id), NULL, 10)));
	add_default(o, "latexPre", json_string(""));
	add_default(o, "latexPost", json_string(""));
	add_default(o, "latexsvg", json_false());
	add_default(o, "req", json_array()); /* old Cloze notetypes have none */
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(o, "flds"), i, f)
	{
		json_object_set_new(f, "ord", json_integer((json_int_t)i));
		add_default(f, "description", json_string(""));
		add_default(f, "plainText", json_false());
		add_default(f, "collapsed", json_false());
		add_default(f, "excludeFromSearch", json_false());
		add_default(f, "id", json_null());
		add_default(f, "tag", json_null());
		add_default(f, "preventDeletion", json_false());
	}
	json_array_foreach(json_object_get(o, "tmpls"), i, f)
	{
		json_object_set_new(f, "ord", json_integer((json_int_t)i));
		add_default(f, "afmt", json_string(""));
		add_default(f, "bqfmt", json_string(""));
		add_default(f, "bafmt", json_string(""));
		add_default(f, "bfont", json_string(""));
		add_default(f, "bsize", json_integer(0));
		add_default(f, "id", json_null());
	}
}

static void expect_deck(json_t *o)
{
	json_object_del(o, "return");
	add_default(o, "browserCollapsed", json_false());
	add_default(o, "desc", json_string(""));
	add_default(o, "reviewLimit", json_null());
	add_default(o, "newLimit", json_null());
	add_default(o, "reviewLimitToday", json_null());
	add_default(o, "newLimitToday", json_null());
	add_default(o, "desiredRetention", json_null());
	if (json_is_false(json_object_get(o, "dyn")))
		json_object_set_new(o, "dyn", json_integer(0));
}

static void expect_deckconf(json_t *o)
{
	static const char *const zero_ints[] = {
	    "newMix",       "newPerDayMinimum",  "interdayLearningMix", "reviewOrder",
	    "newSortOrder", "newGatherPriority", "questionAction",      "answerAction"};
	for (size_t i = 0; i < sizeof zero_ints / sizeof zero_ints[0]; i++)
		add_default(o, zero_ints[i], json_integer(0));
	add_default(o, "dyn", json_false());
	add_default(o, "replayq", json_false());
	add_default(o, "buryInterdayLearning", json_false());
	add_default(o, "fsrsWeights", json_array());
	add_default(o, "fsrsParams5", json_array());
	add_default(o, "fsrsParams6", json_array());
	add_default(o, "desiredRetention", json_real(0.9)); /* 0.0 -> fixed to 0.9 */
	add_default(o, "ignoreRevlogsBeforeDate", json_string(""));
	add_default(o, "easyDaysPercentages", json_array());
	add_default(o, "stopTimerOnAnswer", json_false());
	add_default(o, "secondsToShowQuestion", json_real(0));
	add_default(o, "secondsToShowAnswer", json_real(0));
	add_default(o, "waitForAudio", json_true());
	add_default(o, "sm2Retention", json_real(0.9));
	add_default(o, "weightSearch", json_string(""));
	json_t *nw = json_object_get(o, "new"), *rev = json_object_get(o, "rev");
	add_default(nw, "bury", json_false());
	json_t *ints = json_object_get(nw, "ints"); /* third element is always 0 */
	if (json_array_size(ints) >= 3)
		json_array_set_new(ints, 2, json_integer(0));
	add_default(rev, "bury", json_false());
	add_default(rev, "hardFactor", json_real(1.2));
}

/* Dumps with f32 semantics so that e.g. 1.2 (f64) and 1.2f compare: both
 * sides go through value_eq, which compares doubles; the originals' f32
 * fields (ease4 1.3, ...) are the doubles of their shortest f32 decimals,
 * so equality is exact. */
static void check_legacy_object(const char *where, const char *kind, json_t *orig)
{
	json_t *out = NULL;
	struct errinfo e = {0};
	if (strcmp(kind, "models") == 0) {
		struct notetype nt;
		if (notetype_from_json(orig, &nt, &e))
			fail_msg("%s: %s", where, e.msg);
		out = notetype_to_json(&nt);
		notetype_free(&nt);
	} else if (strcmp(kind, "decks") == 0) {
		struct deck d;
		if (deck_from_json(orig, &d, &e))
			fail_msg("%s: %s", where, e.msg);
		out = deck_to_json(&d);
		deck_free(&d);
	} else {
		struct deckconf dc;
		if (deckconf_from_json(orig, &dc, &e))
			fail_msg("%s: %s", where, e.msg);
		out = deckconf_to_json(&dc);
		deckconf_free(&dc);
	}
	assert_non_null(out);
	json_t *want = json_deep_copy(orig);
	if (strcmp(kind, "models") == 0)
		expect_notetype(want);
	else if (strcmp(kind, "decks") == 0)
		expect_deck(want);
	else
		expect_deckconf(want);
	if (!value_eq(want, out)) {
		char *a = dumps(want), *b = dumps(out);
		fail_msg("%s: round trip differs\nwant %s\n got %s", where, a, b);
	}
	json_decref(want);
	json_decref(out);
}

static void test_legacy_fixtures(void **state)
{
	(void)state;
	static const struct {
		const char *name, *member;
	} L[] = {
	    {"schema11-mediacheck.anki2", NULL},
	    {"diffmodels2-1.apkg", "collection.anki2"},
	    {"diffmodels2-2.apkg", "collection.anki2"},
	    {"diffmodeltemplates-1.apkg", "collection.anki2"},
	    {"diffmodeltemplates-2.apkg", "collection.anki2"},
	    {"media.apkg", "collection.anki2"},
	    {"update1.apkg", "collection.anki2"},
	    {"update2.apkg", "collection.anki2"},
	    {"legacy2-empty.colpkg", "collection.anki21"},
	    {"legacy2-fsrs-revlog-media.apkg", "collection.anki21"},
	    /* the "please update" stubs inside modern packages are schema 11 */
	    {"latest-20notes.apkg", "collection.anki2"},
	    {"legacy2-empty.colpkg", "collection.anki2"},
	};
	static const char *const kinds[] = {"models", "decks", "dconf"};
	size_t counts[3] = {0};
	char *dir = tu_mkdtemp();
	for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
		char *path = fixture_db(dir, L[i].name, L[i].member);
		sqlite3 *db = open_db(path);
		for (size_t k = 0; k < 3; k++) {
			json_t *map = col_json_column(db, kinds[k]);
			const char *key;
			json_t *obj;
			json_object_foreach(map, key, obj)
			{
				char where[256];
				snprintf(where, sizeof where, "%s %s[%s]", L[i].name, kinds[k],
				         key);
				/* every map key equals its object's id in these files */
				json_t *id = json_object_get(obj, "id");
				char idtext[32];
				if (json_is_string(id))
					snprintf(idtext, sizeof idtext, "%s",
					         json_string_value(id));
				else
					snprintf(idtext, sizeof idtext, "%" JSON_INTEGER_FORMAT,
					         json_integer_value(id));
				assert_string_equal(idtext, key);
				check_legacy_object(where, kinds[k], obj);
				counts[k]++;
			}
			json_decref(map);
		}
		sqlite3_close(db);
		free(path);
	}
	tu_rmtree(dir);
	/* notetypes: mediacheck 5, diffmodels 5+5, diffmodeltemplates 1+1,
	 * media 3, update 5+5, legacy2 6+6, stubs 6+6 */
	assert_int_equal(counts[0], 54);
	assert_int_equal(counts[1], 15);
	assert_int_equal(counts[2], 12);
}

/* Modern legacy exports: the round trip reproduces Anki's text exactly,
 * apart from the keys added since that Anki version (fsrsParams6 on
 * presets, desiredRetention on decks). */
static char *insert_after(const char *s, const char *anchor, const char *add)
{
	const char *p = strstr(s, anchor);
	assert_non_null(p);
	size_t at = (size_t)(p - s) + strlen(anchor);
	char *out = malloc(strlen(s) + strlen(add) + 1);
	memcpy(out, s, at);
	strcpy(out + at, add);
	strcat(out, s + at);
	return out;
}

static void test_legacy2_exact(void **state)
{
	(void)state;
	static const char *const files[] = {"legacy2-empty.colpkg",
	                                    "legacy2-fsrs-revlog-media.apkg"};
	char *dir = tu_mkdtemp();
	size_t n = 0;
	for (size_t i = 0; i < 2; i++) {
		char *path = fixture_db(dir, files[i], "collection.anki21");
		sqlite3 *db = open_db(path);
		static const char *const kinds[] = {"models", "decks", "dconf"};
		for (size_t k = 0; k < 3; k++) {
			json_t *map = col_json_column(db, kinds[k]);
			const char *key;
			json_t *obj;
			json_object_foreach(map, key, obj)
			{
				char *orig = dumps(obj), *want;
				json_t *out;
				if (k == 0) {
					struct notetype nt;
					assert_int_equal(notetype_from_json(obj, &nt, NULL), ST_OK);
					out = notetype_to_json(&nt);
					notetype_free(&nt);
					want = strdup(orig);
				} else if (k == 1) {
					struct deck d;
					assert_int_equal(deck_from_json(obj, &d, NULL), ST_OK);
					out = deck_to_json(&d);
					deck_free(&d);
					want = insert_after(orig, "\"newLimitToday\":null",
					                    ",\"desiredRetention\":null");
				} else {
					struct deckconf dc;
					assert_int_equal(deckconf_from_json(obj, &dc, NULL), ST_OK);
					out = deckconf_to_json(&dc);
					deckconf_free(&dc);
					want = insert_after(orig, "\"fsrsParams5\":[]",
					                    ",\"fsrsParams6\":[]");
				}
				assert_json_text(out, want);
				json_decref(out);
				free(orig);
				free(want);
				n++;
			}
			json_decref(map);
		}
		sqlite3_close(db);
		free(path);
	}
	tu_rmtree(dir);
	assert_int_equal(n, 6 + 1 + 1 + 6 + 2 + 1);
}

/* ======================================================================
 * Schema 18 fixtures: model -> JSON -> model -> blobs
 * ====================================================================== */

static void encode_hex(enum status (*fn)(const void *, struct buf *, struct errinfo *),
                       const void *obj, char *hex, size_t cap)
{
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(fn(obj, &b, NULL), ST_OK);
	hex[0] = '\0';
	for (size_t i = 0; i < b.len && 2 * i + 2 < cap; i++)
		sprintf(hex + 2 * i, "%02x", b.data[i]);
	buf_free(&b);
}

#define ENC(fn) ((enum status(*)(const void *, struct buf *, struct errinfo *))(fn))

static void test_v18_json_roundtrip(void **state)
{
	(void)state;
	static const struct {
		const char *name, *member;
	} V[] = {
	    {"new-empty-v18.anki2", NULL},
	    {"schema16-empty.anki2", NULL},
	    {"v18-two-decks-revlog.anki2", NULL},
	    {"latest-empty-backup.colpkg", "collection.anki21b"},
	    {"latest-20notes.apkg", "collection.anki21b"},
	    {"latest-459notes-revlog.apkg", "collection.anki21b"},
	};
	static char h1[8192], h2[8192];
	size_t nnt = 0, ndeck = 0, ndc = 0, ndiff = 0;
	char *dir = tu_mkdtemp();
	for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
		char *path = fixture_db(dir, V[i].name, V[i].member);
		sqlite3 *db = open_db(path);
		int64_t ids[64];
		size_t n = list_ids(db, "notetypes", ids, 64);
		for (size_t k = 0; k < n; k++, nnt++) {
			struct notetype a, b;
			load_notetype(db, ids[k], &a);
			json_t *j = notetype_to_json(&a);
			struct errinfo e = {0};
			if (notetype_from_json(j, &b, &e))
				fail_msg("%s notetype %" PRId64 ": %s", V[i].name, ids[k], e.msg);
			assert_true(a.id == b.id && a.mtime == b.mtime && a.usn == b.usn);
			assert_string_equal(a.name, b.name);
			encode_hex(ENC(notetype_config_encode), &a.cfg, h1, sizeof h1);
			encode_hex(ENC(notetype_config_encode), &b.cfg, h2, sizeof h2);
			assert_string_equal(h1, h2);
			assert_int_equal(a.nfields, b.nfields);
			assert_int_equal(a.ntemplates, b.ntemplates);
			for (size_t f = 0; f < a.nfields; f++) {
				assert_string_equal(a.fields[f].name, b.fields[f].name);
				encode_hex(ENC(field_config_encode), &a.fields[f].cfg, h1,
				           sizeof h1);
				encode_hex(ENC(field_config_encode), &b.fields[f].cfg, h2,
				           sizeof h2);
				assert_string_equal(h1, h2);
			}
			for (size_t t = 0; t < a.ntemplates; t++) {
				assert_string_equal(a.templates[t].name, b.templates[t].name);
				/* per-template mtime/usn do not exist in schema 11; they
				 * are 0/0 in every fixture, so equal here */
				assert_true(a.templates[t].mtime == b.templates[t].mtime);
				assert_int_equal(a.templates[t].usn, b.templates[t].usn);
				encode_hex(ENC(template_config_encode), &a.templates[t].cfg, h1,
				           sizeof h1);
				encode_hex(ENC(template_config_encode), &b.templates[t].cfg, h2,
				           sizeof h2);
				assert_string_equal(h1, h2);
			}
			json_decref(j);
			notetype_free(&a);
			notetype_free(&b);
		}
		n = list_ids(db, "decks", ids, 64);
		for (size_t k = 0; k < n; k++, ndeck++) {
			struct deck a, b;
			load_deck(db, ids[k], &a);
			json_t *j = deck_to_json(&a);
			assert_int_equal(deck_from_json(j, &b, NULL), ST_OK);
			assert_true(a.id == b.id && a.mtime == b.mtime && a.usn == b.usn);
			assert_string_equal(a.name, b.name);
			encode_hex(ENC(deck_common_encode), &a.common, h1, sizeof h1);
			encode_hex(ENC(deck_common_encode), &b.common, h2, sizeof h2);
			assert_string_equal(h1, h2);
			encode_hex(ENC(deck_kind_encode), &a.kind, h1, sizeof h1);
			encode_hex(ENC(deck_kind_encode), &b.kind, h2, sizeof h2);
			assert_string_equal(h1, h2);
			json_decref(j);
			deck_free(&a);
			deck_free(&b);
		}
		n = list_ids(db, "deck_config", ids, 64);
		for (size_t k = 0; k < n; k++, ndc++) {
			struct deckconf a, b;
			load_deckconf(db, ids[k], &a);
			json_t *j = deckconf_to_json(&a);
			assert_int_equal(deckconf_from_json(j, &b, NULL), ST_OK);
			assert_true(a.id == b.id && a.mtime == b.mtime && a.usn == b.usn);
			assert_string_equal(a.name, b.name);
			encode_hex(ENC(deckconf_config_encode), &a.cfg, h1, sizeof h1);
			encode_hex(ENC(deckconf_config_encode), &b.cfg, h2, sizeof h2);
			if (strcmp(h1, h2) != 0) {
				ndiff++;
				/* Two older presets lack desired/historical retention
				 * (0.0, invalid): the emitted JSON carries the fixed 0.9
				 * (ad02/c502 records appear).  schema16's `other` held
				 * only names that are now reserved ({"reviewOrder":0,
				 * "newMix":0,"newPerDayMinimum":0,
				 * "interdayLearningMix":0}), so it is dropped. */
				if (strcmp(V[i].name, "schema16-empty.anki2") == 0)
					assert_string_equal(
					    h2,
					    "0a080000803f00002041120400002041481450c8015d00002040"
					    "656666a63f6d9a99993f7d0000803f8001949d0288010190010198"
					    "0104a80101b00108c0013cad026666663fc5026666663f");
				else if (strcmp(V[i].name, "v18-two-decks-revlog.anki2") == 0)
					assert_string_equal(
					    h2,
					    "0a080000803f0000204112040000204150c8015d00002040656666"
					    "a63f6d9a99993f7d0000803f8001949d0288010190010198010"
					    "4a80101b00108c0013cad026666663fc5026666663f");
				else
					fail_msg("%s preset %" PRId64 " changed: %s -> %s",
					         V[i].name, ids[k], h1, h2);
			}
			json_decref(j);
			deckconf_free(&a);
			deckconf_free(&b);
		}
		sqlite3_close(db);
		free(path);
	}
	tu_rmtree(dir);
	assert_int_equal(nnt, 24);
	assert_int_equal(ndeck, 11);
	assert_int_equal(ndc, 6);
	assert_int_equal(ndiff, 2);
}

/* ======================================================================
 * Reading rules and edge cases
 * ====================================================================== */

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &err);
	if (!j)
		fail_msg("bad test JSON: %s: %s", err.text, text);
	return j;
}

#define NT_BASE                                                                                    \
	"\"name\":\"N\",\"type\":0,\"mod\":5,\"usn\":-1,\"sortf\":0,\"did\":null,\"css\":\"c\","   \
	"\"tmpls\":[{\"name\":\"T\",\"ord\":0,\"qfmt\":\"{{F}}\"}],"                               \
	"\"flds\":[{\"name\":\"F\",\"ord\":0,\"sticky\":false,\"rtl\":false,\"font\":\"Arial\","   \
	"\"size\":20}]"

static enum status nt_from(const char *text, struct notetype *nt, struct errinfo *e)
{
	json_t *j = parse(text);
	enum status st = notetype_from_json(j, nt, e);
	json_decref(j);
	return st;
}

static void test_notetype_rules(void **state)
{
	(void)state;
	struct notetype nt;
	struct errinfo e = {0};
	/* id as a numeric string (old Python Anki) or a number; negative ids */
	assert_int_equal(nt_from("{\"id\":\"1581236385343\"," NT_BASE "}", &nt, NULL), ST_OK);
	assert_true(nt.id == 1581236385343LL);
	assert_true(nt.mtime == 5 && nt.usn == -1);
	notetype_free(&nt);
	assert_int_equal(nt_from("{\"id\":-42," NT_BASE "}", &nt, NULL), ST_OK);
	assert_true(nt.id == -42);
	json_t *j = notetype_to_json(&nt);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), -42);
	json_decref(j);
	notetype_free(&nt);
	static const char *const bad_ids[] = {
	    "\"12a\"", "\" 12\"", "12.0", "null", "\"\"", "true", "\"99999999999999999999\""};
	for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
		char text[1024];
		snprintf(text, sizeof text, "{\"id\":%s," NT_BASE "}", bad_ids[i]);
		memset(&e, 0, sizeof e);
		assert_int_equal(nt_from(text, &nt, &e), ST_INVALID);
		assert_non_null(strstr(e.msg, "\"id\""));
		assert_null(nt.name); /* zeroed, nothing leaked */
	}
	assert_int_equal(nt_from("{\"id\":\"+7\"," NT_BASE "}", &nt, NULL), ST_OK);
	assert_true(nt.id == 7);
	notetype_free(&nt);

	/* required keys and strict types */
	assert_int_equal(nt_from("{\"id\":1,\"name\":\"N\",\"type\":2,\"mod\":0,\"usn\":0,\"sortf\""
	                         ":0,\"did\":null,\"css\":\"\",\"tmpls\":[],\"flds\":[]}",
	                         &nt, &e),
	                 ST_INVALID);
	assert_non_null(strstr(e.msg, "\"type\""));
	assert_int_equal(nt_from("{\"id\":1,\"name\":\"N\",\"type\":0,\"mod\":\"5\",\"usn\":0,"
	                         "\"sortf\":0,\"did\":null,\"css\":\"\",\"tmpls\":[],\"flds\":[]}",
	                         &nt, &e),
	                 ST_INVALID); /* notetype mod is not string-lenient */
	assert_int_equal(nt_from("{\"id\":1,\"name\":\"N\",\"type\":0,\"mod\":0,\"usn\":0,"
	                         "\"sortf\":0,\"css\":\"\",\"tmpls\":[],\"flds\":[]}",
	                         &nt, &e),
	                 ST_INVALID); /* did is required even though lenient */
	assert_non_null(strstr(e.msg, "did"));
	assert_int_equal(nt_from("{\"id\":1,\"name\":\"N\",\"type\":0,\"mod\":0,\"usn\":0,"
	                         "\"sortf\":0,\"did\":1,\"tmpls\":[],\"flds\":[]}",
	                         &nt, &e),
	                 ST_INVALID); /* so is css */
	assert_int_equal(nt_from("{\"id\":1,\"name\":\"N\",\"type\":0,\"mod\":0,\"usn\":0,"
	                         "\"sortf\":0,\"did\":1,\"css\":\"\",\"tmpls\":[],\"flds\":[],"
	                         "\"latexPre\":null}",
	                         &nt, &e),
	                 ST_INVALID); /* latexPre: optional but strict */

	/* default_on_invalid: did, css, latexsvg, req */
	assert_int_equal(
	    nt_from("{\"id\":1,\"name\":\"N\",\"type\":1,\"mod\":0,\"usn\":0,\"sortf\":"
	            "3,\"did\":\"x\",\"css\":5,\"tmpls\":[],\"flds\":[],\"latexsvg\":"
	            "\"yes\",\"req\":[[0,\"any\",[0]],[1,\"some\",[0]]]}",
	            &nt, NULL),
	    ST_OK);
	assert_true(nt.cfg.target_deck_id_unused == 0);
	assert_string_equal(col_str(nt.cfg.css), "");
	assert_false(nt.cfg.latex_svg);
	assert_int_equal(nt.cfg.nreqs, 0); /* one bad entry empties req */
	assert_int_equal(nt.cfg.kind, NOTETYPE_KIND_CLOZE);
	assert_int_equal(nt.cfg.sort_field_idx, 3);
	notetype_free(&nt);

	/* req in both accepted shapes; originalStockKind/originalId */
	assert_int_equal(nt_from("{\"id\":1," NT_BASE ",\"req\":[[0,\"all\",[0,1]],{\"card_ord\":1,"
	                         "\"kind\":\"none\",\"field_ords\":[]}],\"originalStockKind\":0,"
	                         "\"originalId\":0}",
	                         &nt, NULL),
	                 ST_OK);
	assert_int_equal(nt.cfg.nreqs, 2);
	assert_int_equal(nt.cfg.reqs[0].kind, CARD_REQ_ALL);
	assert_int_equal(nt.cfg.reqs[0].nfield_ords, 2);
	assert_int_equal(nt.cfg.reqs[1].card_ord, 1);
	assert_true(nt.cfg.has_original_id && nt.cfg.original_id == 0);
	j = notetype_to_json(&nt);
	/* originalStockKind omitted when 0; originalId written when set */
	assert_null(json_object_get(j, "originalStockKind"));
	assert_true(json_is_integer(json_object_get(j, "originalId")));
	json_decref(j);
	notetype_free(&nt);
	assert_int_equal(nt_from("{\"id\":1," NT_BASE ",\"originalId\":null}", &nt, NULL), ST_OK);
	assert_false(nt.cfg.has_original_id);
	notetype_free(&nt);

	/* fields: bool-ish sticky/rtl; strict size; lenient extras */
	static const struct {
		const char *v;
		enum status st;
		bool want;
	} sticky[] = {
	    {"true", ST_OK, true},
	    {"1", ST_OK, true},
	    {"0", ST_OK, false},
	    {"1.0", ST_OK, true},
	    {"0.0", ST_OK, false},
	    {"\"TRUE\"", ST_OK, true},
	    {"\"false\"", ST_OK, false},
	    {"\"1\"", ST_OK, true},
	    {"\"0.0\"", ST_OK, false},
	    {"2", ST_INVALID, false},
	    {"\"yes\"", ST_INVALID, false},
	    {"null", ST_INVALID, false},
	    {"0.5", ST_INVALID, false},
	};
	for (size_t i = 0; i < sizeof sticky / sizeof sticky[0]; i++) {
		char text[1024];
		snprintf(
		    text, sizeof text,
		    "{\"id\":1,\"name\":\"N\",\"type\":0,\"mod\":0,\"usn\":0,\"sortf\":0,\"did\":"
		    "null,"
		    "\"css\":\"\",\"tmpls\":[],\"flds\":[{\"name\":\"F\",\"sticky\":%s,\"rtl\":0,"
		    "\"font\":\"A\",\"size\":9,\"id\":\"x\",\"tag\":-1,\"description\":7,"
		    "\"plainText\":1,\"media\":[]}]}",
		    sticky[i].v);
		enum status st = nt_from(text, &nt, NULL);
		if (st != sticky[i].st)
			fail_msg("sticky %s: status %d", sticky[i].v, st);
		if (!st) {
			struct field_config *c = &nt.fields[0].cfg;
			assert_int_equal(c->sticky, sticky[i].want);
			assert_false(c->has_id);  /* "x" -> None */
			assert_false(c->has_tag); /* -1 is not a u32 -> None */
			assert_false(c->plain_text);
			assert_string_equal(c->description, "");
			assert_int_equal(c->other.len, 12);
			assert_memory_equal(c->other.data, "{\"media\":[]}", 12);
		}
		notetype_free(&nt);
	}
	assert_int_equal(nt_from("{\"id\":1," NT_BASE "}", &nt, NULL), ST_OK);
	notetype_free(&nt);
	assert_int_equal(
	    nt_from("{\"id\":1,\"name\":\"N\",\"type\":0,\"mod\":0,\"usn\":0,\"sortf\":0,"
	            "\"did\":null,\"css\":\"\",\"tmpls\":[],\"flds\":[{\"name\":\"F\","
	            "\"ord\":\"0\",\"sticky\":0,\"rtl\":0,\"font\":\"A\",\"size\":9}]}",
	            &nt, &e),
	    ST_INVALID);
	assert_non_null(strstr(e.msg, "ord"));

	/* templates: did only > 0 is written as a number; bsize is a u8 */
	assert_int_equal(
	    nt_from("{\"id\":1,\"name\":\"N\",\"type\":0,\"mod\":0,\"usn\":0,\"sortf\":0,"
	            "\"did\":-3,\"css\":\"\",\"flds\":[],\"tmpls\":[{\"name\":\"A\","
	            "\"qfmt\":\"q\",\"did\":-7,\"bsize\":300,\"bfont\":1},{\"name\":\"B\","
	            "\"qfmt\":\"q\",\"did\":9,\"bsize\":12,\"id\":-1}]}",
	            &nt, NULL),
	    ST_OK);
	assert_true(nt.cfg.target_deck_id_unused == -3);
	assert_true(nt.templates[0].cfg.target_deck_id == -7);
	assert_int_equal(nt.templates[0].cfg.browser_font_size, 0);
	assert_int_equal(nt.templates[1].cfg.browser_font_size, 12);
	assert_true(nt.templates[1].cfg.has_id && nt.templates[1].cfg.id == -1);
	j = notetype_to_json(&nt);
	json_t *t = json_object_get(j, "tmpls");
	assert_true(json_is_null(json_object_get(json_array_get(t, 0), "did")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(t, 1), "did")), 9);
	assert_int_equal(json_integer_value(json_object_get(j, "did")), -3); /* notetype: != 0 */
	json_decref(j);
	notetype_free(&nt);

	/* `other`: unknown keys kept (nested objects sorted), reserved names
	 * dropped on output, key collisions never duplicated */
	assert_int_equal(nt_from("{\"id\":1," NT_BASE ",\"vers\":[],\"zed\":{\"b\":1,\"a\":[{\"y\":"
	                         "0.05,\"x\":1}]},\"tags\":[]}",
	                         &nt, NULL),
	                 ST_OK);
	assert_int_equal(nt.cfg.other.len,
	                 strlen("{\"vers\":[],\"zed\":{\"a\":[{\"x\":1,\"y\":0.05}],"
	                        "\"b\":1},\"tags\":[]}"));
	assert_memory_equal(
	    nt.cfg.other.data,
	    "{\"vers\":[],\"zed\":{\"a\":[{\"x\":1,\"y\":0.05}],\"b\":1},\"tags\":[]}",
	    nt.cfg.other.len);
	pb_bytes_free(&nt.cfg.other);
	const char *other = "{\"css\":\"evil\",\"flds\":1,\"vers\":[],\"x\":{\"b\":2,\"a\":1}}";
	pb_bytes_set(&nt.cfg.other, other, strlen(other), NULL);
	j = notetype_to_json(&nt);
	char *s = dumps(j);
	assert_non_null(strstr(s, ",\"css\":\"c\","));
	assert_null(strstr(s, "evil"));
	assert_non_null(strstr(s, "\"req\":[],\"vers\":[],\"x\":{\"a\":1,\"b\":2}}"));
	free(s);
	json_decref(j);
	/* unparsable other -> treated as empty */
	pb_bytes_set(&nt.cfg.other, "[1,2]", 5, NULL);
	j = notetype_to_json(&nt);
	s = dumps(j);
	assert_true(s[strlen(s) - 2] == ']'); /* ends with "req":[]} */
	free(s);
	json_decref(j);
	notetype_free(&nt);

	/* not an object */
	j = json_array();
	assert_int_equal(notetype_from_json(j, &nt, &e), ST_INVALID);
	json_decref(j);
}

static enum status deck_from(const char *text, struct deck *d, struct errinfo *e)
{
	json_t *j = parse(text);
	enum status st = deck_from_json(j, d, e);
	json_decref(j);
	return st;
}

#define DECK_TODAY                                                                                 \
	"\"lrnToday\":[0,0],\"revToday\":[0,0],\"newToday\":[0,0],\"timeToday\":[0,0],"            \
	"\"collapsed\":false"

static void test_deck_rules(void **state)
{
	(void)state;
	struct deck d;
	struct errinfo e = {0};
	/* ids and mod may be strings; mod is optional; name normalised */
	assert_int_equal(deck_from("{\"id\":\"5\",\"mod\":\"7\",\"name\":\"  A::B\\u001fc:: \","
	                           "\"usn\":0," DECK_TODAY ",\"dyn\":false,\"conf\":\"3\"}",
	                           &d, NULL),
	                 ST_OK);
	assert_true(d.id == 5 && d.mtime == 7);
	assert_string_equal(d.name, "A\x1f"
	                            "Bc\x1f"
	                            "blank");
	assert_int_equal(d.kind.type, DECK_KIND_NORMAL);
	assert_true(d.kind.normal.config_id == 3);
	json_t *j = deck_to_json(&d);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "A::Bc::blank");
	assert_int_equal(json_integer_value(json_object_get(j, "dyn")), 0);
	assert_null(json_object_get(j, "md")); /* md only when true */
	json_decref(j);
	deck_free(&d);
	/* Unicode names: NFC per component */
	assert_int_equal(
	    deck_from("{\"id\":-2,\"name\":\"Cafe\\u0301::\\u82f1\\u8bed\",\"usn\":0," DECK_TODAY
	              ",\"dyn\":0,\"conf\":1}",
	              &d, NULL),
	    ST_OK);
	assert_string_equal(d.name, "Caf\xc3\xa9\x1f\xe8\x8b\xb1\xe8\xaf\xad");
	assert_true(d.id == -2 && d.mtime == 0);
	deck_free(&d);

	/* the *Today pairs collapse to one day; lrnToday's day is ignored for
	 * the maximum; time is kept unconditionally */
	assert_int_equal(deck_from("{\"id\":1,\"name\":\"D\",\"usn\":0,\"lrnToday\":[9,3],"
	                           "\"revToday\":[7,4],\"newToday\":[6,2],\"timeToday\":[5,1000],"
	                           "\"collapsed\":true,\"dyn\":0,\"conf\":1,\"extendNew\":-5,"
	                           "\"extendRev\":\"x\",\"reviewLimit\":-1,\"newLimit\":30,"
	                           "\"reviewLimitToday\":{\"limit\":5,\"today\":7},"
	                           "\"newLimitToday\":{\"limit\":5},\"desiredRetention\":90,"
	                           "\"md\":true,\"desc\":\"hi\",\"return\":true,\"extra\":{\"z\":1,"
	                           "\"a\":2}}",
	                           &d, NULL),
	                 ST_OK);
	assert_int_equal(d.common.last_day_studied, 7);
	assert_int_equal(d.common.review_studied, 4);
	assert_int_equal(d.common.new_studied, 0);
	assert_int_equal(d.common.learning_studied, 0);
	assert_int_equal(d.common.milliseconds_studied, 1000);
	struct deck_normal *n = &d.kind.normal;
	assert_int_equal(n->extend_new, 0);
	assert_int_equal(n->extend_review, 0);
	assert_false(n->has_review_limit);
	assert_true(n->has_new_limit && n->new_limit == 30);
	assert_true(n->has_review_limit_today && n->review_limit_today.limit == 5);
	assert_false(n->has_new_limit_today); /* missing "today" -> None */
	assert_true(n->has_desired_retention && n->desired_retention == 0.9f);
	assert_true(n->markdown_description);
	assert_string_equal(n->description, "hi");
	/* "return" is dropped; unknown keys kept with sorted nested keys */
	assert_int_equal(d.common.other.len, strlen("{\"extra\":{\"a\":2,\"z\":1}}"));
	assert_memory_equal(d.common.other.data, "{\"extra\":{\"a\":2,\"z\":1}}",
	                    d.common.other.len);
	j = deck_to_json(&d);
	char *s = dumps(j);
	assert_string_equal(
	    s, "{\"id\":1,\"mod\":0,\"name\":\"D\",\"usn\":0,\"lrnToday\":[7,0],\"revToday\":[7,4],"
	       "\"newToday\":[7,0],\"timeToday\":[7,1000],\"collapsed\":true,\"browserCollapsed\":"
	       "false,\"desc\":\"hi\",\"md\":true,\"dyn\":0,\"extra\":{\"a\":2,\"z\":1},\"conf\":1,"
	       "\"extendNew\":0,\"extendRev\":0,\"reviewLimit\":null,\"newLimit\":30,"
	       "\"reviewLimitToday\":{\"limit\":5,\"today\":7},\"newLimitToday\":null,"
	       "\"desiredRetention\":90}");
	free(s);
	json_decref(j);
	/* desiredRetention is truncated toward zero on the way out */
	n->desired_retention = 0.905f;
	j = deck_to_json(&d);
	assert_int_equal(json_integer_value(json_object_get(j, "desiredRetention")), 90);
	json_decref(j);
	deck_free(&d);

	/* dyn: required; bool normalised; a number is filtered only when 1 */
	assert_int_equal(
	    deck_from("{\"id\":1,\"name\":\"D\",\"usn\":0," DECK_TODAY ",\"conf\":1}", &d, &e),
	    ST_INVALID);
	assert_non_null(strstr(e.msg, "dyn"));
	assert_int_equal(deck_from("{\"id\":1,\"name\":\"D\",\"usn\":0," DECK_TODAY
	                           ",\"dyn\":\"1\","
	                           "\"conf\":1}",
	                           &d, &e),
	                 ST_INVALID);
	assert_int_equal(deck_from("{\"id\":1,\"name\":\"D\",\"usn\":0," DECK_TODAY ",\"dyn\":2,"
	                           "\"conf\":1}",
	                           &d, NULL),
	                 ST_OK);
	assert_int_equal(d.kind.type, DECK_KIND_NORMAL);
	deck_free(&d);
	/* strict keys */
	assert_int_equal(
	    deck_from("{\"id\":1,\"name\":\"D\",\"usn\":0,\"lrnToday\":5,\"revToday\":"
	              "[0,0],\"newToday\":[0,0],\"timeToday\":[0,0],\"collapsed\":false,"
	              "\"dyn\":0,\"conf\":1}",
	              &d, &e),
	    ST_INVALID);
	assert_int_equal(
	    deck_from("{\"id\":1,\"name\":\"D\",\"usn\":0," DECK_TODAY ",\"dyn\":0}", &d, &e),
	    ST_INVALID); /* conf required for normal decks */
	assert_int_equal(
	    deck_from("{\"id\":1,\"name\":\"D\",\"usn\":0,\"lrnToday\":[],\"revToday\":"
	              "[\"x\",3],\"newToday\":[1],\"timeToday\":[1,2,3],\"collapsed\":"
	              "false,\"dyn\":0,\"conf\":1}",
	              &d, NULL),
	    ST_OK);
	/* []: 0/0; ["x",3]: day 0; [1]: count 1 day 0; [1,2,3]: day 2 count 3 */
	assert_int_equal(d.common.last_day_studied, 2);
	assert_int_equal(d.common.milliseconds_studied, 3);
	assert_int_equal(d.common.new_studied, 0);
	deck_free(&d);
	assert_int_equal(deck_from("{\"id\":1,\"name\":\"bad\\u0000\",\"usn\":0," DECK_TODAY
	                           ",\"dyn\":0,\"conf\":1}",
	                           &d, &e),
	                 ST_INVALID);
}

static void test_filtered_decks(void **state)
{
	(void)state;
	/* build one with the defaults of a new filtered deck */
	struct deck d = {0};
	d.id = 1700000000000LL;
	d.name = strdup("Parent\x1f"
	                "Filtered");
	d.mtime = 10;
	d.usn = -1;
	deck_common_default_normal(&d.common);
	assert_int_equal(deck_kind_new_filtered(&d.kind, NULL), ST_OK);
	json_t *j = deck_to_json(&d);
	assert_json_text(j,
	                 "{\"id\":1700000000000,\"mod\":10,\"name\":\"Parent::Filtered\",\"usn\":"
	                 "-1,\"lrnToday\":[0,0],\"revToday\":[0,0],\"newToday\":[0,0],"
	                 "\"timeToday\":[0,0],\"collapsed\":true,\"browserCollapsed\":true,"
	                 "\"desc\":\"\",\"dyn\":1,\"resched\":true,\"terms\":[[\"\",100,1],"
	                 "[\"\",20,6]],\"separate\":true,\"delays\":null,\"previewDelay\":0,"
	                 "\"previewAgainSecs\":60,\"previewHardSecs\":600,\"previewGoodSecs\":0}");
	struct deck b;
	assert_int_equal(deck_from_json(j, &b, NULL), ST_OK);
	struct buf x, y;
	buf_init(&x, 0);
	buf_init(&y, 0);
	assert_int_equal(deck_kind_encode(&d.kind, &x, NULL), ST_OK);
	assert_int_equal(deck_kind_encode(&b.kind, &y, NULL), ST_OK);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.data, y.data, x.len);
	buf_free(&x);
	buf_free(&y);
	json_decref(j);
	deck_free(&b);
	deck_free(&d);

	/* an old Python-style filtered deck: dyn true, resched as 1, a limit
	 * as a string, negative limit, null delays, obsolete "return", desc
	 * dropped, unknown "conf" kept in other but never emitted */
	j = parse(
	    "{\"id\":9,\"mod\":1,\"name\":\"F\",\"usn\":3,\"lrnToday\":[0,0],\"revToday\":"
	    "[0,0],\"newToday\":[0,0],\"timeToday\":[0,0],\"collapsed\":false,\"dyn\":true,"
	    "\"desc\":\"gone\",\"resched\":1,\"terms\":[[\"deck:x\",\"100\",0],[\"is:due\",-5,"
	    "6]],\"separate\":true,\"delays\":null,\"return\":true,\"conf\":1,"
	    "\"previewDelay\":10}");
	assert_int_equal(deck_from_json(j, &d, NULL), ST_OK);
	json_decref(j);
	assert_int_equal(d.kind.type, DECK_KIND_FILTERED);
	struct deck_filtered *f = &d.kind.filtered;
	assert_true(f->reschedule);
	assert_int_equal(f->nsearch_terms, 2);
	assert_string_equal(f->search_terms[0].search, "deck:x");
	assert_int_equal(f->search_terms[0].limit, 100);
	assert_int_equal(f->search_terms[1].limit, 0);
	assert_int_equal(f->search_terms[1].order, SEARCH_ORDER_DUE);
	assert_int_equal(f->ndelays, 0);
	assert_int_equal(f->preview_delay, 10);
	assert_int_equal(d.common.other.len, 10);
	assert_memory_equal(d.common.other.data, "{\"conf\":1}", 10);
	j = deck_to_json(&d);
	char *s = dumps(j);
	assert_null(strstr(s, "gone"));
	assert_null(strstr(s, "\"conf\""));
	assert_null(strstr(s, "return"));
	free(s);
	json_decref(j);
	f->delays = malloc(2 * sizeof(float));
	f->delays[0] = 1.5f;
	f->delays[1] = 10.0f;
	f->ndelays = 2;
	j = deck_to_json(&d);
	assert_json_text(json_object_get(j, "delays"), "[1.5,10.0]");
	json_decref(j);
	deck_free(&d);

	/* terms must be arrays of three */
	j = parse("{\"id\":9,\"name\":\"F\",\"usn\":3,\"lrnToday\":[0,0],\"revToday\":[0,0],"
	          "\"newToday\":[0,0],\"timeToday\":[0,0],\"collapsed\":false,\"dyn\":1,"
	          "\"resched\":true,\"terms\":[[\"a\",1]]}");
	struct errinfo e = {0};
	assert_int_equal(deck_from_json(j, &d, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "terms[0]"));
	json_decref(j);
}

static enum status dc_from(const char *text, struct deckconf *dc, struct errinfo *e)
{
	json_t *j = parse(text);
	enum status st = deckconf_from_json(j, dc, e);
	json_decref(j);
	return st;
}

#define DC_NEW(ints, extra)                                                                        \
	"\"new\":{\"delays\":[1,10],\"initialFactor\":2500,\"ints\":" ints ",\"order\":0,"         \
	"\"perDay\":20" extra "}"
#define DC_REST                                                                                    \
	"\"rev\":{\"perDay\":200,\"ease4\":1.3,\"ivlFct\":1,\"maxIvl\":36500,\"fuzz\":0.05},"      \
	"\"lapse\":{\"delays\":[10],\"mult\":0,\"minInt\":1,\"leechFails\":8,\"leechAction\":0}"
#define DC_HEAD                                                                                    \
	"\"id\":1,\"mod\":\"0\",\"name\":\"D\",\"usn\":0,\"maxTaken\":-3,\"autoplay\":false,"      \
	"\"timer\":1"

static void test_deckconf_rules(void **state)
{
	(void)state;
	struct deckconf dc;
	struct errinfo e = {0};
	assert_int_equal(
	    dc_from("{" DC_HEAD
	            "," DC_NEW("[1,4,7]", ",\"separate\":true") "," DC_REST
	                                                        ",\"legacyTop\":{\"b\":1,\"a\":0}}",
	            &dc, &e),
	    ST_OK);
	struct deckconf_config *c = &dc.cfg;
	assert_int_equal(c->cap_answer_time_to_secs, 0); /* negative -> 0 */
	assert_true(c->disable_autoplay);                /* autoplay inverted */
	assert_true(c->show_timer);
	assert_true(c->skip_question_when_replaying_answer); /* replayq missing */
	assert_true(c->wait_for_audio);                      /* missing -> true */
	assert_int_equal(c->new_card_insert_order, 1);       /* order 0 = random */
	assert_true(c->initial_ease == 2.5f);                /* permille -> x */
	assert_int_equal(c->graduating_interval_good, 1);
	assert_int_equal(c->graduating_interval_easy, 4);
	assert_true(c->hard_multiplier == 1.2f); /* hardFactor missing */
	assert_true(c->desired_retention == 0.0f && c->historical_retention == 0.0f);
	assert_int_equal(c->leech_action, 0);
	assert_int_equal(c->learn_steps.n, 2);
	const char *want_other =
	    "{\"legacyTop\":{\"a\":0,\"b\":1},\"new\":{\"separate\":true},\"rev\":{\"fuzz\":0.05}}";
	assert_int_equal(c->other.len, strlen(want_other));
	assert_memory_equal(c->other.data, want_other, c->other.len);
	json_t *j = deckconf_to_json(&dc);
	char *s = dumps(j);
	/* fixes applied on output (cap 0 -> 60, retention 0 -> 0.9), the
	 * new/rev extras merged back, legacyTop last */
	assert_string_equal(
	    s,
	    "{\"id\":1,\"mod\":0,\"name\":\"D\",\"usn\":0,\"maxTaken\":60,\"autoplay\":false,"
	    "\"timer\":1,\"replayq\":false,\"new\":{\"bury\":false,\"delays\":[1.0,10.0],"
	    "\"initialFactor\":2500,\"ints\":[1,4,0],\"order\":0,\"perDay\":20,\"separate\":true},"
	    "\"rev\":{\"bury\":false,\"ease4\":1.3,\"ivlFct\":1.0,\"maxIvl\":36500,\"perDay\":200,"
	    "\"hardFactor\":1.2,\"fuzz\":0.05},\"lapse\":{\"delays\":[10.0],\"leechAction\":0,"
	    "\"leechFails\":8,\"minInt\":1,\"mult\":0.0},\"dyn\":false,\"newMix\":0,"
	    "\"newPerDayMinimum\":0,\"interdayLearningMix\":0,\"reviewOrder\":0,\"newSortOrder\":0,"
	    "\"newGatherPriority\":0,\"buryInterdayLearning\":false,\"fsrsWeights\":[],"
	    "\"fsrsParams5\":[],\"fsrsParams6\":[],\"desiredRetention\":0.9,"
	    "\"ignoreRevlogsBeforeDate\":\"\",\"easyDaysPercentages\":[],\"stopTimerOnAnswer\":"
	    "false,\"secondsToShowQuestion\":0.0,\"secondsToShowAnswer\":0.0,\"questionAction\":0,"
	    "\"answerAction\":0,\"waitForAudio\":true,\"sm2Retention\":0.9,\"weightSearch\":\"\","
	    "\"legacyTop\":{\"a\":0,\"b\":1}}");
	free(s);
	json_decref(j);
	/* the model itself was not modified by the output fixes */
	assert_int_equal(c->cap_answer_time_to_secs, 0);
	deckconf_free(&dc);

	/* AnkiDroid's 2-element ints, and invalid ones */
	static const struct {
		const char *ints;
		uint32_t good, easy;
	} iv[] = {
	    {"[3,9]", 3, 9}, {"[2,4,6]", 2, 4}, {"[4]", 1, 4},       {"[-5,4,3]", 1, 4},
	    {"\"x\"", 1, 4}, {"[1.5,4]", 1, 4}, {"[70000,4]", 1, 4}, {"[]", 1, 4},
	};
	for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) {
		char text[1024];
		snprintf(text, sizeof text,
		         "{" DC_HEAD
		         ",\"new\":{\"delays\":[1,10],\"initialFactor\":2500,\"ints\":%s,"
		         "\"order\":1,\"perDay\":20}," DC_REST "}",
		         iv[i].ints);
		assert_int_equal(dc_from(text, &dc, NULL), ST_OK);
		if (dc.cfg.graduating_interval_good != iv[i].good ||
		    dc.cfg.graduating_interval_easy != iv[i].easy)
			fail_msg("ints %s: %u/%u", iv[i].ints, dc.cfg.graduating_interval_good,
			         dc.cfg.graduating_interval_easy);
		assert_true(dc.cfg.initial_ease == 2.5f);
		deckconf_free(&dc);
	}

	/* a new object missing a required key (ints) falls back to defaults
	 * as a whole: its extras are lost too */
	assert_int_equal(dc_from("{" DC_HEAD ",\"new\":{\"delays\":[5],\"initialFactor\":1300,"
	                         "\"order\":0,\"perDay\":99,\"separate\":true}," DC_REST "}",
	                         &dc, NULL),
	                 ST_OK);
	assert_int_equal(dc.cfg.new_per_day, 20);
	assert_int_equal(dc.cfg.learn_steps.n, 2);
	assert_int_equal(dc.cfg.new_card_insert_order, 0);
	assert_null(memmem(dc.cfg.other.data, dc.cfg.other.len, "separate", 8));
	deckconf_free(&dc);
	/* default_on_invalid members inside new: delays -> [], order -> due,
	 * perDay -> 0 (u32 default, not 20) */
	assert_int_equal(
	    dc_from("{" DC_HEAD ",\"new\":{\"delays\":\"x\",\"initialFactor\":1300,"
	            "\"ints\":[1,4],\"order\":7,\"perDay\":-1}," DC_REST
	            ",\"replayq\":true,\"waitForAudio\":false,\"desiredRetention\":0.85,"
	            "\"sm2Retention\":1,\"fsrsWeights\":[1,2.5]}",
	            &dc, NULL),
	    ST_OK);
	assert_int_equal(dc.cfg.learn_steps.n, 0);
	assert_int_equal(dc.cfg.new_card_insert_order, 0);
	assert_int_equal(dc.cfg.new_per_day, 0);
	assert_true(dc.cfg.initial_ease == 1.3f);
	assert_false(dc.cfg.skip_question_when_replaying_answer);
	assert_false(dc.cfg.wait_for_audio);
	assert_true(dc.cfg.desired_retention == 0.85f);
	assert_int_equal(dc.cfg.fsrs_params_4.n, 2);
	j = deckconf_to_json(&dc);
	/* initial ease 1.3 is invalid (< 1.31): emitted as the fixed 2500;
	 * sm2Retention 1.0 is > 0.97: 0.9 */
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "new"), "initialFactor")), 2500);
	assert_json_text(json_object_get(j, "sm2Retention"), "0.9");
	assert_json_text(json_object_get(j, "desiredRetention"), "0.85");
	assert_json_text(json_object_get(j, "fsrsWeights"), "[1.0,2.5]");
	json_decref(j);
	deckconf_free(&dc);
	/* a rev object with a wrong-typed member uses rev defaults */
	assert_int_equal(
	    dc_from("{" DC_HEAD "," DC_NEW(
	                "[1,4]",
	                "") ",\"rev\":{\"perDay\":50,"
	                    "\"ease4\":\"x\",\"ivlFct\":1,\"maxIvl\":10},\"lapse\":{\"delays\":"
	                    "[1],\"mult\":0.5,\"minInt\":2,\"leechFails\":3,\"leechAction\":9}}",
	            &dc, NULL),
	    ST_OK);
	assert_int_equal(dc.cfg.reviews_per_day, 200);
	assert_int_equal(dc.cfg.maximum_review_interval, 36500);
	assert_int_equal(dc.cfg.leech_action, 1); /* 9 is invalid: tag only */
	assert_int_equal(dc.cfg.leech_threshold, 3);
	deckconf_free(&dc);

	/* strict top-level keys */
	static const char *const bad[] = {
	    "{\"mod\":0,\"name\":\"D\",\"usn\":0,\"maxTaken\":1,\"autoplay\":true,\"timer\":0}",
	    "{" DC_HEAD ",\"new\":{}}", /* rev missing */
	    "{" DC_HEAD "," DC_NEW("[1,4]", "") "," DC_REST ",\"questionAction\":2}",
	    "{" DC_HEAD "," DC_NEW("[1,4]", "") "," DC_REST ",\"fsrsWeights\":null}",
	    "{" DC_HEAD "," DC_NEW("[1,4]", "") "," DC_REST ",\"replayq\":1}",
	    "{\"id\":1,\"mod\":0,\"name\":\"D\",\"usn\":0,\"maxTaken\":1,\"autoplay\":1,"
	    "\"timer\":0," DC_NEW("[1,4]", "") "," DC_REST "}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (dc_from(bad[i], &dc, &e) != ST_INVALID)
			fail_msg("case %zu accepted", i);
		assert_null(dc.name);
	}
	/* timer is lenient (wrong type -> 0) but required */
	assert_int_equal(dc_from("{\"id\":1,\"mod\":0,\"name\":\"D\",\"usn\":0,\"maxTaken\":1,"
	                         "\"autoplay\":true,\"timer\":true," DC_NEW("[1,4]", "") "," DC_REST
	                                                                                 "}",
	                         &dc, NULL),
	                 ST_OK);
	assert_false(dc.cfg.show_timer);
	deckconf_free(&dc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dumps_reals),
	    cmocka_unit_test(test_dumps_structure),
	    cmocka_unit_test(test_dumps_matches_anki_text),
	    cmocka_unit_test(test_worked_examples),
	    cmocka_unit_test(test_legacy_fixtures),
	    cmocka_unit_test(test_legacy2_exact),
	    cmocka_unit_test(test_v18_json_roundtrip),
	    cmocka_unit_test(test_notetype_rules),
	    cmocka_unit_test(test_deck_rules),
	    cmocka_unit_test(test_filtered_decks),
	    cmocka_unit_test(test_deckconf_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
