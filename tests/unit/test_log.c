/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* test_log.c - one event is one line; levels filter; errors keep errno. */
#include "testutil.h"

#include <errno.h>

#include "log.h"
#include "status.h"

static void test_one_line_per_event(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char p[512];
	snprintf(p, sizeof p, "%s/log", dir);
	FILE *f = fopen(p, "w+");
	assert_non_null(f);
	log_set_stream(f);
	log_set_level(LOG_LVL_INFO);
	log_info("user=%s method=%s", "bob\nforged line", "meta");
	log_debug("hidden");
	errno = ENOENT;
	log_warn("open %s", "x");
	assert_int_equal(errno, ENOENT);
	log_set_stream(NULL);
	fclose(f);
	char *s = tu_read_file(p, NULL);
	int lines = 0;
	for (char *c = s; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 2);
	assert_non_null(strstr(s, "bob?forged line"));
	assert_null(strstr(s, "hidden"));
	assert_non_null(strstr(s, "No such file or directory"));
	free(s);
	tu_rmtree(dir);
}

static void test_errinfo(void **state)
{
	(void)state;
	struct errinfo e;
	assert_int_equal(errinfo_set(&e, ST_BUSY, "user %s", "x"), ST_BUSY);
	assert_string_equal(e.msg, "user x");
	errinfo_prefix(&e, "sync %d", 2);
	assert_string_equal(e.msg, "sync 2: user x");
	assert_int_equal(status_http(ST_TOOBIG), 413);
	assert_int_equal(status_http(ST_UNSUPPORTED), 501);
	assert_string_equal(status_name(ST_CORRUPT), "corrupt");
	assert_string_equal(status_name((enum status)999), "unknown");
	assert_int_equal(errinfo_set(NULL, ST_IO, "ignored"), ST_IO);
	char big[2000];
	memset(big, 'y', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	errinfo_set(&e, ST_IO, "%s", big);
	errinfo_prefix(&e, "%s", big);
	assert_int_equal(strlen(e.msg), ERRINFO_MSG_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_line_per_event),
	    cmocka_unit_test(test_errinfo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
