/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_srv.c - the per-user media handle: open/close, crash recovery, the
 * redo journal, begin, mediaChanges, mediaSanity and the result wrapper
 * (sync-protocol.md §5.1-§5.3, §5.6, §5.7, §6.2).  Uploads are in
 * media_upload.c, downloads in media_download.c, check/reset in
 * media_admin.c.
 *
 * THE WRITE ORDER AND WHY IT IS CRASH-SAFE
 *
 * Invariant I: every live row (size > 0) has its file in media/ with that
 * content, and every file in media/ (other than our temporaries) has a
 * live row.  The official server writes and removes files inside its DB
 * transaction, so a failure or crash part-way leaves files the DB does not
 * know and rows whose file is gone (§5.4 NOTE).  We keep I with a small
 * redo journal <userdir>/media.ankihost-journal whose records are only
 * *hints*: what to do is always decided from the committed DB state, so
 * replaying a record twice, a stale record, or a record of a batch that
 * never committed is harmless.
 *
 * An upload batch (media_upload.c), in order:
 *   1. validate everything (no disk writes), then BEGIN IMMEDIATE, held
 *      to the commit: steps 2 and 4 read the same rows;
 *   2. journal header with a fresh batch id (from now on temporaries may
 *      exist: a non-empty journal tells the next open to sweep them), and
 *      an "unlink name if the row is not live" record for every added name
 *      that has no live row and appears once in the batch; written (and in
 *      durable mode synced) before any file is created;
 *   3. extract each added file, hashing and counting bytes: those names
 *      of step 2 straight into media/<name> (O_EXCL: a name is never
 *      replaced there), the others (replacements, names given twice, a
 *      name taken by a stray file) into a temporary in media/ (names that
 *      no client name can equal, media_name.h);
 *   4. apply the change table; queue per real change a
 *      record "rename tmp -> name if the row says sha1" or "unlink name
 *      if the row is not live"; write the records;
 *   5. durable: syncfs (temporaries' data, their directory entries and the
 *      journal reach the disk before the commit can);
 *   6. COMMIT (synchronous=FULL when durable);
 *   7. perform the renames/unlinks in change order;
 *   8. durable: fsync media/;  9. truncate the journal.
 * Crash before 6: the DB is unchanged; the folder holds only extra
 * temporaries and the new files of step 3, whose names have no live row;
 * replay finds no row matching a rename record (or a row that already
 * matches the file), unlinks names without live rows (the new files, and
 * otherwise nothing: by I such names have no file), and sweeps the
 * temporaries.  No reader sees a new file early: readers go by the rows,
 * and a name's row becomes live only at 6, after its file is complete.  Crash after 6: the
 * journal names every file operation the commit implies; replay redoes
 * those not yet done (a rename whose temporary is gone was done).  So after
 * the replay at the next open, I holds and the DB is either wholly before
 * or wholly after the batch.  Renames are atomic, so a reader never sees a
 * partial file.  Durable mode adds the syncs that make the same argument
 * hold across power loss (the ordering 5 < 6 < 8 < 9 is what matters);
 * without it, the argument holds for any crash of the process, because
 * the kernel still has every write.
 *
 * Records carry the batch id, so a tail left from a longer earlier batch is
 * never read as part of the current one.  Reset (media_admin.c) uses the
 * same scheme with a "move the folder aside if the DB says it was reset"
 * record, and download's "forget a bad file" with an unlink record.
 */
#include "media_srv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "media_internal.h"
#include "path.h"

#define JMAGIC "AHMJ1 "
#define JMAGIC_LEN 6
#define JID_LEN 16
#define JHDR_LEN (JMAGIC_LEN + JID_LEN + 1)
/* A batch writes at most 25 records of < 400 bytes; anything longer than
 * this is damage, and only its start is read. */
#define JOURNAL_READ_MAX (1u << 20)

void media_srv_hex(const unsigned char *bin, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bin[i] >> 4];
		out[2 * i + 1] = digits[bin[i] & 15];
	}
	out[2 * n] = '\0';
}

int64_t media_srv_now(void)
{
	return (int64_t)time(NULL);
}

enum status media_srv_random_hex(char *out, size_t digits, struct errinfo *e)
{
	unsigned char raw[32];
	size_t n = (digits + 1) / 2;
	if (n > sizeof raw)
		return errinfo_set(e, ST_INTERNAL, "random_hex: too long");
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(raw + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errinfo_errno(e, ST_IO, "getrandom failed");
		}
		got += (size_t)r;
	}
	char hex[65];
	media_srv_hex(raw, n, hex);
	memcpy(out, hex, digits);
	out[digits] = '\0';
	return ST_OK;
}

/* ---- durability ---- */

enum status media_srv_sync_data(struct media_srv *m, struct errinfo *e)
{
	if (!m->o.durable)
		return ST_OK;
	if (syncfs(m->mediafd) != 0)
		return errinfo_errno(e, ST_IO, "syncfs of %s/media failed", m->userdir);
	if (!m->same_fs && fdatasync(m->jfd) != 0)
		return errinfo_errno(e, ST_IO, "fdatasync of the media journal failed");
	return ST_OK;
}

enum status media_srv_journal_sync(struct media_srv *m, struct errinfo *e)
{
	if (m->o.durable && fdatasync(m->jfd) != 0)
		return errinfo_errno(e, ST_IO, "fdatasync of the media journal failed");
	return ST_OK;
}

enum status media_srv_sync_dir(struct media_srv *m, int dirfd, struct errinfo *e)
{
	if (m->o.durable && fsync(dirfd) != 0)
		return errinfo_errno(e, ST_IO, "fsync of a directory in %s failed", m->userdir);
	return ST_OK;
}

/* ---- temporaries ---- */

enum status media_srv_tmp_create(struct media_srv *m, char *name, int *fd, struct errinfo *e)
{
	for (int tries = 0; tries < 16; tries++) {
		char rnd[JID_LEN + 1];
		enum status st = media_srv_random_hex(rnd, JID_LEN, e);
		if (st)
			return st;
		snprintf(name, MEDIA_TMP_NAME_MAX, "%s%s", MEDIA_TMP_PREFIX, rnd);
		*fd = openat(m->mediafd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		             0600);
		if (*fd >= 0)
			return ST_OK;
		if (errno != EEXIST)
			return errinfo_errno(e, ST_IO, "cannot create a temporary file in %s/media",
			                     m->userdir);
	}
	return errinfo_set(e, ST_IO, "no free temporary name in %s/media", m->userdir);
}

/* Remove entries of dirfd whose name starts with prefix. */
static long sweep_prefix(int dirfd, const char *prefix)
{
	int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset */
	if (dfd < 0)
		return -1;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -1;
	}
	size_t pl = strlen(prefix);
	long n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, pl) != 0)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			n++;
		else if (errno != ENOENT)
			log_warn("cannot remove leftover %s", de->d_name);
	}
	closedir(d);
	return n;
}

long media_srv_tmp_sweep(struct media_srv *m)
{
	return sweep_prefix(m->mediafd, MEDIA_TMP_PREFIX);
}

/* ---- journal ---- */

enum status media_srv_journal_begin(struct media_srv *m, struct errinfo *e)
{
	enum status st = media_srv_random_hex(m->jid, JID_LEN, e);
	if (st)
		return st;
	char hdr[JHDR_LEN + 1];
	snprintf(hdr, sizeof hdr, "%s%s\n", JMAGIC, m->jid);
	buf_reset(&m->jrec);
	if (pwrite(m->jfd, hdr, JHDR_LEN, 0) != JHDR_LEN)
		return errinfo_errno(e, ST_IO, "cannot write the media journal");
	m->jbegun = 1;
	return ST_OK;
}

static enum status mj_record(struct media_srv *m, char op, const char *const *fields,
                             const size_t *lens, int n, struct errinfo *e)
{
	enum status st = buf_append(&m->jrec, &op, 1, e);
	if (st == ST_OK)
		st = buf_append(&m->jrec, m->jid, JID_LEN, e);
	for (int i = 0; st == ST_OK && i < n; i++) {
		st = buf_append(&m->jrec, fields[i], lens[i], e);
		if (st == ST_OK)
			st = buf_append(&m->jrec, "", 1, e); /* the NUL */
	}
	return st;
}

enum status media_srv_journal_rename(struct media_srv *m, const char *tmp,
                                     const unsigned char sha1[20], const char *fname, size_t len,
                                     struct errinfo *e)
{
	char hex[41];
	media_srv_hex(sha1, 20, hex);
	const char *f[3] = {tmp, hex, fname};
	size_t l[3] = {strlen(tmp), 40, len};
	return mj_record(m, 'A', f, l, 3, e);
}

enum status media_srv_journal_unlink(struct media_srv *m, const char *fname, size_t len,
                                     struct errinfo *e)
{
	const char *f[1] = {fname};
	size_t l[1] = {len};
	return mj_record(m, 'D', f, l, 1, e);
}

enum status media_srv_journal_reset(struct media_srv *m, const char *dir, int32_t usn,
                                    struct errinfo *e)
{
	char num[16];
	snprintf(num, sizeof num, "%d", (int)usn);
	const char *f[2] = {dir, num};
	size_t l[2] = {strlen(dir), strlen(num)};
	return mj_record(m, 'R', f, l, 2, e);
}

enum status media_srv_journal_flush(struct media_srv *m, struct errinfo *e)
{
	if (!m->jbegun)
		return errinfo_set(e, ST_INTERNAL, "media journal flushed before begin");
	size_t off = 0;
	while (off < m->jrec.len) {
		ssize_t w =
		    pwrite(m->jfd, m->jrec.data + off, m->jrec.len - off, (off_t)(JHDR_LEN + off));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errinfo_errno(e, ST_IO, "cannot write the media journal");
		}
		off += (size_t)w;
	}
	return ST_OK;
}

enum status media_srv_journal_clear(struct media_srv *m, struct errinfo *e)
{
	buf_reset(&m->jrec);
	m->jbegun = 0;
	if (ftruncate(m->jfd, 0) != 0)
		return errinfo_errno(e, ST_IO, "cannot clear the media journal");
	return ST_OK;
}

struct jrec {
	char op;
	const char *f[3];
	size_t l[3];
};

/* Split the journal into records of the header's batch; stops at the first
 * incomplete record or one of another batch. */
static size_t parse_journal(const unsigned char *d, size_t len, struct jrec *out, size_t cap)
{
	if (len < JHDR_LEN || memcmp(d, JMAGIC, JMAGIC_LEN) != 0 || d[JHDR_LEN - 1] != '\n')
		return 0;
	const unsigned char *id = d + JMAGIC_LEN;
	size_t pos = JHDR_LEN, n = 0;
	while (n < cap && pos + 1 + JID_LEN <= len) {
		char op = (char)d[pos];
		int nf = op == 'A' ? 3 : op == 'D' ? 1 : op == 'R' ? 2 : -1;
		if (nf < 0 || memcmp(d + pos + 1, id, JID_LEN) != 0)
			break;
		size_t p = pos + 1 + JID_LEN;
		struct jrec r = {.op = op};
		int ok = 1;
		for (int i = 0; i < nf; i++) {
			const unsigned char *z = memchr(d + p, '\0', len - p);
			if (!z) {
				ok = 0;
				break;
			}
			r.f[i] = (const char *)d + p;
			r.l[i] = (size_t)(z - (d + p));
			p = (size_t)(z - d) + 1;
		}
		if (!ok)
			break;
		out[n++] = r;
		pos = p;
	}
	return n;
}

enum status media_srv_open_dir(struct media_srv *m, struct errinfo *e)
{
	if (m->mediafd >= 0) {
		close(m->mediafd);
		m->mediafd = -1;
	}
	m->mediafd = openat(m->userfd, MEDIA_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->mediafd < 0 && errno == ENOENT) {
		if (mkdirat(m->userfd, MEDIA_DIR, 0700) != 0 && errno != EEXIST)
			return errinfo_errno(e, ST_IO, "cannot create %s/media", m->userdir);
		m->mediafd = openat(m->userfd, MEDIA_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (m->mediafd < 0)
		return errinfo_errno(e, ST_IO, "cannot open %s/media", m->userdir);
	struct stat a, b;
	m->same_fs = fstat(m->mediafd, &a) == 0 && fstat(m->jfd, &b) == 0 && a.st_dev == b.st_dev;
	return ST_OK;
}

/* A reset record: the folder is moved aside only if the DB is the reset
 * one (no rows, last_usn exactly the reset's). */
static enum status replay_reset(struct media_srv *m, const struct jrec *r, struct errinfo *e)
{
	char dir[MAX_NAME_BYTES + 1], num[16];
	if (r->l[0] > MAX_NAME_BYTES || r->l[1] >= sizeof num || !path_name_ok(r->f[0], r->l[0]))
		return ST_OK;
	memcpy(dir, r->f[0], r->l[0]);
	dir[r->l[0]] = '\0';
	memcpy(num, r->f[1], r->l[1]);
	num[r->l[1]] = '\0';
	long usn = strtol(num, NULL, 10);
	struct media_meta meta, actual;
	int64_t rows = 0;
	enum status st = media_db_get_meta(m->db, &meta, e);
	if (st == ST_OK)
		st = media_db_count(m->db, &rows, &actual, e);
	if (st)
		return st;
	if (rows != 0 || meta.last_usn != usn)
		return ST_OK; /* the reset never committed */
	struct stat sb;
	if (fstatat(m->userfd, dir, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return ST_OK; /* already moved */
	if (renameat(m->userfd, MEDIA_DIR, m->userfd, dir) != 0 && errno != ENOENT)
		return errinfo_errno(e, ST_IO, "cannot move %s/media aside", m->userdir);
	log_info("media recovery: moved %s/media to %s (reset)", m->userdir, dir);
	return ST_OK;
}

static enum status replay_file_op(struct media_srv *m, const struct jrec *r, struct errinfo *e)
{
	const char *name = r->op == 'A' ? r->f[2] : r->f[0];
	size_t len = r->op == 'A' ? r->l[2] : r->l[0];
	if (!path_name_ok(name, len) || media_name_is_tmp(name))
		return ST_OK; /* never produced by us */
	char fname[MEDIA_NAME_MAX + 1];
	memcpy(fname, name, len);
	fname[len] = '\0';
	struct media_row row;
	enum status st = media_db_get(m->db, fname, len, &row, e);
	if (st != ST_OK && st != ST_NOTFOUND)
		return st;
	int live = st == ST_OK && row.size > 0;
	if (r->op == 'D') {
		if (!live && unlinkat(m->mediafd, fname, 0) == 0)
			log_info("media recovery: removed %s/media/%s", m->userdir, fname);
		return ST_OK;
	}
	/* 'A': tmp, sha1 hex, name */
	char tmp[MEDIA_TMP_NAME_MAX], hex[41];
	if (r->l[0] >= sizeof tmp || r->l[1] != 40 || !live || row.csum_len != MEDIA_SHA1_LEN)
		return ST_OK;
	memcpy(tmp, r->f[0], r->l[0]);
	tmp[r->l[0]] = '\0';
	if (!media_name_is_tmp(tmp) || !path_name_ok(tmp, r->l[0]))
		return ST_OK;
	media_srv_hex(row.csum, MEDIA_SHA1_LEN, hex);
	if (memcmp(hex, r->f[1], 40) != 0)
		return ST_OK; /* not what was committed: the sweep removes tmp */
	if (renameat(m->mediafd, tmp, m->mediafd, fname) == 0)
		log_info("media recovery: completed %s/media/%s", m->userdir, fname);
	else if (errno != ENOENT)
		/* Keep the user's media usable: the row then has no file, and the
		 * first download of it forgets it (check reports it meanwhile). */
		log_warn("media recovery: cannot rename to %s/media/%s", m->userdir, fname);
	return ST_OK;
}

/* Bring the folder in line with the committed DB after an interrupted
 * request (see the file comment), then empty the journal. */
static enum status recover(struct media_srv *m, struct errinfo *e)
{
	struct buf jb;
	buf_init(&jb, JOURNAL_READ_MAX);
	enum status st = ST_OK;
	unsigned char chunk[65536];
	off_t off = 0;
	for (;;) {
		ssize_t r = pread(m->jfd, chunk, sizeof chunk, off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			st = errinfo_errno(e, ST_IO, "cannot read the media journal");
			break;
		}
		if (r == 0)
			break;
		size_t take = (size_t)r;
		if (jb.len + take > JOURNAL_READ_MAX)
			take = JOURNAL_READ_MAX - jb.len;
		if ((st = buf_append(&jb, chunk, take, e)) || take < (size_t)r)
			break;
		off += r;
	}
	struct jrec *recs = NULL;
	size_t n = 0;
	if (st == ST_OK) {
		size_t cap = jb.len / (1 + JID_LEN) + 1;
		recs = calloc(cap, sizeof *recs);
		if (!recs)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		else
			n = parse_journal(jb.data, jb.len, recs, cap);
	}
	log_info("media recovery in %s: %zu journal record(s)", m->userdir, n);
	for (size_t i = 0; st == ST_OK && i < n; i++)
		if (recs[i].op == 'R')
			st = replay_reset(m, &recs[i], e);
	if (st == ST_OK)
		st = media_srv_open_dir(m, e);
	for (size_t i = 0; st == ST_OK && i < n; i++)
		if (recs[i].op != 'R')
			st = replay_file_op(m, &recs[i], e);
	if (st == ST_OK) {
		long swept = media_srv_tmp_sweep(m);
		if (swept > 0)
			log_info("media recovery: removed %ld temporary file(s) in %s/media", swept,
			         m->userdir);
	}
	if (st == ST_OK)
		st = media_srv_sync_dir(m, m->mediafd, e);
	if (st == ST_OK)
		st = media_srv_sync_dir(m, m->userfd, e);
	if (st == ST_OK)
		st = media_srv_journal_clear(m, e);
	free(recs);
	buf_free(&jb);
	return st;
}

/* ---- open / close ---- */

/* 1 when fd and dirfd/name are the same file (name not followed). */
static int same_file(int fd, int dirfd, const char *name)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

enum status media_srv_mark(struct media_srv *m, struct errinfo *e)
{
	struct stat sb;
	if (fstatat(m->userfd, MEDIA_DB_FILE, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return errinfo_errno(e, ST_IO, "cannot stat %s/%s", m->userdir, MEDIA_DB_FILE);
	m->db_dev = sb.st_dev;
	m->db_ino = sb.st_ino;
	return media_db_data_version(m->db, &m->data_version, e);
}

int media_srv_current(struct media_srv *m)
{
	struct stat a, b;
	int64_t dv = 0;
	/* the user directory, media/ and the journal are still the ones the
	 * handle holds open (a reset moves media/ aside) */
	if (stat(m->userdir, &a) != 0 || fstat(m->userfd, &b) != 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		return 0;
	if (!same_file(m->mediafd, m->userfd, MEDIA_DIR) ||
	    !same_file(m->jfd, m->userfd, MEDIA_JOURNAL_FILE))
		return 0;
	/* nothing left to replay (an earlier request failed after its commit,
	 * or another process stopped half-way) */
	if (fstat(m->jfd, &a) != 0 || a.st_size != 0)
		return 0;
	/* the DB file was not replaced, and no other connection committed */
	if (fstatat(m->userfd, MEDIA_DB_FILE, &a, AT_SYMLINK_NOFOLLOW) != 0 ||
	    a.st_dev != m->db_dev || a.st_ino != m->db_ino)
		return 0;
	if (media_db_data_version(m->db, &dv, NULL) != ST_OK || dv != m->data_version)
		return 0;
	return 1;
}

static enum status media_srv_open_impl(const char *userdir, const struct media_opts *o,
                                       struct media_srv **out, struct errinfo *e)
{
	*out = NULL;
	struct media_srv *m = calloc(1, sizeof *m);
	if (!m)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	m->userfd = m->mediafd = m->jfd = -1;
	if (o)
		m->o = *o;
	else
		m->o.durable = 1;
	if (!m->o.max_upload_bytes)
		m->o.max_upload_bytes = MEDIA_UPLOAD_TOTAL_DEFAULT;
	if (!m->o.parallel_min)
		m->o.parallel_min = MEDIA_PARALLEL_MIN;
	buf_init(&m->jrec, 1u << 20);
	m->dl_mem_max = MEDIA_DL_MEM_MAX;
	enum status st = ST_OK;
	if (snprintf(m->userdir, sizeof m->userdir, "%s", userdir) >= (int)sizeof m->userdir) {
		st = errinfo_set(e, ST_INVALID, "user directory path too long");
		goto fail;
	}
	m->userfd = open(userdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->userfd < 0) {
		st = errinfo_errno(e, ST_IO, "cannot open %s", userdir);
		goto fail;
	}
	m->jfd =
	    openat(m->userfd, MEDIA_JOURNAL_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (m->jfd < 0) {
		st = errinfo_errno(e, ST_IO, "cannot open %s/%s", userdir, MEDIA_JOURNAL_FILE);
		goto fail;
	}
	char dbpath[MAX_PATH_BYTES];
	if (snprintf(dbpath, sizeof dbpath, "%s/%s", userdir, MEDIA_DB_FILE) >=
	    (int)sizeof dbpath) {
		st = errinfo_set(e, ST_INVALID, "user directory path too long");
		goto fail;
	}
	unsigned dbf = MEDIA_DB_CREATE | (m->o.db_flags & MEDIA_DB_EXCLUSIVE) |
	               (m->o.durable ? 0 : MEDIA_DB_SYNC_NORMAL);
	if ((st = media_db_open(dbpath, dbf, &m->db, e)))
		goto fail;
	struct stat jst;
	if (fstat(m->jfd, &jst) != 0) {
		st = errinfo_errno(e, ST_IO, "cannot stat the media journal");
		goto fail;
	}
	if (jst.st_size > 0) {
		if ((st = recover(m, e)))
			goto fail;
	} else {
		if ((st = media_srv_open_dir(m, e)))
			goto fail;
		if (m->o.sweep) {
			long swept = media_srv_tmp_sweep(m);
			if (swept > 0)
				log_info("removed %ld leftover temporary file(s) in %s/media",
				         swept, userdir);
		}
	}
	/* Download zips never outlive their request (they are unlinked once
	 * open); a crash in zip_close can leave one. */
	sweep_prefix(m->userfd, MEDIA_DL_PREFIX);
	if ((st = media_srv_mark(m, e)))
		goto fail;
	*out = m;
	return ST_OK;
fail:
	media_srv_close(m);
	return st;
}

void media_srv_close(struct media_srv *m)
{
	if (!m)
		return;
	media_db_close(m->db);
	if (m->mediafd >= 0)
		close(m->mediafd);
	if (m->jfd >= 0)
		close(m->jfd);
	if (m->userfd >= 0)
		close(m->userfd);
	buf_free(&m->jrec);
	free(m);
}

void media_srv_set_dl_mem_max(struct media_srv *m, uint64_t max)
{
	m->dl_mem_max = max;
}

struct media_db *media_srv_db(struct media_srv *m)
{
	return m->db;
}

enum status media_srv_meta(struct media_srv *m, struct media_meta *out, struct errinfo *e)
{
	return media_db_get_meta(m->db, out, e);
}

enum status media_srv_usn(struct media_srv *m, int32_t *usn, struct errinfo *e)
{
	struct media_meta meta;
	enum status st = media_db_get_meta(m->db, &meta, e);
	*usn = st == ST_OK ? meta.last_usn : 0;
	return st;
}

/* ---- JSON helpers ---- */

enum status media_srv_wrap(struct buf *out, const char *data_json, size_t len, struct errinfo *e)
{
	enum status st = buf_append_str(out, "{\"data\":", e);
	if (st == ST_OK)
		st = buf_append(out, data_json, len, e);
	if (st == ST_OK)
		st = buf_append_str(out, ",\"err\":\"\"}", e);
	return st;
}

static enum status append_json(struct buf *out, json_t *v, struct errinfo *e)
{
	if (!v)
		return errinfo_set(e, ST_NOMEM, "out of memory building JSON");
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	if (!s)
		return errinfo_set(e, ST_NOMEM, "out of memory building JSON");
	enum status st = buf_append_str(out, s, e);
	free(s);
	return st;
}

enum status media_srv_wrap_err(struct buf *out, const char *msg, struct errinfo *e)
{
	enum status st = buf_append_str(out, "{\"err\":", e);
	if (st == ST_OK)
		st = append_json(out, json_string(msg ? msg : ""), e);
	if (st == ST_OK)
		st = buf_append_str(out, "}", e);
	return st;
}

/* Parse a request body that must be a JSON object (anything else is the
 * official server's 400 "invalid json"). */
static enum status parse_object(const char *json, size_t len, json_t **out, struct errinfo *e)
{
	json_error_t jerr;
	*out = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out)
		return errinfo_set(e, ST_INVALID, "invalid json: %s", jerr.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return errinfo_set(e, ST_INVALID, "invalid json: not an object");
	}
	return ST_OK;
}

/* ---- begin ---- */

static enum status media_srv_begin_impl(struct media_srv *m, const char *client_version,
                                        const char *hkey, struct buf *out, struct errinfo *e)
{
	if (!client_version || !*client_version)
		return errinfo_set(e, ST_INVALID, "missing client version");
	int32_t usn;
	enum status st = media_srv_usn(m, &usn, e);
	if (st)
		return st;
	json_t *sk = json_string(hkey ? hkey : "");
	if (!sk)
		return errinfo_set(e, ST_INVALID, "host key is not UTF-8");
	char head[64];
	snprintf(head, sizeof head, "{\"data\":{\"usn\":%d,\"sk\":", (int)usn);
	st = buf_append_str(out, head, e);
	if (st == ST_OK)
		st = append_json(out, sk, e);
	else
		json_decref(sk);
	if (st == ST_OK)
		st = buf_append_str(out, "},\"err\":\"\"}", e);
	return st;
}

static enum status media_srv_begin_json_impl(struct media_srv *m, const char *json, size_t len,
                                             const char *hkey, struct buf *out, struct errinfo *e)
{
	json_t *o;
	enum status st = parse_object(json, len, &o, e);
	if (st)
		return st;
	json_t *v = json_object_get(o, "v");
	if (v && !json_is_string(v) && !json_is_null(v)) {
		json_decref(o);
		return errinfo_set(e, ST_INVALID, "invalid json: v is not a string");
	}
	if (v && json_is_null(v)) { /* serde: null is not a String */
		json_decref(o);
		return errinfo_set(e, ST_INVALID, "invalid json: v is null");
	}
	st = media_srv_begin(m, v ? json_string_value(v) : NULL, hkey, out, e);
	json_decref(o);
	return st;
}

/* ---- mediaChanges ---- */

struct changes_ctx {
	json_t *arr;
	int failed;
};

static int add_change(void *arg, const struct media_row *r)
{
	struct changes_ctx *c = arg;
	if (r->fname_len > MEDIA_NAME_MAX) {
		log_warnx("mediaChanges: skipping a row with a %zu-byte name", r->fname_len);
		return 0;
	}
	char hex[2 * MEDIA_SHA1_LEN + 1] = "";
	if (r->size > 0)
		media_srv_hex(r->csum, r->csum_len, hex);
	json_t *name = json_stringn(r->fname, r->fname_len);
	if (!name) {
		log_warnx("mediaChanges: skipping a row whose name is not UTF-8");
		return 0;
	}
	json_t *row = json_array();
	if (!row || json_array_append_new(row, name) ||
	    json_array_append_new(row, json_integer(r->usn)) ||
	    json_array_append_new(row, json_string(hex)) || json_array_append_new(c->arr, row)) {
		c->failed = 1;
		return 1;
	}
	return 0;
}

static enum status media_srv_changes_impl(struct media_srv *m, int32_t last_usn, struct buf *out,
                                          struct errinfo *e)
{
	struct changes_ctx c = {json_array(), 0};
	if (!c.arr)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	enum status st = media_db_changes(m->db, last_usn, MEDIA_CHANGES_MAX, add_change, &c, e);
	if (st == ST_OK && c.failed)
		st = errinfo_set(e, ST_NOMEM, "out of memory building mediaChanges");
	if (st) {
		json_decref(c.arr);
		return st;
	}
	st = buf_append_str(out, "{\"data\":", e);
	if (st == ST_OK)
		st = append_json(out, c.arr, e);
	else
		json_decref(c.arr);
	if (st == ST_OK)
		st = buf_append_str(out, ",\"err\":\"\"}", e);
	return st;
}

/* An integer member within [lo, hi]; ST_INVALID otherwise (serde's i32 /
 * u32: a missing key, a float, a string or an out-of-range value all fail). */
static enum status get_int(json_t *o, const char *key, long long lo, long long hi, long long *out,
                           struct errinfo *e)
{
	json_t *v = json_object_get(o, key);
	if (!v || !json_is_integer(v))
		return errinfo_set(e, ST_INVALID, "invalid json: %s missing or not an integer",
		                   key);
	long long x = json_integer_value(v);
	if (x < lo || x > hi)
		return errinfo_set(e, ST_INVALID, "invalid json: %s out of range", key);
	*out = x;
	return ST_OK;
}

static enum status media_srv_changes_json_impl(struct media_srv *m, const char *json, size_t len,
                                               struct buf *out, struct errinfo *e)
{
	json_t *o;
	enum status st = parse_object(json, len, &o, e);
	if (st)
		return st;
	long long usn = 0;
	st = get_int(o, "lastUsn", INT32_MIN, INT32_MAX, &usn, e);
	json_decref(o);
	if (st == ST_OK)
		st = media_srv_changes(m, (int32_t)usn, out, e);
	return st;
}

/* ---- mediaSanity ---- */

static enum status media_srv_sanity_impl(struct media_srv *m, uint32_t local, int *ok,
                                         struct buf *out, struct errinfo *e)
{
	struct media_meta meta;
	enum status st = media_db_get_meta(m->db, &meta, e);
	if (st)
		return st;
	int same = meta.total_nonempty_files == (int64_t)local;
	if (ok)
		*ok = same;
	if (out)
		st = buf_append_str(out,
		                    same ? "{\"data\":\"OK\",\"err\":\"\"}"
		                         : "{\"data\":\"mediaSanity\",\"err\":\"\"}",
		                    e);
	return st;
}

static enum status media_srv_sanity_json_impl(struct media_srv *m, const char *json, size_t len,
                                              struct buf *out, struct errinfo *e)
{
	json_t *o;
	enum status st = parse_object(json, len, &o, e);
	if (st)
		return st;
	long long local = 0;
	st = get_int(o, "local", 0, UINT32_MAX, &local, e);
	json_decref(o);
	if (st == ST_OK)
		st = media_srv_sanity(m, (uint32_t)local, NULL, out, e);
	return st;
}

/* Public entry points: statuses as the protocol answers them. */
enum status media_srv_open(const char *userdir, const struct media_opts *o, struct media_srv **out,
                           struct errinfo *e)
{
	return media_outcome(media_srv_open_impl(userdir, o, out, e), e);
}

enum status media_srv_begin(struct media_srv *m, const char *client_version, const char *hkey,
                            struct buf *out, struct errinfo *e)
{
	return media_outcome(media_srv_begin_impl(m, client_version, hkey, out, e), e);
}

enum status media_srv_begin_json(struct media_srv *m, const char *json, size_t len,
                                 const char *hkey, struct buf *out, struct errinfo *e)
{
	return media_outcome(media_srv_begin_json_impl(m, json, len, hkey, out, e), e);
}

enum status media_srv_changes(struct media_srv *m, int32_t last_usn, struct buf *out,
                              struct errinfo *e)
{
	return media_outcome(media_srv_changes_impl(m, last_usn, out, e), e);
}

enum status media_srv_changes_json(struct media_srv *m, const char *json, size_t len,
                                   struct buf *out, struct errinfo *e)
{
	return media_outcome(media_srv_changes_json_impl(m, json, len, out, e), e);
}

enum status media_srv_sanity(struct media_srv *m, uint32_t local, int *ok, struct buf *out,
                             struct errinfo *e)
{
	return media_outcome(media_srv_sanity_impl(m, local, ok, out, e), e);
}

enum status media_srv_sanity_json(struct media_srv *m, const char *json, size_t len,
                                  struct buf *out, struct errinfo *e)
{
	return media_outcome(media_srv_sanity_json_impl(m, json, len, out, e), e);
}
