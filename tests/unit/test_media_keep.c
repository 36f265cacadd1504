/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_media_keep.c - what lets the server keep one media handle per user
 * between requests and skip its per-request files (sync-protocol.md §5.4,
 * §5.5; docs/media-sync.md "Performance"):
 *   - media_srv_current says yes while nothing else touched the media, and
 *     no after another handle (anki-sync-admin) committed, reset the media
 *     (folder moved aside), left a journal, or replaced media.db; a handle
 *     reopened then sees the other's work;
 *   - media_srv_upload_mem gives the same results and errors as the
 *     spooled-file entry point;
 *   - download zips are right both when built in memory (memfd) and, past
 *     MEDIA_DL_MEM_MAX or with the memory budget spent, in a file that
 *     leaves nothing behind.
 */
#include "media_testutil.h"

#include <dirent.h>

static struct media_srv *open_other(struct mt_env *t)
{
	struct media_srv *o = NULL;
	struct errinfo e;
	if (media_srv_open(t->user, NULL, &o, &e) != ST_OK)
		fail_msg("media_srv_open: %s", e.msg);
	return o;
}

static void test_current(void **state)
{
	struct mt_env *t = *state;
	assert_int_equal(media_srv_current(t->m), 1);
	/* the handle's own work keeps it current */
	struct mt_change a = {"a.txt", "alpha", 5};
	assert_int_equal(mt_upload(t, &a, 1, NULL, NULL), ST_OK);
	assert_int_equal(media_srv_current(t->m), 1);
	/* nor do its own WAL checkpoints (one per MEDIA_WAL_CKPT_FRAMES) */
	for (int i = 0; i < 2 * MEDIA_WAL_CKPT_FRAMES; i++) {
		struct mt_change x = {"a.txt", i % 2 ? "alpha" : "omega", 5};
		assert_int_equal(mt_upload(t, &x, 1, NULL, NULL), ST_OK);
		assert_int_equal(media_srv_current(t->m), 1);
	}
	/* a read-only reader elsewhere (meta's USN probe) does not matter */
	int32_t usn = -1;
	assert_int_equal(media_db_read_usn(t->user, &usn, NULL), ST_OK);
	assert_int_equal(usn, 1 + 2 * MEDIA_WAL_CKPT_FRAMES);
	assert_int_equal(media_srv_current(t->m), 1);
	/* anki-sync-admin check (a writable handle that may fold the WAL when
	 * it closes) may or may not make it reopen; either way all agrees */
	struct media_srv *o = open_other(t);
	struct media_check c;
	assert_int_equal(media_srv_check(o, 0, &c, NULL, NULL, NULL), ST_OK);
	assert_int_equal(c.total_issues, 0);
	media_srv_close(o);
	if (!media_srv_current(t->m))
		mt_env_reopen(t);
	assert_int_equal(mt_usn(t), 1 + 2 * MEDIA_WAL_CKPT_FRAMES);
	/* another process commits: no longer current; reopened, it sees it */
	o = open_other(t);
	struct mt_change b = {"b.txt", "beta", 4};
	mt_upload_zip(t->zip, &b, 1);
	assert_int_equal(media_srv_upload(o, t->zip, NULL, NULL, NULL), ST_OK);
	media_srv_close(o);
	assert_int_equal(media_srv_current(t->m), 0);
	mt_env_reopen(t);
	assert_int_equal(media_srv_current(t->m), 1);
	assert_int_equal(mt_usn(t), 2 + 2 * MEDIA_WAL_CKPT_FRAMES);
	/* reset-media by another process: the folder is moved aside */
	o = open_other(t);
	struct media_reset_result rr;
	assert_int_equal(media_srv_reset(o, &rr, NULL), ST_OK);
	media_srv_close(o);
	assert_int_equal(media_srv_current(t->m), 0);
	mt_env_reopen(t);
	assert_int_equal(mt_usn(t), 3 + 2 * MEDIA_WAL_CKPT_FRAMES);
	struct mt_change c2 = {"c.txt", "gamma", 5};
	assert_int_equal(mt_upload(t, &c2, 1, NULL, NULL), ST_OK);
	size_t len = 0;
	char *got = mt_file(t, "c.txt", &len); /* in the new media/ */
	assert_int_equal(len, 5);
	free(got);
	mt_assert_consistent(t);
	/* a journal left behind (a failed request): replay first */
	char p[4200];
	snprintf(p, sizeof p, "%s/%s", t->user, MEDIA_JOURNAL_FILE);
	tu_write_file(p, "x");
	assert_int_equal(media_srv_current(t->m), 0);
	mt_env_reopen(t);
	assert_int_equal(media_srv_current(t->m), 1);
	/* media.db replaced (a restore): not current.  (Reopened first: a
	 * handle that wrote nothing folds the WAL at close, so the copy is
	 * the whole DB.) */
	mt_env_reopen(t);
	char db[4200], copy[4300];
	snprintf(db, sizeof db, "%s/%s", t->user, MEDIA_DB_FILE);
	snprintf(copy, sizeof copy, "%s.copy", db);
	tu_copy(db, copy);
	assert_int_equal(rename(copy, db), 0);
	assert_int_equal(media_srv_current(t->m), 0);
	mt_env_reopen(t);
	mt_assert_consistent(t);
}

static char *slurp(const char *path, size_t *len)
{
	return tu_read_file(path, len);
}

static void test_upload_mem(void **state)
{
	struct mt_env *t = *state;
	struct mt_change c[3] = {
	    {"one.jpg", "first file", 10}, {"two.mp3", "second", 6}, {"three.png", "3", 1}};
	mt_upload_zip(t->zip, c, 3);
	size_t len = 0;
	char *zip = slurp(t->zip, &len);
	struct media_upload_result res;
	struct buf out;
	buf_init(&out, 0);
	assert_int_equal(media_srv_upload_mem(t->m, zip, len, &res, &out, NULL), ST_OK);
	assert_int_equal(res.processed, 3);
	assert_int_equal(res.added, 3);
	assert_int_equal(res.current_usn, 3);
	assert_int_equal(out.len, strlen("{\"data\":[3,3],\"err\":\"\"}"));
	assert_memory_equal(out.data, "{\"data\":[3,3],\"err\":\"\"}", out.len);
	buf_free(&out);
	/* the same again: nothing changes */
	assert_int_equal(media_srv_upload_mem(t->m, zip, len, &res, NULL, NULL), ST_OK);
	assert_int_equal(res.unchanged, 3);
	assert_int_equal(mt_usn(t), 3);
	/* damaged bodies answer 400 and change nothing */
	struct errinfo e;
	assert_int_equal(media_srv_upload_mem(t->m, zip, len / 2, &res, NULL, &e), ST_INVALID);
	assert_int_equal(media_srv_upload_mem(t->m, "PK", 2, &res, NULL, &e), ST_INVALID);
	assert_int_equal(media_srv_upload_mem(t->m, NULL, 0, &res, NULL, &e), ST_INVALID);
	free(zip);
	mt_corrupt_data(t->zip, "0");
	zip = slurp(t->zip, &len);
	assert_int_equal(media_srv_upload_mem(t->m, zip, len, &res, NULL, &e), ST_INVALID);
	free(zip);
	assert_int_equal(mt_usn(t), 3);
	size_t fl = 0;
	char *f = mt_file(t, "one.jpg", &fl);
	assert_int_equal(fl, 10);
	assert_memory_equal(f, "first file", 10);
	free(f);
	mt_assert_consistent(t);
}

static int count_prefix(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static void check_download(struct mt_env *t, const char *name, const char *data, size_t len,
                           int in_memory)
{
	const char *names[] = {name};
	struct media_download dl;
	assert_int_equal(media_srv_download(t->m, names, 1, &dl, NULL), ST_OK);
	assert_int_equal(dl.in_memory, in_memory);
	int fd = mt_dl_fd(&dl);
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal((uint64_t)sb.st_size, dl.size);
	assert_int_equal(sb.st_nlink, 0);
	struct mt_dl d;
	mt_read_download(fd, &d);
	close(fd);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.names[0], name);
	assert_int_equal(d.lens[0], len);
	assert_memory_equal(d.datas[0], data, len);
	mt_dl_free(&d);
	assert_int_equal(count_prefix(t->user, MEDIA_DL_PREFIX), 0);
}

static void test_download_mem_and_file(void **state)
{
	struct mt_env *t = *state;
	size_t big = MEDIA_DL_MEM_MAX + 4096;
	char *data = malloc(big);
	assert_non_null(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 2654435761u >> 13);
	struct mt_change c[2] = {{"small.bin", "tiny", 4}, {"big.bin", data, big}};
	assert_int_equal(mt_upload(t, c, 2, NULL, NULL), ST_OK);
	check_download(t, "small.bin", "tiny", 4, 1); /* memfd */
	check_download(t, "big.bin", data, big, 0);   /* file, unlinked */
	/* the server's memory budget spent: small ones go to a file too */
	media_srv_set_dl_mem_max(t->m, 0);
	check_download(t, "small.bin", "tiny", 4, 0);
	media_srv_set_dl_mem_max(t->m, MEDIA_DL_MEM_MAX);
	check_download(t, "small.bin", "tiny", 4, 1);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_current, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_upload_mem, mt_setup, mt_teardown),
	    cmocka_unit_test_setup_teardown(test_download_mem_and_file, mt_setup, mt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
