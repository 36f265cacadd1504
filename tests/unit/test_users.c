/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* test_users.c - the sync server's user table: SYNC_USERn as the official
 * server reads them, credentials files, the users file and its atomic
 * edits, host-key lookup and password checks (sync-protocol.md §2.2). */
#include "testutil.h"

#include "users.h"

static const char *const *fake_env;

static const char *env_lookup(const char *name)
{
	for (const char *const *p = fake_env; p && *p; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

static const char *const PASS_PHC = "$pbkdf2-sha256$i=600000,l=32$tonuvYGpksNFQBlEmm3lxg$"
                                    "oQ1sqlkoU7Qn72xNoIq+NHyW3yOOER8EZ6mIJiv5GYc";

static void test_name_rules(void **state)
{
	(void)state;
	const char *good[] = {"alice", "Émile", "a b", "user@example.com", "日本語", "x-1_2"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(users_name_ok(good[i], strlen(good[i])));
	const char *bad[] = {
	    "",      ".",         "..",   ".hidden",  "a/b",          "a\\b",       "a:b",
	    "a\x01", "tab\tname", "\xff", "\xc0\xaf", "\xed\xa0\x80", "c1\xc2\x85", "del\x7f"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(users_name_ok(bad[i], strlen(bad[i])));
	assert_false(users_name_ok("a\0b", 3)); /* embedded NUL */
	char longname[USERS_NAME_MAX + 2];
	memset(longname, 'x', sizeof longname);
	assert_true(users_name_ok(longname, USERS_NAME_MAX));
	assert_false(users_name_ok(longname, USERS_NAME_MAX + 1));
}

static void test_env_users_like_the_official_server(void **state)
{
	(void)state;
	static const char *const env[] = {"SYNC_USER1", "user:pass", "SYNC_USER2", "bob:pa:ss",
	                                  "SYNC_USER4", "ignored:x", NULL};
	fake_env = env;
	struct users u;
	users_init(&u);
	assert_int_equal(users_load_env(&u, env_lookup, 0, NULL, NULL), ST_OK);
	assert_int_equal(u.n, 2); /* stops at the first missing index */
	const struct user_entry *a = users_find_name(&u, "user");
	assert_non_null(a);
	assert_string_equal(a->hkey, "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d");
	const struct user_entry *b = users_find_name(&u, "bob");
	assert_string_equal(b->secret, "pa:ss"); /* split at the first ':' */
	assert_ptr_equal(users_find_hkey(&u, a->hkey), a);
	assert_ptr_equal(users_find_hkey(&u, b->hkey), b);
	assert_null(users_find_hkey(&u, "0000000000000000000000000000000000000000"));
	assert_null(users_find_hkey(&u, "b2619aa1"));
	assert_null(users_find_name(&u, "ignored"));
	int ok = 0;
	assert_int_equal(users_verify(a, "pass", 4, &ok, NULL), ST_OK);
	assert_int_equal(ok, 1);
	assert_int_equal(users_verify(a, "pass\0", 5, &ok, NULL), ST_OK);
	assert_int_equal(ok, 0);
	assert_int_equal(users_verify(b, "pa:ss", 5, &ok, NULL), ST_OK);
	assert_int_equal(ok, 1);
	users_free(&u);
}

static void test_env_errors_name_the_variable(void **state)
{
	(void)state;
	static const char *const dup[] = {"SYNC_USER1", "a:1", "SYNC_USER2", "a:2", NULL};
	static const char *const nocolon[] = {"SYNC_USER1", "a", NULL};
	static const char *const hostile[] = {"SYNC_USER1", "../root:x", NULL};
	static const char *const badhash[] = {"SYNC_USER1", "a:$pbkdf2-sha256$nope", NULL};
	const char *const *cases[] = {dup, nocolon, hostile, badhash};
	int hashed[] = {0, 0, 0, 1};
	for (int i = 0; i < 4; i++) {
		fake_env = cases[i];
		struct users u;
		users_init(&u);
		struct errinfo e;
		assert_int_not_equal(users_load_env(&u, env_lookup, hashed[i], NULL, &e), ST_OK);
		assert_non_null(strstr(e.msg, i == 0 ? "SYNC_USER2" : "SYNC_USER1"));
		users_free(&u);
	}
}

static void test_hashed_env_user(void **state)
{
	(void)state;
	char val[300];
	snprintf(val, sizeof val, "user:%s", PASS_PHC);
	const char *const env[] = {"SYNC_USER1", val, NULL};
	fake_env = env;
	struct users u;
	users_init(&u);
	assert_int_equal(users_load_env(&u, env_lookup, 1, NULL, NULL), ST_OK);
	char want[AUTH_HKEY_LEN + 1];
	auth_hkey(val, strlen(val), want); /* the whole variable value */
	assert_string_equal(u.v[0].hkey, want);
	int ok = 0;
	assert_int_equal(users_verify(&u.v[0], "pass", 4, &ok, NULL), ST_OK);
	assert_int_equal(ok, 1);
	users_free(&u);
}

static void test_credentials_directory(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char p[512];
	snprintf(p, sizeof p, "%s/alice", dir);
	tu_write_file(p, "from systemd\n");
	static const char *const env[] = {"SYNC_USER1", "alice", "SYNC_USER2", "bob", NULL};
	fake_env = env;
	struct users u;
	users_init(&u);
	struct errinfo e;
	assert_int_equal(users_load_env(&u, env_lookup, 0, dir, &e), ST_NOTFOUND); /* no file bob */
	assert_non_null(strstr(e.msg, "SYNC_USER2"));
	users_free(&u);
	snprintf(p, sizeof p, "%s/bob", dir);
	tu_write_file(p, "two\nlines\n");
	users_init(&u);
	assert_int_equal(users_load_env(&u, env_lookup, 0, dir, &e), ST_INVALID);
	users_free(&u);
	tu_write_file(p, "bobpw");
	users_init(&u);
	assert_int_equal(users_load_env(&u, env_lookup, 0, dir, NULL), ST_OK);
	assert_string_equal(u.v[0].secret, "from systemd");
	char want[AUTH_HKEY_LEN + 1];
	auth_hkey("alice:from systemd", 18, want);
	assert_string_equal(u.v[0].hkey, want);
	assert_string_equal(u.v[1].secret, "bobpw");
	users_free(&u);
	tu_rmtree(dir);
}

static void test_users_file_load(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char p[512], text[1024];
	snprintf(p, sizeof p, "%s/users", dir);
	snprintf(text, sizeof text, "# comment\n\ncarol:%s\r\ndave:%s\n", PASS_PHC, PASS_PHC);
	tu_write_file(p, text);
	struct users u;
	users_init(&u);
	assert_int_equal(users_load_file(&u, p, NULL), ST_OK);
	assert_int_equal(u.n, 2);
	assert_int_equal(u.v[0].origin, USERS_FROM_FILE);
	assert_true(u.v[0].hashed);
	char line[300];
	snprintf(line, sizeof line, "carol:%s", PASS_PHC);
	char want[AUTH_HKEY_LEN + 1];
	auth_hkey(line, strlen(line), want);
	assert_string_equal(u.v[0].hkey, want);
	/* a user of the environment with the same name is a clash */
	struct errinfo e;
	assert_int_equal(users_load_file(&u, p, &e), ST_EXISTS);
	assert_non_null(strstr(e.msg, ":3"));
	users_free(&u);
	const char *bad[] = {"nocolon\n", "carol:plainpassword\n", "../x:", "\x01x:y\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		tu_write_file(p, bad[i]);
		users_init(&u);
		assert_int_not_equal(users_load_file(&u, p, &e), ST_OK);
		assert_non_null(strstr(e.msg, p));
		users_free(&u);
	}
	snprintf(p, sizeof p, "%s/missing", dir);
	users_init(&u);
	assert_int_equal(users_load_file(&u, p, NULL), ST_NOTFOUND);
	users_free(&u);
	tu_rmtree(dir);
}

static void test_users_file_edits(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char p[512];
	snprintf(p, sizeof p, "%s/users", dir);
	char h1[AUTH_PHC_MAX], h2[AUTH_PHC_MAX];
	static const unsigned char salt[8] = "12345678";
	assert_int_equal(auth_phc_hash_salt("one", 3, AUTH_PBKDF2_SHA256, 1000, 32, salt, 8, h1,
	                                    sizeof h1, NULL),
	                 ST_OK);
	assert_int_equal(auth_phc_hash_salt("two", 3, AUTH_PBKDF2_SHA256, 1000, 32, salt, 8, h2,
	                                    sizeof h2, NULL),
	                 ST_OK);
	assert_int_equal(users_file_set(p, "erin", h1, USERS_REPLACE, NULL), ST_NOTFOUND);
	assert_int_equal(users_file_set(p, "erin", h1, USERS_ADD, NULL), ST_OK);
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(users_file_set(p, "erin", h2, USERS_ADD, NULL), ST_EXISTS);
	assert_int_equal(users_file_set(p, "frank", h1, USERS_ADD, NULL), ST_OK);
	/* a hand-written comment survives edits */
	size_t n = 0;
	char *s = tu_read_file(p, &n);
	char *with_comment = malloc(n + 32);
	snprintf(with_comment, n + 32, "# keep me\n%s", s);
	tu_write_file(p, with_comment);
	free(with_comment);
	free(s);
	assert_int_equal(users_file_set(p, "erin", h2, USERS_REPLACE, NULL), ST_OK);
	assert_int_equal(users_file_del(p, "frank", NULL), ST_OK);
	assert_int_equal(users_file_del(p, "frank", NULL), ST_NOTFOUND);
	assert_int_equal(users_file_set(p, "../x", h1, USERS_ADD, NULL), ST_INVALID);
	assert_int_equal(users_file_set(p, "gina", "not a hash", USERS_ADD, NULL), ST_INVALID);
	s = tu_read_file(p, &n);
	char want[600];
	snprintf(want, sizeof want, "# keep me\nerin:%s\n", h2);
	assert_string_equal(s, want);
	free(s);
	struct users u;
	users_init(&u);
	assert_int_equal(users_load_file(&u, p, NULL), ST_OK);
	int ok = 0;
	assert_int_equal(users_verify(users_find_name(&u, "erin"), "two", 3, &ok, NULL), ST_OK);
	assert_int_equal(ok, 1);
	users_free(&u);
	/* a file that does not parse is never rewritten */
	tu_write_file(p, "broken line\n");
	assert_int_equal(users_file_set(p, "erin", h1, USERS_ADD, NULL), ST_INVALID);
	s = tu_read_file(p, &n);
	assert_string_equal(s, "broken line\n");
	free(s);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_rules),
	    cmocka_unit_test(test_env_users_like_the_official_server),
	    cmocka_unit_test(test_env_errors_name_the_variable),
	    cmocka_unit_test(test_hashed_env_user),
	    cmocka_unit_test(test_credentials_directory),
	    cmocka_unit_test(test_users_file_load),
	    cmocka_unit_test(test_users_file_edits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
