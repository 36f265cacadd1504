/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* test_afile.c - atomic replacement: old or new, never a torn file. */
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "afile.h"

static void test_write_all_and_mode(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char p[512];
	snprintf(p, sizeof p, "%s/f", dir);
	assert_int_equal(afile_write_all(p, "one", 3, 0640, NULL), ST_OK);
	size_t n;
	char *s = tu_read_file(p, &n);
	assert_string_equal(s, "one");
	free(s);
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	assert_int_equal(afile_write_all(p, "two!", 4, 0600, NULL), ST_OK);
	s = tu_read_file(p, &n);
	assert_string_equal(s, "two!");
	free(s);
	assert_int_equal(afile_cleanup(p), 0); /* nothing left behind */
	tu_rmtree(dir);
}

/* A process killed after writing the new content but before the rename must
 * leave the old file intact; the stray temporary is cleaned up later. */
static void test_crash_before_rename_keeps_old(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char p[512];
	snprintf(p, sizeof p, "%s/collection", dir);
	tu_write_file(p, "old content");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct afile af;
		if (afile_open(&af, p, 0600, NULL) != ST_OK)
			_exit(3);
		if (afile_write(&af, "new content, longer than before", 31, NULL) != ST_OK)
			_exit(4);
		raise(SIGKILL); /* the crash: no commit, no abort */
		_exit(5);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	char *s = tu_read_file(p, NULL);
	assert_string_equal(s, "old content");
	free(s);
	assert_int_equal(afile_cleanup(p), 1);
	assert_int_equal(afile_cleanup(p), 0);
	tu_rmtree(dir);
}

/* Readers holding the old file keep seeing the whole old content. */
static void test_reader_sees_old_or_new(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char p[512];
	snprintf(p, sizeof p, "%s/f", dir);
	tu_write_file(p, "AAAA");
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	struct afile af;
	assert_int_equal(afile_open(&af, p, 0600, NULL), ST_OK);
	assert_int_equal(afile_write(&af, "BBBBBBBB", 8, NULL), ST_OK);
	char *s = tu_read_file(p, NULL); /* before commit: old */
	assert_string_equal(s, "AAAA");
	free(s);
	assert_int_equal(afile_commit(&af, NULL), ST_OK);
	char old[8] = {0};
	assert_int_equal(read(fd, old, sizeof old - 1), 4);
	assert_string_equal(old, "AAAA");
	close(fd);
	s = tu_read_file(p, NULL);
	assert_string_equal(s, "BBBBBBBB");
	free(s);
	tu_rmtree(dir);
}

static void test_abort_removes_temp(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char p[512];
	snprintf(p, sizeof p, "%s/f", dir);
	struct afile af;
	assert_int_equal(afile_open(&af, p, 0600, NULL), ST_OK);
	assert_int_equal(afile_write(&af, "x", 1, NULL), ST_OK);
	afile_abort(&af);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(afile_cleanup(p), 0);
	tu_rmtree(dir);
}

static void test_errors_are_reported(void **state)
{
	(void)state;
	struct errinfo e;
	struct afile af;
	assert_int_equal(afile_open(&af, "/nonexistent-dir/x/y", 0600, &e), ST_IO);
	assert_non_null(strstr(e.msg, "/nonexistent-dir/x/y"));
	assert_int_equal(afile_write_all("", "x", 1, 0600, &e), ST_INVALID);
	/* writing into a full device fails at write or fsync, never silently */
	if (access("/dev/full", W_OK) == 0) {
		int fd = open("/dev/full", O_WRONLY);
		struct afile full = {.fd = fd};
		snprintf(full.tmp, sizeof full.tmp, "/dev/full");
		assert_int_equal(afile_write(&full, "abc", 3, &e), ST_IO);
		assert_non_null(strstr(e.msg, "No space"));
		close(fd);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_all_and_mode),
	    cmocka_unit_test(test_crash_before_rename_keeps_old),
	    cmocka_unit_test(test_reader_sees_old_or_new),
	    cmocka_unit_test(test_abort_removes_temp),
	    cmocka_unit_test(test_errors_are_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
