/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* test_buf.c - capped buffers and bounded reads refuse oversize input. */
#include "testutil.h"

#include <fcntl.h>

#include "buf.h"

static void test_append_within_cap(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "abcd", 4, NULL), ST_OK);
	assert_int_equal(buf_append(&b, "efgh", 4, NULL), ST_OK);
	assert_int_equal(b.len, 8);
	assert_string_equal((char *)b.data, "abcdefgh");
	struct errinfo e;
	assert_int_equal(buf_append(&b, "i", 1, &e), ST_TOOBIG);
	assert_int_equal(e.code, ST_TOOBIG);
	assert_int_equal(b.len, 8); /* unchanged after refusal */
	buf_free(&b);
}

static void test_printf(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(buf_printf(&b, NULL, "%s=%d", "x", 42), ST_OK);
	assert_int_equal(buf_printf(&b, NULL, ";%05d", 7), ST_OK);
	assert_string_equal((char *)b.data, "x=42;00007");
	buf_free(&b);
	buf_init(&b, 4);
	assert_int_equal(buf_printf(&b, NULL, "%s", "toolong"), ST_TOOBIG);
	buf_free(&b);
}

static void write_n(const char *path, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fputc('a' + (int)(i % 26), f);
	assert_int_equal(fclose(f), 0);
}

static void test_read_file_limits(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char p[512];
	snprintf(p, sizeof p, "%s/f", dir);
	struct buf b;
	struct errinfo e;

	write_n(p, 100000); /* exactly at the limit: accepted */
	assert_int_equal(buf_read_file(&b, p, 100000, &e), ST_OK);
	assert_int_equal(b.len, 100000);
	buf_free(&b);

	write_n(p, 100001); /* limit + 1: refused */
	assert_int_equal(buf_read_file(&b, p, 100000, &e), ST_TOOBIG);
	assert_null(b.data);
	assert_non_null(strstr(e.msg, "limit"));

	write_n(p, 0); /* empty file: an empty string */
	assert_int_equal(buf_read_file(&b, p, 10, &e), ST_OK);
	assert_int_equal(b.len, 0);
	assert_string_equal((char *)b.data, "");
	buf_free(&b);

	snprintf(p, sizeof p, "%s/missing", dir);
	assert_int_equal(buf_read_file(&b, p, 10, &e), ST_NOTFOUND);
	tu_rmtree(dir);
}

static void test_read_fd_stops_early_on_endless_input(void **state)
{
	(void)state;
	/* /dev/zero never ends: the cap must stop the read. */
	int fd = open("/dev/zero", O_RDONLY);
	assert_true(fd >= 0);
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_read_fd(&b, fd, NULL), ST_TOOBIG);
	assert_true(b.alloc <= (1 << 20));
	close(fd);
	buf_free(&b);
}

static void test_steal(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(buf_append_str(&b, "hello", NULL), ST_OK);
	size_t n;
	unsigned char *p = buf_steal(&b, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(p, "hello", 5);
	assert_null(b.data);
	free(p);
	buf_wipe_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_within_cap),
	    cmocka_unit_test(test_printf),
	    cmocka_unit_test(test_read_file_limits),
	    cmocka_unit_test(test_read_fd_stops_early_on_endless_input),
	    cmocka_unit_test(test_steal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
