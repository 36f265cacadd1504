/*
 * testutil.h - shared helpers for the cmocka unit tests: temporary
 * directories, fixture paths, small file helpers.
 */
#ifndef ANKIHOST_TESTUTIL_H
#define ANKIHOST_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh directory under $TMPDIR; removed by tu_rmtree. */
static inline char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *p = malloc(4096);
	snprintf(p, 4096, "%s/ankihost-test-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(p)) {
		free(p);
		fail_msg("mkdtemp failed");
	}
	return p;
}

static inline void tu_rmtree(char *dir)
{
	if (!dir)
		return;
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
	free(dir);
}

/* Path of a file in ../shared/fixtures (or $ANKIHOST_SHARED/fixtures), or
 * of a fixture committed under tests/fixtures.  Returns a static buffer. */
static inline const char *tu_fixture(const char *name)
{
	static char p[4096];
	const char *shared = getenv("ANKIHOST_SHARED");
	snprintf(p, sizeof p, "../fixtures/%s", name); /* tests run in tests/unit */
	if (access(p, R_OK) == 0)
		return p;
	if (shared && *shared) {
		snprintf(p, sizeof p, "%s/fixtures/%s", shared, name);
		if (access(p, R_OK) == 0)
			return p;
	}
	snprintf(p, sizeof p, "../../../shared/fixtures/%s", name);
	return p;
}

static inline int tu_have_fixture(const char *name)
{
	return access(tu_fixture(name), R_OK) == 0;
}

/* Copy a file (fixtures are read-only; work on copies). */
static inline void tu_copy(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb");
	assert_non_null(in);
	FILE *out = fopen(to, "wb");
	assert_non_null(out);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static inline void tu_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static inline void tu_write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Whole file into a malloc'd NUL-terminated buffer (caller frees). */
static inline char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	if (fread(p, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(p);
		return NULL;
	}
	p[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return p;
}

#endif
