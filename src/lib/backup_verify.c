/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_verify.c - `anki-backup verify`: prove that snapshots restore.
 *
 * For each snapshot: the manifest parses and ends properly; SHA256SUMS
 * agrees with it; every stored file has the recorded size and SHA-256;
 * it decrypts (age, with the given identity) and decompresses to the
 * recorded size, SHA-256 and SHA-1; every database passes
 * PRAGMA integrity_check (with unicase registered); and every file the
 * snapshot's media.db lists as present is in the snapshot with the SHA-1
 * the media.db records (the consistency a restored server relies on,
 * sync-protocol.md §5.7).
 *
 * A stored file shared by hard links between snapshots is decompressed once
 * per run (cache keyed by device and inode, with size and mtime).
 * Problems are logged one per line, then one line per snapshot.
 */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup_dest.h"
#include "backup_fs.h"
#include "backup_manifest.h"
#include "backup_sqlite.h"
#include "backup_stream.h"
#include "bounds.h"
#include "log.h"

/* Enough problems to see the pattern; the count says the rest. */
#define MAX_PROBLEMS_SHOWN 20

struct seen {
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
	struct backup_digest d;
	int used;
};

struct vctx {
	const struct backup_verify_opts *o;
	struct backup_codec *codec;
	char *age_argv[5];
	char tmpdir[MAX_PATH_BYTES];
	struct seen *seen;
	size_t seen_cap, seen_n;
	const char *snap;
	size_t problems;
	size_t decrypted; /* stored files decrypted in this snapshot */
	int stop_snapshot; /* nothing more can be learnt (wrong key) */
};

static void problem(struct vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct vctx *v, const char *fmt, ...)
{
	v->problems++;
	if (v->problems > MAX_PROBLEMS_SHOWN)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_error("snapshot %s: %s", v->snap, msg);
}

static size_t seen_slot(ino_t ino, dev_t dev, size_t cap)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev;
	return (size_t)(h & (cap - 1));
}

static struct seen *seen_find(struct vctx *v, const struct stat *sb)
{
	if (!v->seen_cap)
		return NULL;
	int64_t mt = (int64_t)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
	for (size_t i = seen_slot(sb->st_ino, sb->st_dev, v->seen_cap);;
	     i = (i + 1) & (v->seen_cap - 1)) {
		struct seen *s = &v->seen[i];
		if (!s->used)
			return NULL;
		if (s->ino == sb->st_ino && s->dev == sb->st_dev && s->size == sb->st_size &&
		    s->mtime_ns == mt)
			return s;
	}
}

static void seen_add(struct vctx *v, const struct stat *sb, const struct backup_digest *d)
{
	if ((v->seen_n + 1) * 2 > v->seen_cap) {
		size_t nc = v->seen_cap ? v->seen_cap * 2 : 1024;
		struct seen *ns = calloc(nc, sizeof *ns);
		if (!ns)
			return; /* the cache is an optimisation only */
		for (size_t i = 0; i < v->seen_cap; i++) {
			if (!v->seen[i].used)
				continue;
			size_t j = seen_slot(v->seen[i].ino, v->seen[i].dev, nc);
			while (ns[j].used)
				j = (j + 1) & (nc - 1);
			ns[j] = v->seen[i];
		}
		free(v->seen);
		v->seen = ns;
		v->seen_cap = nc;
	}
	size_t j = seen_slot(sb->st_ino, sb->st_dev, v->seen_cap);
	while (v->seen[j].used)
		j = (j + 1) & (v->seen_cap - 1);
	v->seen[j] = (struct seen){.dev = sb->st_dev, .ino = sb->st_ino, .size = sb->st_size,
	                           .mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000LL +
	                                       sb->st_mtim.tv_nsec,
	                           .d = *d, .used = 1};
	v->seen_n++;
}

/* Stored bytes only (encrypted snapshot checked without its key). */
static enum status hash_stored(struct vctx *v, const char *path, struct backup_digest *d,
                               struct errinfo *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errinfo_errno(e, ST_IO, "cannot open %s", path);
	struct backup_digest h;
	enum status st = backup_hash_fd(v->codec, fd, &h, e);
	close(fd);
	memset(d, 0, sizeof *d);
	d->stored_size = h.size;
	memcpy(d->stored_sha256, h.sha256, 32);
	return st;
}

static int entry_cmp(const void *x, const void *y)
{
	const struct backup_entry *a = *(const struct backup_entry *const *)x;
	const struct backup_entry *b = *(const struct backup_entry *const *)y;
	int c = backup_name_cmp(a->user, a->user_len, b->user, b->user_len);
	return c ? c : backup_name_cmp(a->name, a->name_len, b->name, b->name_len);
}

/* Does the snapshot hold, for user, media file name with sha1? */
static int has_media(const struct backup_entry **media, size_t n, const struct backup_entry *db,
                     const struct backup_listed *l)
{
	struct backup_entry key = {.user = db->user, .user_len = db->user_len, .name = l->name,
	                           .name_len = l->name_len};
	const struct backup_entry *kp = &key;
	const struct backup_entry **f = bsearch(&kp, media, n, sizeof *media, entry_cmp);
	return f && l->csum_ok && memcmp((*f)->sha1, l->sha1, 20) == 0;
}

/* Unpack a database, run integrity_check, and for media.db the listing. */
/* A failure to load: when age fails on the very first file, the identity
 * is wrong (or the key file unreadable); say so once instead of once per
 * file. */
static void age_problem(struct vctx *v, const struct backup_manifest *m, const struct errinfo *e)
{
	if (m->h.encrypted && v->decrypted == 0 && e->code == ST_IO) {
		problem(v, "cannot decrypt with identity %s (wrong key?): %s", v->o->identity, e->msg);
		v->stop_snapshot = 1;
		return;
	}
	problem(v, "%s", e->msg);
}

static void check_db(struct vctx *v, const char *path, const struct backup_entry *en,
                     const struct backup_entry **media, size_t nmedia, struct backup_digest *d,
                     int *loaded, const struct backup_manifest *m)
{
	*loaded = 0;
	char tmp[MAX_PATH_BYTES];
	struct errinfo e = {0};
	if (backup_pathf(tmp, sizeof tmp, &e, "%s/%s", v->tmpdir, en->name)) {
		problem(v, "%s", e.msg);
		return;
	}
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		problem(v, "cannot create %s: %s", tmp, strerror(errno));
		return;
	}
	enum status st = backup_load(v->codec, path, v->o->identity ? v->age_argv : NULL, en->size,
	                             backup_sink_fd, &fd, d, &e);
	close(fd);
	if (st) {
		age_problem(v, m, &e);
		unlink(tmp);
		return;
	}
	*loaded = 1;
	if (d->size != en->size || memcmp(d->sha256, en->sha256, 32) != 0) {
		unlink(tmp);
		return; /* reported by the caller */
	}
	int ok = 0;
	char msg[400];
	if (backup_sqlite_check(tmp, 1, &ok, msg, sizeof msg, &e) != ST_OK)
		problem(v, "user %s: %s: %s", en->user, en->name, e.msg);
	else if (!ok)
		problem(v, "user %s: %s fails integrity_check: %s", en->user, en->name, msg);
	if (ok && strcmp(en->name, "media.db") == 0) {
		struct backup_listed *l = NULL;
		size_t nl = 0;
		enum status lst = backup_sqlite_media_list(tmp, &l, &nl, &e);
		if (lst == ST_OK) {
			/* Files the source itself lacked were counted when the
			 * snapshot was made; only more than that is our fault. */
			uint64_t known = 0;
			for (size_t u = 0; u < m->nusers; u++)
				if (m->users[u].user_len == en->user_len &&
				    memcmp(m->users[u].user, en->user, en->user_len) == 0)
					known = m->users[u].missing;
			size_t bad = 0;
			for (size_t i = 0; i < nl; i++)
				bad += !has_media(media, nmedia, en, &l[i]);
			if (bad > known) {
				size_t shown = 0;
				for (size_t i = 0; i < nl && shown < 3; i++)
					if (!has_media(media, nmedia, en, &l[i])) {
						problem(v, "user %s: media.db lists %.80s but the snapshot lacks it "
						           "(or holds other bytes)", en->user, l[i].name);
						shown++;
					}
				if (bad > 3)
					problem(v, "user %s: %zu media files listed but absent in all", en->user,
					        bad);
			} else if (bad) {
				log_warnx("snapshot %s: user %s: %zu files listed in media.db were already "
				          "missing from the source when the snapshot was made",
				          v->snap, en->user, bad);
			}
			backup_listed_free(l, nl);
		} else if (lst != ST_NOTFOUND) {
			problem(v, "user %s: reading media.db: %s", en->user, e.msg);
		}
	}
	char side[MAX_PATH_BYTES + 8];
	unlink(tmp);
	snprintf(side, sizeof side, "%s-wal", tmp);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", tmp);
	unlink(side);
}

static void verify_one(struct vctx *v, const char *dir, uint64_t *bytes, size_t *objects)
{
	char p[MAX_PATH_BYTES];
	struct backup_manifest m;
	struct errinfo e = {0};
	if (backup_pathf(p, sizeof p, &e, "%s/%s", dir, BACKUP_MANIFEST_NAME) ||
	    backup_manifest_load(p, 0, &m, &e) != ST_OK) {
		problem(v, "manifest: %s", e.msg);
		return;
	}
	struct backup_sum *sums = NULL;
	size_t nsums = 0;
	if (backup_pathf(p, sizeof p, &e, "%s/%s", dir, BACKUP_SUMS_NAME) ||
	    backup_sums_load(p, &sums, &nsums, &e) != ST_OK) {
		problem(v, "%s", e.msg);
	} else {
		const struct backup_sum *ms = backup_sums_find(sums, nsums, BACKUP_MANIFEST_NAME);
		if (!ms || memcmp(ms->sha256, m.sha256, 32) != 0)
			problem(v, "manifest.jsonl does not match its line in SHA256SUMS");
	}
	if (m.damaged)
		log_warnx("snapshot %s: a source database failed its check when this snapshot was made",
		          v->snap);

	const struct backup_entry **media = malloc((m.n ? m.n : 1) * sizeof *media);
	size_t nmedia = 0;
	if (!media) {
		problem(v, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m.n; i++)
		if (m.entries[i].kind == BACKUP_KIND_MEDIA)
			media[nmedia++] = &m.entries[i];
	qsort(media, nmedia, sizeof *media, entry_cmp);

	for (size_t i = 0; i < m.n; i++) {
		if (v->o->stop && *v->o->stop) {
			problem(v, "interrupted");
			break;
		}
		const struct backup_entry *en = &m.entries[i];
		char rel[MAX_PATH_BYTES], full[MAX_PATH_BYTES];
		if (backup_object_path(en, m.h.encrypted, rel, sizeof rel, &e) != ST_OK) {
			problem(v, "%s", e.msg);
			continue;
		}
		if (backup_pathf(full, sizeof full, &e, "%s/%s", dir, rel)) {
			problem(v, "%s", e.msg);
			continue;
		}
		if (sums) {
			const struct backup_sum *s = backup_sums_find(sums, nsums, rel);
			if (!s || memcmp(s->sha256, en->stored_sha256, 32) != 0)
				problem(v, "%s: SHA256SUMS disagrees with the manifest", rel);
		}
		struct stat sb;
		if (lstat(full, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			problem(v, "%s is missing", rel);
			continue;
		}
		if ((uint64_t)sb.st_size != en->stored_size) {
			problem(v, "%s has %lld bytes, the manifest says %llu", rel, (long long)sb.st_size,
			        (unsigned long long)en->stored_size);
			continue;
		}
		struct backup_digest d;
		memset(&d, 0, sizeof d);
		const struct seen *s = en->kind == BACKUP_KIND_MEDIA ? seen_find(v, &sb) : NULL;
		int content = !m.h.encrypted || v->o->identity;
		if (s) {
			d = s->d;
		} else if (!content) {
			if (hash_stored(v, full, &d, &e) != ST_OK) {
				problem(v, "%s", e.msg);
				continue;
			}
		} else if (en->kind == BACKUP_KIND_DB) {
			int loaded;
			check_db(v, full, en, media, nmedia, &d, &loaded, &m);
			if (v->stop_snapshot)
				break;
			if (!loaded)
				continue;
		} else {
			if (backup_load(v->codec, full, m.h.encrypted ? v->age_argv : NULL, en->size, NULL,
			                NULL, &d, &e) != ST_OK) {
				age_problem(v, &m, &e);
				if (v->stop_snapshot)
					break;
				continue;
			}
		}
		if (m.h.encrypted)
			v->decrypted++;
		(*objects)++;
		*bytes += d.stored_size;
		int bad = 0;
		if (d.stored_size != en->stored_size || memcmp(d.stored_sha256, en->stored_sha256, 32)) {
			problem(v, "%s: stored bytes do not match their SHA-256 (damaged file)", rel);
			bad = 1;
		}
		if (content && !bad &&
		    (d.size != en->size || memcmp(d.sha256, en->sha256, 32) != 0 ||
		     memcmp(d.sha1, en->sha1, 20) != 0)) {
			problem(v, "%s: restored content does not match the manifest (%.80s of user %s)", rel,
			        en->name, en->user);
			bad = 1;
		}
		if (!bad && !s && en->kind == BACKUP_KIND_MEDIA && content)
			seen_add(v, &sb, &d);
	}
out:
	free(media);
	backup_sums_free(sums, nsums);
	backup_manifest_free(&m);
}

enum status backup_verify(const struct backup_verify_opts *o, struct backup_verify_result *r,
                          struct errinfo *e)
{
	memset(r, 0, sizeof *r);
	struct vctx v = {.o = o};
	struct backup_snapref *refs = NULL;
	size_t n = 0;
	int lockfd = -1;
	enum status st = backup_fs_lock(o->dest, 0, &lockfd, e);
	if (st)
		return st;
	st = backup_dest_scan(o->dest, &refs, &n, e);
	if (st)
		goto out;
	size_t first = 0, last = n;
	if (o->snapshot) {
		long i = backup_dest_resolve(refs, n, o->snapshot, e);
		if (i < 0) {
			st = e ? e->code : ST_NOTFOUND;
			goto out;
		}
		first = (size_t)i;
		last = first + 1;
	} else if (n == 0) {
		st = errinfo_set(e, ST_NOTFOUND, "no snapshots in %s", o->dest);
		goto out;
	}
	for (size_t i = first; i < last; i++) {
		if (refs[i].readable && refs[i].encrypted && !o->identity && !o->stored_only) {
			st = errinfo_set(e, ST_INVALID,
			                 "snapshot %s is encrypted: pass --identity FILE to check its "
			                 "contents, or --stored-only to check only the stored bytes",
			                 refs[i].name);
			goto out;
		}
	}
	v.age_argv[0] = (char *)(o->age ? o->age : "age");
	v.age_argv[1] = (char *)"--decrypt";
	v.age_argv[2] = (char *)"-i";
	v.age_argv[3] = (char *)o->identity;
	v.age_argv[4] = NULL;
	st = backup_codec_new(&v.codec, 3, 0, e);
	if (st)
		goto out;
	const char *tmpbase = o->tmpdir ? o->tmpdir : getenv("TMPDIR");
	snprintf(v.tmpdir, sizeof v.tmpdir, "%s/anki-backup-verify-XXXXXX",
	         tmpbase && *tmpbase ? tmpbase : "/tmp");
	if (!mkdtemp(v.tmpdir)) {
		st = errinfo_errno(e, ST_IO, "cannot create a temporary directory in %s",
		                   tmpbase && *tmpbase ? tmpbase : "/tmp");
		v.tmpdir[0] = '\0';
		goto out;
	}
	for (size_t i = first; i < last; i++) {
		int64_t t0 = backup_now_ns();
		v.snap = refs[i].name;
		v.problems = 0;
		v.decrypted = 0;
		v.stop_snapshot = 0;
		r->snapshots++;
		uint64_t bytes = 0;
		size_t objects = 0;
		if (!refs[i].readable) {
			problem(&v, "manifest: %s", refs[i].problem);
		} else {
			char dir[MAX_PATH_BYTES];
			snprintf(dir, sizeof dir, "%s/%s", o->dest, refs[i].name);
			verify_one(&v, dir, &bytes, &objects);
		}
		double secs = (double)(backup_now_ns() - t0) / 1e9;
		if (v.problems) {
			if (v.problems > MAX_PROBLEMS_SHOWN)
				log_error("snapshot %s: ... %zu problems in all", v.snap, v.problems);
			log_error("snapshot %s: FAILED problems=%zu seconds=%.2f", v.snap, v.problems, secs);
			r->bad++;
			r->problems += v.problems;
		} else {
			int partial = refs[i].encrypted && !o->identity;
			log_info("snapshot %s: ok%s stored_files=%zu stored=%.1fMiB seconds=%.2f", v.snap,
			         partial ? " (stored bytes only: contents not decrypted)" : "", objects,
			         (double)bytes / 1048576.0, secs);
			r->good++;
		}
	}
	if (r->bad)
		st = errinfo_set(e, ST_CORRUPT, "%zu of %zu snapshots failed verification", r->bad,
		                 r->snapshots);
out:
	if (v.tmpdir[0]) {
		char parent[MAX_PATH_BYTES];
		snprintf(parent, sizeof parent, "%s", v.tmpdir);
		char *slash = strrchr(parent, '/');
		if (slash) {
			*slash = '\0';
			int pfd = open(parent[0] ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (pfd >= 0) {
				backup_fs_rmtree(pfd, slash + 1, NULL);
				close(pfd);
			}
		}
	}
	free(v.seen);
	backup_codec_free(v.codec);
	free(refs);
	if (lockfd >= 0)
		close(lockfd);
	return st;
}
