/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_media_db.c - the server media DB (sync-protocol.md §5.7): the
 * schema a fresh file gets (compared column by column with the official
 * layout), pragmas, the one meta row, the schema 3 upgrade (USN never
 * lowered), refusal of unknown versions and non-databases, the change list
 * order/limit, and the read-only USN probe used by `meta`.
 */
#include "media_testutil.h"

#include <sqlite3.h>
#include <strings.h>

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	dir = NULL;
	return 0;
}

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static char *raw_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	char *v = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return v;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

/* "name type notnull pk;" per column */
static char *columns(sqlite3 *db, const char *table)
{
	char sql[128], *out = calloc(1, 1024);
	snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		char one[160];
		snprintf(one, sizeof one, "%s %s %d %d;", sqlite3_column_text(s, 1),
		         sqlite3_column_text(s, 2), sqlite3_column_int(s, 3),
		         sqlite3_column_int(s, 5));
		strcat(out, one);
	}
	sqlite3_finalize(s);
	return out;
}

/* The official schema 4, as §5.7 gives it, built by hand. */
static void official_v4(const char *path)
{
	sqlite3 *db = raw_open(path);
	raw_exec(db, "PRAGMA journal_mode = wal;"
	             "CREATE TABLE media (fname text NOT NULL PRIMARY KEY, csum blob NOT NULL,"
	             " size int NOT NULL, usn int NOT NULL, mtime int NOT NULL);"
	             "CREATE INDEX ix_usn ON media (usn);"
	             "CREATE TABLE meta (last_usn int NOT NULL, total_bytes int NOT NULL,"
	             " total_nonempty_files int NOT NULL);"
	             "INSERT INTO meta VALUES (0, 0, 0);"
	             "PRAGMA user_version = 4;");
	sqlite3_close(db);
}

static void test_fresh_schema(void **state)
{
	(void)state;
	char p[4200], q[4200];
	path_of(p, sizeof p, "media.db");
	struct media_db *m = NULL;
	struct errinfo e;
	assert_int_equal(media_db_open(p, MEDIA_DB_READONLY, &m, &e), ST_NOTFOUND);
	assert_int_equal(media_db_open(p, 0, &m, &e), ST_NOTFOUND);
	assert_int_equal(media_db_open(p, MEDIA_DB_CREATE, &m, &e), ST_OK);
	struct media_meta meta;
	assert_int_equal(media_db_get_meta(m, &meta, NULL), ST_OK);
	assert_int_equal(meta.last_usn, 0);
	assert_int_equal(meta.total_bytes, 0);
	assert_int_equal(meta.total_nonempty_files, 0);
	media_db_close(m);

	path_of(q, sizeof q, "official.db");
	official_v4(q);
	sqlite3 *a = raw_open(p), *b = raw_open(q);
	assert_int_equal(raw_int(a, "PRAGMA user_version"), 4);
	char *ja = raw_text(a, "PRAGMA journal_mode");
	assert_string_equal(ja, "wal");
	free(ja);
	const char *tables[] = {"media", "meta"};
	for (int i = 0; i < 2; i++) {
		char *ca = columns(a, tables[i]), *cb = columns(b, tables[i]);
		assert_string_equal(ca, cb);
		free(ca);
		free(cb);
	}
	assert_int_equal(raw_int(a, "SELECT count(*) FROM sqlite_master WHERE type='index' AND "
	                            "name='ix_usn' AND tbl_name='media'"),
	                 1);
	assert_int_equal(raw_int(a, "SELECT count(*) FROM sqlite_master WHERE type='table'"), 2);
	assert_int_equal(raw_int(a, "SELECT count(*) FROM meta"), 1);
	/* rowid table, like the official one (not WITHOUT ROWID) */
	assert_int_equal(raw_int(a, "SELECT count(*) FROM sqlite_master WHERE name='media' AND "
	                            "sql LIKE '%WITHOUT ROWID%'"),
	                 0);
	sqlite3_close(a);
	sqlite3_close(b);
	/* the official file opens as is */
	assert_int_equal(media_db_open(q, 0, &m, &e), ST_OK);
	media_db_close(m);
	/* exclusive locking as the official server: a second opener waits,
	 * then gives up with BUSY */
	assert_int_equal(media_db_open(q, MEDIA_DB_EXCLUSIVE, &m, &e), ST_OK);
	assert_int_equal(media_db_begin(m, NULL), ST_OK);
	struct media_row r = {.fname = "x", .fname_len = 1, .csum_len = 20, .size = 1, .usn = 1};
	assert_int_equal(media_db_put(m, &r, NULL), ST_OK);
	assert_int_equal(media_db_commit(m, NULL), ST_OK);
	media_db_close(m);
}

static void test_versions(void **state)
{
	(void)state;
	char p[4200];
	path_of(p, sizeof p, "future.db");
	sqlite3 *db = raw_open(p);
	raw_exec(db, "CREATE TABLE media (x); PRAGMA user_version = 5;");
	sqlite3_close(db);
	struct media_db *m = NULL;
	struct errinfo e;
	assert_int_equal(media_db_open(p, MEDIA_DB_CREATE, &m, &e), ST_VERSION);
	db = raw_open(p);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 5); /* untouched */
	sqlite3_close(db);

	path_of(p, sizeof p, "noversion.db");
	db = raw_open(p);
	raw_exec(db, "CREATE TABLE media (x);");
	sqlite3_close(db);
	assert_int_equal(media_db_open(p, MEDIA_DB_CREATE, &m, &e), ST_VERSION);

	path_of(p, sizeof p, "text.db");
	tu_write_file(p, "this is not an SQLite database, but long enough to look at....."
	                 "................................................................");
	assert_int_equal(media_db_open(p, MEDIA_DB_CREATE, &m, &e), ST_CORRUPT);

	path_of(p, sizeof p, "nometa.db");
	official_v4(p);
	db = raw_open(p);
	raw_exec(db, "DELETE FROM meta");
	sqlite3_close(db);
	assert_int_equal(media_db_open(p, 0, &m, &e), ST_CORRUPT);
	assert_non_null(strstr(e.msg, "meta"));
}

/* Schema 3 as the official server wrote it, upgraded: deletions (csum
 * NULL) dropped, sz -> size, deleted -> mtime, totals recomputed, and
 * last_usn = max(v3 meta.usn, max(usn)), never lower. */
static void test_upgrade_v3(void **state)
{
	(void)state;
	char p[4200];
	path_of(p, sizeof p, "v3.db");
	sqlite3 *db = raw_open(p);
	raw_exec(db, "CREATE TABLE media (fname text NOT NULL PRIMARY KEY, csum blob,"
	             " sz int NOT NULL, usn int NOT NULL, deleted int NOT NULL);"
	             "CREATE INDEX ix_usn ON media (usn);"
	             "CREATE TABLE meta (usn int NOT NULL, sz int NOT NULL);"
	             "INSERT INTO meta VALUES (9, 300);"
	             "INSERT INTO media VALUES ('a.jpg', "
	             "x'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d', 100, 3, 0);"
	             "INSERT INTO media VALUES ('b.jpg', "
	             "x'0000000000000000000000000000000000000001', 200, 5, 0);"
	             "INSERT INTO media VALUES ('gone.jpg', NULL, 0, 9, 1);"
	             "PRAGMA user_version = 3;");
	sqlite3_close(db);
	int32_t usn = -1;
	/* the read-only probe understands v3 */
	char *save = strdup(p);
	*strrchr(save, '/') = '\0';
	struct media_db *m = NULL;
	struct errinfo e;
	assert_int_equal(media_db_open(p, MEDIA_DB_READONLY, &m, &e), ST_VERSION);
	assert_int_equal(media_db_open(p, 0, &m, &e), ST_OK);
	struct media_meta meta;
	assert_int_equal(media_db_get_meta(m, &meta, NULL), ST_OK);
	assert_int_equal(meta.last_usn, 9); /* the official upgrade would say 5 */
	assert_int_equal(meta.total_bytes, 300);
	assert_int_equal(meta.total_nonempty_files, 2);
	struct media_row r;
	assert_int_equal(media_db_get(m, "gone.jpg", 8, &r, NULL), ST_NOTFOUND);
	assert_int_equal(media_db_get(m, "a.jpg", 5, &r, NULL), ST_OK);
	assert_int_equal(r.size, 100);
	assert_int_equal(r.usn, 3);
	assert_int_equal(r.csum_len, 20);
	assert_int_equal(r.csum[0], 0xaa);
	media_db_close(m);
	db = raw_open(p);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 4);
	char *cols = columns(db, "media");
	assert_int_equal(
	    strcasecmp(cols,
	               "fname text 1 1;csum blob 1 0;size int 1 0;usn int 1 0;mtime int 1 0;"),
	    0);
	free(cols);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name='ix_usn'"), 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%v3%'"),
	                 0);
	sqlite3_close(db);
	free(save);
	(void)usn;
}

static void test_read_usn(void **state)
{
	(void)state;
	int32_t usn = -1;
	assert_int_equal(media_db_read_usn(dir, &usn, NULL), ST_OK);
	assert_int_equal(usn, 0); /* no media.db yet */
	char p[4200];
	path_of(p, sizeof p, MEDIA_DB_FILE);
	official_v4(p);
	sqlite3 *db = raw_open(p);
	raw_exec(db, "UPDATE meta SET last_usn = 42");
	sqlite3_close(db);
	assert_int_equal(media_db_read_usn(dir, &usn, NULL), ST_OK);
	assert_int_equal(usn, 42);
	unlink(p);
	db = raw_open(p);
	raw_exec(db, "CREATE TABLE media (fname text, csum blob, sz int, usn int, deleted int);"
	             "CREATE TABLE meta (usn int, sz int); INSERT INTO meta VALUES (17, 0);"
	             "PRAGMA user_version = 3;");
	sqlite3_close(db);
	assert_int_equal(media_db_read_usn(dir, &usn, NULL), ST_OK);
	assert_int_equal(usn, 17);
}

struct collect {
	int32_t usns[2000];
	size_t n;
};

static int collect(void *arg, const struct media_row *r)
{
	struct collect *c = arg;
	c->usns[c->n++] = r->usn;
	return 0;
}

static void test_changes_order(void **state)
{
	(void)state;
	char p[4200];
	path_of(p, sizeof p, "c.db");
	struct media_db *m = NULL;
	assert_int_equal(media_db_open(p, MEDIA_DB_CREATE | MEDIA_DB_SYNC_NORMAL, &m, NULL), ST_OK);
	assert_int_equal(media_db_begin(m, NULL), ST_OK);
	/* 1500 rows inserted in an order unrelated to usn */
	for (int i = 0; i < 1500; i++) {
		struct media_row r = {.csum_len = 20, .size = 1};
		int usn = (i * 7919) % 1500 + 1;
		r.fname_len = (size_t)snprintf(r.fname, sizeof r.fname, "f%05d", 1500 - i);
		r.usn = usn;
		assert_int_equal(media_db_put(m, &r, NULL), ST_OK);
	}
	assert_int_equal(media_db_commit(m, NULL), ST_OK);
	struct collect *c = calloc(1, sizeof *c);
	assert_int_equal(media_db_changes(m, 0, MEDIA_CHANGES_MAX, collect, c, NULL), ST_OK);
	assert_int_equal(c->n, 1000);
	for (size_t i = 0; i < c->n; i++)
		assert_int_equal(c->usns[i], (int32_t)i + 1);
	c->n = 0;
	assert_int_equal(media_db_changes(m, 1000, MEDIA_CHANGES_MAX, collect, c, NULL), ST_OK);
	assert_int_equal(c->n, 500);
	assert_int_equal(c->usns[0], 1001);
	c->n = 0;
	assert_int_equal(media_db_changes(m, 1500, MEDIA_CHANGES_MAX, collect, c, NULL), ST_OK);
	assert_int_equal(c->n, 0);
	/* a group of equal usns across the limit is not split */
	assert_int_equal(media_db_begin(m, NULL), ST_OK);
	assert_int_equal(sqlite3_exec(media_db_sqlite(m),
	                              "UPDATE media SET usn = 999 WHERE usn IN (1000, 1001)", NULL,
	                              NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(media_db_commit(m, NULL), ST_OK);
	c->n = 0;
	assert_int_equal(media_db_changes(m, 0, MEDIA_CHANGES_MAX, collect, c, NULL), ST_OK);
	assert_int_equal(c->n, 998); /* rows with usn 999 wait for the next call */
	assert_int_equal(c->usns[997], 998);
	c->n = 0;
	assert_int_equal(media_db_changes(m, 998, MEDIA_CHANGES_MAX, collect, c, NULL), ST_OK);
	assert_int_equal(c->usns[0], 999);
	assert_int_equal(c->usns[1], 999);
	assert_int_equal(c->usns[2], 999);
	assert_int_equal(c->usns[3], 1002);
	free(c);
	int64_t rows;
	struct media_meta actual;
	assert_int_equal(media_db_count(m, &rows, &actual, NULL), ST_OK);
	assert_int_equal(rows, 1500);
	assert_int_equal(actual.total_nonempty_files, 1500);
	media_db_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fresh_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_v3, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_usn, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changes_order, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
