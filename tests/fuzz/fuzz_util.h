/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fuzz_util.h - what the fuzz targets that keep files between inputs
 * share: reporting a finding, a scratch directory under $TMPDIR that is
 * removed when the run ends, and removing a database with its side files.
 */
#ifndef ANKIHOST_FUZZ_UTIL_H
#define ANKIHOST_FUZZ_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "status.h"

/* A finding: say what broke (with the library's message) and abort, so
 * libFuzzer keeps the input. */
static inline void fuzz_finding(const char *target, const char *what, const struct errinfo *e)
{
	fprintf(stderr, "%s: %s%s%s\n", target, what, e ? ": " : "", e ? e->msg : "");
	abort();
}

static inline int fuzz_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove path and everything under it. */
static inline void fuzz_rmtree(const char *path)
{
	nftw(path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Remove a SQLite database's -wal, -shm and -journal files, and the
 * database itself when main_too. */
static inline void fuzz_remove_db(const char *path, int main_too)
{
	static const char *const sides[] = {"-wal", "-shm", "-journal"};
	char p[4300];
	for (size_t i = 0; i < sizeof sides / sizeof *sides; i++) {
		snprintf(p, sizeof p, "%s%s", path, sides[i]);
		unlink(p);
	}
	if (main_too)
		unlink(path);
}

/* Make out = $TMPDIR/<name>.XXXXXX (or under /tmp); 0 on failure. */
static inline int fuzz_mkdtemp(char *out, size_t cap, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	if (snprintf(out, cap, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name) >= (int)cap)
		return 0;
	return mkdtemp(out) != NULL;
}

#endif
