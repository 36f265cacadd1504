/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_media_crash.c - the folder and the media DB agree after a crash at
 * any point of an upload, a reset or a download's "forget", and the
 * administration functions (check, reset-media) do what anki-sync-admin
 * promises (sync-protocol.md §5.4 NOTE, §5.7, §8.5 items 43-45).
 *
 * A forked child runs the operation with a hook that _exit()s at one crash
 * point (media_opts.hook); the parent then opens the user's media again -
 * which replays the journal - and checks: no row without its file, no file
 * without its row, no temporary left, sizes and SHA-1s right, and the DB
 * wholly before or wholly after the batch.  A last test kills the child
 * with SIGKILL at random moments of a stream of uploads.
 */
#include "media_testutil.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define HOOK_EXIT 42

struct hook_arg {
	enum media_hook at;
};

static void die_at(void *arg, enum media_hook p)
{
	struct hook_arg *h = arg;
	if (p == h->at)
		_exit(HOOK_EXIT);
}

/* Run fn in a child whose handle dies at point; returns the child's exit
 * status (HOOK_EXIT when it died there). */
static int in_child(struct mt_env *t, enum media_hook point, void (*fn)(struct mt_env *))
{
	media_srv_close(t->m);
	t->m = NULL;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hook_arg h = {point};
		t->o.hook = die_at;
		t->o.hook_arg = &h;
		struct errinfo e;
		if (media_srv_open(t->user, &t->o, &t->m, &e) != ST_OK)
			_exit(3);
		fn(t);
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	mt_env_open(t); /* recovery happens here */
	return WEXITSTATUS(status);
}

static const struct mt_change seed_changes[3] = {
    {"a.jpg", "a-old", 5}, {"b.jpg", "b", 1}, {"c.jpg", "c", 1}};

static void batch(struct mt_env *t)
{
	struct mt_change c[5] = {{"a.jpg", "a-new content", 13},
	                         {"d.jpg", "d", 1},
	                         {"b.jpg", NULL, 0},
	                         {"e.jpg", "eeee", 4},
	                         {"c.jpg", "c", 1}}; /* identical: no-op */
	struct errinfo e;
	if (mt_upload(t, c, 5, NULL, &e) != ST_OK)
		_exit(4);
}

static void expect_file(struct mt_env *t, const char *name, const char *content)
{
	char *f = mt_file(t, name, NULL);
	if (!content) {
		if (f)
			fail_msg("%s should not exist", name);
		return;
	}
	if (!f)
		fail_msg("%s missing", name);
	assert_string_equal(f, content);
	free(f);
}

static void expect_before(struct mt_env *t)
{
	assert_int_equal(mt_usn(t), 3);
	expect_file(t, "a.jpg", "a-old");
	expect_file(t, "b.jpg", "b");
	expect_file(t, "c.jpg", "c");
	expect_file(t, "d.jpg", NULL);
	expect_file(t, "e.jpg", NULL);
}

static void expect_after(struct mt_env *t)
{
	assert_int_equal(mt_usn(t), 7);
	expect_file(t, "a.jpg", "a-new content");
	expect_file(t, "b.jpg", NULL);
	expect_file(t, "c.jpg", "c");
	expect_file(t, "d.jpg", "d");
	expect_file(t, "e.jpg", "eeee");
	struct media_meta meta;
	assert_int_equal(media_srv_meta(t->m, &meta, NULL), ST_OK);
	assert_int_equal(meta.total_nonempty_files, 4);
	assert_int_equal(meta.total_bytes, 13 + 1 + 1 + 4);
}

static void test_upload_crash_points(void **state)
{
	struct mt_env *t = *state;
	const enum media_hook points[] = {MH_UP_TEMPS, MH_UP_JOURNAL, MH_UP_COMMITTED,
	                                  MH_UP_RENAMED_ONE, MH_UP_RENAMED};
	for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
		/* a fresh user each time */
		char cmd[8300];
		media_srv_close(t->m);
		t->m = NULL;
		snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir '%s'", t->user, t->user);
		assert_int_equal(system(cmd), 0);
		mt_env_open(t);
		assert_int_equal(mt_upload(t, seed_changes, 3, NULL, NULL), ST_OK);
		char *outside = mt_list(t->root);
		assert_int_equal(in_child(t, points[i], batch), HOOK_EXIT);
		mt_assert_consistent(t);
		if (points[i] < MH_UP_COMMITTED)
			expect_before(t);
		else
			expect_after(t);
		/* the journal is empty and no temporary is left */
		char jp[4300];
		snprintf(jp, sizeof jp, "%s/%s", t->user, MEDIA_JOURNAL_FILE);
		struct stat sb;
		assert_int_equal(stat(jp, &sb), 0);
		assert_int_equal(sb.st_size, 0);
		/* the same batch again completes (idempotent from either state) */
		batch(t);
		expect_after(t);
		mt_assert_consistent(t);
		char *now = mt_list(t->root);
		assert_non_null(strstr(now, "sentinel:7"));
		free(outside);
		free(now);
	}
}

static void make_bad_size(struct mt_env *t)
{
	const char *names[] = {"b.jpg"};
	struct media_download dl;
	if (media_srv_download(t->m, names, 1, &dl, NULL) == ST_OK)
		close(mt_dl_fd(&dl));
}

static void test_forget_crash(void **state)
{
	struct mt_env *t = *state;
	assert_int_equal(mt_upload(t, seed_changes, 3, NULL, NULL), ST_OK);
	char p[4300];
	snprintf(p, sizeof p, "%s/b.jpg", t->media);
	tu_write_file(p, "b but longer");
	assert_int_equal(in_child(t, MH_DL_FORGET, make_bad_size), HOOK_EXIT);
	mt_assert_consistent(t);
	expect_file(t, "b.jpg", NULL);
	struct media_row row;
	assert_int_equal(media_db_get(media_srv_db(t->m), "b.jpg", 5, &row, NULL), ST_NOTFOUND);
	assert_int_equal(mt_usn(t), 3);
}

static void do_reset(struct mt_env *t)
{
	struct media_reset_result r;
	if (media_srv_reset(t->m, &r, NULL) != ST_OK)
		_exit(5);
}

static char *find_reset_dir(struct mt_env *t)
{
	DIR *d = opendir(t->user);
	assert_non_null(d);
	struct dirent *de;
	char *found = NULL;
	while ((de = readdir(d)) != NULL)
		if (!strncmp(de->d_name, "media.reset-", 12)) {
			assert_null(found);
			found = strdup(de->d_name);
		}
	closedir(d);
	return found;
}

static void test_reset_crash(void **state)
{
	struct mt_env *t = *state;
	const enum media_hook points[] = {MH_RESET_COMMITTED, MH_RESET_MOVED};
	for (size_t i = 0; i < 2; i++) {
		char cmd[8300];
		media_srv_close(t->m);
		t->m = NULL;
		snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir '%s'", t->user, t->user);
		assert_int_equal(system(cmd), 0);
		mt_env_open(t);
		assert_int_equal(mt_upload(t, seed_changes, 3, NULL, NULL), ST_OK);
		assert_int_equal(in_child(t, points[i], do_reset), HOOK_EXIT);
		mt_assert_consistent(t);
		assert_int_equal(mt_usn(t), 4);
		expect_file(t, "a.jpg", NULL);
		char *rd = find_reset_dir(t);
		assert_non_null(rd);
		char p[4400];
		snprintf(p, sizeof p, "%s/%s/a.jpg", t->user, rd);
		char *f = tu_read_file(p, NULL);
		assert_string_equal(f, "a-old");
		free(f);
		free(rd);
	}
}

/* SIGKILL at random moments of a stream of uploads and deletions. */
static void stream(struct mt_env *t)
{
	unsigned seed = (unsigned)getpid();
	char datas[8][64];
	for (int round = 0; round < 100000; round++) {
		struct mt_change c[6];
		char names[6][16];
		for (int k = 0; k < 6; k++) {
			snprintf(names[k], sizeof names[k], "f%u.bin", rand_r(&seed) % 12);
			int del = rand_r(&seed) % 4 == 0;
			int len = snprintf(datas[k], sizeof datas[k], "%d-%d-%u", round, k,
			                   rand_r(&seed));
			c[k] = (struct mt_change){names[k], del ? NULL : datas[k],
			                          del ? 0 : (size_t)len};
		}
		char zip[4300];
		snprintf(zip, sizeof zip, "%s.%d", t->zip, round % 2);
		mt_upload_zip(zip, c, 6);
		if (media_srv_upload(t->m, zip, NULL, NULL, NULL) != ST_OK)
			_exit(6);
	}
}

static void test_random_kills(void **state)
{
	struct mt_env *t = *state;
	unsigned seed = 12345;
	int32_t prev = 0;
	for (int i = 0; i < 12; i++) {
		media_srv_close(t->m);
		t->m = NULL;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (media_srv_open(t->user, &t->o, &t->m, NULL) != ST_OK)
				_exit(3);
			stream(t);
			_exit(0);
		}
		struct timespec ts = {0, (long)(20 + rand_r(&seed) % 200) * 1000000L};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		mt_env_open(t);
		mt_assert_consistent(t);
		int32_t usn = mt_usn(t);
		assert_true(usn >= prev);
		prev = usn;
	}
	assert_true(prev > 0); /* the children did get work done */
}

/* A rename that fails after the commit: the upload answers 500, the
 * journal stays, and the next open finishes the job.  The replacement of
 * a.jpg is renamed after the commit (new names are written in place
 * before it); a directory put where a.jpg was makes that rename fail. */
static void block_target(void *arg, enum media_hook p)
{
	struct mt_env *t = arg;
	if (p == MH_UP_COMMITTED) {
		char d[4300];
		snprintf(d, sizeof d, "%s/a.jpg", t->media);
		assert_int_equal(unlink(d), 0);
		assert_int_equal(mkdir(d, 0700), 0);
	}
}

static void test_rename_fails_after_commit(void **state)
{
	struct mt_env *t = *state;
	assert_int_equal(mt_upload(t, seed_changes, 3, NULL, NULL), ST_OK);
	media_srv_close(t->m);
	t->m = NULL;
	t->o.hook = block_target;
	t->o.hook_arg = t;
	mt_env_open(t);
	struct mt_change c[5] = {{"a.jpg", "a-new content", 13},
	                         {"d.jpg", "d", 1},
	                         {"b.jpg", NULL, 0},
	                         {"e.jpg", "eeee", 4},
	                         {"c.jpg", "c", 1}};
	struct errinfo e;
	assert_int_equal(status_http(mt_upload(t, c, 5, NULL, &e)), 500);
	assert_int_equal(mt_usn(t), 7); /* committed */
	char jp[4300];
	snprintf(jp, sizeof jp, "%s/%s", t->user, MEDIA_JOURNAL_FILE);
	struct stat sb;
	assert_int_equal(stat(jp, &sb), 0);
	assert_true(sb.st_size > 0); /* left to recovery */
	media_srv_close(t->m);
	t->m = NULL;
	t->o.hook = NULL;
	char d[4300];
	snprintf(d, sizeof d, "%s/a.jpg", t->media);
	assert_int_equal(rmdir(d), 0); /* the obstacle goes away */
	mt_env_open(t);
	mt_assert_consistent(t);
	expect_after(t);
}

static void count_issue(void *arg, enum media_issue k, const char *name)
{
	(void)name;
	((int *)arg)[k]++;
}

static void test_check(void **state)
{
	struct mt_env *t = *state;
	assert_int_equal(mt_upload(t, seed_changes, 3, NULL, NULL), ST_OK);
	mt_assert_consistent(t);
	char p[4300];
	snprintf(p, sizeof p, "%s/a.jpg", t->media);
	unlink(p); /* row without file */
	snprintf(p, sizeof p, "%s/stray.jpg", t->media);
	tu_write_file(p, "stray"); /* file without row */
	snprintf(p, sizeof p, "%s/b.jpg", t->media);
	tu_write_file(p, "bb"); /* size mismatch */
	snprintf(p, sizeof p, "%s/c.jpg", t->media);
	tu_write_file(p, "X"); /* same size, other content */
	snprintf(p, sizeof p, "%s/%sleft", t->media, MEDIA_TMP_PREFIX);
	tu_write_file(p, "tmp");
	snprintf(p, sizeof p, "%s/adir", t->media);
	mkdir(p, 0700);
	int seen[MI_COUNT] = {0};
	struct media_check c;
	assert_int_equal(media_srv_check(t->m, 0, &c, count_issue, seen, NULL), ST_OK);
	assert_int_equal(seen[MI_ROW_WITHOUT_FILE], 1);
	assert_int_equal(seen[MI_FILE_WITHOUT_ROW], 1);
	assert_int_equal(seen[MI_SIZE_MISMATCH], 1);
	assert_int_equal(seen[MI_HASH_MISMATCH], 0); /* not asked */
	assert_int_equal(seen[MI_TEMP_FILE], 1);
	assert_int_equal(seen[MI_NOT_A_FILE], 1);
	assert_int_equal(seen[MI_TOTALS], 0);
	assert_int_equal(c.rows, 3);
	assert_int_equal(c.live_rows, 3);
	assert_int_equal(c.files, 3);
	memset(seen, 0, sizeof seen);
	assert_int_equal(media_srv_check(t->m, MEDIA_CHECK_HASH, &c, count_issue, seen, NULL),
	                 ST_OK);
	assert_int_equal(seen[MI_HASH_MISMATCH], 1);
	/* totals tampered with */
	assert_int_equal(sqlite3_exec(media_db_sqlite(media_srv_db(t->m)),
	                              "UPDATE meta SET total_nonempty_files = 99", NULL, NULL,
	                              NULL),
	                 0);
	memset(seen, 0, sizeof seen);
	assert_int_equal(media_srv_check(t->m, 0, &c, count_issue, seen, NULL), ST_OK);
	assert_int_equal(seen[MI_TOTALS], 1);
	/* reopening sweeps the temporary even with an empty journal when asked */
	media_srv_close(t->m);
	t->m = NULL;
	t->o.sweep = 1;
	mt_env_open(t);
	snprintf(p, sizeof p, "%s/%sleft", t->media, MEDIA_TMP_PREFIX);
	assert_int_equal(access(p, F_OK), -1);
}

/* reset-media: rows gone, USN up by one, files kept aside, the folder
 * empty and consistent; a client that had N files now fails mediaSanity
 * (and so resets itself), then re-uploads. */
static void test_reset(void **state)
{
	struct mt_env *t = *state;
	assert_int_equal(mt_upload(t, seed_changes, 3, NULL, NULL), ST_OK);
	int ok = -1;
	assert_int_equal(media_srv_sanity(t->m, 3, &ok, NULL, NULL), ST_OK);
	assert_int_equal(ok, 1);
	struct media_reset_result r;
	assert_int_equal(media_srv_reset(t->m, &r, NULL), ST_OK);
	assert_int_equal(r.old_usn, 3);
	assert_int_equal(r.new_usn, 4);
	assert_int_equal(r.rows_cleared, 3);
	assert_true(!strncmp(r.moved_to, "media.reset-", 12));
	assert_int_equal(mt_usn(t), 4);
	int32_t probe = -1;
	assert_int_equal(media_db_read_usn(t->user, &probe, NULL), ST_OK);
	assert_int_equal(probe, 4);
	assert_int_equal(media_srv_sanity(t->m, 3, &ok, NULL, NULL), ST_OK);
	assert_int_equal(ok, 0);
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(media_srv_changes(t->m, 3, &b, NULL), ST_OK);
	assert_string_equal((char *)b.data, "{\"data\":[],\"err\":\"\"}");
	buf_free(&b);
	mt_assert_consistent(t);
	char p[4400];
	snprintf(p, sizeof p, "%s/%s/b.jpg", t->user, r.moved_to);
	char *f = tu_read_file(p, NULL);
	assert_string_equal(f, "b");
	free(f);
	/* the client's full re-upload */
	struct media_upload_result res;
	assert_int_equal(mt_upload(t, seed_changes, 3, &res, NULL), ST_OK);
	assert_int_equal(res.current_usn, 7);
	assert_int_equal(media_srv_sanity(t->m, 3, &ok, NULL, NULL), ST_OK);
	assert_int_equal(ok, 1);
	/* a second reset the same second gets another name; an empty folder
	 * is not moved */
	struct media_reset_result r2;
	assert_int_equal(media_srv_reset(t->m, &r2, NULL), ST_OK);
	assert_string_not_equal(r2.moved_to, r.moved_to);
	struct media_reset_result r3;
	assert_int_equal(media_srv_reset(t->m, &r3, NULL), ST_OK);
	assert_string_equal(r3.moved_to, "");
	assert_int_equal(r3.new_usn, 9);
	mt_assert_consistent(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_upload_crash_points, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_upload_crash_points, mt_setup_durable,
	                                    mt_teardown),
	    cmocka_unit_test_setup_teardown(test_forget_crash, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_reset_crash, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_reset_crash, mt_setup_durable, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_random_kills, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_rename_fails_after_commit, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_check, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_reset, mt_setup, mt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
