/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_admin.c - what anki-sync-admin does to a user's media: the
 * consistency check (rows without files, files without rows, sizes,
 * optionally checksums, totals) and reset-media (sync-protocol.md §5.6,
 * §5.7, §8.5 items 43-45).
 *
 * Reset keeps the USN rising (last_usn + 1 with no rows): every client's
 * lastUsn then differs from the server's, so it asks for changes, gets
 * none, and - having "done something" - calls mediaSanity, which fails
 * because the server now counts 0 files; the client then clears its own
 * media DB and on the next sync uploads every file it has.  Resetting to
 * USN 0 instead would let a client at 0 skip the exchange entirely
 * (§5.7 RECOMMENDATION).  The old folder is moved aside whole (one
 * rename), not deleted.  A journal record makes the move happen even if
 * the process dies between the DB commit and the rename.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "media_internal.h"
#include "media_srv.h"

static const char *const issue_names[MI_COUNT] = {
    [MI_ROW_WITHOUT_FILE] = "row without file",
    [MI_FILE_WITHOUT_ROW] = "file without row",
    [MI_SIZE_MISMATCH] = "size differs from row",
    [MI_HASH_MISMATCH] = "checksum differs from row",
    [MI_NOT_A_FILE] = "not a regular file",
    [MI_TEMP_FILE] = "temporary file",
    [MI_BAD_ROW] = "row the protocol cannot carry",
    [MI_TOTALS] = "meta totals differ from rows",
};

const char *media_srv_issue_name(enum media_issue k)
{
	return (unsigned)k < MI_COUNT ? issue_names[k] : "unknown";
}

struct crow {
	char *name;
	int64_t size;
	unsigned char csum[MEDIA_SHA1_LEN];
	int live, bad;
};

struct cfile {
	char *name;
	int64_t size;
};

struct check_ctx {
	struct crow *rows;
	size_t n, cap;
	int oom;
};

static int collect_row(void *arg, const struct media_row *r)
{
	struct check_ctx *c = arg;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 1024;
		struct crow *p = realloc(c->rows, nc * sizeof *p);
		if (!p) {
			c->oom = 1;
			return 1;
		}
		c->rows = p;
		c->cap = nc;
	}
	struct crow *x = &c->rows[c->n];
	x->name = strdup(r->fname);
	if (!x->name) {
		c->oom = 1;
		return 1;
	}
	x->size = r->size;
	x->live = r->size > 0;
	x->bad = x->live && (r->fname_len > MEDIA_NAME_MAX || r->csum_len != MEDIA_SHA1_LEN);
	memcpy(x->csum, r->csum, MEDIA_SHA1_LEN);
	c->n++;
	return 0;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct cfile *)a)->name, ((const struct cfile *)b)->name);
}

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct crow *)a)->name, ((const struct crow *)b)->name);
}

static void report(struct media_check *out, media_issue_fn fn, void *arg, enum media_issue k,
                   const char *name)
{
	out->issues[k]++;
	out->total_issues++;
	if (fn)
		fn(arg, k, name);
}

static enum status hash_file(int dirfd, const char *name, unsigned char sha1[20], struct errinfo *e)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errinfo_errno(e, ST_IO, "cannot open %s", name);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *buf = malloc(1u << 18);
	enum status st = ST_OK;
	if (!md || !buf || EVP_DigestInit_ex(md, EVP_sha1(), NULL) != 1)
		st = errinfo_set(e, ST_NOMEM, "out of memory");
	while (st == ST_OK) {
		ssize_t r = read(fd, buf, 1u << 18);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			st = errinfo_errno(e, ST_IO, "reading %s", name);
		} else if (r == 0) {
			break;
		} else if (EVP_DigestUpdate(md, buf, (size_t)r) != 1) {
			st = errinfo_set(e, ST_INTERNAL, "SHA-1 failed");
		}
	}
	unsigned int l = 0;
	if (st == ST_OK && EVP_DigestFinal_ex(md, sha1, &l) != 1)
		st = errinfo_set(e, ST_INTERNAL, "SHA-1 failed");
	EVP_MD_CTX_free(md);
	free(buf);
	close(fd);
	return st;
}

enum status media_srv_check(struct media_srv *m, unsigned flags, struct media_check *out,
                            media_issue_fn fn, void *arg, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	struct check_ctx c = {0};
	struct cfile *files = NULL;
	size_t nf = 0, capf = 0;
	DIR *d = NULL;
	enum status st = media_db_get_meta(m->db, &out->meta, e);
	if (st == ST_OK)
		st = media_db_count(m->db, &out->rows, &out->actual, e);
	if (st == ST_OK)
		st = media_db_each(m->db, collect_row, &c, e);
	if (st == ST_OK && c.oom)
		st = errinfo_set(e, ST_NOMEM, "out of memory");
	if (st)
		goto done;
	out->live_rows = out->actual.total_nonempty_files;
	if (out->meta.total_bytes != out->actual.total_bytes ||
	    out->meta.total_nonempty_files != out->actual.total_nonempty_files ||
	    out->meta.last_usn < out->actual.last_usn)
		report(out, fn, arg, MI_TOTALS, "");
	int dfd = openat(m->mediafd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset */
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		st = errinfo_errno(e, ST_IO, "cannot list %s/media", m->userdir);
		goto done;
	}
	rewinddir(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (media_name_is_tmp(n)) {
			report(out, fn, arg, MI_TEMP_FILE, n);
			continue;
		}
		struct stat sb;
		if (fstatat(m->mediafd, n, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* vanished meanwhile */
		if (!S_ISREG(sb.st_mode)) {
			report(out, fn, arg, MI_NOT_A_FILE, n);
			continue;
		}
		if (nf == capf) {
			size_t nc = capf ? capf * 2 : 1024;
			struct cfile *p = realloc(files, nc * sizeof *p);
			if (!p) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				goto done;
			}
			files = p;
			capf = nc;
		}
		if (!(files[nf].name = strdup(n))) {
			st = errinfo_set(e, ST_NOMEM, "out of memory");
			goto done;
		}
		files[nf++].size = sb.st_size;
	}
	out->files = (int64_t)nf;
	if (nf > 1)
		qsort(files, nf, sizeof *files, cmp_file);
	if (c.n > 1)
		qsort(c.rows, c.n, sizeof *c.rows, cmp_row);
	size_t i = 0, j = 0;
	while (i < c.n || j < nf) {
		int cmp = i == c.n ? 1 : j == nf ? -1 : strcmp(c.rows[i].name, files[j].name);
		if (cmp < 0) {
			struct crow *r = &c.rows[i++];
			if (r->bad)
				report(out, fn, arg, MI_BAD_ROW, r->name);
			if (r->live)
				report(out, fn, arg, MI_ROW_WITHOUT_FILE, r->name);
		} else if (cmp > 0) {
			report(out, fn, arg, MI_FILE_WITHOUT_ROW, files[j++].name);
		} else {
			struct crow *r = &c.rows[i++];
			struct cfile *f = &files[j++];
			if (r->bad)
				report(out, fn, arg, MI_BAD_ROW, r->name);
			if (!r->live) {
				report(out, fn, arg, MI_FILE_WITHOUT_ROW, f->name);
			} else if (r->size != f->size) {
				report(out, fn, arg, MI_SIZE_MISMATCH, f->name);
			} else if (flags & MEDIA_CHECK_HASH) {
				unsigned char sha1[MEDIA_SHA1_LEN];
				if ((st = hash_file(m->mediafd, f->name, sha1, e)))
					goto done;
				if (memcmp(sha1, r->csum, MEDIA_SHA1_LEN) != 0)
					report(out, fn, arg, MI_HASH_MISMATCH, f->name);
			}
		}
	}
done:
	if (d)
		closedir(d);
	for (size_t k = 0; k < c.n; k++)
		free(c.rows[k].name);
	free(c.rows);
	for (size_t k = 0; k < nf; k++)
		free(files[k].name);
	free(files);
	return st;
}

/* Does the media folder hold anything besides temporaries? */
static int folder_has_entries(struct media_srv *m)
{
	int dfd = openat(m->mediafd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset */
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 1; /* assume so: moving an empty folder is harmless */
	}
	struct dirent *de;
	int any = 0;
	while (!any && (de = readdir(d)) != NULL)
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		      !media_name_is_tmp(de->d_name);
	closedir(d);
	return any;
}

enum status media_srv_reset(struct media_srv *m, struct media_reset_result *res, struct errinfo *e)
{
	memset(res, 0, sizeof *res);
	struct media_meta meta, actual;
	enum status st = media_db_get_meta(m->db, &meta, e);
	if (st == ST_OK)
		st = media_db_count(m->db, &res->rows_cleared, &actual, e);
	if (st)
		return st;
	if (meta.last_usn == INT32_MAX)
		return errinfo_set(e, ST_INTERNAL, "media usn exhausted");
	res->old_usn = meta.last_usn;
	res->new_usn = meta.last_usn + 1;
	int move = folder_has_entries(m);
	if (move) {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
		for (int k = 1;; k++) {
			if (k == 1)
				snprintf(res->moved_to, sizeof res->moved_to, "%s.reset-%s",
				         MEDIA_DIR, stamp);
			else
				snprintf(res->moved_to, sizeof res->moved_to, "%s.reset-%s-%d",
				         MEDIA_DIR, stamp, k);
			struct stat sb;
			if (fstatat(m->userfd, res->moved_to, &sb, AT_SYMLINK_NOFOLLOW) != 0)
				break;
			if (k > 1000)
				return errinfo_set(e, ST_IO,
				                   "no free name for the old media folder");
		}
		if ((st = media_srv_journal_begin(m, e)) ||
		    (st = media_srv_journal_reset(m, res->moved_to, res->new_usn, e)) ||
		    (st = media_srv_journal_flush(m, e)) || (st = media_srv_sync_data(m, e))) {
			media_srv_journal_clear(m, NULL);
			return st;
		}
	}
	struct media_meta fresh = {res->new_usn, 0, 0};
	if ((st = media_db_begin(m->db, e)) == ST_OK && (st = media_db_clear(m->db, e)) == ST_OK &&
	    (st = media_db_set_meta(m->db, &fresh, e)) == ST_OK)
		st = media_db_commit(m->db, e);
	if (st) {
		media_db_rollback(m->db);
		if (m->jbegun)
			media_srv_journal_clear(m, NULL);
		return st;
	}
	media_hook(m, MH_RESET_COMMITTED);
	if (move) {
		if (renameat(m->userfd, MEDIA_DIR, m->userfd, res->moved_to) != 0)
			return errinfo_errno(
			    e, ST_IO, "cannot move %s/media aside (left to recovery)", m->userdir);
		media_hook(m, MH_RESET_MOVED);
		if ((st = media_srv_open_dir(m, e)) || (st = media_srv_sync_dir(m, m->userfd, e)) ||
		    (st = media_srv_journal_clear(m, e)))
			return st;
	}
	log_info("media reset in %s: %lld row(s) cleared, usn %d -> %d%s%s", m->userdir,
	         (long long)res->rows_cleared, (int)res->old_usn, (int)res->new_usn,
	         move ? ", files kept in " : "", move ? res->moved_to : "");
	return ST_OK;
}
