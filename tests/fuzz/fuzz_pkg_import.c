/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fuzz_pkg_import.c - libFuzzer target for deck packages (.apkg,
 * .colpkg): shared decks come from strangers, and anki-connectd's
 * importPackage and anki-col import them (collection-format.md §9).
 *
 * Mutating a real package's bytes mostly breaks its zip CRCs or its
 * compression, so the input describes the package's members instead and
 * the harness builds the zip (stored members) with libzip:
 *   byte 0: options: bit 0 with_scheduling, bit 1 with_deck_configs,
 *           bits 2-3 update_notes, bits 4-5 update_notetypes (3 = 0);
 *   then members: flags (bit 0: the harness compresses the data as one
 *   zstd frame, as the latest format stores its members), name length,
 *   name, data length (4 bytes, little-endian, cut to what is left),
 *   data.
 * So the fuzzer edits the collection's SQLite pages, the media map and
 * the meta bytes directly.  Seeds are real packages unpacked this way
 * (tests/fuzz/make_seeds.py).
 *
 * Each package is imported into a collection that lives on across inputs
 * (a fresh one every 128 runs), so imports meet the notes, notetypes and
 * decks of earlier ones.  It aborts (a finding) when:
 *   - the answer is a status a package cannot cause (ST_DB, ST_IO,
 *     ST_INTERNAL...): hostile bytes must be refused as such;
 *   - a refused import changed the collection (row counts of every table,
 *     the col row) or the media folder;
 *   - an accepted import left a collection col_check finds problems in
 *     (but for notes without cards, which Anki's import leaves too);
 *   - a temporary is left in the media folder, or anything beside the
 *     run's own directory in $TMPDIR.
 * ASan/UBSan catch the rest.
 *
 * Built and run by tests/check-fuzz.sh (briefly in make check; longer
 * with FUZZ_SECONDS=...).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zstd.h>

#include "col.h"
#include "col_check.h"
#include "fuzz_util.h"
#include "media_name.h"
#include "pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FRESH_EVERY 128
#define MAX_MEMBERS 64

/* libFuzzer calls in from one thread; the state of the run is here. */
static struct {
	char root[4096];
	char col[4200];
	char media[4200];
	char pkg[4200];
	struct col *c;
	unsigned runs;
} fz;

static void finding(const char *what, const struct errinfo *e)
{
	fuzz_finding("fuzz_pkg_import", what, e);
}

static void cleanup(void)
{
	if (fz.c)
		col_close(fz.c);
	fz.c = NULL;
	if (fz.root[0])
		fuzz_rmtree(fz.root);
}

static void fresh_collection(void)
{
	struct errinfo e;
	if (!fz.root[0]) {
		if (!fuzz_mkdtemp(fz.root, sizeof fz.root, "fuzz-pkg"))
			finding("mkdtemp failed", NULL);
		snprintf(fz.col, sizeof fz.col, "%s/collection.anki2", fz.root);
		snprintf(fz.media, sizeof fz.media, "%s/collection.media", fz.root);
		snprintf(fz.pkg, sizeof fz.pkg, "%s/in.apkg", fz.root);
		atexit(cleanup);
	}
	if (fz.c)
		col_close(fz.c);
	fz.c = NULL;
	fuzz_remove_db(fz.col, 1);
	fuzz_rmtree(fz.media);
	if (mkdir(fz.media, 0700) != 0)
		finding("mkdir media", NULL);
	if (col_create(fz.col, 0, &e) != ST_OK)
		finding("col_create", &e);
	if (col_open(fz.col, 0, &fz.c, &e) != ST_OK)
		finding("col_open", &e);
}

/* Write the package the input describes to fz.pkg; 0 when the input holds
 * no member. */
static int build_package(const uint8_t *p, size_t n)
{
	int err = 0;
	zip_t *za = zip_open(fz.pkg, ZIP_CREATE | ZIP_TRUNCATE, &err);
	if (!za)
		finding("zip_open for writing", NULL);
	void *owned[MAX_MEMBERS];
	size_t nowned = 0, added = 0;
	while (n >= 2 && added < MAX_MEMBERS) {
		unsigned flags = p[0], namelen = p[1];
		p += 2;
		n -= 2;
		if (namelen > n)
			break;
		char name[256];
		memcpy(name, p, namelen);
		name[namelen] = 0;
		p += namelen;
		n -= namelen;
		size_t len = 0;
		if (n >= 4) {
			len = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 |
			      (size_t)p[3] << 24;
			p += 4;
			n -= 4;
		} else {
			n = 0;
		}
		if (len > n)
			len = n;
		const void *body = p;
		size_t blen = len;
		p += len;
		n -= len;
		if (flags & 1) {
			size_t cap = ZSTD_compressBound(len);
			void *z = malloc(cap ? cap : 1);
			if (!z)
				finding("out of memory", NULL);
			blen = ZSTD_compress(z, cap, body, len, 1);
			if (ZSTD_isError(blen))
				finding("ZSTD_compress", NULL);
			owned[nowned++] = z;
			body = z;
		}
		zip_source_t *src = zip_source_buffer(za, body, blen, 0);
		if (!src)
			finding("zip_source_buffer", NULL);
		zip_int64_t idx = zip_file_add(za, name, src, 0);
		if (idx < 0) {
			zip_source_free(src); /* a name given twice */
			continue;
		}
		zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
		added++;
	}
	if (zip_close(za) != 0)
		finding("zip_close", NULL);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	return added > 0;
}

/* What a refused import must leave as it was. */
#define SHAPE_N 12
struct shape {
	int64_t n[SHAPE_N];
	size_t media_files;
	uint64_t media_bytes;
};

static struct shape shape_of(void)
{
	static const char sql[] =
	    "select (select mod from col), (select scm from col), (select usn from col),"
	    " (select count() from notes), (select total(mod) from notes),"
	    " (select count() from cards), (select total(mod) from cards),"
	    " (select count() from revlog), (select count() from decks),"
	    " (select count() from notetypes), (select count() from deck_config),"
	    " (select count() from tags)";
	struct shape s;
	memset(&s, 0, sizeof s);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(col_db(fz.c), sql, -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW)
		finding("cannot read the collection's shape", NULL);
	for (int i = 0; i < SHAPE_N; i++)
		s.n[i] = sqlite3_column_int64(q, i);
	sqlite3_finalize(q);
	DIR *d = opendir(fz.media);
	if (!d)
		finding("opendir media", NULL);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strncmp(de->d_name, MEDIA_TMP_PREFIX, strlen(MEDIA_TMP_PREFIX)))
			finding("a temporary was left in the media folder", NULL);
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			finding("a media entry that is not a regular file", NULL);
		s.media_files++;
		s.media_bytes += (uint64_t)st.st_size;
	}
	closedir(d);
	return s;
}

/* $TMPDIR must hold only this run's directory. */
static void check_tmpdir(void)
{
	const char *tmp = getenv("TMPDIR");
	DIR *d = opendir(tmp && *tmp ? tmp : "/tmp");
	if (!d)
		return;
	const char *own = strrchr(fz.root, '/') + 1;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, own) && tmp && *tmp)
			finding("an import left something in $TMPDIR", NULL);
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!fz.c || ++fz.runs % FRESH_EVERY == 0)
		fresh_collection();
	if (!build_package(data + 1, size - 1))
		return 0;
	unsigned o = data[0];
	struct pkg_import_opts opts = {
	    .with_scheduling = o & 1,
	    .with_deck_configs = o >> 1 & 1,
	    .update_notes = (enum pkg_update)((o >> 2 & 3) % 3),
	    .update_notetypes = (enum pkg_update)((o >> 4 & 3) % 3),
	    /* small enough to reach every limit; still far above the seeds */
	    .limits = {.max_members = 48,
	               .max_collection_bytes = 4u << 20,
	               .max_media_file_bytes = 1u << 20,
	               .max_total_bytes = 8u << 20,
	               .max_map_bytes = 64u << 10},
	};
	struct shape before = shape_of();
	struct errinfo e;
	struct pkg_import_result r;
	enum status st = pkg_import(fz.c, fz.pkg, fz.media, &opts, &r, &e);
	switch (st) {
	case ST_OK:
	case ST_CORRUPT:
	case ST_TOOBIG:
	case ST_VERSION:
	case ST_INVALID:
	case ST_NOTFOUND:
		break;
	default:
		finding("a package caused a status only our side should", &e);
	}
	struct shape after = shape_of();
	if (st != ST_OK) {
		if (memcmp(&before, &after, sizeof before) != 0)
			finding("a refused import changed the collection or its media", &e);
	} else {
		struct col_check_report rep;
		if (col_check_run(fz.c, &rep, &e) != ST_OK)
			finding("col_check could not run after an import", &e);
		/* Anki's import adds a package's notes without generating cards
		 * (add_note_only_with_id_undoable), so a package with a note but
		 * none of its cards leaves such a note there too; Check Database
		 * generates its cards.  Everything else is ours. */
		if (rep.nlisted < rep.nproblems)
			finding("an accepted import left a collection with many problems", NULL);
		for (size_t i = 0; i < rep.nlisted; i++) {
			if (strstr(rep.problems[i], ": has no cards"))
				continue;
			fprintf(stderr, "fuzz_pkg_import: %s\n", rep.problems[i]);
			finding("an accepted import left a collection with problems", NULL);
		}
		col_check_report_free(&rep);
	}
	check_tmpdir();
	return 0;
}
