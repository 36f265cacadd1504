/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_media_download.c - downloadFiles, begin, mediaChanges, mediaSanity
 * and the result wrapper at the library level (sync-protocol.md §5.1-§5.3,
 * §5.5, §5.6, §9.8), plus a user directory laid out by the official server
 * (built here from §5.7/§6.2) being served as is.
 */
#include "media_testutil.h"

#include <sqlite3.h>

static enum status download(struct mt_env *t, const char *const *names, size_t n, struct mt_dl *d,
                            struct errinfo *e)
{
	struct media_download dl;
	enum status st = media_srv_download(t->m, names, n, &dl, e);
	if (st == ST_OK) {
		int fd = mt_dl_fd(&dl);
		struct stat sb;
		assert_int_equal(fstat(fd, &sb), 0);
		assert_int_equal((uint64_t)sb.st_size, dl.size);
		assert_int_equal(sb.st_nlink, 0); /* unlinked: nothing left on disk */
		mt_read_download(fd, d);
		assert_int_equal(d->n, dl.files);
		close(fd);
	} else {
		assert_int_equal(dl.fd, -1);
		assert_null(dl.data);
	}
	return st;
}

static void test_hello(void **state)
{
	struct mt_env *t = *state;
	struct mt_change c = {"hello.txt", "hello", 5};
	assert_int_equal(mt_upload(t, &c, 1, NULL, NULL), ST_OK);
	const char *names[] = {"hello.txt"};
	struct mt_dl d;
	assert_int_equal(download(t, names, 1, &d, NULL), ST_OK);
	assert_int_equal(d.n, 1);
	assert_true(d.meta_is_object);
	assert_string_equal(d.names[0], "hello.txt");
	assert_int_equal(d.lens[0], 5);
	assert_memory_equal(d.datas[0], "hello", 5);
	mt_dl_free(&d);
	/* through the JSON entry point, and an empty request */
	struct media_download dl;
	const char *req = "{\"files\":[\"hello.txt\"]}";
	assert_int_equal(media_srv_download_json(t->m, req, strlen(req), &dl, NULL), ST_OK);
	assert_int_equal(dl.files, 1);
	close(mt_dl_fd(&dl));
	const char *none = "{\"files\":[]}";
	assert_int_equal(media_srv_download_json(t->m, none, strlen(none), &dl, NULL), ST_OK);
	assert_int_equal(dl.files, 0);
	int fd = mt_dl_fd(&dl);
	mt_read_download(fd, &d);
	assert_int_equal(d.n, 0);
	assert_true(d.meta_is_object);
	close(fd);
	/* after deletion: 409 */
	struct mt_change del = {"hello.txt", NULL, 0};
	assert_int_equal(mt_upload(t, &del, 1, NULL, NULL), ST_OK);
	struct errinfo e;
	enum status st = download(t, names, 1, &d, &e);
	assert_int_equal(st, ST_CONFLICT);
	assert_int_equal(status_http(st), 409);
}

/* The prefix rule: stop after the file that passes 2.5 MiB. */
static void test_prefix_cut(void **state)
{
	struct mt_env *t = *state;
	size_t mib = 1u << 20;
	char *big = malloc(3 * mib);
	for (size_t i = 0; i < 3 * mib; i++)
		big[i] = (char)(i * 31 + 7);
	struct mt_change c[5] = {{"m1", big, mib},
	                         {"m2", big + 1, mib},
	                         {"m3", big + 2, mib},
	                         {"m4", big + 3, mib},
	                         {"huge", big, 3 * mib}};
	assert_int_equal(mt_upload(t, c, 5, NULL, NULL), ST_OK);
	const char *names[] = {"m1", "m2", "m3", "m4"};
	struct mt_dl d;
	assert_int_equal(download(t, names, 4, &d, NULL), ST_OK);
	assert_int_equal(d.n, 3); /* 1 + 1 + 1 MiB passes 2.5 MiB at the third */
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(d.names[i], names[i]);
		assert_int_equal(d.lens[i], mib);
		assert_memory_equal(d.datas[i], big + i, mib);
	}
	mt_dl_free(&d);
	/* the rest, as the client asks next */
	assert_int_equal(download(t, names + 3, 1, &d, NULL), ST_OK);
	assert_int_equal(d.n, 1);
	mt_dl_free(&d);
	/* a single file over the target still comes alone: never zero files */
	const char *h[] = {"huge", "m1"};
	assert_int_equal(download(t, h, 2, &d, NULL), ST_OK);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.lens[0], 3 * mib);
	mt_dl_free(&d);
	/* a missing name after the cut is not even looked at */
	const char *late[] = {"huge", "nope"};
	assert_int_equal(download(t, late, 2, &d, NULL), ST_OK);
	mt_dl_free(&d);
	free(big);
}

static void test_limits_and_missing(void **state)
{
	struct mt_env *t = *state;
	char names[26][16];
	const char *req[26];
	struct mt_change c[25];
	for (int i = 0; i < 26; i++) {
		snprintf(names[i], sizeof names[i], "s%02d", i);
		req[i] = names[i];
		if (i < 25)
			c[i] = (struct mt_change){names[i], names[i], 3};
	}
	assert_int_equal(mt_upload(t, c, 25, NULL, NULL), ST_OK);
	struct mt_dl d;
	struct errinfo e;
	assert_int_equal(download(t, req, 26, &d, &e), ST_INVALID);
	assert_int_equal(download(t, req, 25, &d, NULL), ST_OK);
	assert_int_equal(d.n, 25);
	for (int i = 0; i < 25; i++)
		assert_string_equal(d.datas[i], names[i]);
	mt_dl_free(&d);
	/* 26 names in JSON: 400 before any lookup */
	char json[1024] = "{\"files\":[";
	for (int i = 0; i < 26; i++) {
		strcat(json, i ? ",\"nope\"" : "\"nope\"");
	}
	strcat(json, "]}");
	struct media_download dl;
	assert_int_equal(media_srv_download_json(t->m, json, strlen(json), &dl, &e), ST_INVALID);
	/* names that do not exist, hostile or not: 409, nothing read */
	const char *bad[] = {"does-not-exist", "../user/media.db", "/etc/passwd", "a/b", "..", "",
	                     "../../sentinel"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *one[] = {"s00", bad[i]};
		assert_int_equal(download(t, one, 2, &d, &e), ST_CONFLICT);
	}
	int32_t usn = mt_usn(t);
	/* a file gone from disk: 409, its row forgotten without a USN change */
	char p[4200];
	snprintf(p, sizeof p, "%s/s03", t->media);
	assert_int_equal(unlink(p), 0);
	const char *three[] = {"s02", "s03", "s04"};
	assert_int_equal(download(t, three, 3, &d, &e), ST_CONFLICT);
	assert_int_equal(mt_usn(t), usn);
	struct media_row row;
	assert_int_equal(media_db_get(media_srv_db(t->m), "s03", 3, &row, NULL), ST_NOTFOUND);
	struct media_meta meta;
	assert_int_equal(media_srv_meta(t->m, &meta, NULL), ST_OK);
	assert_int_equal(meta.total_nonempty_files, 24);
	assert_int_equal(meta.total_bytes, 24 * 3);
	/* the client's retry without it works */
	const char *two[] = {"s02", "s04"};
	assert_int_equal(download(t, two, 2, &d, NULL), ST_OK);
	mt_dl_free(&d);
	/* a file of the wrong size: forgotten and removed */
	tu_write_file(strcat(strcpy(p, t->media), "/s05"), "longer than before");
	const char *five[] = {"s05"};
	assert_int_equal(download(t, five, 1, &d, &e), ST_CONFLICT);
	assert_null(mt_file(t, "s05", NULL));
	assert_int_equal(media_db_get(media_srv_db(t->m), "s05", 3, &row, NULL), ST_NOTFOUND);
	/* a symlink planted in the folder is never followed */
	snprintf(p, sizeof p, "%s/s06", t->media);
	unlink(p);
	char target[4200];
	snprintf(target, sizeof target, "%s/sentinel", t->root);
	assert_int_equal(symlink(target, p), 0);
	const char *six[] = {"s06"};
	assert_int_equal(download(t, six, 1, &d, &e), ST_CONFLICT);
	unlink(p);
	assert_int_equal(mt_usn(t), usn);
	mt_assert_consistent(t);
	/* bad JSON bodies */
	const char *bodies[] = {
	    "", "[]", "{\"files\":\"a\"}", "{\"files\":[1]}", "{}", "{\"files\":null}"};
	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
		assert_int_equal(
		    media_srv_download_json(t->m, bodies[i], strlen(bodies[i]), &dl, &e),
		    ST_INVALID);
}

static char *json_call(struct mt_env *t, int which, const char *body, enum status want)
{
	struct buf b;
	buf_init(&b, 0);
	struct errinfo e;
	errinfo_clear(&e);
	enum status st = which == 0   ? media_srv_begin_json(t->m, body, strlen(body), "hk", &b, &e)
	                 : which == 1 ? media_srv_changes_json(t->m, body, strlen(body), &b, &e)
	                              : media_srv_sanity_json(t->m, body, strlen(body), &b, &e);
	if (st != want)
		fail_msg("%s: %s (%s), want %s", body, status_name(st), e.msg, status_name(want));
	if (st)
		assert_int_equal(b.len, 0);
	return (char *)buf_steal(&b, NULL);
}

static void test_json_methods(void **state)
{
	struct mt_env *t = *state;
	/* begin, §9.8: 75 bytes */
	struct buf b;
	buf_init(&b, 0);
	const char *hkey = "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d";
	const char *body = "{\"v\":\"anki,26.08.1 (dev),linux\"}";
	assert_int_equal(media_srv_begin_json(t->m, body, strlen(body), hkey, &b, NULL), ST_OK);
	assert_string_equal(
	    (char *)b.data,
	    "{\"data\":{\"usn\":0,\"sk\":\"b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d\"},"
	    "\"err\":\"\"}");
	assert_int_equal(b.len, 75);
	buf_free(&b);
	const char *bad_begin[] = {"{\"v\":\"\"}", "{}",       "{\"v\":1}",
	                           "{\"v\":null}", "not json", "[]"};
	for (size_t i = 0; i < sizeof bad_begin / sizeof *bad_begin; i++)
		free(json_call(t, 0, bad_begin[i], ST_INVALID));
	/* legacy: version from the form/query */
	buf_init(&b, 0);
	assert_int_equal(media_srv_begin(t->m, "x", hkey, &b, NULL), ST_OK);
	assert_int_equal(media_srv_begin(t->m, "", hkey, &b, NULL), ST_INVALID);
	assert_int_equal(media_srv_begin(t->m, NULL, hkey, &b, NULL), ST_INVALID);
	buf_free(&b);
	/* unknown keys are ignored, as serde does */
	free(json_call(t, 0, "{\"v\":\"x\",\"extra\":1}", ST_OK));

	struct mt_change c = {"hello.txt", "hello", 5};
	assert_int_equal(mt_upload(t, &c, 1, NULL, NULL), ST_OK);
	char *r = json_call(t, 1, "{\"lastUsn\":0}", ST_OK);
	assert_string_equal(
	    r, "{\"data\":[[\"hello.txt\",1,\"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\"]],"
	       "\"err\":\"\"}");
	free(r);
	r = json_call(t, 1, "{\"lastUsn\":1}", ST_OK);
	assert_string_equal(r, "{\"data\":[],\"err\":\"\"}");
	free(r);
	r = json_call(t, 1, "{\"lastUsn\":-5}", ST_OK);
	assert_non_null(strstr(r, "hello.txt"));
	free(r);
	const char *bad_changes[] = {"{}",
	                             "{\"lastUsn\":\"0\"}",
	                             "{\"lastUsn\":1.5}",
	                             "{\"lastUsn\":2147483648}",
	                             "{\"lastusn\":0}",
	                             "[0]"};
	for (size_t i = 0; i < sizeof bad_changes / sizeof *bad_changes; i++)
		free(json_call(t, 1, bad_changes[i], ST_INVALID));

	r = json_call(t, 2, "{\"local\":1}", ST_OK);
	assert_string_equal(r, "{\"data\":\"OK\",\"err\":\"\"}");
	free(r);
	r = json_call(t, 2, "{\"local\":2}", ST_OK);
	assert_string_equal(r, "{\"data\":\"mediaSanity\",\"err\":\"\"}");
	free(r);
	r = json_call(t, 2, "{\"local\":0}", ST_OK);
	assert_string_equal(r, "{\"data\":\"mediaSanity\",\"err\":\"\"}");
	free(r);
	const char *bad_sanity[] = {"{}", "{\"local\":-1}", "{\"local\":4294967296}",
	                            "{\"local\":\"1\"}"};
	for (size_t i = 0; i < sizeof bad_sanity / sizeof *bad_sanity; i++)
		free(json_call(t, 2, bad_sanity[i], ST_INVALID));
	int ok = -1;
	assert_int_equal(media_srv_sanity(t->m, 1, &ok, NULL, NULL), ST_OK);
	assert_int_equal(ok, 1);

	/* the wrapper helpers */
	buf_init(&b, 0);
	assert_int_equal(media_srv_wrap(&b, "[1,2]", 5, NULL), ST_OK);
	assert_string_equal((char *)b.data, "{\"data\":[1,2],\"err\":\"\"}");
	buf_reset(&b);
	assert_int_equal(media_srv_wrap_err(&b, "say \"hi\"", NULL), ST_OK);
	assert_string_equal((char *)b.data, "{\"err\":\"say \\\"hi\\\"\"}");
	buf_free(&b);
}

/* Names with characters JSON must escape come back intact. */
static void test_json_escaping(void **state)
{
	struct mt_env *t = *state;
	const char *name = "quote\"nl\nslash\ttab \xe2\x80\xa8 \xf0\x9f\x98\x80.txt";
	struct mt_change c = {name, "x", 1};
	struct errinfo e;
	if (mt_upload(t, &c, 1, NULL, &e))
		fail_msg("%s", e.msg);
	char *r = json_call(t, 1, "{\"lastUsn\":0}", ST_OK);
	json_t *j = json_loads(r, 0, NULL);
	assert_non_null(j);
	assert_string_equal(
	    json_string_value(json_array_get(json_array_get(json_object_get(j, "data"), 0), 0)),
	    name);
	json_decref(j);
	free(r);
	const char *names[] = {name};
	struct mt_dl d;
	assert_int_equal(download(t, names, 1, &d, NULL), ST_OK);
	assert_string_equal(d.names[0], name);
	mt_dl_free(&d);
}

/* A user directory exactly as the official server leaves it (schema 4
 * DB with WAL, flat media folder), built from the spec, is served: changes,
 * downloads, sanity, then new uploads continue its USN. */
static void test_official_layout(void **state)
{
	struct mt_env *t = *state;
	media_srv_close(t->m);
	t->m = NULL;
	char p[4200];
	snprintf(p, sizeof p, "%s/%s", t->user, MEDIA_DB_FILE);
	unlink(p);
	char wal[4300];
	snprintf(wal, sizeof wal, "%s-wal", p);
	unlink(wal);
	snprintf(wal, sizeof wal, "%s-shm", p);
	unlink(wal);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	const char *sql = "PRAGMA locking_mode = exclusive; PRAGMA journal_mode = wal;"
	                  "BEGIN EXCLUSIVE;"
	                  "CREATE TABLE media (fname text NOT NULL PRIMARY KEY, csum blob NOT "
	                  "NULL, size int NOT NULL,"
	                  " usn int NOT NULL, mtime int NOT NULL);"
	                  "CREATE INDEX ix_usn ON media (usn);"
	                  "CREATE TABLE meta (last_usn int NOT NULL, total_bytes int NOT NULL,"
	                  " total_nonempty_files int NOT NULL);"
	                  "INSERT INTO meta VALUES (7, 10, 2);"
	                  "INSERT INTO media VALUES ('hello.txt', "
	                  "x'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d', 5, 2, 1700000000);"
	                  "INSERT INTO media VALUES ('world.txt', "
	                  "x'7c211433f02071597741e6ff5a8ea34789abbf43', 5, 6, 1700000001);"
	                  "INSERT INTO media VALUES ('gone.jpg', "
	                  "x'0000000000000000000000000000000000000000', 0, 7, 1700000002);"
	                  "PRAGMA user_version = 4; COMMIT;";
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s", err);
	sqlite3_close(db);
	char f[4300];
	snprintf(f, sizeof f, "%s/hello.txt", t->media);
	tu_write_file(f, "hello");
	snprintf(f, sizeof f, "%s/world.txt", t->media);
	tu_write_file(f, "world");
	mt_env_open(t);
	mt_assert_consistent(t);
	assert_int_equal(mt_usn(t), 7);
	int32_t probe = -1;
	assert_int_equal(media_db_read_usn(t->user, &probe, NULL), ST_OK);
	assert_int_equal(probe, 7); /* what `meta` reports equals begin */
	char *r = json_call(t, 1, "{\"lastUsn\":0}", ST_OK);
	assert_string_equal(
	    r, "{\"data\":[[\"hello.txt\",2,\"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\"],"
	       "[\"world.txt\",6,\"7c211433f02071597741e6ff5a8ea34789abbf43\"],"
	       "[\"gone.jpg\",7,\"\"]],\"err\":\"\"}");
	free(r);
	const char *names[] = {"hello.txt", "world.txt"};
	struct mt_dl d;
	assert_int_equal(download(t, names, 2, &d, NULL), ST_OK);
	assert_string_equal(d.datas[1], "world");
	mt_dl_free(&d);
	r = json_call(t, 2, "{\"local\":2}", ST_OK);
	assert_string_equal(r, "{\"data\":\"OK\",\"err\":\"\"}");
	free(r);
	struct mt_change c = {"new.png", "new", 3};
	struct media_upload_result res;
	assert_int_equal(mt_upload(t, &c, 1, &res, NULL), ST_OK);
	assert_int_equal(res.current_usn, 8);
	mt_assert_consistent(t);
	/* and the file stays one the official server can open: schema and
	 * pragmas unchanged, no extra table */
	media_srv_close(t->m);
	t->m = NULL;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT (SELECT user_version FROM pragma_user_version),"
	                                    " (SELECT journal_mode FROM pragma_journal_mode),"
	                                    " (SELECT count(*) FROM sqlite_master)",
	                                    -1, &s, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 4);
	assert_string_equal((const char *)sqlite3_column_text(s, 1), "wal");
	assert_int_equal(sqlite3_column_int(s, 2), 4); /* media, its pk index, ix_usn, meta */
	sqlite3_finalize(s);
	sqlite3_close(db);
	mt_env_open(t);
}

/* A damaged or unknown media DB is the server's problem: 500, never the
 * 400 (or 403/404) the raw status would give. */
static void test_damage_is_500(void **state)
{
	struct mt_env *t = *state;
	media_srv_close(t->m);
	t->m = NULL;
	struct media_srv *m = NULL;
	struct errinfo e;
	char p[4200];
	snprintf(p, sizeof p, "%s/%s", t->user, MEDIA_DB_FILE);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM meta", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	enum status st = media_srv_open(t->user, &t->o, &m, &e);
	assert_int_equal(status_http(st), 500);
	assert_non_null(strstr(e.msg, "meta"));
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 9", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(status_http(media_srv_open(t->user, &t->o, &m, &e)), 500);
	char nodir[4300];
	snprintf(nodir, sizeof nodir, "%s/nobody", t->root);
	assert_int_equal(status_http(media_srv_open(nodir, &t->o, &m, &e)), 500);
	/* a fresh DB for the teardown */
	unlink(p);
	char side[4400];
	snprintf(side, sizeof side, "%s-wal", p);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", p);
	unlink(side);
	mt_env_open(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_hello, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_prefix_cut, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_limits_and_missing, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_json_methods, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_json_escaping, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_official_layout, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_damage_is_500, mt_setup, mt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
