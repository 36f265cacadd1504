/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_pkg_hostile.c - packages built to attack the importer: member
 * names with "..", "/" or absolute paths, zip and zstd bombs, media maps
 * naming files outside the folder, a collection member that is not
 * SQLite or carries a trigger, truncated zstd frames, media that do not
 * match their checksums, unknown versions, too many members.  Each is
 * refused with a clear error and leaves the collection and its media
 * folder exactly as they were.  Also the media name rules and media
 * references on their own.
 */
#include "testutil.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <time.h>
#include <zip.h>
#include <zstd.h>

#include "col.h"
#include "col_notes.h"
#include "pkg.h"
#include "pkg_internal.h"
#include "unicase.h"

static char *tmpdir;

static int setup(void **state)
{
	(void)state;
	tmpdir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(tmpdir);
	tmpdir = NULL;
	return 0;
}

static void tp(char *out, const char *name)
{
	snprintf(out, 4096, "%s/%s", tmpdir, name);
}

static long long q1(struct col *c, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(col_db(c), sql, -1, &st, NULL), SQLITE_OK);
	long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return v;
}

/* Entries of dir, hidden ones included (a leftover temporary counts). */
static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* A small source collection with two notes, one referencing a media
 * file, exported as latest (base.apkg) and legacy (legacy.apkg). */
static void make_bases(void)
{
	char col[4096], md[4096], p[4200];
	tp(col, "src.anki2");
	tp(md, "src.media");
	struct errinfo e;
	assert_int_equal(col_create(col, 0, &e), ST_OK);
	struct col *c;
	assert_int_equal(col_open(col, 0, &c, &e), ST_OK);
	mkdir(md, 0755);
	snprintf(p, sizeof p, "%s/pic.png", md);
	tu_write_file(p, "some picture bytes, not really a png");
	int64_t basic = q1(c, "select id from notetypes where name = 'Basic'");
	assert_int_equal(col_begin(c, &e), ST_OK);
	for (int i = 0; i < 2; i++) {
		struct note n = {.mid = basic};
		n.flds = strdup(i ? "plain\x1f"
		                    "text"
		                  : "<img src=\"pic.png\">\x1f"
		                    "back");
		assert_int_equal(col_note_add(c, &n, &e), ST_OK);
		struct card cd;
		card_init_new(&cd, n.id, 1, 0, i + 1);
		assert_int_equal(col_card_add(c, &cd, &e), ST_OK);
		card_free(&cd);
		note_free(&n);
	}
	assert_int_equal(col_commit(c, &e), ST_OK);
	char out[4096];
	tp(out, "base.apkg");
	struct pkg_export_opts o = {.out_path = out, .with_media = true};
	struct pkg_export_result r;
	assert_int_equal(pkg_export(c, &o, &r, &e), ST_OK);
	assert_int_equal(r.media, 1);
	tp(out, "legacy.apkg");
	o.legacy = true;
	assert_int_equal(pkg_export(c, &o, &r, &e), ST_OK);
	col_close(c);
}

/* Copy the members of src into dst, applying edits; extra members are
 * appended.  data NULL keeps a member's bytes; drop removes it. */
struct edit {
	const char *name;   /* member to change, or NULL for an added member */
	const char *rename; /* new name (or the added member's name) */
	const void *data;
	size_t len;
	bool drop;
	bool deflate;
};

static void *member(zip_t *z, zip_uint64_t i, size_t *len)
{
	zip_stat_t zs;
	assert_int_equal(zip_stat_index(z, i, 0, &zs), 0);
	void *d = malloc(zs.size + 1);
	zip_file_t *f = zip_fopen_index(z, i, 0);
	assert_non_null(f);
	assert_int_equal(zip_fread(f, d, zs.size), (zip_int64_t)zs.size);
	zip_fclose(f);
	*len = zs.size;
	return d;
}

static void rezip(const char *src, const char *dst, const struct edit *ed, size_t ned)
{
	zip_t *in = zip_open(src, ZIP_RDONLY, NULL);
	assert_non_null(in);
	zip_t *out = zip_open(dst, ZIP_CREATE | ZIP_TRUNCATE, NULL);
	assert_non_null(out);
	zip_int64_t n = zip_get_num_entries(in, 0);
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(in, (zip_uint64_t)i, 0);
		const struct edit *m = NULL;
		for (size_t k = 0; k < ned; k++)
			if (ed[k].name && strcmp(ed[k].name, name) == 0)
				m = &ed[k];
		if (m && m->drop)
			continue;
		size_t len;
		void *d = member(in, (zip_uint64_t)i, &len);
		if (m && m->data) {
			free(d);
			d = malloc(m->len + 1);
			memcpy(d, m->data, m->len);
			len = m->len;
		}
		if (!len) { /* libzip keeps no empty buffer */
			free(d);
			d = NULL;
		}
		zip_source_t *s = zip_source_buffer(out, d, len, d != NULL);
		zip_int64_t idx = zip_file_add(out, m && m->rename ? m->rename : name, s, 0);
		assert_true(idx >= 0);
		zip_set_file_compression(out, (zip_uint64_t)idx,
		                         m && m->deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
	}
	for (size_t k = 0; k < ned; k++) {
		if (ed[k].name)
			continue;
		void *d = malloc(ed[k].len + 1);
		memcpy(d, ed[k].data, ed[k].len);
		zip_source_t *s = zip_source_buffer(out, d, ed[k].len, 1);
		zip_int64_t idx = zip_file_add(out, ed[k].rename, s, 0);
		assert_true(idx >= 0);
		zip_set_file_compression(out, (zip_uint64_t)idx,
		                         ed[k].deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
	}
	assert_int_equal(zip_close(out), 0);
	zip_discard(in);
}

static void *read_member(const char *pkg, const char *name, size_t *len)
{
	zip_t *z = zip_open(pkg, ZIP_RDONLY, NULL);
	assert_non_null(z);
	zip_int64_t i = zip_name_locate(z, name, 0);
	assert_true(i >= 0);
	void *d = member(z, (zip_uint64_t)i, len);
	zip_discard(z);
	return d;
}

static void *zstd_of(const void *d, size_t n, size_t *out)
{
	size_t cap = ZSTD_compressBound(n);
	void *z = malloc(cap);
	*out = ZSTD_compress(z, cap, d, n, 3);
	assert_false(ZSTD_isError(*out));
	return z;
}

/* Import pkg into a fresh collection; expect status want and a message
 * containing what; then the collection must be untouched and its media
 * folder empty (no leftovers, not even temporary files). */
static void expect_refused(const char *pkg, const struct pkg_limits *lim, enum status want,
                           const char *what)
{
	static int k;
	char col[4096], md[4096], name[64];
	snprintf(name, sizeof name, "t%d.anki2", ++k);
	tp(col, name);
	snprintf(name, sizeof name, "t%d.media", k);
	tp(md, name);
	struct errinfo e = {0};
	assert_int_equal(col_create(col, 0, &e), ST_OK);
	struct col *c;
	assert_int_equal(col_open(col, 0, &c, &e), ST_OK);
	mkdir(md, 0755);
	long long nt = q1(c, "select count(*) from notetypes");
	long long mod = q1(c, "select mod from col");
	struct pkg_import_opts o = {.with_scheduling = true, .with_deck_configs = true};
	if (lim)
		o.limits = *lim;
	struct pkg_import_result r;
	enum status st = pkg_import(c, pkg, NULL, &o, &r, &e);
	if (st != want || !strstr(e.msg, what))
		fail_msg("%s: got %s \"%s\", wanted %s \"%s\"", pkg, status_name(st), e.msg,
		         status_name(want), what);
	assert_int_equal(r.notes_added, 0);
	assert_int_equal(r.media_added, 0);
	assert_int_equal(q1(c, "select count(*) from notes"), 0);
	assert_int_equal(q1(c, "select count(*) from cards"), 0);
	assert_int_equal(q1(c, "select count(*) from notetypes"), nt);
	assert_int_equal(q1(c, "select count(*) from decks"), 1);
	assert_int_equal(q1(c, "select mod from col"), mod);
	assert_int_equal(entries(md), 0);
	col_close(c);
}

static void test_base_packages_import(void **state)
{
	(void)state;
	make_bases();
	char p[4096], col[4096];
	const char *names[] = {"base.apkg", "legacy.apkg"};
	for (int i = 0; i < 2; i++) {
		tp(p, names[i]);
		snprintf(col, sizeof col, "%s/ok%d.anki2", tmpdir, i);
		struct errinfo e;
		assert_int_equal(col_create(col, 0, &e), ST_OK);
		struct col *c;
		assert_int_equal(col_open(col, 0, &c, &e), ST_OK);
		struct pkg_import_result r;
		assert_int_equal(pkg_import(c, p, NULL, NULL, &r, &e), ST_OK);
		assert_int_equal(r.notes_added, 2);
		assert_int_equal(r.media_added, 1);
		col_close(c);
	}
}

static void test_member_names(void **state)
{
	(void)state;
	make_bases();
	char base[4096], bad[4096];
	tp(base, "base.apkg");
	tp(bad, "bad.apkg");
	const char *names[] = {"../evil", "/tmp/abs", "dir/x", "..", "a\\b"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct edit ed = {.rename = names[i], .data = "x", .len = 1};
		rezip(base, bad, &ed, 1);
		expect_refused(bad, NULL, ST_CORRUPT, "not a plain file name");
	}
	/* a media member renamed to climb out of the folder */
	struct edit ed = {.name = "0", .rename = "../0"};
	rezip(base, bad, &ed, 1);
	expect_refused(bad, NULL, ST_CORRUPT, "not a plain file name");
	char outside[4096];
	tp(outside, "0");
	assert_int_equal(access(outside, F_OK), -1);
}

static void test_zip_bombs(void **state)
{
	(void)state;
	make_bases();
	char base[4096], legacy[4096], bad[4096];
	tp(base, "base.apkg");
	tp(legacy, "legacy.apkg");
	tp(bad, "bomb.apkg");
	size_t big = 24u << 20;
	char *zeros = calloc(1, big);
	/* deflate: 24 MiB of zeros in a few KiB, against a 4 MiB collection cap */
	struct edit ed = {.name = "collection.anki21", .data = zeros, .len = big, .deflate = true};
	rezip(legacy, bad, &ed, 1);
	struct stat sb;
	assert_int_equal(stat(bad, &sb), 0);
	assert_true(sb.st_size < 200 * 1024);
	struct pkg_limits lim = {.max_collection_bytes = 4u << 20};
	expect_refused(bad, &lim, ST_TOOBIG, "limit");
	/* zstd inside a stored member: only the frame knows its size */
	size_t zl;
	void *zb = zstd_of(zeros, big, &zl);
	struct edit ez = {.name = "collection.anki21b", .data = zb, .len = zl};
	rezip(base, bad, &ez, 1);
	expect_refused(bad, &lim, ST_TOOBIG, "larger than");
	/* a media member bomb (legacy: raw deflate), caught while staging */
	struct edit em = {.name = "0", .data = zeros, .len = big, .deflate = true};
	rezip(legacy, bad, &em, 1);
	struct pkg_limits ml = {.max_media_file_bytes = 1u << 20};
	expect_refused(bad, &ml, ST_TOOBIG, "limit");
	/* latest: a zstd media bomb */
	struct edit emz = {.name = "0", .data = zb, .len = zl};
	rezip(base, bad, &emz, 1);
	expect_refused(bad, &ml, ST_TOOBIG, "larger than");
	/* the whole package's budget */
	struct pkg_limits tl = {.max_total_bytes = 64 * 1024};
	expect_refused(base, &tl, ST_TOOBIG, "package content exceeds");
	/* member count */
	struct pkg_limits cl = {.max_members = 3};
	expect_refused(base, &cl, ST_TOOBIG, "members");
	free(zb);
	free(zeros);
}

static void test_media_map_outside(void **state)
{
	(void)state;
	make_bases();
	char base[4096], legacy[4096], bad[4096];
	tp(base, "base.apkg");
	tp(legacy, "legacy.apkg");
	tp(bad, "map.apkg");
	const char *maps[] = {"{\"0\": \"../../evil.txt\"}",
	                      "{\"0\": \"/etc/evil\"}",
	                      "{\"0\": \"..\"}",
	                      "{\"../0\": \"pic.png\"}",
	                      "{\"0\": 5}",
	                      "[\"pic.png\"]",
	                      "{\"0\": \"pic.png\""};
	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
		struct edit ed = {.name = "media", .data = maps[i], .len = strlen(maps[i])};
		rezip(legacy, bad, &ed, 1);
		expect_refused(bad, NULL, ST_CORRUPT, "media map");
	}
	char evil[4096];
	tp(evil, "evil.txt");
	assert_int_equal(access(evil, F_OK), -1);

	/* latest: names must be plain and already normalised, SHA-1 20 bytes */
	size_t fl;
	void *file = read_member(base, "0", &fl);
	const struct {
		const char *name;
		int sha_len;
	} ents[] = {{"../evil.png", 20}, {"a/b.png", 20}, {"a:b.png", 20}, {"pic.png", 19}};
	for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
		unsigned char pb[256];
		size_t nl = strlen(ents[i].name), k = 0;
		pb[k++] = 0x0a;
		pb[k++] = (unsigned char)(2 + nl + 2 + ents[i].sha_len);
		pb[k++] = 0x0a;
		pb[k++] = (unsigned char)nl;
		memcpy(pb + k, ents[i].name, nl);
		k += nl;
		pb[k++] = 0x1a;
		pb[k++] = (unsigned char)ents[i].sha_len;
		memset(pb + k, 0xab, (size_t)ents[i].sha_len);
		k += (size_t)ents[i].sha_len;
		size_t zl;
		void *z = zstd_of(pb, k, &zl);
		struct edit ed = {.name = "media", .data = z, .len = zl};
		rezip(base, bad, &ed, 1);
		expect_refused(bad, NULL, ST_CORRUPT, "media");
		free(z);
	}
	free(file);
}

static void test_collection_member_not_sqlite(void **state)
{
	(void)state;
	make_bases();
	char base[4096], legacy[4096], bad[4096];
	tp(base, "base.apkg");
	tp(legacy, "legacy.apkg");
	tp(bad, "notdb.apkg");
	char junk[8192];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)('a' + i % 26);
	struct edit ed = {
	    .name = "collection.anki21", .data = junk, .len = sizeof junk, .deflate = true};
	rezip(legacy, bad, &ed, 1);
	expect_refused(bad, NULL, ST_CORRUPT, "not a SQLite database");
	size_t zl;
	void *z = zstd_of(junk, sizeof junk, &zl);
	struct edit ez = {.name = "collection.anki21b", .data = z, .len = zl};
	rezip(base, bad, &ez, 1);
	expect_refused(bad, NULL, ST_CORRUPT, "not a SQLite database");
	free(z);
	/* an empty member, and none at all */
	struct edit ee = {.name = "collection.anki21b", .data = "", .len = 0};
	rezip(base, bad, &ee, 1);
	expect_refused(bad, NULL, ST_CORRUPT, "collection.anki21b");
	struct edit ed2 = {.name = "collection.anki21b", .drop = true};
	rezip(base, bad, &ed2, 1);
	expect_refused(bad, NULL, ST_CORRUPT, "no collection.anki21b");
	/* not a zip at all; no file */
	tp(bad, "plain.apkg");
	tu_write_file(bad, "this is not a zip archive");
	expect_refused(bad, NULL, ST_CORRUPT, "not a valid package");
	tp(bad, "missing.apkg");
	expect_refused(bad, NULL, ST_NOTFOUND, "does not exist");
}

/* A damaged collection SQLite answers with SQLITE_NOMEM (found by
 * fuzz_pkg_import: schema text with a run of 0xff bytes, among other
 * damage): the package's fault, not ours running out of memory.  The
 * fuzzer's input is kept in its corpus; its first member is the
 * collection (options byte, flags, name length, name, 4-byte
 * little-endian length, data). */
static void test_collection_sqlite_says_nomem(void **state)
{
	(void)state;
	make_bases();
	size_t n = 0;
	unsigned char *in =
	    (unsigned char *)tu_read_file("../fuzz/corpus_pkg_import/sqlite_says_nomem", &n);
	assert_non_null(in);
	assert_true(n > 7 && 3u + in[2] + 4 <= n);
	const unsigned char *p = in + 3 + in[2];
	size_t len = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
	assert_true(len <= n - (size_t)(p + 4 - in));
	char legacy[4096], bad[4096];
	tp(legacy, "legacy.apkg");
	tp(bad, "nomem.apkg");
	struct edit ed = {.name = "collection.anki21", .data = p + 4, .len = len, .deflate = true};
	rezip(legacy, bad, &ed, 1);
	free(in);
	expect_refused(bad, NULL, ST_CORRUPT, "not a SQLite database (out of memory)");
}

static void test_collection_with_trigger(void **state)
{
	(void)state;
	make_bases();
	char legacy[4096], bad[4096], db[4096];
	tp(legacy, "legacy.apkg");
	tp(bad, "trig.apkg");
	tp(db, "trig.db");
	size_t n;
	void *d = read_member(legacy, "collection.anki21", &n);
	tu_write_bytes(db, d, n);
	free(d);
	sqlite3 *s;
	assert_int_equal(sqlite3_open(db, &s), SQLITE_OK);
	assert_int_equal(sqlite3_exec(s,
	                              "create trigger t after update on col begin"
	                              " delete from notes; end;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(s);
	d = tu_read_file(db, &n);
	struct edit ed = {.name = "collection.anki21", .data = d, .len = n, .deflate = true};
	rezip(legacy, bad, &ed, 1);
	free(d);
	expect_refused(bad, NULL, ST_CORRUPT, "triggers");
}

/* Write to bad a copy of the latest-format package base whose collection
 * had sql run on it. */
static void edit_latest_collection(const char *base, const char *bad, const char *sql)
{
	char db[4096];
	tp(db, "edited.db");
	size_t n, zn;
	void *d = read_member(base, "collection.anki21b", &n);
	size_t raw = ZSTD_getFrameContentSize(d, n);
	void *plain = malloc(raw);
	assert_int_equal(ZSTD_decompress(plain, raw, d, n), raw);
	free(d);
	tu_write_bytes(db, plain, raw);
	free(plain);
	sqlite3 *s;
	assert_int_equal(sqlite3_open(db, &s), SQLITE_OK);
	assert_int_equal(unicase_register(s), SQLITE_OK);
	assert_int_equal(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(s);
	plain = tu_read_file(db, &n);
	d = zstd_of(plain, n, &zn);
	free(plain);
	struct edit ed = {.name = "collection.anki21b", .data = d, .len = zn};
	rezip(base, bad, &ed, 1);
	free(d);
}

/* A collection whose tables are not Anki's (found by fuzz_pkg_import: a
 * notetypes table without its config column answered ST_DB, as if the
 * fault were ours). */
static void test_collection_with_other_tables(void **state)
{
	(void)state;
	make_bases();
	char base[4096], bad[4096];
	tp(base, "base.apkg");
	static const char *const alter[] = {
	    "alter table notetypes drop column config",
	    "alter table cards drop column odue",
	    "drop table deck_config",
	};
	for (size_t i = 0; i < sizeof alter / sizeof *alter; i++) {
		snprintf(bad, sizeof bad, "%s/cols%zu.apkg", tmpdir, i);
		edit_latest_collection(base, bad, alter[i]);
		expect_refused(bad, NULL, ST_CORRUPT, "the package's collection is not usable");
	}
}

/* A notetype without templates or fields: Anki's import refuses it ("1
 * template required"); ours imported it (found by fuzz_pkg_import). */
static void test_notetype_without_templates(void **state)
{
	(void)state;
	make_bases();
	char base[4096], bad[4096];
	tp(base, "base.apkg");
	tp(bad, "notemplates.apkg");
	edit_latest_collection(base, bad,
	                       "delete from templates where ntid = "
	                       "(select id from notetypes where name = 'Basic')");
	expect_refused(bad, NULL, ST_INVALID, "notetype \"Basic\" has no templates");
	edit_latest_collection(base, bad,
	                       "delete from fields where ntid = "
	                       "(select id from notetypes where name = 'Basic')");
	expect_refused(bad, NULL, ST_INVALID, "notetype \"Basic\" has no fields");
}

static void test_truncated_zstd(void **state)
{
	(void)state;
	make_bases();
	char base[4096], bad[4096];
	tp(base, "base.apkg");
	tp(bad, "trunc.apkg");
	size_t n;
	void *d = read_member(base, "collection.anki21b", &n);
	struct edit ed = {.name = "collection.anki21b", .data = d, .len = n / 2};
	rezip(base, bad, &ed, 1);
	expect_refused(bad, NULL, ST_CORRUPT, "input ends inside the frame");
	free(d);
	/* a media member cut short fails after the notes were written: the
	 * transaction is rolled back and no file is left in the folder */
	d = read_member(base, "0", &n);
	struct edit em = {.name = "0", .data = d, .len = n - 3};
	rezip(base, bad, &em, 1);
	expect_refused(bad, NULL, ST_CORRUPT, "pic.png");
	free(d);
	/* garbage instead of a frame */
	struct edit eg = {.name = "0", .data = "garbage!", .len = 8};
	rezip(base, bad, &eg, 1);
	expect_refused(bad, NULL, ST_CORRUPT, "zstd");
}

static void test_media_checksum_mismatch(void **state)
{
	(void)state;
	make_bases();
	char base[4096], bad[4096];
	tp(base, "base.apkg");
	tp(bad, "sum.apkg");
	const char other[] = "some picture bytes, not really a pnG"; /* same size */
	size_t zl;
	void *z = zstd_of(other, sizeof other - 1, &zl);
	struct edit ed = {.name = "0", .data = z, .len = zl};
	rezip(base, bad, &ed, 1);
	expect_refused(bad, NULL, ST_CORRUPT, "checksum");
	free(z);
	/* a map entry whose member is missing */
	struct edit ed2 = {.name = "0", .drop = true};
	rezip(base, bad, &ed2, 1);
	expect_refused(bad, NULL, ST_CORRUPT, "missing from the package");
}

static void test_versions(void **state)
{
	(void)state;
	make_bases();
	char base[4096], bad[4096];
	tp(base, "base.apkg");
	tp(bad, "ver.apkg");
	const unsigned char v4[] = {0x08, 0x04}, v0[] = {0x08, 0x00}, junk[] = {0xff};
	struct edit ed = {.name = "meta", .data = v4, .len = 2};
	rezip(base, bad, &ed, 1);
	expect_refused(bad, NULL, ST_VERSION, "newer Anki");
	ed.data = v0;
	rezip(base, bad, &ed, 1);
	expect_refused(bad, NULL, ST_VERSION, "newer Anki");
	ed.data = junk;
	ed.len = 1;
	rezip(base, bad, &ed, 1);
	expect_refused(bad, NULL, ST_CORRUPT, "meta");
	/* without meta and without collection.anki21 it is read as version 1:
	 * collection.anki2 is then the dummy, which imports its one note */
	struct edit em[3] = {{.name = "meta", .drop = true},
	                     {.name = "collection.anki21b", .drop = true},
	                     {.name = "media", .drop = true}};
	rezip(base, bad, em, 3);
	struct pkg_info in;
	struct errinfo e;
	assert_int_equal(pkg_inspect(bad, NULL, &in, &e), ST_OK);
	assert_int_equal(in.version, PKG_VERSION_LEGACY1);
}

/* Make member's local and central headers claim `claimed` decompressed
 * bytes (a zip that lies about its sizes; libzip always writes true
 * ones).  Only for archives without zip64 extras. */
static void claim_size(const char *path, const char *member, uint32_t claimed)
{
	size_t n = 0;
	unsigned char *z = (unsigned char *)tu_read_file(path, &n);
	assert_non_null(z);
	size_t eocd = n - 22;
	while (eocd > 0 &&
	       !(z[eocd] == 0x50 && z[eocd + 1] == 0x4b && z[eocd + 2] == 5 && z[eocd + 3] == 6))
		eocd--;
	assert_true(eocd > 0);
#define U16(p) ((uint32_t)(p)[0] | (uint32_t)(p)[1] << 8)
#define U32(p) (U16(p) | U16((p) + 2) << 16)
	size_t count = U16(z + eocd + 10), cd = U32(z + eocd + 16);
	bool found = false;
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(U32(z + cd), 0x02014b50u);
		size_t nl = U16(z + cd + 28), xl = U16(z + cd + 30), cl = U16(z + cd + 32);
		size_t local = U32(z + cd + 42);
		if (nl == strlen(member) && memcmp(z + cd + 46, member, nl) == 0) {
			for (int k = 0; k < 4; k++) {
				z[cd + 24 + k] = (unsigned char)(claimed >> (8 * k));
				z[local + 22 + k] = (unsigned char)(claimed >> (8 * k));
			}
			found = true;
		}
		cd += 46 + nl + xl + cl;
	}
#undef U32
#undef U16
	assert_true(found);
	FILE *f = fopen(path, "wb");
	assert_int_equal(fwrite(z, 1, n, f), n);
	fclose(f);
	free(z);
}

/* Headers claiming a few bytes for members that inflate to 24 MiB: the
 * bytes actually decompressed are counted, so the limits still hold. */
static void test_lying_sizes(void **state)
{
	(void)state;
	make_bases();
	char legacy[4096], bad[4096];
	tp(legacy, "legacy.apkg");
	tp(bad, "liar.apkg");
	size_t big = 24u << 20;
	char *zeros = calloc(1, big);
	struct edit em = {.name = "0", .data = zeros, .len = big, .deflate = true};
	rezip(legacy, bad, &em, 1);
	claim_size(bad, "0", 36); /* the size of the real picture */
	struct pkg_limits ml = {.max_media_file_bytes = 1u << 20};
	expect_refused(bad, &ml, ST_TOOBIG, "larger than 1048576 bytes");
	struct edit ec = {.name = "collection.anki21", .data = zeros, .len = big, .deflate = true};
	rezip(legacy, bad, &ec, 1);
	claim_size(bad, "collection.anki21", 4096);
	struct pkg_limits cl = {.max_collection_bytes = 4u << 20};
	expect_refused(bad, &cl, ST_TOOBIG, "larger than 4194304 bytes");
	/* within the limits the CRC matches the 24 MiB actually there (libzip
	 * checks no sizes): read in full, and no collection */
	expect_refused(bad, NULL, ST_CORRUPT, "not a SQLite database");
	free(zeros);
}

/* SHA-1 over every row of every table, and the media folder's names and
 * sizes: what a refused import must leave exactly as it was. */
static void state_of(struct col *c, const char *mdir, unsigned char out[20], char *files,
                     size_t cap)
{
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	EVP_DigestInit_ex(h, EVP_sha1(), NULL);
	sqlite3_stmt *t;
	assert_int_equal(sqlite3_prepare_v2(col_db(c),
	                                    "select name from sqlite_master where type = 'table'"
	                                    " order by name",
	                                    -1, &t, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(t) == SQLITE_ROW) {
		char sql[200];
		snprintf(sql, sizeof sql, "select * from \"%s\" order by 1",
		         (const char *)sqlite3_column_text(t, 0));
		EVP_DigestUpdate(h, sql, strlen(sql));
		sqlite3_stmt *r;
		assert_int_equal(sqlite3_prepare_v2(col_db(c), sql, -1, &r, NULL), SQLITE_OK);
		while (sqlite3_step(r) == SQLITE_ROW)
			for (int k = 0; k < sqlite3_column_count(r); k++) {
				const void *v = sqlite3_column_blob(r, k);
				int n = sqlite3_column_bytes(r, k);
				EVP_DigestUpdate(h, &n, sizeof n);
				if (n)
					EVP_DigestUpdate(h, v, (size_t)n);
			}
		sqlite3_finalize(r);
	}
	sqlite3_finalize(t);
	unsigned int l;
	EVP_DigestFinal_ex(h, out, &l);
	EVP_MD_CTX_free(h);
	files[0] = '\0';
	DIR *d = opendir(mdir);
	assert_non_null(d);
	struct dirent *de;
	size_t len = 0;
	while ((de = readdir(d))) {
		char p[4400];
		snprintf(p, sizeof p, "%s/%s", mdir, de->d_name);
		struct stat sb;
		assert_int_equal(stat(p, &sb), 0);
		len += (size_t)snprintf(files + len, cap - len, "%s=%lld;", de->d_name,
		                        (long long)sb.st_size);
		assert_true(len < cap);
	}
	closedir(d);
}

/* Refusals on a collection that already holds notes, decks, notetypes and
 * media: after each one every table row and every media file is as it
 * was, including failures found only after the notes were written. */
static void test_refused_keeps_existing(void **state)
{
	(void)state;
	if (!tu_have_fixture("media.apkg"))
		skip();
	make_bases();
	char col[4096], md[4096], p[4200];
	tp(col, "full.anki2");
	tp(md, "full.media");
	struct errinfo e = {0};
	assert_int_equal(col_create(col, 0, &e), ST_OK);
	struct col *c;
	assert_int_equal(col_open(col, 0, &c, &e), ST_OK);
	struct pkg_import_result r;
	assert_int_equal(pkg_import(c, tu_fixture("media.apkg"), NULL, NULL, &r, &e), ST_OK);
	assert_int_equal(r.notes_added, 1);
	snprintf(p, sizeof p, "%s/pic.png", md); /* the name the attacks use */
	tu_write_file(p, "a local file under the same name");
	int64_t basic = q1(c, "select id from notetypes where name = 'Basic'");
	assert_int_equal(col_begin(c, &e), ST_OK);
	struct note n = {.mid = basic, .flds = strdup("local\x1f<img src=\"pic.png\">")};
	assert_int_equal(col_note_add(c, &n, &e), ST_OK);
	struct card cd;
	card_init_new(&cd, n.id, 1, 0, 7);
	assert_int_equal(col_card_add(c, &cd, &e), ST_OK);
	card_free(&cd);
	note_free(&n);
	assert_int_equal(col_commit(c, &e), ST_OK);

	unsigned char h0[20], h1[20];
	char f0[4096], f1[4096];
	state_of(c, md, h0, f0, sizeof f0);
	char base[4096], legacy[4096], bad[4096];
	tp(base, "base.apkg");
	tp(legacy, "legacy.apkg");
	tp(bad, "bad.apkg");
	size_t n0;
	void *d0 = read_member(base, "0", &n0);
	size_t big = 8u << 20;
	char *zeros = calloc(1, big);
	const char junk[] = "junk, not a database, not a frame";
	struct {
		const char *src;
		struct edit ed;
		uint32_t claim; /* lie about member "0"'s size when set */
		const char *words;
	} cases[] = {
	    {base, {.name = "0", .data = d0, .len = 10}, 0, "zstd input ends"},
	    {base, {.name = "0", .data = "garbage!", .len = 8}, 0, "zstd"},
	    {legacy, {.name = "0", .data = zeros, .len = big, .deflate = true}, 36, "larger than"},
	    {legacy, {.name = "0", .rename = "../0"}, 0, "not a plain file name"},
	    {legacy,
	     {.name = "media", .data = "{\"0\": \"../pic.png\"}", .len = 19},
	     0,
	     "media map"},
	    {legacy,
	     {.name = "collection.anki21", .data = junk, .len = sizeof junk, .deflate = true},
	     0,
	     "not a SQLite database"},
	    {base, {.name = "collection.anki21b", .data = junk, .len = 4}, 0, "zstd"},
	};
	struct pkg_limits lim = {.max_media_file_bytes = 1u << 20};
	struct pkg_import_opts o = {
	    .with_scheduling = true, .with_deck_configs = true, .limits = lim};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rezip(cases[i].src, bad, &cases[i].ed, 1);
		if (cases[i].claim)
			claim_size(bad, "0", cases[i].claim);
		errinfo_clear(&e);
		enum status st = pkg_import(c, bad, NULL, &o, &r, &e);
		if (st == ST_OK || !strstr(e.msg, cases[i].words))
			fail_msg("case %zu: %s \"%s\", wanted \"%s\"", i, status_name(st), e.msg,
			         cases[i].words);
		state_of(c, md, h1, f1, sizeof f1);
		assert_memory_equal(h0, h1, 20);
		assert_string_equal(f0, f1);
	}
	/* the untouched package still imports: two new notes, pic.png renamed */
	assert_int_equal(pkg_import(c, base, NULL, &o, &r, &e), ST_OK);
	assert_int_equal(r.notes_added, 2);
	assert_int_equal(r.media_renamed, 1);
	assert_int_equal(q1(c, "select count(*) from notes"), 4);
	free(zeros);
	free(d0);
	col_close(c);
}

/* ---- media names and references ----------------------------------------- */

static void test_media_names(void **state)
{
	(void)state;
	uint8_t sha[20];
	for (int i = 0; i < 20; i++)
		sha[i] = (uint8_t)(i * 13);
	char *n;
	struct errinfo e;
	assert_int_equal(pkg_media_hashed_name("foo.wav", sha, &n, &e), ST_OK);
	assert_string_equal(n, "foo-000d1a2734414e5b6875828f9ca9b6c3d0ddeaf7.wav");
	free(n);
	assert_int_equal(pkg_media_hashed_name("noext", sha, &n, &e), ST_OK);
	assert_string_equal(n, "noext-000d1a2734414e5b6875828f9ca9b6c3d0ddeaf7");
	free(n);
	/* long names: extension cut to 10 bytes, stem so that it all fits */
	char longn[200];
	memset(longn, 'a', 150);
	strcpy(longn + 150, ".extension-long");
	assert_int_equal(pkg_media_hashed_name(longn, sha, &n, &e), ST_OK);
	assert_true(strlen(n) <= 120);
	assert_non_null(strstr(n, "-000d1a27"));
	assert_string_equal(n + strlen(n) - 11, ".extension-");
	free(n);
	/* cut on a character boundary */
	char multi[300] = "";
	for (int i = 0; i < 40; i++)
		strcat(multi, "\xc3\xa9"); /* é */
	strcat(multi, ".png");
	assert_int_equal(pkg_media_hashed_name(multi, sha, &n, &e), ST_OK);
	size_t stem = strlen(n) - strlen("-000d1a2734414e5b6875828f9ca9b6c3d0ddeaf7.png");
	assert_int_equal(stem % 2, 0);
	free(n);

	/* legacy map names are normalised; latest ones must already be */
	struct pkg_media_entry *v;
	size_t cnt;
	const char *m = "{\"0\": \"con\", \"3\": \"a:b?.png\", \"12\": \"x.png \"}";
	assert_int_equal(pkg_media_map_parse(m, strlen(m), true, 10, &v, &cnt, &e), ST_OK);
	assert_int_equal(cnt, 3);
	assert_string_equal(v[0].name, "con_");
	assert_int_equal(v[1].index, 3);
	assert_string_equal(v[1].name, "ab.png");
	assert_string_equal(v[2].name, "x.png _");
	pkg_media_entries_free(v, cnt);
	assert_int_equal(pkg_media_map_parse(m, strlen(m), true, 2, &v, &cnt, &e), ST_CORRUPT);
	assert_non_null(strstr(e.msg, "lists 3 files but the package has 2 members"));
	/* round trip of the protobuf map */
	struct pkg_media_entry one[2] = {{.name = "a.png", .size = 7},
	                                 {.name = "é.mp3", .size = 0}};
	memset(one[0].sha1, 1, 20);
	memset(one[1].sha1, 2, 20);
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(pkg_media_map_encode(one, 2, false, &b, &e), ST_OK);
	assert_int_equal(pkg_media_map_parse(b.data, b.len, false, 10, &v, &cnt, &e), ST_OK);
	assert_int_equal(cnt, 2);
	assert_string_equal(v[1].name, "é.mp3");
	assert_int_equal(v[0].size, 7);
	assert_int_equal(v[1].index, 1);
	assert_memory_equal(v[1].sha1, one[1].sha1, 20);
	pkg_media_entries_free(v, cnt);
	buf_free(&b);
	assert_true(pkg_media_is_static("_x.css"));
	assert_true(pkg_media_is_static("latex-abc.png"));
	assert_false(pkg_media_is_static("x_.css"));
}

struct got {
	char names[16][64];
	int n;
};

static enum status collect(void *ctx, const char *name, size_t len, struct errinfo *e)
{
	(void)e;
	struct got *g = ctx;
	if (g->n < 16)
		snprintf(g->names[g->n++], 64, "%.*s", (int)len, name);
	return ST_OK;
}

static enum status rename_all(void *ctx, const char *name, size_t len, char **repl,
                              struct errinfo *e)
{
	(void)ctx;
	(void)e;
	*repl = NULL;
	if (len == 7 && memcmp(name, "a&b.jpg", 7) == 0)
		*repl = strdup("c<d.jpg");
	else if (len == 5 && memcmp(name, "x.mp3", 5) == 0)
		*repl = strdup("y.mp3");
	return ST_OK;
}

static void test_media_refs(void **state)
{
	(void)state;
	struct pkg_refs *r;
	struct errinfo e;
	assert_int_equal(pkg_refs_new(&r, &e), ST_OK);
	const struct {
		const char *text;
		const char *want[4];
	} cases[] = {
	    {"<img src=\"foo.jpg\">", {"foo.jpg"}},
	    {"<img src='foo bar.jpg'>", {"foo bar.jpg"}},
	    {"<img src=foo.jpg alt=x>", {"foo.jpg"}},
	    {"<IMG class=\"a\" SRC=\"up.PNG\">", {"up.PNG"}},
	    {"<img alt=\"x\" src=\"a&amp;b.jpg\">", {"a&b.jpg"}},
	    {"<audio src=\"x.mp3\"></audio><object data=\"y.swf\">", {"x.mp3", "y.swf"}},
	    {"[sound:a.mp3] and [sound:b c.mp3]", {"a.mp3", "b c.mp3"}},
	    {"<imgsrc=\"no.jpg\"> [sound:]", {NULL}},
	    /* an empty quoted value falls through to the unquoted form */
	    {"<img src=\"\">", {"\"\""}},
	    {"<img src=\"one.png\">[sound:two.mp3]", {"one.png", "two.mp3"}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct got g = {0};
		assert_int_equal(
		    pkg_refs_each(r, cases[i].text, strlen(cases[i].text), collect, &g, &e), ST_OK);
		int k = 0;
		for (; k < 4 && cases[i].want[k]; k++) {
			assert_true(k < g.n);
			assert_string_equal(g.names[k], cases[i].want[k]);
		}
		if (g.n != k)
			fail_msg("case %zu: %d names, wanted %d", i, g.n, k);
	}
	/* replacement: an entity-encoded name gets an encoded new name; every
	 * occurrence inside the matched tag changes (as Anki does) */
	const char *t = "<img alt=\"a&amp;b.jpg\" src=\"a&amp;b.jpg\"> [sound:x.mp3] x.mp3";
	struct buf out;
	bool changed;
	assert_int_equal(pkg_refs_replace(r, t, strlen(t), rename_all, NULL, &out, &changed, &e),
	                 ST_OK);
	assert_true(changed);
	assert_string_equal((char *)out.data,
	                    "<img alt=\"c&lt;d.jpg\" src=\"c&lt;d.jpg\"> [sound:y.mp3] x.mp3");
	buf_free(&out);
	/* a crafted tag that makes a backtracking engine explode is either
	 * matched or refused at the match limit, quickly */
	size_t bl = 60000;
	char *bomb = malloc(bl + 16);
	strcpy(bomb, "<img ");
	for (size_t i = 5; i < bl; i += 3)
		memcpy(bomb + i, "\"a\"", 3);
	strcpy(bomb + bl - (bl - 5) % 3, " =>");
	struct got g = {0};
	time_t t0 = time(NULL);
	enum status st = pkg_refs_each(r, bomb, strlen(bomb), collect, &g, &e);
	if (st != ST_OK && st != ST_TOOBIG)
		fail_msg("%s: %s", status_name(st), e.msg);
	assert_true(time(NULL) - t0 < 20);
	free(bomb);
	/* LaTeX images */
	const char *lx = "x [latex]a^2[/latex] and [$]b[/$]";
	struct got gl = {0};
	assert_int_equal(pkg_refs_latex(lx, strlen(lx), false, collect, &gl, &e), ST_OK);
	assert_int_equal(gl.n, 2);
	assert_true(strncmp(gl.names[0], "latex-", 6) == 0);
	assert_string_equal(gl.names[0] + strlen(gl.names[0]) - 4, ".png");
	pkg_refs_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_base_packages_import, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_member_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zip_bombs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_media_map_outside, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_collection_member_not_sqlite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_collection_sqlite_says_nomem, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_collection_with_trigger, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_collection_with_other_tables, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notetype_without_templates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_zstd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_media_checksum_mismatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lying_sizes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_keeps_existing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_media_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_media_refs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
