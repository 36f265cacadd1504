/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fixcol.h - every fixture collection as a plain SQLite file for tests:
 * bare .anki2 files are copied, package members (collection.anki21b is
 * zstd, anki21/anki2 raw) are extracted into a temporary directory.
 * Shared by the tests that walk all fixtures (unicase, text, sqlfn,
 * cardgen).
 */
#ifndef ANKIHOST_FIXCOL_H
#define ANKIHOST_FIXCOL_H

#include "testutil.h"

#include <sqlite3.h>
#include <zip.h>
#include <zstd.h>

struct fixcol {
	char label[160]; /* fixture[:member] */
	char path[4096]; /* extracted copy */
};

static const char *const fixcol_files[] = {
    "new-empty-v18.anki2",
    "schema11-mediacheck.anki2",
    "schema16-empty.anki2",
    "v18-two-decks-revlog.anki2",
    "schema1-alpha.anki2",
    "diffmodels2-1.apkg",
    "diffmodels2-2.apkg",
    "diffmodeltemplates-1.apkg",
    "diffmodeltemplates-2.apkg",
    "media.apkg",
    "update1.apkg",
    "update2.apkg",
    "latest-20notes.apkg",
    "latest-459notes-revlog.apkg",
    "legacy2-fsrs-revlog-media.apkg",
    "latest-empty-backup.colpkg",
    "legacy2-empty.colpkg",
};

static inline void fixcol_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Extract member `name` of zip z to path; zstd-decompress when asked. */
static inline int fixcol_member(zip_t *z, const char *name, const char *path, int zstd)
{
	zip_stat_t st;
	if (zip_stat(z, name, 0, &st) != 0)
		return 0;
	zip_file_t *zf = zip_fopen(z, name, 0);
	assert_non_null(zf);
	unsigned char *raw = malloc(st.size + 1);
	assert_non_null(raw);
	assert_int_equal(zip_fread(zf, raw, st.size), (zip_int64_t)st.size);
	zip_fclose(zf);
	if (!zstd) {
		fixcol_write(path, raw, st.size);
		free(raw);
		return 1;
	}
	/* Anki writes frames without a content size: stream it. */
	ZSTD_DStream *ds = ZSTD_createDStream();
	assert_non_null(ds);
	size_t cap = 1u << 20, len = 0;
	unsigned char *out = malloc(cap);
	assert_non_null(out);
	ZSTD_inBuffer in = {raw, st.size, 0};
	for (;;) {
		if (len == cap) {
			assert_true(cap < (64u << 20));
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		ZSTD_outBuffer ob = {out + len, cap - len, 0};
		size_t r = ZSTD_decompressStream(ds, &ob, &in);
		assert_false(ZSTD_isError(r));
		len += ob.pos;
		if (r == 0 && in.pos == in.size)
			break;
		assert_true(ob.pos > 0 || in.pos < in.size || len == cap);
	}
	ZSTD_freeDStream(ds);
	fixcol_write(path, out, len);
	free(out);
	free(raw);
	return 1;
}

/* Copy or extract every collection database of every fixture into dir.
 * Returns the count; *out is malloc'd. */
static inline int fixcol_all(const char *dir, struct fixcol **out)
{
	static const char *const members[] = {"collection.anki2", "collection.anki21",
	                                      "collection.anki21b"};
	size_t nf = sizeof fixcol_files / sizeof fixcol_files[0];
	struct fixcol *v = calloc(nf * 3, sizeof *v);
	assert_non_null(v);
	int n = 0;
	for (size_t i = 0; i < nf; i++) {
		const char *f = fixcol_files[i];
		if (!tu_have_fixture(f))
			fail_msg("fixture %s missing", f);
		if (strstr(f, ".anki2")) {
			snprintf(v[n].label, sizeof v[n].label, "%s", f);
			snprintf(v[n].path, sizeof v[n].path, "%s/%d.db", dir, n);
			tu_copy(tu_fixture(f), v[n].path);
			n++;
			continue;
		}
		int err = 0;
		zip_t *z = zip_open(tu_fixture(f), ZIP_RDONLY, &err);
		assert_non_null(z);
		for (int m = 0; m < 3; m++) {
			snprintf(v[n].label, sizeof v[n].label, "%s:%s", f, members[m]);
			snprintf(v[n].path, sizeof v[n].path, "%s/%d.db", dir, n);
			if (fixcol_member(z, members[m], v[n].path, m == 2))
				n++;
		}
		zip_close(z);
	}
	*out = v;
	return n;
}

static inline sqlite3 *fixcol_open(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	return db;
}

static inline int fixcol_schema(sqlite3 *db)
{
	sqlite3_stmt *st;
	int ver = -1;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT ver FROM col", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		ver = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return ver;
}

#endif
