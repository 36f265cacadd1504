/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_media_wal.c - the media DB's write-ahead log between requests
 * (media_db.c, docs/media-sync.md "Differences"): handles that write leave
 * their commits in the WAL (no checkpoint at close: that would cost two
 * fsyncs per upload), the first handle that writes nothing folds what is
 * left into the database and empties the WAL (every later open would
 * otherwise read it again), read-only handles never checkpoint, and the
 * folded data is all there, for media_db and for a plain SQLite reader.
 */
#include "media_testutil.h"

#include <sqlite3.h>
#include <sys/stat.h>

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

static long long wal_size(void)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s-wal", dir, MEDIA_DB_FILE);
	struct stat sb;
	return stat(p, &sb) == 0 ? (long long)sb.st_size : -1;
}

static struct media_db *open_db(unsigned flags)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", dir, MEDIA_DB_FILE);
	struct media_db *db = NULL;
	struct errinfo e;
	if (media_db_open(p, flags, &db, &e))
		fail_msg("open: %s", e.msg);
	return db;
}

/* One upload-like batch: n rows and the meta row, one transaction. */
static void add_rows(struct media_db *db, int first, int n)
{
	struct errinfo e;
	struct media_meta meta;
	assert_int_equal(media_db_begin(db, &e), ST_OK);
	assert_int_equal(media_db_get_meta(db, &meta, &e), ST_OK);
	for (int i = first; i < first + n; i++) {
		struct media_row r = {0};
		r.fname_len = (size_t)snprintf(r.fname, sizeof r.fname, "file-%05d.jpg", i);
		memset(r.csum, i & 0xff, MEDIA_SHA1_LEN);
		r.csum_len = MEDIA_SHA1_LEN;
		r.size = 100 + i;
		r.usn = ++meta.last_usn;
		r.mtime = 1700000000;
		meta.total_bytes += r.size;
		meta.total_nonempty_files++;
		assert_int_equal(media_db_put(db, &r, &e), ST_OK);
	}
	assert_int_equal(media_db_set_meta(db, &meta, &e), ST_OK);
	assert_int_equal(media_db_commit(db, &e), ST_OK);
}

static void test_reader_folds_the_wal(void **state)
{
	(void)state;
	unsigned rw = MEDIA_DB_CREATE | MEDIA_DB_SYNC_NORMAL;
	struct media_db *db = open_db(rw);
	media_db_close(db);
	/* writers: the WAL keeps growing across handles (below the
	 * truncating threshold) */
	long long last = wal_size();
	for (int b = 0; b < 3; b++) {
		db = open_db(rw);
		add_rows(db, b * 25, 25);
		media_db_close(db);
		long long now = wal_size();
		assert_true(now > last);
		last = now;
	}
	assert_true(last > 0);
	assert_true(last < (long long)MEDIA_WAL_CKPT_FRAMES * 4096);

	/* a read-only handle (meta's USN probe) never checkpoints */
	int32_t usn = 0;
	struct errinfo e;
	assert_int_equal(media_db_read_usn(dir, &usn, &e), ST_OK);
	assert_int_equal(usn, 75);
	db = open_db(MEDIA_DB_READONLY);
	media_db_close(db);
	assert_int_equal(wal_size(), last);

	/* a writable handle that only reads folds the WAL and empties it */
	db = open_db(rw);
	struct media_meta meta;
	assert_int_equal(media_db_get_meta(db, &meta, &e), ST_OK);
	assert_int_equal(meta.last_usn, 75);
	media_db_close(db);
	assert_int_equal(wal_size(), 0);

	/* everything is in the database file itself now */
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", dir, MEDIA_DB_FILE);
	sqlite3 *raw = NULL;
	assert_int_equal(sqlite3_open_v2(p, &raw, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(raw,
	                       "SELECT count(*), max(usn), (SELECT last_usn FROM meta) "
	                       "FROM media",
	                       -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 75);
	assert_int_equal(sqlite3_column_int(s, 1), 75);
	assert_int_equal(sqlite3_column_int(s, 2), 75);
	sqlite3_finalize(s);
	sqlite3_close(raw);

	/* with an empty WAL a reading handle leaves it so; the next writer
	 * starts a new WAL */
	db = open_db(rw);
	media_db_close(db);
	assert_true(wal_size() <= 0);
	db = open_db(rw);
	add_rows(db, 75, 5);
	media_db_close(db);
	assert_true(wal_size() > 0);
	db = open_db(rw);
	assert_int_equal(media_db_get_meta(db, &meta, &e), ST_OK);
	assert_int_equal(meta.last_usn, 80);
	assert_int_equal(meta.total_nonempty_files, 80);
	media_db_close(db);
	assert_int_equal(wal_size(), 0);
}

/* A reader that finds another connection inside a read transaction
 * cannot truncate; it closes quietly and nothing is lost. */
static void test_fold_meets_a_reader(void **state)
{
	(void)state;
	unsigned rw = MEDIA_DB_CREATE | MEDIA_DB_SYNC_NORMAL;
	struct media_db *db = open_db(rw);
	add_rows(db, 0, 10);
	media_db_close(db);
	long long before = wal_size();
	assert_true(before > 0);

	char p[4096];
	snprintf(p, sizeof p, "%s/%s", dir, MEDIA_DB_FILE);
	sqlite3 *other = NULL;
	assert_int_equal(sqlite3_open_v2(p, &other, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(other, "SELECT fname FROM media ORDER BY usn", -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW); /* holds a read snapshot */

	db = open_db(rw);
	media_db_close(db);
	assert_true(wal_size() > 0); /* not truncated under the reader */

	int rows = 1;
	while (sqlite3_step(s) == SQLITE_ROW)
		rows++;
	assert_int_equal(rows, 10);
	sqlite3_finalize(s);
	sqlite3_close(other);

	db = open_db(rw);
	media_db_close(db);
	assert_int_equal(wal_size(), 0);
	db = open_db(rw);
	struct media_meta meta;
	struct errinfo e;
	assert_int_equal(media_db_get_meta(db, &meta, &e), ST_OK);
	assert_int_equal(meta.last_usn, 10);
	media_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reader_folds_the_wal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fold_meets_a_reader, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
