/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_ac_media.c - media folder rules for AnkiConnect (ankiconnect.md
 * §3.4, collection-format.md §8): Anki's name normalisation, the lookup
 * rule, the unique-add rule with hashes, the trash, globbing, and names
 * that try to leave the folder.
 */
#include "testutil.h"

#include <dirent.h>

#include "ac_media.h"

static void norm_is(const char *in, size_t len, const char *want)
{
	struct buf b;
	buf_init(&b, 0);
	struct errinfo e;
	enum status st = ac_media_normalize(in, len, &b, &e);
	if (!want) {
		assert_int_equal(st, ST_INVALID);
	} else {
		assert_int_equal(st, ST_OK);
		assert_string_equal((const char *)b.data, want);
	}
	buf_free(&b);
}

static void test_normalize(void **state)
{
	(void)state;
	norm_is("foo.jpg", 7, "foo.jpg");
	norm_is("a[b]<c>:d\"e/f?g*h^i\\j|k.png", 27, "abcdefghijk.png");
	norm_is("../../x", 7, "....x");
	norm_is("/etc/passwd", 11, "etcpasswd");
	norm_is("a\0b", 3, "ab");
	norm_is("tab\there", 8, "tabhere");
	norm_is("nb\xc2\xa0sp", 6, "nb sp");
	norm_is("e\xcc\x81", 3, "\xc3\xa9");
	norm_is("CON", 3, "CON_");
	norm_is("con.txt", 7, "con_.txt");
	norm_is("lpt9.x", 6, "lpt9_.x");
	norm_is("console.txt", 11, "console.txt");
	norm_is("trail.", 6, "trail._");
	norm_is("trail ", 6, "trail _");
	norm_is("\xff.txt", 5, "\xef\xbf\xbd.txt");
	norm_is("", 0, NULL);
	norm_is("..", 2, NULL);
	norm_is("///", 3, NULL);
	/* long names keep their extension and stay within 120 bytes */
	char lng[300];
	memset(lng, 'x', 250);
	memcpy(lng + 250, ".extension", 11);
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(ac_media_normalize(lng, strlen(lng), &b, NULL), ST_OK);
	assert_true(b.len <= AC_MEDIA_NAME_MAX);
	assert_string_equal((const char *)b.data + b.len - 10, ".extension");
	/* multi-byte characters are never cut in half */
	char jp[400] = "";
	for (int i = 0; i < 60; i++)
		strcat(jp, "\xe6\x97\xa5");
	strcat(jp, ".mp3");
	assert_int_equal(ac_media_normalize(jp, strlen(jp), &b, NULL), ST_OK);
	assert_true(b.len <= AC_MEDIA_NAME_MAX);
	assert_int_equal((b.len - 4) % 3, 0);
	buf_free(&b);
}

static void test_lookup_name(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(ac_media_lookup_name("../../etc/passwd", 16, &b, NULL), ST_OK);
	assert_string_equal((const char *)b.data, "passwd");
	assert_int_equal(ac_media_lookup_name("a\r\nb[1].mp3", 11, &b, NULL), ST_OK);
	assert_string_equal((const char *)b.data, "ab1.mp3");
	assert_int_equal(ac_media_lookup_name("x/..", 4, &b, NULL), ST_INVALID);
	assert_int_equal(ac_media_lookup_name("dir/", 4, &b, NULL), ST_INVALID);
	buf_free(&b);
}

static void test_add_unique_and_trash(void **state)
{
	(void)state;
	char *root = tu_mkdtemp();
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/collection.media", root);
	char *name = NULL;
	assert_int_equal(ac_media_add(dir, "a.txt", 5, "one", 3, true, &name, NULL), ST_OK);
	assert_string_equal(name, "a.txt");
	free(name);
	/* same bytes: same name */
	assert_int_equal(ac_media_add(dir, "a.txt", 5, "one", 3, true, &name, NULL), ST_OK);
	assert_string_equal(name, "a.txt");
	free(name);
	/* other bytes: "<stem>-<sha1>.<ext>" */
	char sha[41];
	ac_media_sha1_hex("two", 3, sha);
	assert_string_equal(sha, "ad782ecdac770fc6eb9a62e44f90873fb97fb26b");
	assert_int_equal(ac_media_add(dir, "a.txt", 5, "two", 3, true, &name, NULL), ST_OK);
	assert_string_equal(name, "a-ad782ecdac770fc6eb9a62e44f90873fb97fb26b.txt");
	free(name);
	/* upper case: stored lower-case (Anki 26.05), unless asked not to */
	assert_int_equal(ac_media_add(dir, "Big.TXT", 7, "b", 1, true, &name, NULL), ST_OK);
	assert_string_equal(name, "big.txt");
	free(name);
	assert_int_equal(ac_media_add(dir, "Big.TXT", 7, "b", 1, false, &name, NULL), ST_OK);
	assert_string_equal(name, "Big.TXT");
	free(name);
	/* hostile names stay inside */
	assert_int_equal(ac_media_add(dir, "../evil", 7, "e", 1, true, &name, NULL), ST_OK);
	assert_string_equal(name, "..evil");
	free(name);
	assert_int_equal(ac_media_add(dir, "..", 2, "e", 1, true, &name, NULL), ST_INVALID);
	char p[4300];
	snprintf(p, sizeof p, "%s/evil", root);
	assert_int_not_equal(access(p, F_OK), 0);
	/* read back, trash, missing */
	struct buf data;
	assert_int_equal(ac_media_read(dir, "a.txt", 5, &data, NULL), ST_OK);
	assert_int_equal(data.len, 3);
	buf_free(&data);
	assert_int_equal(ac_media_trash(dir, "a.txt", 5, NULL), ST_OK);
	assert_int_equal(ac_media_read(dir, "a.txt", 5, &data, NULL), ST_NOTFOUND);
	snprintf(p, sizeof p, "%s/media.trash/a.txt", root);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(ac_media_trash(dir, "a.txt", 5, NULL), ST_OK);
	assert_int_equal(ac_media_trash(dir, "../collection.media", 19, NULL), ST_OK);
	assert_int_equal(access(dir, F_OK), 0);
	/* listing */
	char **names;
	size_t n;
	assert_int_equal(ac_media_list(dir, "*", &names, &n, NULL), ST_OK);
	assert_int_equal(n, 3); /* ..evil is hidden from '*', as in Python's glob */
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	assert_int_equal(ac_media_list(dir, "..*", &names, &n, NULL), ST_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "..evil");
	free(names[0]);
	free(names);
	assert_int_equal(ac_media_list(dir, "*/*", &names, &n, NULL), ST_OK);
	assert_int_equal(n, 0);
	assert_int_equal(ac_media_list("/nonexistent/x", "*", &names, &n, NULL), ST_OK);
	assert_int_equal(n, 0);
	tu_rmtree(root);
}

static void test_dir_and_digests(void **state)
{
	(void)state;
	char out[256];
	assert_int_equal(ac_media_dir_for("/p/collection.anki2", out, sizeof out, NULL), ST_OK);
	assert_string_equal(out, "/p/collection.media");
	assert_int_equal(ac_media_dir_for("/p/COL.ANKI2", out, sizeof out, NULL), ST_OK);
	assert_string_equal(out, "/p/COL.media");
	assert_int_equal(ac_media_dir_for("/p/x.db", out, sizeof out, NULL), ST_OK);
	assert_string_equal(out, "/p/x.db.media");
	char md5[33];
	ac_media_md5_hex("", 0, md5);
	assert_string_equal(md5, "d41d8cd98f00b204e9800998ecf8427e");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize),
	    cmocka_unit_test(test_lookup_name),
	    cmocka_unit_test(test_add_unique_and_trash),
	    cmocka_unit_test(test_dir_and_digests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
