/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_backup_create.c - backup_create / backup_verify / backup_restore on
 * a real collection (fixture v18-two-decks-revlog.anki2) with a media DB
 * and media folder laid out like a sync server's (sync-protocol.md §6.2,
 * §5.7): snapshots verify and restore byte for byte, unchanged files are
 * shared, and every refusal leaves the destination as it was.
 */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "backup.h"
#include "backup_dest.h"
#include "backup_manifest.h"
#include "backup_sqlite.h"

#define FIXTURE "v18-two-decks-revlog.anki2"

struct fx {
	char *dir;
	char src[4096], dest[4096], target[4096];
};

static int setup(void **state)
{
	if (!tu_have_fixture(FIXTURE))
		return -1;
	struct fx *f = calloc(1, sizeof *f);
	f->dir = tu_mkdtemp();
	snprintf(f->src, sizeof f->src, "%s/src", f->dir);
	snprintf(f->dest, sizeof f->dest, "%s/dest", f->dir);
	snprintf(f->target, sizeof f->target, "%s/target", f->dir);
	mkdir(f->src, 0700);
	mkdir(f->dest, 0700);
	setenv("TZ", "UTC", 1);
	tzset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static void exec_sql(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

/* Write media/<name> and record it in media.db (file first, like the server). */
static void put_media(const char *udir, const char *name, const char *content, int record)
{
	char p[4200];
	snprintf(p, sizeof p, "%s/media/%s", udir, name);
	tu_write_file(p, content);
	if (!record)
		return;
	unsigned char sha1[20];
	EVP_Digest(content, strlen(content), sha1, NULL, EVP_sha1(), NULL);
	snprintf(p, sizeof p, "%s/media.db", udir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "INSERT OR REPLACE INTO media VALUES(?, ?, ?, "
	                                    "(SELECT last_usn + 1 FROM meta), 0)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sha1, 20, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)strlen(content));
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	exec_sql(db, "UPDATE meta SET last_usn = last_usn + 1");
	sqlite3_close(db);
}

/* SYNC_BASE/<user>/ with the fixture collection, a schema-4 media DB and
 * n media files. */
static void make_user(struct fx *f, const char *user, int n)
{
	char udir[4200], p[4300];
	snprintf(udir, sizeof udir, "%s/%s", f->src, user);
	mkdir(udir, 0700);
	snprintf(p, sizeof p, "%s/media", udir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/collection.anki2", udir);
	tu_copy(tu_fixture(FIXTURE), p);
	chmod(p, 0600);
	snprintf(p, sizeof p, "%s/media.db", udir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	exec_sql(db, "PRAGMA journal_mode=wal;"
	             "CREATE TABLE media (fname TEXT NOT NULL PRIMARY KEY, csum BLOB NOT NULL,"
	             " size INT NOT NULL, usn INT NOT NULL, mtime INT NOT NULL);"
	             "CREATE INDEX ix_usn ON media (usn);"
	             "CREATE TABLE meta (last_usn INT NOT NULL, total_bytes INT NOT NULL,"
	             " total_nonempty_files INT NOT NULL);"
	             "INSERT INTO meta VALUES (0, 0, 0); PRAGMA user_version = 4;");
	sqlite3_close(db);
	for (int i = 0; i < n; i++) {
		char name[64], content[256];
		snprintf(name, sizeof name, "file%02d.jpg", i);
		snprintf(content, sizeof content, "media %d of %s: %0*d", i, user, 100 + i * 10, i);
		put_media(udir, name, content, 1);
	}
}

static struct backup_create_opts copts(struct fx *f)
{
	return (struct backup_create_opts){.source = f->src, .dest = f->dest, .zstd_level = 3,
	                                   .busy_ms = 2000};
}

static enum status create(struct fx *f, const struct backup_create_opts *o,
                          struct backup_create_result *r)
{
	struct errinfo e = {0};
	enum status st = backup_create(o, r, &e);
	if (st)
		fprintf(stderr, "create: %s\n", e.msg);
	(void)f;
	return st;
}

static enum status verify(struct fx *f, const char *snap, size_t *bad)
{
	struct backup_verify_opts o = {.dest = f->dest, .snapshot = snap, .tmpdir = f->dir};
	struct backup_verify_result r;
	struct errinfo e = {0};
	enum status st = backup_verify(&o, &r, &e);
	if (bad)
		*bad = r.bad;
	return st;
}

static int count_snapshots(const char *dest, int *leftovers)
{
	DIR *d = opendir(dest);
	assert_non_null(d);
	int n = 0, other = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (backup_dest_name_ok(de->d_name))
			n++;
		else if (strncmp(de->d_name, ".tmp-", 5) == 0 || strncmp(de->d_name, ".del-", 5) == 0)
			other++;
	}
	closedir(d);
	if (leftovers)
		*leftovers = other;
	return n;
}

static int same_file(const char *a, const char *b)
{
	size_t la = 0, lb = 0;
	char *x = tu_read_file(a, &la), *y = tu_read_file(b, &lb);
	int same = x && y && la == lb && memcmp(x, y, la) == 0;
	free(x);
	free(y);
	return same;
}

static ino_t inode_of(const char *p)
{
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	return sb.st_ino;
}

static void load_manifest(struct fx *f, const char *snap, struct backup_manifest *m)
{
	char p[4300];
	snprintf(p, sizeof p, "%s/%s/manifest.jsonl", f->dest, snap);
	assert_int_equal(backup_manifest_load(p, 0, m, NULL), ST_OK);
}

static void test_create_verify_restore(void **state)
{
	struct fx *f = *state;
	make_user(f, "alice", 5);
	make_user(f, "bob", 2);
	struct backup_create_opts o = copts(f);
	struct backup_create_result r;
	assert_int_equal(create(f, &o, &r), ST_OK);
	assert_int_equal(r.users, 2);
	assert_int_equal(r.files, 2 * 2 + 5 + 2);
	assert_false(r.damaged);
	assert_int_equal(count_snapshots(f->dest, NULL), 1);
	assert_int_equal(verify(f, NULL, NULL), ST_OK);

	struct backup_restore_opts ro = {.dest = f->dest, .snapshot = "latest", .target = f->target};
	struct backup_restore_result rr;
	struct errinfo e = {0};
	assert_int_equal(backup_restore(&ro, &rr, &e), ST_OK);
	assert_int_equal(rr.users, 2);
	char a[4300], b[4300];
	for (int i = 0; i < 5; i++) {
		snprintf(a, sizeof a, "%s/alice/media/file%02d.jpg", f->src, i);
		snprintf(b, sizeof b, "%s/alice/media/file%02d.jpg", f->target, i);
		assert_true(same_file(a, b));
	}
	/* The restored collection passes integrity_check with unicase, and
	 * holds the fixture's 16 notes. */
	snprintf(b, sizeof b, "%s/alice/collection.anki2", f->target);
	int ok = 0;
	char msg[200];
	assert_int_equal(backup_sqlite_check(b, 1, &ok, msg, sizeof msg, NULL), ST_OK);
	assert_true(ok);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(b, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM notes", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 16);
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* Restoring again into the now non-empty target is refused ... */
	assert_int_equal(backup_restore(&ro, &rr, &e), ST_EXISTS);
	/* ... unless forced; then the old directory is moved aside. */
	ro.force = 1;
	ro.user = "bob";
	assert_int_equal(backup_restore(&ro, &rr, &e), ST_OK);
	assert_int_equal(rr.users, 1);
	DIR *d = opendir(f->target);
	int aside = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		aside += strncmp(de->d_name, ".bob.replaced-", 14) == 0;
	closedir(d);
	assert_int_equal(aside, 1);
	/* An unknown user. */
	ro.user = "carol";
	assert_int_equal(backup_restore(&ro, &rr, &e), ST_NOTFOUND);
}

static void test_incremental_shares_unchanged(void **state)
{
	struct fx *f = *state;
	make_user(f, "alice", 6);
	/* An old collection: the stat fast path may trust it next time. */
	char col[4300];
	snprintf(col, sizeof col, "%s/alice/collection.anki2", f->src);
	struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
	assert_int_equal(utimensat(AT_FDCWD, col, old, 0), 0);
	struct backup_create_opts o = copts(f);
	struct backup_create_result r1, r2;
	o.now = 1700000000;
	assert_int_equal(create(f, &o, &r1), ST_OK);
	/* Change one file's content (and its media.db row). */
	char udir[4200];
	snprintf(udir, sizeof udir, "%s/alice", f->src);
	put_media(udir, "file03.jpg", "entirely new content for file three", 1);
	o.now = 1700086400;
	assert_int_equal(create(f, &o, &r2), ST_OK);
	assert_int_equal(verify(f, NULL, NULL), ST_OK);

	struct backup_manifest m1, m2;
	load_manifest(f, r1.snapshot, &m1);
	load_manifest(f, r2.snapshot, &m2);
	size_t shared = 0, fresh = 0;
	for (size_t i = 0; i < m2.n; i++) {
		char rel[512], p1[4700], p2[4700];
		assert_int_equal(backup_object_path(&m2.entries[i], 0, rel, sizeof rel, NULL), ST_OK);
		snprintf(p1, sizeof p1, "%s/%s/%s", f->dest, r1.snapshot, rel);
		snprintf(p2, sizeof p2, "%s/%s/%s", f->dest, r2.snapshot, rel);
		if (access(p1, F_OK) == 0 && inode_of(p1) == inode_of(p2))
			shared++;
		else
			fresh++;
		if (m2.entries[i].kind == BACKUP_KIND_MEDIA &&
		    strcmp(m2.entries[i].name, "file03.jpg") == 0)
			assert_int_not_equal(access(p1, F_OK), 0); /* new content, new object */
		if (m2.entries[i].kind == BACKUP_KIND_DB &&
		    strcmp(m2.entries[i].name, "collection.anki2") == 0) {
			/* Fast path: entry carried over, stat time unchanged. */
			assert_int_equal(m2.entries[i].src_stat_ns, m1.entries[i].src_stat_ns);
		}
	}
	/* Only the changed file and the changed media.db are new. */
	assert_int_equal(fresh, 2);
	assert_int_equal(shared, m2.n - 2);
	assert_int_equal(r2.linked, m2.n - 2);
	backup_manifest_free(&m1);
	backup_manifest_free(&m2);

	/* --full shares nothing. */
	struct backup_create_result r3;
	o.full = 1;
	o.now = 1700172800;
	assert_int_equal(create(f, &o, &r3), ST_OK);
	assert_int_equal(r3.linked, 0);
	char p2[4400], p3[4400];
	snprintf(p2, sizeof p2, "%s/%s/users/alice/collection.anki2.zst", f->dest, r2.snapshot);
	snprintf(p3, sizeof p3, "%s/%s/users/alice/collection.anki2.zst", f->dest, r3.snapshot);
	assert_int_not_equal(inode_of(p2), inode_of(p3));
}

static void test_touched_file_not_restored_twice(void **state)
{
	struct fx *f = *state;
	make_user(f, "alice", 3);
	struct backup_create_opts o = copts(f);
	struct backup_create_result r1, r2;
	o.now = 1700000000;
	assert_int_equal(create(f, &o, &r1), ST_OK);
	/* Same bytes, new stat (as after a restore or a touch): hashed, linked. */
	char p[4300];
	snprintf(p, sizeof p, "%s/alice/media/file01.jpg", f->src);
	struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	assert_int_equal(utimensat(AT_FDCWD, p, now, 0), 0);
	o.now = 1700000100;
	assert_int_equal(create(f, &o, &r2), ST_OK);
	char a[4800], b[4800];
	struct backup_manifest m;
	load_manifest(f, r2.snapshot, &m);
	for (size_t i = 0; i < m.n; i++) {
		if (m.entries[i].kind != BACKUP_KIND_MEDIA)
			continue;
		char rel[512];
		backup_object_path(&m.entries[i], 0, rel, sizeof rel, NULL);
		snprintf(a, sizeof a, "%s/%s/%s", f->dest, r1.snapshot, rel);
		snprintf(b, sizeof b, "%s/%s/%s", f->dest, r2.snapshot, rel);
		assert_int_equal(inode_of(a), inode_of(b));
	}
	backup_manifest_free(&m);
}

static void test_refusals_touch_nothing(void **state)
{
	struct fx *f = *state;
	struct backup_create_opts o = copts(f);
	struct backup_create_result r;
	struct errinfo e = {0};
	/* An existing snapshot that must survive. */
	make_user(f, "alice", 1);
	assert_int_equal(create(f, &o, &r), ST_OK);
	char snap[32];
	memcpy(snap, r.snapshot, sizeof snap);
	o.keep = (struct backup_policy){1, 0, 0};

	/* Missing source. */
	char missing[4200];
	snprintf(missing, sizeof missing, "%s/nope", f->dir);
	o.source = missing;
	assert_int_equal(backup_create(&o, &r, &e), ST_NOTFOUND);
	assert_true(r.refused);
	assert_non_null(strstr(e.msg, "does not exist"));
	/* Empty source (a failed mount). */
	char empty[4200];
	snprintf(empty, sizeof empty, "%s/empty", f->dir);
	mkdir(empty, 0700);
	o.source = empty;
	assert_int_equal(backup_create(&o, &r, &e), ST_NOTFOUND);
	assert_true(r.refused);
	assert_non_null(strstr(e.msg, "holds no user data"));
	/* A source with only unrelated directories is empty too. */
	char p[4300];
	snprintf(p, sizeof p, "%s/lost+found", empty);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/.hidden", empty);
	mkdir(p, 0700);
	assert_int_equal(backup_create(&o, &r, &e), ST_NOTFOUND);
	int left;
	assert_int_equal(count_snapshots(f->dest, &left), 1);
	assert_int_equal(left, 0);
	assert_int_equal(verify(f, snap, NULL), ST_OK);
	/* Missing destination: not created. */
	o.source = f->src;
	char nodest[4200];
	snprintf(nodest, sizeof nodest, "%s/nodest", f->dir);
	o.dest = nodest;
	assert_int_equal(backup_create(&o, &r, &e), ST_NOTFOUND);
	assert_int_not_equal(access(nodest, F_OK), 0);
}

static void test_lock_busy(void **state)
{
	struct fx *f = *state;
	make_user(f, "alice", 1);
	char lp[4200];
	snprintf(lp, sizeof lp, "%s/.anki-backup.lock", f->dest);
	int fd = open(lp, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	struct backup_create_opts o = copts(f);
	struct backup_create_result r;
	struct errinfo e = {0};
	assert_int_equal(backup_create(&o, &r, &e), ST_BUSY);
	assert_non_null(strstr(e.msg, "another anki-backup"));
	assert_int_equal(count_snapshots(f->dest, NULL), 0);
	close(fd);
	assert_int_equal(create(f, &o, &r), ST_OK);
}

static void test_leftovers_removed(void **state)
{
	struct fx *f = *state;
	make_user(f, "alice", 1);
	char p[4300];
	snprintf(p, sizeof p, "%s/.tmp-20200101T000000Z", f->dest);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/.tmp-20200101T000000Z/users", f->dest);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/.tmp-20200101T000000Z/users/junk", f->dest);
	tu_write_file(p, "half a snapshot");
	snprintf(p, sizeof p, "%s/.del-20190101T000000Z", f->dest);
	mkdir(p, 0700);
	/* A symlink inside a leftover is removed, its target is not. */
	char outside[4300], link[4300];
	snprintf(outside, sizeof outside, "%s/precious", f->dir);
	tu_write_file(outside, "keep");
	snprintf(link, sizeof link, "%s/.tmp-20200101T000000Z/users/link", f->dest);
	assert_int_equal(symlink(f->dir, link), 0);
	struct backup_create_opts o = copts(f);
	struct backup_create_result r;
	assert_int_equal(create(f, &o, &r), ST_OK);
	int left;
	assert_int_equal(count_snapshots(f->dest, &left), 1);
	assert_int_equal(left, 0);
	assert_int_equal(access(outside, F_OK), 0);
}

static void test_media_listing_consistency(void **state)
{
	struct fx *f = *state;
	make_user(f, "alice", 3);
	char udir[4200], p[4300];
	snprintf(udir, sizeof udir, "%s/alice", f->src);
	/* On disk but not (yet) in media.db: kept, flagged unlisted. */
	put_media(udir, "unlisted.png", "not recorded yet", 0);
	/* In media.db but not on disk: reported missing after the retries. */
	put_media(udir, "ghost.jpg", "vanished", 1);
	snprintf(p, sizeof p, "%s/media/ghost.jpg", udir);
	unlink(p);
	struct backup_create_opts o = copts(f);
	struct backup_create_result r;
	assert_int_equal(create(f, &o, &r), ST_OK);
	struct backup_manifest m;
	load_manifest(f, r.snapshot, &m);
	assert_int_equal(m.nusers, 1);
	assert_int_equal(m.users[0].unlisted, 1);
	assert_int_equal(m.users[0].missing, 1);
	assert_int_equal(m.users[0].media_files, 4);
	for (size_t i = 0; i < m.n; i++)
		if (m.entries[i].kind == BACKUP_KIND_MEDIA)
			assert_int_equal(m.entries[i].listed, strcmp(m.entries[i].name, "unlisted.png") != 0);
	backup_manifest_free(&m);
	/* The source's own gap is known to the manifest: verify still passes. */
	assert_int_equal(verify(f, NULL, NULL), ST_OK);
	struct backup_restore_opts ro = {.dest = f->dest, .snapshot = "latest", .target = f->target};
	struct backup_restore_result rr;
	assert_int_equal(backup_restore(&ro, &rr, NULL), ST_OK);
	snprintf(p, sizeof p, "%s/alice/media/unlisted.png", f->target);
	assert_int_equal(access(p, F_OK), 0);
}

static void test_damaged_source_kept_and_no_pruning(void **state)
{
	struct fx *f = *state;
	make_user(f, "alice", 1);
	struct backup_create_opts o = copts(f);
	o.keep = (struct backup_policy){1, 0, 0};
	struct backup_create_result r;
	o.now = 1700000000;
	assert_int_equal(create(f, &o, &r), ST_OK);
	/* Garbage over every page but the first: copyable, but broken. */
	char col[4300];
	snprintf(col, sizeof col, "%s/alice/collection.anki2", f->src);
	int fd = open(col, O_RDWR);
	char junk[4096];
	memset(junk, 0x5a, sizeof junk);
	struct stat sb;
	fstat(fd, &sb);
	for (off_t off = 4096; off < sb.st_size; off += 4096)
		assert_int_equal(pwrite(fd, junk, sizeof junk, off), 4096);
	close(fd);
	o.now = 1700086400;
	assert_int_equal(create(f, &o, &r), ST_OK);
	assert_true(r.damaged);
	assert_int_equal(r.pruned, 0);
	assert_int_equal(count_snapshots(f->dest, NULL), 2);
	struct backup_manifest m;
	load_manifest(f, r.snapshot, &m);
	assert_true(m.damaged);
	assert_string_not_equal(m.entries[0].check, "ok");
	backup_manifest_free(&m);
}

static void test_retention_through_create(void **state)
{
	struct fx *f = *state;
	make_user(f, "alice", 2);
	struct backup_create_opts o = copts(f);
	o.keep = (struct backup_policy){2, 0, 0};
	struct backup_create_result r;
	const int64_t day0 = 1704067200; /* 2024-01-01T00:00:00Z */
	for (int d = 0; d < 5; d++) {
		o.now = day0 + d * 86400 + 3 * 3600;
		assert_int_equal(create(f, &o, &r), ST_OK);
		assert_int_equal(count_snapshots(f->dest, NULL), d < 2 ? d + 1 : 2);
	}
	assert_int_equal(r.pruned, 1);
	assert_int_equal(r.kept, 2);
	struct backup_snapref *refs;
	size_t n;
	assert_int_equal(backup_dest_scan(f->dest, &refs, &n, NULL), ST_OK);
	assert_int_equal(n, 2);
	assert_string_equal(refs[0].name, "20240104T030000Z");
	assert_string_equal(refs[1].name, "20240105T030000Z");
	free(refs);
	/* Two runs in the same second get distinct names. */
	assert_int_equal(create(f, &o, &r), ST_OK);
	assert_string_equal(r.snapshot, "20240105T030000Z-2");
	/* The pruned snapshots' shared files are still intact in the rest. */
	assert_int_equal(verify(f, NULL, NULL), ST_OK);
}

static void test_source_locked_exclusively(void **state)
{
	struct fx *f = *state;
	make_user(f, "alice", 1);
	char col[4300];
	snprintf(col, sizeof col, "%s/alice/collection.anki2", f->src);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(col, &db), SQLITE_OK);
	/* What the official server does: exclusive locking mode, held. */
	exec_sql(db, "PRAGMA locking_mode=exclusive; BEGIN EXCLUSIVE; UPDATE col SET mod = mod;");
	struct backup_create_opts o = copts(f);
	o.busy_ms = 300;
	struct backup_create_result r;
	struct errinfo e = {0};
	assert_int_equal(backup_create(&o, &r, &e), ST_BUSY);
	assert_non_null(strstr(e.msg, "exclusive"));
	int left;
	assert_int_equal(count_snapshots(f->dest, &left), 0);
	assert_int_equal(left, 0);
	exec_sql(db, "COMMIT");
	sqlite3_close(db);
	assert_int_equal(create(f, &o, &r), ST_OK);
}

static void test_stop_flag(void **state)
{
	struct fx *f = *state;
	make_user(f, "alice", 2);
	volatile sig_atomic_t stop = 1;
	struct backup_create_opts o = copts(f);
	o.stop = &stop;
	struct backup_create_result r;
	struct errinfo e = {0};
	assert_int_equal(backup_create(&o, &r, &e), ST_IO);
	assert_non_null(strstr(e.msg, "interrupted"));
	int left;
	assert_int_equal(count_snapshots(f->dest, &left), 0);
	assert_int_equal(left, 0);
}

static void test_tampered_object_not_reused(void **state)
{
	struct fx *f = *state;
	make_user(f, "alice", 2);
	struct backup_create_opts o = copts(f);
	struct backup_create_result r1, r2;
	o.now = 1700000000;
	assert_int_equal(create(f, &o, &r1), ST_OK);
	/* Damage a stored media object of the first snapshot. */
	struct backup_manifest m;
	load_manifest(f, r1.snapshot, &m);
	char rel[512], p[4800];
	size_t i = 0;
	while (m.entries[i].kind != BACKUP_KIND_MEDIA)
		i++;
	backup_object_path(&m.entries[i], 0, rel, sizeof rel, NULL);
	backup_manifest_free(&m);
	snprintf(p, sizeof p, "%s/%s/%s", f->dest, r1.snapshot, rel);
	int fd = open(p, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	size_t bad = 0;
	assert_int_equal(verify(f, r1.snapshot, &bad), ST_CORRUPT);
	assert_int_equal(bad, 1);
	/* The next run notices the changed stored file and stores anew. */
	o.now = 1700000100;
	assert_int_equal(create(f, &o, &r2), ST_OK);
	assert_int_equal(verify(f, r2.snapshot, NULL), ST_OK);
	char q[4800];
	snprintf(q, sizeof q, "%s/%s/%s", f->dest, r2.snapshot, rel);
	assert_int_not_equal(inode_of(p), inode_of(q));
	/* A broken manifest in the newest snapshot: the next run stores anew. */
	snprintf(p, sizeof p, "%s/%s/manifest.jsonl", f->dest, r2.snapshot);
	tu_write_file(p, "{\"type\":\"header\"\n");
	struct backup_create_result r3;
	o.now = 1700000200;
	assert_int_equal(create(f, &o, &r3), ST_OK);
	assert_int_equal(verify(f, r3.snapshot, NULL), ST_OK);
	assert_int_equal(verify(f, r2.snapshot, NULL), ST_CORRUPT);
}

struct churn {
	char path[4300];
	atomic_int stop;
};

/* Rewrites a listed file without ever updating its media.db row: never
 * consistent, never stable. */
static void *churn_main(void *arg)
{
	struct churn *c = arg;
	unsigned n = 0;
	while (!atomic_load(&c->stop)) {
		char text[64];
		snprintf(text, sizeof text, "rewrite %u", n++);
		FILE *f = fopen(c->path, "wb");
		if (f) {
			fputs(text, f);
			fclose(f);
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void test_media_that_never_settles_fails_the_run(void **state)
{
	struct fx *f = *state;
	make_user(f, "alice", 2);
	struct backup_create_opts o = copts(f);
	struct backup_create_result r;
	struct churn c = {0};
	snprintf(c.path, sizeof c.path, "%s/alice/media/file01.jpg", f->src);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, churn_main, &c), 0);
	struct errinfo e = {0};
	enum status st = backup_create(&o, &r, &e);
	atomic_store(&c.stop, 1);
	pthread_join(t, NULL);
	assert_int_equal(st, ST_CONFLICT);
	assert_non_null(strstr(e.msg, "kept changing"));
	int left;
	assert_int_equal(count_snapshots(f->dest, &left), 0);
	assert_int_equal(left, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_verify_restore, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_incremental_shares_unchanged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_touched_file_not_restored_twice, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals_touch_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock_busy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_leftovers_removed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_media_listing_consistency, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_source_kept_and_no_pruning, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retention_through_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_source_locked_exclusively, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_flag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tampered_object_not_reused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_media_that_never_settles_fails_the_run, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
