/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_col.c - the collection library on real files: creation equals what
 * Anki creates (fixture new-empty-v18.anki2), every fixture opens, old and
 * broken files are refused without being changed, upgrade/downgrade round
 * trips, notes/cards/graves follow Anki's rules.
 */
#include "testutil.h"

#include <jansson.h>
#include <sqlite3.h>

#include "buf.h"
#include "col.h"
#include "col_model.h"
#include "col_notes.h"
#include "col_proto.h"
#include "col_store.h"
#include "unicase.h"

static char *tmpdir;

static int setup(void **state)
{
	(void)state;
	tmpdir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(tmpdir);
	tmpdir = NULL;
	return 0;
}

static const char *tpath(const char *name)
{
	static char p[8][4096];
	static int k;
	k = (k + 1) % 8;
	snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
	return p[k];
}

/* Copy a fixture to the temp dir; returns the copy's path. */
static const char *fixture_copy(const char *name)
{
	if (!tu_have_fixture(name))
		skip();
	const char *dst = tpath(name);
	tu_copy(tu_fixture(name), dst);
	return dst;
}

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(unicase_register(db), SQLITE_OK);
	return db;
}

static char *query_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	struct buf b;
	buf_init(&b, 0);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);
			buf_append_str(&b, t ? (const char *)t : "NULL", NULL);
			buf_append_str(&b, i + 1 < sqlite3_column_count(st) ? "|" : "\n", NULL);
		}
	}
	sqlite3_finalize(st);
	buf_append(&b, "", 0, NULL);
	return (char *)buf_steal(&b, NULL);
}

static void assert_integrity_ok(const char *path)
{
	sqlite3 *db = raw_open(path);
	char *r = query_text(db, "pragma integrity_check");
	assert_string_equal(r, "ok\n");
	free(r);
	sqlite3_close(db);
}

/* Re-encode a field/template config with its random id cleared. */
static char *blob_without_id(const void *p, size_t n, int is_template)
{
	struct buf b;
	buf_init(&b, 0);
	if (is_template) {
		struct template_config t;
		memset(&t, 0, sizeof t);
		assert_int_equal(template_config_decode(p, n, &t, NULL), ST_OK);
		t.has_id = false;
		t.id = 0;
		assert_int_equal(template_config_encode(&t, &b, NULL), ST_OK);
		template_config_free(&t);
	} else {
		struct field_config f;
		memset(&f, 0, sizeof f);
		assert_int_equal(field_config_decode(p, n, &f, NULL), ST_OK);
		f.has_id = false;
		f.id = 0;
		assert_int_equal(field_config_encode(&f, &b, NULL), ST_OK);
		field_config_free(&f);
	}
	struct buf hex;
	buf_init(&hex, 0);
	for (size_t i = 0; i < b.len; i++)
		buf_printf(&hex, NULL, "%02x", b.data[i]);
	buf_append(&hex, "", 0, NULL);
	buf_free(&b);
	return (char *)buf_steal(&hex, NULL);
}

/* Describe notetypes (by creation order) with random ids and stock kinds
 * neutralised, so two collections can be compared as text. */
static char *describe_notetypes(sqlite3 *db)
{
	struct buf out;
	buf_init(&out, 0);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "select id, name, mtime_secs, usn, config from notetypes "
	                                    "order by id",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		struct notetype_config cfg;
		memset(&cfg, 0, sizeof cfg);
		assert_int_equal(notetype_config_decode(sqlite3_column_blob(st, 4),
		                                        (size_t)sqlite3_column_bytes(st, 4), &cfg, NULL),
		                 ST_OK);
		/* versions before 26.05 wrote 1,1,2,3 for the Basic variants (§5.4) */
		if (cfg.original_stock_kind >= 1 && cfg.original_stock_kind <= 4)
			cfg.original_stock_kind = 1;
		struct buf b;
		buf_init(&b, 0);
		assert_int_equal(notetype_config_encode(&cfg, &b, NULL), ST_OK);
		notetype_config_free(&cfg);
		buf_printf(&out, NULL, "notetype %s mtime=%lld usn=%d config=%zu:", sqlite3_column_text(st, 1),
		           (long long)sqlite3_column_int64(st, 2), sqlite3_column_int(st, 3), b.len);
		for (size_t i = 0; i < b.len; i++)
			buf_printf(&out, NULL, "%02x", b.data[i]);
		buf_append_str(&out, "\n", NULL);
		buf_free(&b);
		for (int t = 0; t < 2; t++) {
			sqlite3_stmt *s2;
			const char *sql = t ? "select ord, name, mtime_secs, usn, config from templates "
			                      "where ntid = ?1 order by ord"
			                    : "select ord, name, 0, 0, config from fields where ntid = ?1 "
			                      "order by ord";
			assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s2, NULL), SQLITE_OK);
			sqlite3_bind_int64(s2, 1, id);
			while (sqlite3_step(s2) == SQLITE_ROW) {
				char *hex = blob_without_id(sqlite3_column_blob(s2, 4),
				                            (size_t)sqlite3_column_bytes(s2, 4), t);
				buf_printf(&out, NULL, "  %s %d %s %lld %d %s\n", t ? "template" : "field",
				           sqlite3_column_int(s2, 0), sqlite3_column_text(s2, 1),
				           (long long)sqlite3_column_int64(s2, 2), sqlite3_column_int(s2, 3), hex);
				free(hex);
			}
			sqlite3_finalize(s2);
		}
	}
	sqlite3_finalize(st);
	buf_append(&out, "", 0, NULL);
	return (char *)buf_steal(&out, NULL);
}

static void test_create_matches_anki(void **state)
{
	(void)state;
	const char *fx = fixture_copy("new-empty-v18.anki2");
	const char *ours = tpath("new.anki2");
	struct errinfo e;
	assert_int_equal(col_create(ours, 0, &e), ST_OK);
	assert_int_equal(col_create(ours, 0, &e), ST_EXISTS);
	assert_integrity_ok(ours);
	sqlite3 *a = raw_open(fx), *b = raw_open(ours);

	/* same tables and indexes (statistics tables aside) */
	const char *schema_sql = "select type, name, tbl_name from sqlite_master "
	                         "where name not like 'sqlite_%' order by type, name";
	char *sa = query_text(a, schema_sql), *sb = query_text(b, schema_sql);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);
	const char *cols_sql = "select m.name, p.name, p.type, p.\"notnull\", p.pk from sqlite_master m, "
	                       "pragma_table_info(m.name) p where m.type = 'table' and "
	                       "m.name not like 'sqlite_%' order by m.name, p.cid";
	sa = query_text(a, cols_sql);
	sb = query_text(b, cols_sql);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);

	/* col row shape */
	sb = query_text(b, "select id, mod, ver, dty, usn, ls, conf, models, decks, dconf, tags, "
	                   "typeof(crt), crt % 60 = 0, scm > 1700000000000 from col");
	assert_string_equal(sb, "1|0|18|0|0|0||||||integer|1|1\n");
	free(sb);

	/* config: the keys creation writes, with Anki's values */
	const char *cfg_sql = "select KEY, usn, mtime_secs, val from config where KEY not in "
	                      "('curModel','creationOffset') and (usn = 0) order by KEY";
	sa = query_text(a, cfg_sql);
	sb = query_text(b, cfg_sql);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);
	sb = query_text(b, "select count(*), sum(usn = -1), min(typeof(val)) from config");
	assert_string_equal(sb, "16|1|blob\n");
	free(sb);
	sb = query_text(b, "select cast(val as text) = cast((select min(id) from notetypes) as text) "
	                   "from config where KEY = 'curModel'");
	assert_string_equal(sb, "1\n");
	free(sb);

	/* default preset and deck byte for byte */
	const char *dc_sql = "select id, name, mtime_secs, usn, hex(config) from deck_config";
	sa = query_text(a, dc_sql);
	sb = query_text(b, dc_sql);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);
	const char *deck_sql = "select id, name, mtime_secs, usn, hex(common), hex(kind) from decks";
	sa = query_text(a, deck_sql);
	sb = query_text(b, deck_sql);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);

	/* stock notetypes, fields and templates, ids and stock-kind aside */
	sa = describe_notetypes(a);
	sb = describe_notetypes(b);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);
	sb = query_text(b, "select count(*), max(id) - min(id) from notetypes");
	assert_string_equal(sb, "6|5\n");
	free(sb);
	/* current Anki's original_stock_kind values 1..6 */
	sqlite3_close(a);
	sqlite3_close(b);

	/* and the library reads it back */
	struct col *c;
	assert_int_equal(col_open(ours, 0, &c, &e), ST_OK);
	int64_t *ids;
	size_t n;
	assert_int_equal(col_list_ids(c, "notetypes", &ids, &n, &e), ST_OK);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++) {
		struct notetype nt;
		assert_int_equal(col_load_notetype(c, ids[i], &nt, &e), ST_OK);
		assert_int_equal(nt.cfg.original_stock_kind, (int)i + 1);
		notetype_free(&nt);
	}
	free(ids);
	col_close(c);
}

static void test_every_fixture_opens(void **state)
{
	(void)state;
	static const char *names[] = {"new-empty-v18.anki2", "schema11-mediacheck.anki2",
	                              "schema16-empty.anki2", "v18-two-decks-revlog.anki2"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *p = fixture_copy(names[i]);
		struct col *c;
		struct errinfo e;
		assert_int_equal(col_open(p, 0, &c, &e), ST_OK);
		struct col_meta m;
		assert_int_equal(col_meta_get(c, &m, &e), ST_OK);
		assert_int_equal(m.ver, 18);
		col_close(c);
		assert_integrity_ok(p);
		/* and opens again, now as schema 18 */
		assert_int_equal(col_open(p, 0, &c, &e), ST_OK);
		assert_int_equal(col_opened_version(c), 18);
		col_close(c);
	}
}

static void test_refuses_alpha(void **state)
{
	(void)state;
	const char *p = fixture_copy("schema1-alpha.anki2");
	size_t n0;
	char *before = tu_read_file(p, &n0);
	struct col *c;
	struct errinfo e;
	assert_int_equal(col_open(p, 0, &c, &e), ST_VERSION);
	assert_non_null(strstr(e.msg, "too old"));
	assert_non_null(strstr(e.msg, "schema 1"));
	size_t n1;
	char *after = tu_read_file(p, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0);
	free(before);
	free(after);
}

static void test_refuses_broken_files(void **state)
{
	(void)state;
	struct errinfo e;
	struct col *c;
	/* random bytes */
	const char *junk = tpath("junk.anki2");
	FILE *f = fopen(junk, "wb");
	for (int i = 0; i < 8192; i++)
		fputc((i * 7919) & 0xff, f);
	fclose(f);
	assert_int_equal(col_open(junk, 0, &c, &e), ST_CORRUPT);
	/* truncated collection: first 3 pages of a real one */
	const char *full = fixture_copy("v18-two-decks-revlog.anki2");
	size_t n;
	char *data = tu_read_file(full, &n);
	const char *trunc = tpath("trunc.anki2");
	f = fopen(trunc, "wb");
	fwrite(data, 1, 3 * 4096 + 100, f);
	fclose(f);
	free(data);
	enum status st = col_open(trunc, 0, &c, &e);
	assert_int_not_equal(st, ST_OK);
	if (st == ST_OK)
		col_close(c);
	/* SQLite file that is not a collection */
	const char *other = tpath("other.sqlite");
	sqlite3 *db;
	assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "create table t(x); insert into t values (1);", 0, 0, 0),
	                 SQLITE_OK);
	sqlite3_close(db);
	size_t n0;
	char *before = tu_read_file(other, &n0);
	assert_int_equal(col_open(other, 0, &c, &e), ST_CORRUPT);
	assert_non_null(strstr(e.msg, "not an Anki collection"));
	char *after = tu_read_file(other, &n);
	assert_int_equal(n, n0);
	assert_memory_equal(before, after, n);
	free(before);
	free(after);
	/* empty file, missing file */
	const char *empty = tpath("empty.anki2");
	tu_write_file(empty, "");
	assert_int_equal(col_open(empty, 0, &c, &e), ST_CORRUPT);
	assert_int_equal(col_open(tpath("missing.anki2"), 0, &c, &e), ST_NOTFOUND);
	/* COL_CREATE makes the missing one */
	assert_int_equal(col_open(tpath("made.anki2"), COL_CREATE, &c, &e), ST_OK);
	col_close(c);
}

static void test_busy_when_held(void **state)
{
	(void)state;
	const char *p = tpath("busy.anki2");
	struct errinfo e;
	assert_int_equal(col_create(p, 0, &e), ST_OK);
	struct col *a, *b;
	assert_int_equal(col_open(p, 0, &a, &e), ST_OK);
	assert_int_equal(col_open(p, 0, &b, &e), ST_BUSY);
	assert_non_null(strstr(e.msg, "in use"));
	col_close(a);
	assert_int_equal(col_open(p, 0, &b, &e), ST_OK);
	col_close(b);
}

static char *objects_snapshot(const char *path)
{
	sqlite3 *db = raw_open(path);
	char *s = query_text(db, "select 'nt', id, name, mtime_secs, usn from notetypes union all "
	                         "select 'fld', ntid, ord, name, hex(config) from fields union all "
	                         "select 'tpl', ntid, ord, name, hex(config) from templates union all "
	                         "select 'deck', id, name, mtime_secs, hex(kind) from decks union all "
	                         "select 'dc', id, name, mtime_secs, hex(config) from deck_config "
	                         "union all select 'tag', tag, usn, 0, 0 from tags "
	                         "union all select 'note', id, csum, mod, flds from notes "
	                         "order by 1, 2");
	sqlite3_close(db);
	return s;
}

static void test_upgrade_then_downgrade_round_trip(void **state)
{
	(void)state;
	const char *p = fixture_copy("schema11-mediacheck.anki2");
	struct col *c;
	struct errinfo e;
	assert_int_equal(col_open(p, 0, &c, &e), ST_OK);
	assert_int_equal(col_opened_version(c), 11);
	col_close(c);
	assert_integrity_ok(p);
	char *first = objects_snapshot(p);
	assert_non_null(strstr(first, "nt|"));

	assert_int_equal(col_open(p, 0, &c, &e), ST_OK);
	assert_int_equal(col_close_downgraded(c, &e), ST_OK);
	sqlite3 *db = raw_open(p);
	char *s = query_text(db, "select ver, length(models) > 100, length(decks) > 10, "
	                         "length(dconf) > 10, conf like '{%' from col");
	assert_string_equal(s, "11|1|1|1|1\n");
	free(s);
	s = query_text(db, "pragma journal_mode");
	assert_string_equal(s, "delete\n");
	free(s);
	s = query_text(db, "select count(*) from sqlite_master where name in ('notetypes','decks',"
	                   "'config','tags','fields','templates','deck_config')");
	assert_string_equal(s, "0\n");
	free(s);
	sqlite3_close(db);

	assert_int_equal(col_open(p, 0, &c, &e), ST_OK);
	assert_int_equal(col_opened_version(c), 11);
	col_close(c);
	char *second = objects_snapshot(p);
	/* The one expected difference: the downgrade passes presets through
	 * Anki's read-time fixes (§4.3), so the missing desiredRetention and
	 * sm2Retention (0.0) come back as 0.9 (fields 37 and 40). */
	char *fix = strstr(first, "C0013CE00201");
	assert_non_null(fix);
	assert_non_null(strstr(second, "C0013CAD026666663FC5026666663FE00201"));
	char *dc_end1 = strchr(first, '\n'), *dc_end2 = strchr(second, '\n');
	assert_string_equal(dc_end1, dc_end2);
	free(first);
	free(second);
}

static void test_notes_cards_graves(void **state)
{
	(void)state;
	const char *p = tpath("notes.anki2");
	struct errinfo e;
	struct col *c;
	setenv("ANKIHOST_FAKE_NOW_MS", "1780000000000", 1);
	assert_int_equal(col_open(p, COL_CREATE, &c, &e), ST_OK);
	json_t *cur = NULL;
	assert_int_equal(col_config_get(c, "curModel", &cur, &e), ST_OK);
	int64_t basic = json_integer_value(cur);
	json_decref(cur);
	assert_int_equal(col_begin(c, &e), ST_OK);
	int64_t ids[3];
	for (int i = 0; i < 3; i++) {
		struct note n = {.mid = basic, .tags = strdup(" t1 "), .flds = strdup("hello\x1f<b>back</b>")};
		assert_int_equal(col_note_add(c, &n, &e), ST_OK);
		ids[i] = n.id;
		assert_int_equal(n.csum, 2868168221u);
		assert_string_equal(n.sfld, "hello");
		assert_int_equal(n.usn, -1);
		struct card cd;
		int64_t pos;
		assert_int_equal(col_next_position(c, &pos, &e), ST_OK);
		assert_int_equal(pos, i + 1);
		card_init_new(&cd, n.id, 1, 0, pos);
		assert_int_equal(col_card_add(c, &cd, &e), ST_OK);
		note_free(&n);
	}
	/* same millisecond: consecutive ids, as Anki bumps them */
	assert_int_equal(ids[0], 1780000000000);
	assert_int_equal(ids[1], ids[0] + 1);
	assert_int_equal(ids[2], ids[0] + 2);
	/* wrong field count is refused */
	struct note bad = {.mid = basic, .flds = strdup("only one")};
	assert_int_equal(col_note_add(c, &bad, &e), ST_INVALID);
	note_free(&bad);
	/* numeric sort field stored as a number; control chars removed */
	struct note num = {.mid = basic, .flds = strdup("42\x1f\x01x")};
	assert_int_equal(col_note_add(c, &num, &e), ST_OK);
	struct note got;
	assert_int_equal(col_note_get(c, num.id, &got, &e), ST_OK);
	assert_string_equal(got.flds, "42\x1fx");
	assert_string_equal(got.sfld, "42");
	note_free(&got);
	note_free(&num);
	/* delete leaves graves for the note and its card */
	assert_int_equal(col_note_delete(c, ids[1], &e), ST_OK);
	assert_int_equal(col_note_delete(c, ids[1], &e), ST_NOTFOUND);
	assert_int_equal(col_commit(c, &e), ST_OK);
	char *s = query_text(col_db(c), "select type, usn from graves order by type");
	assert_string_equal(s, "0|-1\n1|-1\n");
	free(s);
	s = query_text(col_db(c), "select typeof(sfld), count(*) from notes group by 1 order by 1");
	assert_string_equal(s, "integer|1\ntext|2\n");
	free(s);
	/* a card value Anki cannot read is refused */
	struct card cd;
	card_init_new(&cd, ids[0], 1, 0, 1);
	cd.factor = -5;
	assert_int_equal(col_card_add(c, &cd, &e), ST_INVALID);
	col_close(c);
	unsetenv("ANKIHOST_FAKE_NOW_MS");
	assert_integrity_ok(p);
}

static void test_tags_decks_presets(void **state)
{
	(void)state;
	const char *p = tpath("tags.anki2");
	struct errinfo e;
	struct col *c;
	assert_int_equal(col_open(p, COL_CREATE, &c, &e), ST_OK);
	json_t *cur = NULL;
	assert_int_equal(col_config_get(c, "curModel", &cur, &e), ST_OK);
	int64_t basic = json_integer_value(cur);
	json_decref(cur);
	/* tags: canonical order and form (U+3000 separates too), registered,
	 * and a registered spelling wins */
	struct note n = {.mid = basic, .tags = strdup("  zeta Alpha\u3000alpha  ja::日本 "),
	                 .flds = strdup("a\x1f" "b")};
	assert_int_equal(col_note_add(c, &n, &e), ST_OK);
	assert_string_equal(n.tags, " Alpha ja::日本 zeta ");
	note_free(&n);
	struct note m = {.mid = basic, .tags = strdup("ALPHA new"), .flds = strdup("c\x1f" "d")};
	assert_int_equal(col_note_add(c, &m, &e), ST_OK);
	assert_string_equal(m.tags, " Alpha new ");
	note_free(&m);
	char *s = query_text(col_db(c), "select tag, usn, collapsed from tags order by tag");
	assert_string_equal(s, "Alpha|-1|1\nja::日本|-1|1\nnew|-1|1\nzeta|-1|1\n");
	free(s);
	/* decks: a grave; deck 1 stays */
	struct deck d;
	memset(&d, 0, sizeof d);
	d.id = 1700000000000;
	d.name = strdup("Sub\x1f" "Deck");
	deck_common_default_normal(&d.common);
	deck_kind_new_normal(&d.kind);
	assert_int_equal(col_store_deck(c, &d, COL_STORE_NORMAL, &e), ST_OK);
	free(d.name);
	d.name = strdup("sub\x1f" "DECK"); /* unicase clash */
	d.id++;
	assert_int_equal(col_store_deck(c, &d, COL_STORE_NORMAL, &e), ST_EXISTS);
	deck_free(&d);
	assert_int_equal(col_delete_deck(c, 1, &e), ST_INVALID);
	assert_int_equal(col_delete_deck(c, 1700000000000, &e), ST_OK);
	assert_int_equal(col_delete_deck(c, 1700000000000, &e), ST_NOTFOUND);
	s = query_text(col_db(c), "select oid, type, usn from graves");
	assert_string_equal(s, "1700000000000|2|-1\n");
	free(s);
	/* presets: decks fall back to 1, schema time bumped */
	struct deckconf dc;
	memset(&dc, 0, sizeof dc);
	assert_int_equal(col_load_deckconf(c, 1, &dc, &e), ST_OK);
	dc.id = 42;
	assert_int_equal(col_store_deckconf(c, &dc, &e), ST_OK);
	deckconf_free(&dc);
	struct deck d1;
	assert_int_equal(col_load_deck(c, 1, &d1, &e), ST_OK);
	d1.kind.normal.config_id = 42;
	assert_int_equal(col_store_deck(c, &d1, COL_STORE_NORMAL, &e), ST_OK);
	deck_free(&d1);
	struct col_meta before, after;
	assert_int_equal(col_meta_get(c, &before, &e), ST_OK);
	setenv("ANKIHOST_FAKE_NOW_MS", "1990000000000", 1);
	assert_int_equal(col_delete_deckconf(c, 1, &e), ST_INVALID);
	assert_int_equal(col_delete_deckconf(c, 42, &e), ST_OK);
	unsetenv("ANKIHOST_FAKE_NOW_MS");
	assert_int_equal(col_meta_get(c, &after, &e), ST_OK);
	assert_int_equal(after.scm, 1990000000000);
	assert_int_equal(col_load_deck(c, 1, &d1, &e), ST_OK);
	assert_int_equal(d1.kind.normal.config_id, 1);
	deck_free(&d1);
	col_close(c);
	assert_integrity_ok(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_matches_anki, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_fixture_opens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_alpha, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_broken_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy_when_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_then_downgrade_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notes_cards_graves, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tags_decks_presets, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
