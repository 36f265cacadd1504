/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* test_config.c - settings table: defaults, file, environment, refusals. */
#include "testutil.h"

#include "config.h"

static const struct config_def defs[] = {
    {"SYNC_HOST", CONFIG_STRING, "0.0.0.0", 0, 0, "bind address"},
    {"SYNC_PORT", CONFIG_INT, "8080", 1, 65535, "port"},
    {"SYNC_VERBOSE", CONFIG_BOOL, "false", 0, 0, "verbose"},
    {"SYNC_BASE", CONFIG_STRING, NULL, 0, 0, "data root"},
};
#define NDEFS (sizeof defs / sizeof defs[0])

static void test_defaults(void **state)
{
	(void)state;
	struct config c;
	assert_int_equal(config_init(&c, defs, NDEFS, NULL), ST_OK);
	assert_string_equal(config_str(&c, "SYNC_HOST"), "0.0.0.0");
	assert_int_equal(config_int(&c, "SYNC_PORT"), 8080);
	assert_false(config_bool(&c, "SYNC_VERBOSE"));
	assert_false(config_is_set(&c, "SYNC_BASE"));
	assert_null(config_str(&c, "NOPE"));
	config_free(&c);
}

static int accept_users(const char *name)
{
	return strncmp(name, "SYNC_USER", 9) == 0;
}

static void test_env(void **state)
{
	(void)state;
	struct config c;
	struct errinfo e;
	assert_int_equal(config_init(&c, defs, NDEFS, NULL), ST_OK);
	char *env_ok[] = {"HOME=/root", "SYNC_PORT=27701", "SYNC_VERBOSE=yes", "SYNC_USER1=a:b", NULL};
	assert_int_equal(config_load_env(&c, env_ok, "SYNC_", accept_users, &e), ST_OK);
	assert_int_equal(config_int(&c, "SYNC_PORT"), 27701);
	assert_true(config_bool(&c, "SYNC_VERBOSE"));

	char *env_bad[] = {"SYNC_PORT=70000", NULL};
	assert_int_equal(config_load_env(&c, env_bad, "SYNC_", NULL, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "SYNC_PORT"));
	assert_int_equal(config_int(&c, "SYNC_PORT"), 27701); /* unchanged */

	char *env_typo[] = {"SYNC_PROT=1", NULL};
	assert_int_equal(config_load_env(&c, env_typo, "SYNC_", accept_users, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "SYNC_PROT"));

	char *env_word[] = {"SYNC_PORT=80a", NULL};
	assert_int_equal(config_load_env(&c, env_word, NULL, NULL, &e), ST_INVALID);
	char *env_bool[] = {"SYNC_VERBOSE=maybe", NULL};
	assert_int_equal(config_load_env(&c, env_bool, NULL, NULL, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "SYNC_VERBOSE"));
	config_free(&c);
}

static void test_file(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char p[512];
	snprintf(p, sizeof p, "%s/conf", dir);
	struct config c;
	struct errinfo e;
	assert_int_equal(config_init(&c, defs, NDEFS, NULL), ST_OK);

	tu_write_file(p, "# comment\n\n  SYNC_HOST = 127.0.0.1 \nSYNC_BASE=\"/var/lib/anki sync\"\n");
	assert_int_equal(config_load_file(&c, p, &e), ST_OK);
	assert_string_equal(config_str(&c, "SYNC_HOST"), "127.0.0.1");
	assert_string_equal(config_str(&c, "SYNC_BASE"), "/var/lib/anki sync");

	tu_write_file(p, "SYNC_HOST=::1\nSYNC_PORTT=1\n");
	assert_int_equal(config_load_file(&c, p, &e), ST_NOTFOUND);
	assert_non_null(strstr(e.msg, ":2"));
	assert_non_null(strstr(e.msg, "SYNC_PORTT"));

	tu_write_file(p, "just words\n");
	assert_int_equal(config_load_file(&c, p, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, ":1"));

	snprintf(p, sizeof p, "%s/missing", dir);
	assert_int_equal(config_load_file(&c, p, &e), ST_NOTFOUND);
	config_free(&c);
	tu_rmtree(dir);
}

static void test_parsers(void **state)
{
	(void)state;
	long long v;
	assert_int_equal(config_parse_int("X", "-5", -10, 10, &v, NULL), ST_OK);
	assert_int_equal(v, -5);
	assert_int_equal(config_parse_int("X", "", 0, 10, &v, NULL), ST_INVALID);
	assert_int_equal(config_parse_int("X", " 5", 0, 10, &v, NULL), ST_INVALID);
	assert_int_equal(config_parse_int("X", "99999999999999999999", 0, 10, &v, NULL), ST_INVALID);
	assert_int_equal(config_parse_int("X", "11", 0, 10, &v, NULL), ST_INVALID);
	int b;
	assert_int_equal(config_parse_bool("X", "ON", &b, NULL), ST_OK);
	assert_true(b);
	assert_int_equal(config_parse_bool("X", "0", &b, NULL), ST_OK);
	assert_false(b);
	assert_int_equal(config_parse_bool("X", NULL, &b, NULL), ST_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_env),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_parsers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
