/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* test_path.c - hostile names never escape the root. */
#include "testutil.h"

#include "bounds.h"
#include "path.h"

static void test_name_ok_accepts_plain_names(void **state)
{
	(void)state;
	assert_true(path_name_ok("collection.anki2", 16));
	assert_true(path_name_ok("a", 1));
	assert_true(path_name_ok("...", 3));
	assert_true(path_name_ok(".hidden", 7));
	assert_true(path_name_ok("日本語.jpg", strlen("日本語.jpg")));
}

static void test_name_ok_refuses_hostile(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		size_t n;
	} bad[] = {
	    {"", 0},          {".", 1},         {"..", 2},         {"../x", 4},
	    {"/abs", 4},      {"a/b", 3},       {"a\0b", 3},       {"x/..", 4},
	    {"a/", 2},        {"\0", 1},        {"..\0", 3},       {"/", 1},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(path_name_ok(bad[i].s, bad[i].n));
	assert_false(path_name_ok(NULL, 0));
}

static void test_name_length_limit(void **state)
{
	(void)state;
	char name[MAX_NAME_BYTES + 2];
	memset(name, 'a', sizeof name);
	assert_true(path_name_ok(name, MAX_NAME_BYTES));
	assert_false(path_name_ok(name, MAX_NAME_BYTES + 1));
}

static void test_join(void **state)
{
	(void)state;
	char out[64];
	struct errinfo e;
	assert_int_equal(path_join(out, sizeof out, "/data/", "user", 4, &e), ST_OK);
	assert_string_equal(out, "/data/user");
	assert_int_equal(path_join(out, sizeof out, "/data", "..", 2, &e), ST_INVALID);
	assert_int_equal(path_join(out, sizeof out, "/data", "a/b", 3, &e), ST_INVALID);
	assert_int_equal(path_join(out, sizeof out, "/data", "a\0b", 3, &e), ST_INVALID);
	/* too long for the output: refused, not truncated */
	char longname[100];
	memset(longname, 'x', sizeof longname);
	assert_int_equal(path_join(out, sizeof out, "/data", longname, sizeof longname, &e), ST_TOOBIG);
}

static void test_join_rel(void **state)
{
	(void)state;
	char out[128];
	struct errinfo e;
	assert_int_equal(path_join_rel(out, sizeof out, "/r", "a/b/c.txt", &e), ST_OK);
	assert_string_equal(out, "/r/a/b/c.txt");
	const char *bad[] = {"/etc/passwd", "a/../../x", "..", "a//b", "a/./b", "a/", "", "./a"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(path_join_rel(out, sizeof out, "/r", bad[i], &e), ST_INVALID);
}

static void test_dirname_and_mkdirs(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(path_dirname(out, sizeof out, "/a/b/c", NULL), ST_OK);
	assert_string_equal(out, "/a/b");
	assert_int_equal(path_dirname(out, sizeof out, "/c", NULL), ST_OK);
	assert_string_equal(out, "/");
	assert_int_equal(path_dirname(out, sizeof out, "c", NULL), ST_OK);
	assert_string_equal(out, ".");

	char *dir = tu_mkdtemp();
	char deep[512];
	snprintf(deep, sizeof deep, "%s/x/y/z", dir);
	assert_int_equal(path_mkdirs(deep, 0700, NULL), ST_OK);
	assert_int_equal(path_mkdirs(deep, 0700, NULL), ST_OK); /* idempotent */
	struct stat sb;
	assert_int_equal(stat(deep, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	/* a file in the way is an error, not silently accepted */
	char file[600];
	snprintf(file, sizeof file, "%s/file", dir);
	tu_write_file(file, "x");
	struct errinfo e;
	assert_int_not_equal(path_mkdirs(file, 0700, &e), ST_OK);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_ok_accepts_plain_names),
	    cmocka_unit_test(test_name_ok_refuses_hostile),
	    cmocka_unit_test(test_name_length_limit),
	    cmocka_unit_test(test_join),
	    cmocka_unit_test(test_join_rel),
	    cmocka_unit_test(test_dirname_and_mkdirs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
