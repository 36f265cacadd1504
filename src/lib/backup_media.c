/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_media.c - media folder + media.db of one user into a snapshot
 * (consistency rule and storage in backup_media.h; media DB:
 * sync-protocol.md §5.7).
 *
 * Cost model, cheapest first, for each file in the folder:
 *   1. same stat key as captured earlier in this run      -> nothing read
 *   2. same stat key as in the previous snapshot          -> hard link
 *   3. same name and size as before, stat changed         -> hash only; link
 *      when the SHA-1 is already stored (e.g. after a restore)
 *   4. otherwise                                          -> compress once
 * Invariant: every object file in users/<user>/media/ of the new snapshot
 * is referenced by at least one entry when this step returns (objects of
 * abandoned attempts are removed).
 *
 * The sync server's own temporaries (media_name.h: an upload being
 * extracted, or left by a crash until the server sweeps them) are skipped:
 * they hold partial bytes under names no client can use, the server
 * deletes them on its next open, and a restore must not bring them back.
 */
#include "backup_media.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup_db.h"
#include "backup_fs.h"
#include "backup_sqlite.h"
#include "log.h"
#include "media_name.h"
#include "path.h"

/* A stored object of this user in the new snapshot. */
struct obj {
	unsigned char sha1[20];
	int used;
	int referenced;
	uint64_t stored_size;
	unsigned char stored_sha256[32];
	int64_t stored_mtime_ns;
};

/* Open addressing on the first 8 bytes of the SHA-1 (uniform already). */
struct objset {
	struct obj *slots;
	size_t cap, n;
};

struct mctx {
	struct backup_run *run;
	const char *user;
	size_t user_len;
	int srcfd;  /* the source media folder */
	int prevfd; /* the previous snapshot's users/<user>/media, or -1 */
	int objfd;  /* this snapshot's users/<user>/media */
	char objdir[MAX_PATH_BYTES];
	struct objset objs;
	struct backup_entry *cache; /* previous attempt, sorted by name */
	size_t ncache;
	unsigned tmpseq;
};

static size_t slot_of(const unsigned char sha1[20], size_t cap)
{
	uint64_t h;
	memcpy(&h, sha1, sizeof h);
	return (size_t)(h & (cap - 1));
}

static struct obj *objset_find(struct objset *s, const unsigned char sha1[20])
{
	if (s->cap == 0)
		return NULL;
	for (size_t i = slot_of(sha1, s->cap);; i = (i + 1) & (s->cap - 1)) {
		if (!s->slots[i].used)
			return NULL;
		if (memcmp(s->slots[i].sha1, sha1, 20) == 0)
			return &s->slots[i];
	}
}

static enum status objset_add(struct objset *s, const struct obj *o, struct obj **where,
                              struct errinfo *e)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 1024;
		struct obj *ns = calloc(nc, sizeof *ns);
		if (!ns)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slots[i].used)
				continue;
			size_t j = slot_of(s->slots[i].sha1, nc);
			while (ns[j].used)
				j = (j + 1) & (nc - 1);
			ns[j] = s->slots[i];
		}
		free(s->slots);
		s->slots = ns;
		s->cap = nc;
	}
	size_t j = slot_of(o->sha1, s->cap);
	while (s->slots[j].used)
		j = (j + 1) & (s->cap - 1);
	s->slots[j] = *o;
	s->slots[j].used = 1;
	s->n++;
	if (where)
		*where = &s->slots[j];
	return ST_OK;
}

static int entry_name_cmp(const void *x, const void *y)
{
	const struct backup_entry *a = x, *b = y;
	return backup_name_cmp(a->name, a->name_len, b->name, b->name_len);
}

static const struct backup_entry *entries_find(const struct backup_entry *v, size_t n,
                                               const char *name, size_t len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = backup_name_cmp(v[mid].name, v[mid].name_len, name, len);
		if (c == 0)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void entries_free(struct backup_entry *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		backup_entry_free(&v[i]);
	free(v);
}

static enum status obj_path(const struct mctx *m, const unsigned char sha1[20], char *out,
                            size_t cap, struct errinfo *e)
{
	char hex[41];
	backup_hex(hex, sha1, 20);
	int n =
	    snprintf(out, cap, "%s/%s%s", m->objdir, hex, m->run->encrypted ? ".zst.age" : ".zst");
	if (n < 0 || (size_t)n >= cap)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	return ST_OK;
}

/* An entry for name with content (size, sha256, sha1) stored as o. */
static enum status entry_make(struct mctx *m, struct backup_entry *en, const char *name,
                              uint64_t size, const unsigned char sha256[32],
                              const unsigned char sha1[20], const struct obj *o,
                              const struct backup_stat *key, struct errinfo *e)
{
	memset(en, 0, sizeof *en);
	en->kind = BACKUP_KIND_MEDIA;
	en->user = strdup(m->user);
	en->user_len = m->user_len;
	en->name_len = strlen(name);
	en->name = strdup(name);
	if (!en->user || !en->name) {
		backup_entry_free(en);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	en->size = size;
	memcpy(en->sha256, sha256, 32);
	memcpy(en->sha1, sha1, 20);
	en->stored_size = o->stored_size;
	memcpy(en->stored_sha256, o->stored_sha256, 32);
	en->stored_mtime_ns = o->stored_mtime_ns;
	en->src = *key;
	return ST_OK;
}

/* The object for sha1, from this run or linked from the previous snapshot;
 * NULL when neither has it. */
static enum status find_or_link(struct mctx *m, const unsigned char sha1[20], struct obj **out,
                                struct errinfo *e)
{
	*out = objset_find(&m->objs, sha1);
	if (*out)
		return ST_OK;
	const struct backup_entry *q =
	    backup_prev_find_sha1(m->run->prev, m->user, m->user_len, sha1);
	if (!q || m->prevfd < 0)
		return ST_OK;
	/* Relative to open directories: thousands of unchanged files must not
	 * each pay for two walks down the full paths. */
	char name[64];
	backup_hex(name, sha1, 20);
	strcat(name, m->run->encrypted ? ".zst.age" : ".zst");
	struct stat sb;
	if (fstatat(m->prevfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size != q->stored_size ||
	    (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec != q->stored_mtime_ns)
		return ST_OK; /* changed behind our back: store anew */
	struct obj o = {.stored_size = q->stored_size, .stored_mtime_ns = q->stored_mtime_ns};
	memcpy(o.sha1, sha1, 20);
	memcpy(o.stored_sha256, q->stored_sha256, 32);
	if (linkat(m->prevfd, name, m->objfd, name, 0) == 0) {
		m->run->linked++;
	} else {
		/* Links refused (or odd): the path-based helper copies. */
		char from[MAX_PATH_BYTES], to[MAX_PATH_BYTES];
		enum status st;
		if (!backup_prev_object_ok(m->run->prev, q, from, sizeof from))
			return ST_OK;
		if ((st = obj_path(m, sha1, to, sizeof to, e)) ||
		    (st = backup_run_reuse(m->run, from, to, q->stored_mtime_ns, &o.stored_mtime_ns,
		                           e)))
			return st;
	}
	return objset_add(&m->objs, &o, out, e);
}

/* Compress fd (from its start) into a new object; *got is its object. */
static enum status store_new(struct mctx *m, int fd, uint64_t size_hint, struct backup_digest *d,
                             struct obj **got, struct errinfo *e)
{
	char tmp[MAX_PATH_BYTES], final[MAX_PATH_BYTES];
	int n = snprintf(tmp, sizeof tmp, "%s/.tmp-%u", m->objdir, m->tmpseq++);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	struct backup_out out;
	enum status st = backup_out_open(&out, m->run->codec, tmp, m->run->age_argv, size_hint, e);
	if (st)
		return st;
	st = backup_out_copy_fd(&out, fd, e);
	if (st) {
		backup_out_abort(&out);
		return st;
	}
	st = backup_out_finish(&out, d, e);
	if (st)
		return st;
	st = find_or_link(m, d->sha1, got, e);
	if (st || *got) {
		unlink(tmp);
		return st;
	}
	st = obj_path(m, d->sha1, final, sizeof final, e);
	if (!st && rename(tmp, final) != 0)
		st = errinfo_errno(e, ST_IO, "cannot rename %s to %s", tmp, final);
	if (st) {
		unlink(tmp);
		return st;
	}
	m->run->new_stored_bytes += d->stored_size;
	struct obj o = {.stored_size = d->stored_size, .stored_mtime_ns = d->stored_mtime_ns};
	memcpy(o.sha1, d->sha1, 20);
	memcpy(o.stored_sha256, d->stored_sha256, 32);
	return objset_add(&m->objs, &o, got, e);
}

/* Cases 1 and 2 (see the top of this file): no need to open the file.
 * *done = 1 when en was filled. */
static enum status capture_known(struct mctx *m, const char *name, const struct backup_stat *key,
                                 struct backup_entry *en, int *done, struct errinfo *e)
{
	*done = 0;
	size_t nlen = strlen(name);
	const struct backup_entry *c = entries_find(m->cache, m->ncache, name, nlen);
	if (c && backup_stat_equal(&c->src, key)) {
		struct obj *o = objset_find(&m->objs, c->sha1);
		if (o) {
			*done = 1;
			return entry_make(m, en, name, c->size, c->sha256, c->sha1, o, key, e);
		}
	}
	const struct backup_entry *p = backup_prev_find_name(m->run->prev, BACKUP_KIND_MEDIA,
	                                                     m->user, m->user_len, name, nlen);
	if (p && backup_stat_equal(&p->src, key)) {
		struct obj *o = NULL;
		enum status st = find_or_link(m, p->sha1, &o, e);
		if (st)
			return st;
		if (o) {
			*done = 1;
			return entry_make(m, en, name, p->size, p->sha256, p->sha1, o, key, e);
		}
	}
	return ST_OK;
}

/* Cases 3 and 4: read the file. */
static enum status capture_fd(struct mctx *m, const char *name, int fd,
                              const struct backup_stat *key, struct backup_entry *en, int *changed,
                              struct errinfo *e)
{
	*changed = 0;
	const struct backup_entry *p = backup_prev_find_name(
	    m->run->prev, BACKUP_KIND_MEDIA, m->user, m->user_len, name, strlen(name));
	struct obj *o = NULL;
	enum status st;
	struct backup_digest d;
	memset(&d, 0, sizeof d);
	if (p && p->size == key->size) {
		/* Probably the same bytes under a new stat (touched, restored). */
		st = backup_hash_fd(m->run->codec, fd, &d, e);
		if (!st)
			st = find_or_link(m, d.sha1, &o, e);
		if (st)
			return st;
		if (!o && lseek(fd, 0, SEEK_SET) != 0)
			return errinfo_errno(e, ST_IO, "cannot rewind media file %s", name);
	}
	if (!o) {
		st = store_new(m, fd, key->size, &d, &o, e);
		if (st)
			return errinfo_prefix(e, "media file %s", name);
		if (!o)
			return errinfo_set(e, ST_INTERNAL, "media file %s: no stored object", name);
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return errinfo_errno(e, ST_IO, "cannot stat media file %s", name);
	struct backup_stat after;
	backup_stat_from(&after, &sb);
	if (!backup_stat_equal(&after, key) || d.size != key->size)
		*changed = 1;
	return entry_make(m, en, name, d.size, d.sha256, d.sha1, o, key, e);
}

/* Files being rewritten while we read them are read again, a few times. */
#define CAPTURE_TRIES 3

/* force: read the file even if its stat says it is known (a listed file
 * that did not match: a rewrite within one timestamp tick keeps the stat). */
static enum status capture(struct mctx *m, const char *name, struct backup_entry *en, int *skip,
                           int force, struct errinfo *e)
{
	*skip = 0;
	struct stat sb;
	if (fstatat(m->srcfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT) { /* deleted meanwhile */
			*skip = 1;
			return ST_OK;
		}
		return errinfo_errno(e, ST_IO, "cannot stat media file %s", name);
	}
	if (!S_ISREG(sb.st_mode)) { /* symlinks, sockets: not media a server writes */
		*skip = 1;
		return ST_OK;
	}
	struct backup_stat key0;
	backup_stat_from(&key0, &sb);
	int done = 0;
	enum status st0 = force ? ST_OK : capture_known(m, name, &key0, en, &done, e);
	if (st0 || done)
		return st0;
	for (int tries = 1;; tries++) {
		int fd = openat(m->srcfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			if (errno == ENOENT ||
			    errno == ELOOP) { /* deleted meanwhile, or a symlink */
				*skip = 1;
				return ST_OK;
			}
			return errinfo_errno(e, errno == EACCES ? ST_PERM : ST_IO,
			                     "cannot open media file %s", name);
		}
		if (fstat(fd, &sb) != 0) {
			close(fd);
			return errinfo_errno(e, ST_IO, "cannot stat media file %s", name);
		}
		if (!S_ISREG(sb.st_mode)) {
			close(fd);
			*skip = 1;
			return ST_OK;
		}
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		struct backup_stat key;
		backup_stat_from(&key, &sb);
		int changed = 0;
		enum status st = capture_fd(m, name, fd, &key, en, &changed, e);
		close(fd);
		if (st || !changed)
			return st;
		if (tries >= CAPTURE_TRIES) {
			/* Keep what we read; if media.db lists it, the listing check
			 * catches a mismatch and the whole attempt repeats. */
			en->src.mtime_ns = 0; /* never trust this key for reuse */
			return ST_OK;
		}
		backup_entry_free(en);
	}
}

static enum status scan_folder(struct mctx *m, struct backup_entry **out, size_t *n,
                               struct errinfo *e)
{
	*out = NULL;
	*n = 0;
	if (m->srcfd < 0)
		return ST_OK;
	int dfd = dup(m->srcfd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return errinfo_errno(e, ST_IO, "cannot read media folder of %s", m->user);
	}
	rewinddir(d);
	struct backup_entry *v = NULL;
	size_t cnt = 0, cap = 0;
	enum status st = ST_OK;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    media_name_is_tmp(de->d_name))
			continue;
		if (backup_run_stopped(m->run)) {
			st = errinfo_set(e, ST_IO, "interrupted");
			break;
		}
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct backup_entry *nv = realloc(v, nc * sizeof *nv);
			if (!nv) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			v = nv;
			cap = nc;
		}
		int skip = 0;
		st = capture(m, de->d_name, &v[cnt], &skip, 0, e);
		if (st)
			break;
		if (!skip)
			cnt++;
		errno = 0;
	}
	if (!st && errno != 0)
		st = errinfo_errno(e, ST_IO, "reading media folder of %s failed", m->user);
	closedir(d);
	if (st) {
		entries_free(v, cnt);
		return st;
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof *v, entry_name_cmp);
	*out = v;
	*n = cnt;
	return ST_OK;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void backup_media_out_free(struct backup_media_out *out)
{
	entries_free(out->files, out->nfiles);
	if (out->have_mediadb)
		backup_entry_free(&out->mediadb);
	memset(out, 0, sizeof *out);
}

/* Remove objects no final entry refers to (left by re-read files). */
static void drop_unreferenced(struct mctx *m, const struct backup_entry *v, size_t n)
{
	for (size_t i = 0; i < m->objs.cap; i++)
		m->objs.slots[i].referenced = 0;
	for (size_t i = 0; i < n; i++) {
		struct obj *o = objset_find(&m->objs, v[i].sha1);
		if (o)
			o->referenced = 1;
	}
	for (size_t i = 0; i < m->objs.cap; i++) {
		struct obj *o = &m->objs.slots[i];
		char p[MAX_PATH_BYTES];
		if (o->used && !o->referenced && obj_path(m, o->sha1, p, sizeof p, NULL) == ST_OK) {
			struct stat sb;
			if (stat(p, &sb) == 0)
				m->run->new_stored_bytes -= sb.st_nlink == 1 ? o->stored_size : 0;
			unlink(p);
		}
	}
}

/* A listed file that did not match, as seen in one attempt. */
struct miss {
	char *name; /* borrowed from the listing of that attempt */
	size_t name_len;
	unsigned char csum[20];
	int csum_ok;
	int have_file;
	struct backup_stat key; /* of the captured file */
};

/* Listed files whose captured content is absent or differs. */
static enum status find_misses(const struct backup_listed *l, size_t nl,
                               const struct backup_entry *cur, size_t ncur, struct miss **out,
                               size_t *n, struct errinfo *e)
{
	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < nl; i++) {
		const struct backup_entry *f = entries_find(cur, ncur, l[i].name, l[i].name_len);
		if (f && l[i].csum_ok && memcmp(f->sha1, l[i].sha1, 20) == 0)
			continue;
		if (!*out && !(*out = calloc(nl, sizeof **out)))
			return errinfo_set(e, ST_NOMEM, "out of memory");
		struct miss *ms = &(*out)[(*n)++];
		ms->name = l[i].name;
		ms->name_len = l[i].name_len;
		ms->csum_ok = l[i].csum_ok;
		memcpy(ms->csum, l[i].sha1, 20);
		ms->have_file = f != NULL;
		if (f)
			ms->key = f->src;
	}
	return ST_OK;
}

/* Is name among the misses (sorted by name, as the listing they came from)? */
static int is_miss(const struct miss *v, size_t n, const char *name, size_t len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = backup_name_cmp(v[mid].name, v[mid].name_len, name, len);
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Same miss in two consecutive attempts: neither the row nor the file moved,
 * so it is the source's own inconsistency, not a race with a writer. */
static int miss_stable(const struct miss *prev, size_t np, const struct miss *ms)
{
	for (size_t i = 0; i < np; i++) {
		const struct miss *p = &prev[i];
		if (backup_name_cmp(p->name, p->name_len, ms->name, ms->name_len) != 0)
			continue;
		return p->csum_ok == ms->csum_ok && memcmp(p->csum, ms->csum, 20) == 0 &&
		       p->have_file == ms->have_file &&
		       (!ms->have_file || backup_stat_equal(&p->key, &ms->key));
	}
	return 0;
}

/* Capture again the named files (after a fresh media.db copy) and fold the
 * results into *cur, which stays sorted.  The first nforce names are read
 * whatever their stat; for the others an unchanged stat costs one fstatat. */
static enum status recapture(struct mctx *m, char **names, const size_t *lens, size_t n,
                             size_t nforce, struct backup_entry **cur, size_t *ncur,
                             struct errinfo *e)
{
	struct backup_entry *extra = NULL;
	size_t nextra = 0;
	enum status st = ST_OK;
	/* Entries stay in place (the cache is searched by bisection) until
	 * the end; gone ones are only marked. */
	unsigned char *gone = calloc(*ncur + 1, 1);
	if (!gone)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	m->cache = *cur;
	m->ncache = *ncur;
	for (size_t i = 0; i < n && !st; i++) {
		if (memchr(names[i], '\0', lens[i]) || !path_name_ok(names[i], lens[i]))
			continue; /* a row no file can match; stays a miss */
		struct backup_entry *old =
		    (struct backup_entry *)entries_find(*cur, *ncur, names[i], lens[i]);
		struct backup_entry ne;
		int skip = 0;
		st = capture(m, names[i], &ne, &skip, i < nforce, e);
		if (st)
			break;
		if (skip) {
			if (old)
				gone[old - *cur] = 1;
			continue;
		}
		if (old) {
			backup_entry_free(old);
			*old = ne;
			continue;
		}
		struct backup_entry *nx = realloc(extra, (nextra + 1) * sizeof *nx);
		if (!nx) {
			backup_entry_free(&ne);
			st = errinfo_set(e, ST_NOMEM, "out of memory");
			break;
		}
		extra = nx;
		extra[nextra++] = ne;
	}
	m->cache = NULL;
	m->ncache = 0;
	/* Drop removed entries, add new ones, sort again. */
	size_t k = 0;
	for (size_t i = 0; i < *ncur; i++) {
		if (gone[i])
			backup_entry_free(&(*cur)[i]);
		else
			(*cur)[k++] = (*cur)[i];
	}
	*ncur = k;
	free(gone);
	if (!st && nextra) {
		struct backup_entry *nc = realloc(*cur, (*ncur + nextra) * sizeof *nc);
		if (!nc) {
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		} else {
			*cur = nc;
			memcpy(*cur + *ncur, extra, nextra * sizeof *extra);
			*ncur += nextra;
			nextra = 0;
		}
	}
	entries_free(extra, nextra);
	if (*ncur > 1)
		qsort(*cur, *ncur, sizeof **cur, entry_name_cmp);
	return st;
}

enum status backup_media_user(struct backup_run *run, const char *user, const char *srcdir,
                              const char *dstdir, struct backup_media_out *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	struct mctx m = {.run = run,
	                 .user = user,
	                 .user_len = strlen(user),
	                 .srcfd = -1,
	                 .prevfd = -1,
	                 .objfd = -1};
	char p[MAX_PATH_BYTES], raw_path[MAX_PATH_BYTES];
	enum status st = ST_OK;
	struct backup_listed *listed = NULL, *prev_listed = NULL;
	size_t nlisted = 0, nprev_listed = 0;
	struct miss *miss = NULL, *prev_miss = NULL;
	size_t nmiss = 0, nprev_miss = 0;
	char **names = NULL;
	size_t *lens = NULL;
	struct backup_entry *cur = NULL;
	size_t ncur = 0;
	struct backup_db_raw raw;
	int have_raw = 0;

	if ((st = backup_pathf(m.objdir, sizeof m.objdir, e, "%s/media", dstdir)) ||
	    (st = backup_pathf(raw_path, sizeof raw_path, e, "%s/.raw-media.db", dstdir)) ||
	    (st = backup_pathf(p, sizeof p, e, "%s/media", srcdir)))
		return st;
	if (mkdir(m.objdir, 0700) != 0 && errno != EEXIST)
		return errinfo_errno(e, ST_IO, "cannot create %s", m.objdir);
	m.objfd = open(m.objdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m.objfd < 0)
		return errinfo_errno(e, ST_IO, "cannot open %s", m.objdir);
	if (run->prev) {
		char pp[MAX_PATH_BYTES];
		if (backup_pathf(pp, sizeof pp, NULL, "%s/users/%s/media", run->prev->dir, user) ==
		    ST_OK)
			m.prevfd = open(pp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	}
	m.srcfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m.srcfd < 0 && errno != ENOENT) {
		st = errinfo_errno(e, ST_IO, "cannot open %s", p);
		goto out;
	}
	if ((st = backup_pathf(p, sizeof p, e, "%s/media.db", srcdir)))
		goto out;
	struct stat sb;
	int has_db = stat(p, &sb) == 0 && S_ISREG(sb.st_mode);

	/* Attempt 1 copies media.db and reads the whole folder; each later
	 * attempt copies media.db again and re-reads only the names that did
	 * not match or whose rows changed, so the window a writer can hit
	 * shrinks to a few files. */
	int attempt;
	for (attempt = 1;; attempt++) {
		if (backup_run_stopped(run)) {
			st = errinfo_set(e, ST_IO, "interrupted");
			goto out;
		}
		backup_listed_free(prev_listed, nprev_listed);
		prev_listed = listed;
		nprev_listed = nlisted;
		listed = NULL;
		nlisted = 0;
		if (has_db) {
			st = backup_db_copy(run, srcdir, "media.db", raw_path, &raw, e);
			if (st)
				goto out;
			have_raw = 1;
			struct errinfo le = {0};
			enum status lst =
			    backup_sqlite_media_list(raw_path, &listed, &nlisted, &le);
			if (lst == ST_NOTFOUND) {
				if (attempt == 1)
					log_warnx("user %s: media.db has no media table; media "
					          "folder copied as is",
					          user);
			} else if (lst) {
				st = errinfo_set(e, lst, "%s", le.msg);
				goto out;
			}
		}
		if (attempt == 1) {
			st = scan_folder(&m, &cur, &ncur, e);
		} else {
			/* Names to read again: last misses, and rows that changed. */
			size_t n = 0;
			free(names);
			free(lens);
			names = calloc(nmiss + nlisted + 1, sizeof *names);
			lens = calloc(nmiss + nlisted + 1, sizeof *lens);
			if (!names || !lens) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				goto out;
			}
			for (size_t i = 0; i < nmiss; i++) {
				names[n] = miss[i].name;
				lens[n++] = miss[i].name_len;
			}
			for (size_t i = 0; i < nlisted; i++) {
				const struct backup_listed *o = backup_listed_find(
				    prev_listed, nprev_listed, listed[i].name, listed[i].name_len);
				if ((!o || o->csum_ok != listed[i].csum_ok ||
				     memcmp(o->sha1, listed[i].sha1, 20) != 0) &&
				    !is_miss(miss, nmiss, listed[i].name, listed[i].name_len)) {
					names[n] = listed[i].name;
					lens[n++] = listed[i].name_len;
				}
			}
			st = recapture(&m, names, lens, n, nmiss, &cur, &ncur, e);
		}
		if (st)
			goto out;
		free(prev_miss);
		prev_miss = miss;
		nprev_miss = nmiss;
		miss = NULL;
		st = find_misses(listed, nlisted, cur, ncur, &miss, &nmiss, e);
		if (st)
			goto out;
		if (nmiss == 0 || attempt >= BACKUP_MEDIA_ATTEMPTS)
			break;
		/* All misses unchanged since the last attempt: a fact of the
		 * source (a listed file missing or different on disk), not a race. */
		if (attempt >= 3) {
			size_t stable = 0;
			for (size_t i = 0; i < nmiss; i++)
				stable += miss_stable(prev_miss, nprev_miss, &miss[i]);
			if (stable == nmiss)
				break;
		}
		log_debug("user %s: %zu media files changed while being copied (attempt %d)", user,
		          nmiss, attempt);
		/* Let a server finish writing what it started (file, then row). */
		sleep_ms(attempt < 10 ? 10 : 50);
	}
	if (attempt > 1)
		log_info(
		    "user %s: media changed while being copied; consistent after %d attempts%s",
		    user, attempt, nmiss ? " (with source gaps)" : "");
	if (nmiss) {
		size_t unstable = 0;
		for (size_t i = 0; i < nmiss; i++)
			unstable += !miss_stable(prev_miss, nprev_miss, &miss[i]);
		if (unstable) {
			st = errinfo_set(
			    e, ST_CONFLICT,
			    "media kept changing while being copied (%zu files still differ "
			    "from media.db after %d attempts); nothing written, run again later",
			    unstable, attempt);
			goto out;
		}
		char shown[300] = "";
		for (size_t i = 0; i < nmiss && i < 3; i++) {
			size_t l = strlen(shown);
			snprintf(shown + l, sizeof shown - l, "%s%.60s", l ? ", " : "",
			         miss[i].name);
		}
		log_warnx(
		    "user %s: %zu files listed in media.db are missing from media/ or hold other "
		    "bytes (%s%s); the snapshot keeps the source as it is",
		    user, nmiss, shown, nmiss > 3 ? ", ..." : "");
	}
	for (size_t i = 0; i < ncur; i++) {
		const struct backup_listed *l =
		    backup_listed_find(listed, nlisted, cur[i].name, cur[i].name_len);
		cur[i].listed = l && l->csum_ok && memcmp(l->sha1, cur[i].sha1, 20) == 0;
		if (!cur[i].listed)
			out->unlisted++;
	}
	out->missing = nmiss;
	drop_unreferenced(&m, cur, ncur);
	if (have_raw) {
		have_raw = 0;
		st = backup_db_store_raw(run, user, dstdir, "media.db", &raw, &out->mediadb,
		                         &out->damaged, e);
		if (!st)
			out->have_mediadb = 1;
	}
out:
	if (have_raw)
		unlink(raw_path);
	free(names);
	free(lens);
	free(miss);
	free(prev_miss);
	backup_listed_free(listed, nlisted);
	backup_listed_free(prev_listed, nprev_listed);
	free(m.objs.slots);
	if (m.srcfd >= 0)
		close(m.srcfd);
	if (m.prevfd >= 0)
		close(m.prevfd);
	if (m.objfd >= 0)
		close(m.objfd);
	if (st) {
		entries_free(cur, ncur);
		return st;
	}
	out->files = cur;
	out->nfiles = ncur;
	return ST_OK;
}
