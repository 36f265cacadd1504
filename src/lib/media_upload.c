/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_upload.c - uploadChanges (sync-protocol.md §5.4, §5.10, §8.5).
 *
 * Limits are enforced before anything is allocated or written: the _meta
 * member's declared size (50 KiB), the entry count (25), every name
 * (media_name.h), each member's declared size (1..100 MiB, no encryption,
 * a method libzip can decode) and the sum of declared sizes
 * (media_opts.max_upload_bytes).  Extraction then counts the real bytes and
 * stops one byte past the declared size, so a member whose header lies (a
 * "zip bomb" that inflates beyond its declared size, or a short member)
 * is refused with the rest of the upload; libzip verifies the CRC at the
 * end of each member.  Each added file is hashed (SHA-1, streaming) in the
 * same pass that writes it: its bytes are read from the zip once.  A batch
 * whose added files average media_opts.parallel_min bytes or more is
 * extracted by two threads (extract_all).  Memory use is one 256 KiB
 * buffer per thread, whatever the sizes.
 *
 * The write order (journal -> new files in place, others as temporaries ->
 * commit -> renames) and the crash argument are in media_srv.c.
 *
 * Two repairs the official server does not make, both without a USN
 * change: an addition identical to the live row whose file is missing (or
 * has the wrong size) on disk rewrites the file; a deletion of a name
 * without a live row removes a stray file of that name.  Both restore
 * "every live row has its file, every file has a live row".
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "log.h"
#include "media_internal.h"
#include "media_srv.h"

#define COPY_BUF (256u * 1024)

enum act {
	ACT_NONE,    /* already have / already deleted */
	ACT_ADD,     /* new live row, rename tmp -> name (or written there) */
	ACT_REPLACE, /* live row replaced, rename tmp -> name */
	ACT_REPAIR,  /* row unchanged, its missing file rewritten */
	ACT_DELETE,  /* row marked deleted, unlink name */
	ACT_CLEAN,   /* row unchanged (not live), stray file unlinked */
};

struct up_entry {
	const char *name; /* in the parsed _meta (kept alive) */
	size_t len;
	int del;
	zip_int64_t idx;
	zip_uint64_t declared;
	char tmp[MEDIA_TMP_NAME_MAX];
	int has_tmp;
	int direct;     /* to be written as media/<name> itself (choose_direct) */
	int has_direct; /* media/<name> created by this batch, not committed */
	unsigned char sha1[MEDIA_SHA1_LEN];
	enum act act;
};

struct upload {
	struct media_srv *m;
	zip_t *za;
	const char *zip_path; /* the zip: a file ... */
	const void *zip_data; /* ... or memory */
	size_t zip_len;
	json_t *meta;
	struct up_entry ent[MEDIA_ZIP_FILES_MAX];
	size_t n;
	unsigned char *buf;
};

/* One extraction worker: libzip handles are not shared between threads,
 * so each has its own over the same (read-only) zip, its own copy buffer
 * and its own error.  Entries are disjoint, so each up_entry is written
 * by one worker only. */
struct xworker {
	struct upload *u;
	zip_t *za;
	unsigned char *buf;
	size_t idx[MEDIA_ZIP_FILES_MAX];
	size_t n;
	enum status st;
	struct errinfo e;
};

/* A libzip error as a status: the client's bytes are bad (400) unless
 * memory ran out.  Our own I/O on the spooled body is checked apart
 * (open_zip): once libzip has the bytes, even its "no such file" describes
 * the client's data (found by tests/fuzz/fuzz_media_upload.c: a damaged
 * local header answered 500). */
static enum status zip_status(int zerr)
{
	return zerr == ZIP_ER_MEMORY ? ST_NOMEM : ST_INVALID;
}

/* The zip from the spooled body at path: failing to open the file is our
 * I/O (500), anything libzip then refuses is the client's (400). */
static enum status open_zip(struct upload *u, const char *path, struct errinfo *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errinfo_errno(e, ST_IO, "cannot open the upload body %s", path);
	int zerr = 0;
	u->za = zip_fdopen(fd, ZIP_RDONLY | ZIP_CHECKCONS, &zerr); /* owns fd on success */
	if (!u->za) {
		close(fd);
		zip_error_t ze;
		zip_error_init_with_code(&ze, zerr);
		/* ZIP_ER_OPEN: libzip could not dup or fdopen it (descriptors) */
		enum status st = errinfo_set(e, zerr == ZIP_ER_OPEN ? ST_IO : zip_status(zerr),
		                             "unzip files: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return st;
	}
	return ST_OK;
}

/* The same from a zip in memory (not copied: it must outlive u->za). */
static enum status open_zip_mem(struct upload *u, const void *data, size_t len, struct errinfo *e)
{
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
	enum status st = ST_OK;
	if (!src) {
		st = errinfo_set(e, ST_NOMEM, "unzip files: %s", zip_error_strerror(&ze));
	} else if (!(u->za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze))) {
		st = errinfo_set(e, zip_status(zip_error_code_zip(&ze)), "unzip files: %s",
		                 zip_error_strerror(&ze));
		zip_source_free(src);
	}
	zip_error_fini(&ze);
	return st;
}

/* Read the _meta member (at most 50 KiB) and parse it. */
static enum status read_meta(struct upload *u, struct errinfo *e)
{
	zip_int64_t idx = zip_name_locate(u->za, "_meta", ZIP_FL_ENC_RAW);
	if (idx < 0)
		return errinfo_set(e, ST_INVALID, "unzip files: no _meta member");
	zip_stat_t zs;
	zip_stat_init(&zs);
	if (zip_stat_index(u->za, (zip_uint64_t)idx, 0, &zs) != 0)
		return errinfo_set(e, ST_INVALID, "unzip files: %s", zip_strerror(u->za));
	if ((zs.valid & ZIP_STAT_SIZE) && zs.size > MEDIA_META_MAX)
		return errinfo_set(e, ST_INVALID, "unzip files: _meta over %u bytes",
		                   MEDIA_META_MAX);
	zip_file_t *zf = zip_fopen_index(u->za, (zip_uint64_t)idx, 0);
	if (!zf)
		return errinfo_set(e, ST_INVALID, "unzip files: _meta: %s", zip_strerror(u->za));
	size_t got = 0;
	enum status st = ST_OK;
	for (;;) {
		/* u->buf holds COPY_BUF > MEDIA_META_MAX + 1 bytes */
		zip_int64_t r = zip_fread(zf, u->buf + got, MEDIA_META_MAX + 1 - got);
		if (r < 0) {
			st = errinfo_set(e, ST_INVALID, "unzip files: _meta: %s",
			                 zip_file_strerror(zf));
			break;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > MEDIA_META_MAX) {
			st = errinfo_set(e, ST_INVALID, "unzip files: _meta over %u bytes",
			                 MEDIA_META_MAX);
			break;
		}
	}
	zip_fclose(zf);
	if (st)
		return st;
	json_error_t jerr;
	u->meta = json_loadb((const char *)u->buf, got, JSON_ALLOW_NUL, &jerr);
	if (!u->meta)
		return errinfo_set(e, ST_INVALID, "unzip files: _meta is not JSON: %s", jerr.text);
	if (!json_is_array(u->meta))
		return errinfo_set(e, ST_INVALID, "unzip files: _meta is not an array");
	if (json_array_size(u->meta) > MEDIA_ZIP_FILES_MAX)
		return errinfo_set(e, ST_INVALID, "unzip files: too many files in zip (%zu)",
		                   json_array_size(u->meta));
	return ST_OK;
}

/* Every per-entry rule, before anything is written. */
static enum status validate(struct upload *u, struct errinfo *e)
{
	uint64_t total = 0;
	u->n = json_array_size(u->meta);
	for (size_t i = 0; i < u->n; i++) {
		struct up_entry *x = &u->ent[i];
		json_t *pair = json_array_get(u->meta, i);
		if (!json_is_array(pair) || json_array_size(pair) != 2)
			return errinfo_set(e, ST_INVALID,
			                   "unzip files: _meta entry %zu is not a pair", i);
		json_t *jn = json_array_get(pair, 0), *jm = json_array_get(pair, 1);
		if (!json_is_string(jn) || !(json_is_string(jm) || json_is_null(jm)))
			return errinfo_set(e, ST_INVALID,
			                   "unzip files: _meta entry %zu has bad types", i);
		x->name = json_string_value(jn);
		x->len = json_string_length(jn);
		if (!x->name)
			return errinfo_set(e, ST_INVALID,
			                   "unzip files: _meta entry %zu has no name", i);
		enum status st = media_name_check(x->name, x->len, e);
		if (st) {
			errinfo_prefix(e, "unzip files: entry %zu", i);
			return st;
		}
		if (json_is_null(jm) || json_string_length(jm) == 0) {
			x->del = 1; /* null, or "" from older clients and AnkiDroid */
			continue;
		}
		const char *member = json_string_value(jm);
		if (strlen(member) != json_string_length(jm))
			return errinfo_set(e, ST_INVALID, "unzip files: member name with NUL");
		x->idx = zip_name_locate(u->za, member, ZIP_FL_ENC_RAW);
		if (x->idx < 0)
			return errinfo_set(e, ST_INVALID,
			                   "unzip files: member for entry %zu missing", i);
		zip_stat_t zs;
		zip_stat_init(&zs);
		if (zip_stat_index(u->za, (zip_uint64_t)x->idx, 0, &zs) != 0 ||
		    !(zs.valid & ZIP_STAT_SIZE))
			return errinfo_set(e, ST_INVALID, "unzip files: no size for entry %zu", i);
		if (zs.size > MEDIA_FILE_MAX)
			return errinfo_set(e, ST_INVALID,
			                   "unzip files: file too large (%llu bytes)",
			                   (unsigned long long)zs.size);
		if (zs.size == 0)
			return errinfo_set(e, ST_INVALID, "unzip files: file entry was zero bytes");
		if ((zs.valid & ZIP_STAT_ENCRYPTION_METHOD) && zs.encryption_method != ZIP_EM_NONE)
			return errinfo_set(e, ST_INVALID, "unzip files: encrypted member");
		if ((zs.valid & ZIP_STAT_COMP_METHOD) &&
		    !zip_compression_method_supported((zip_int32_t)zs.comp_method, 0))
			return errinfo_set(e, ST_INVALID,
			                   "unzip files: unsupported compression method");
		x->declared = zs.size;
		total += zs.size;
		if (total > u->m->o.max_upload_bytes)
			return errinfo_set(e, ST_INVALID,
			                   "unzip files: members total over %llu bytes",
			                   (unsigned long long)u->m->o.max_upload_bytes);
	}
	return ST_OK;
}

static enum status write_all(int fd, const unsigned char *p, size_t n, struct errinfo *e)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errinfo_errno(e, ST_IO, "writing a media file failed");
		}
		p += w;
		n -= (size_t)w;
	}
	return ST_OK;
}

/* Copy one member into a fresh temporary, hashing it; the real length must
 * equal the declared one. */
static enum status extract_one(struct xworker *w, struct up_entry *x, EVP_MD_CTX *md,
                               struct errinfo *e)
{
	int fd = -1;
	enum status st = ST_OK;
	if (!x->name)
		x->direct = 0; /* never: validate names every entry */
	if (x->direct) {
		fd = openat(w->u->m->mediafd, x->name,
		            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			x->has_direct = 1;
		else if (errno == EEXIST)
			x->direct = 0; /* a stray file or directory: as a replacement */
		else
			return errinfo_errno(e, ST_IO, "cannot create %s/media/%s",
			                     w->u->m->userdir, x->name);
	}
	if (!x->direct) {
		if ((st = media_srv_tmp_create(w->u->m, x->tmp, &fd, e)))
			return st;
		x->has_tmp = 1;
	}
	zip_file_t *zf = zip_fopen_index(w->za, (zip_uint64_t)x->idx, 0);
	if (!zf) {
		st = errinfo_set(e, ST_INVALID, "unzip files: %s", zip_strerror(w->za));
		close(fd);
		return st;
	}
	if (EVP_DigestInit_ex(md, EVP_sha1(), NULL) != 1)
		st = errinfo_set(e, ST_INTERNAL, "SHA-1 unavailable");
	uint64_t total = 0;
	while (st == ST_OK) {
		zip_int64_t r = zip_fread(zf, w->buf, COPY_BUF);
		if (r < 0) {
			zip_error_t *ze = zip_file_get_error(zf);
			st = errinfo_set(e, zip_status(zip_error_code_zip(ze)), "unzip files: %s",
			                 zip_error_strerror(ze));
			break;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
		if (total > x->declared) {
			st = errinfo_set(e, ST_INVALID,
			                 "unzip files: member longer than its declared %llu bytes",
			                 (unsigned long long)x->declared);
			break;
		}
		if (EVP_DigestUpdate(md, w->buf, (size_t)r) != 1)
			st = errinfo_set(e, ST_INTERNAL, "SHA-1 failed");
		else
			st = write_all(fd, w->buf, (size_t)r, e);
	}
	zip_fclose(zf);
	if (st == ST_OK && total != x->declared)
		st = errinfo_set(e, ST_INVALID, "unzip files: member has %llu bytes, declared %llu",
		                 (unsigned long long)total, (unsigned long long)x->declared);
	unsigned int mdlen = 0;
	if (st == ST_OK &&
	    (EVP_DigestFinal_ex(md, x->sha1, &mdlen) != 1 || mdlen != MEDIA_SHA1_LEN))
		st = errinfo_set(e, ST_INTERNAL, "SHA-1 failed");
	if (close(fd) != 0 && st == ST_OK)
		st = errinfo_errno(e, ST_IO, "closing a media file failed");
	return st;
}

static void *xworker_run(void *arg)
{
	struct xworker *w = arg;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	w->st = md ? ST_OK : errinfo_set(&w->e, ST_NOMEM, "out of memory");
	for (size_t i = 0; w->st == ST_OK && i < w->n; i++)
		w->st = extract_one(w, &w->u->ent[w->idx[i]], md, &w->e);
	EVP_MD_CTX_free(md);
	return NULL;
}

/* A second worker's own handle on the zip (consistency was checked by the
 * first open). */
static zip_t *reopen_zip(const struct upload *u)
{
	if (u->zip_path)
		return zip_open(u->zip_path, ZIP_RDONLY, NULL);
	zip_source_t *src = zip_source_buffer_create(u->zip_data, u->zip_len, 0, NULL);
	zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY, NULL) : NULL;
	if (!za)
		zip_source_free(src);
	return za;
}

/* Extract every added member (in place or into its temporary).  A batch
 * of files averaging o.parallel_min bytes or more is split by size
 * between this thread and a second one: hashing and writing big files is
 * per byte and otherwise bound by one core.  Small files are not split:
 * their cost is creating them, and creations in one directory take its
 * lock in turn (measured: 50,000 files of 43 KB on average took 6% longer
 * and 18% more CPU on two threads; 2,000 of 1 MiB 10% less time).  When
 * the second thread cannot be had, this thread does both shares. */
static enum status extract_all(struct upload *u, struct errinfo *e)
{
	struct xworker w[2] = {{.u = u, .za = u->za, .buf = u->buf}, {.u = u}};
	uint64_t load[2] = {0, 0}, total = 0;
	size_t adds = 0;
	for (size_t i = 0; i < u->n; i++)
		if (!u->ent[i].del) {
			total += u->ent[i].declared;
			adds++;
		}
	int two = adds >= 2 && total / adds >= u->m->o.parallel_min;
	if (two && (w[1].buf = malloc(COPY_BUF)) != NULL && (w[1].za = reopen_zip(u)) == NULL) {
		free(w[1].buf);
		w[1].buf = NULL;
	}
	two = two && w[1].za;
	/* each entry to the lighter worker, in request order */
	for (size_t i = 0; i < u->n; i++) {
		if (u->ent[i].del)
			continue;
		int k = two && load[1] < load[0];
		w[k].idx[w[k].n++] = i;
		load[k] += u->ent[i].declared;
	}
	pthread_t th;
	int started = two && pthread_create(&th, NULL, xworker_run, &w[1]) == 0;
	xworker_run(&w[0]);
	if (started)
		pthread_join(th, NULL);
	else if (two && w[0].st == ST_OK)
		xworker_run(&w[1]);
	enum status st = w[0].st;
	if (st && e)
		*e = w[0].e;
	else if (two && (st = w[1].st) && e)
		*e = w[1].e;
	if (w[1].za)
		zip_discard(w[1].za);
	free(w[1].buf);
	return st;
}

/* 1 when name exists in media/ as a regular file of the given size, 0
 * when it is absent or a regular file of another size; ST_IO-worthy
 * surprises (a directory in the way) give -1. */
static int file_state(struct media_srv *m, const char *name, int64_t size)
{
	struct stat sb;
	if (fstatat(m->mediafd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISREG(sb.st_mode))
		return -1;
	return size < 0 || sb.st_size == size ? 1 : 0;
}

/* The change table of §5.4 inside the open transaction. */
static enum status plan(struct upload *u, struct media_upload_result *res, struct errinfo *e)
{
	struct media_srv *m = u->m;
	struct media_meta meta;
	enum status st = media_db_get_meta(m->db, &meta, e);
	if (st)
		return st;
	int changed = 0;
	int64_t now = media_srv_now();
	for (size_t i = 0; i < u->n; i++) {
		struct up_entry *x = &u->ent[i];
		/* x->name is NUL-terminated (jansson) and has no NUL inside. */
		if (!x->name)
			return errinfo_set(e, ST_INTERNAL, "upload entry %zu not validated", i);
		struct media_row row;
		st = media_db_get(m->db, x->name, x->len, &row, e);
		if (st != ST_OK && st != ST_NOTFOUND)
			return st;
		int found = st == ST_OK;
		int live = found && row.size > 0;
		if (!x->del) {
			if (x->direct && live)
				/* no other writer while we hold the user (flock) */
				return errinfo_set(e, ST_INTERNAL,
				                   "%s/media/%s appeared during upload", m->userdir,
				                   x->name);
			int have = live && row.csum_len == MEDIA_SHA1_LEN &&
			           memcmp(row.csum, x->sha1, MEDIA_SHA1_LEN) == 0;
			/* a file written in place is ours; otherwise look */
			int fs = x->direct
			             ? 0
			             : file_state(m, x->name, have ? (int64_t)x->declared : -1);
			if (fs < 0)
				return errinfo_set(e, ST_IO, "%s/media/%s is not a regular file",
				                   m->userdir, x->name);
			if (have) {
				x->act = fs == 1 ? ACT_NONE : ACT_REPAIR;
				res->unchanged++;
				if (x->act == ACT_REPAIR)
					log_warnx("media %s: %s was missing on disk; rewritten",
					          m->userdir, x->name);
				continue;
			}
			if (meta.last_usn == INT32_MAX)
				return errinfo_set(e, ST_INTERNAL, "media usn exhausted");
			if (live) {
				meta.total_bytes -= row.size;
				if (meta.total_bytes < 0)
					meta.total_bytes = 0;
				x->act = ACT_REPLACE;
				res->replaced++;
			} else {
				meta.total_nonempty_files++;
				x->act = ACT_ADD;
				res->added++;
			}
			meta.total_bytes += (int64_t)x->declared;
			memcpy(row.fname, x->name, x->len);
			row.fname[x->len] = '\0';
			row.fname_len = x->len;
			memcpy(row.csum, x->sha1, MEDIA_SHA1_LEN);
			row.csum_len = MEDIA_SHA1_LEN;
			row.size = (int64_t)x->declared;
			row.usn = ++meta.last_usn;
			row.mtime = now;
			if ((st = media_db_put(m->db, &row, e)))
				return st;
			changed = 1;
		} else if (live) {
			if (meta.last_usn == INT32_MAX)
				return errinfo_set(e, ST_INTERNAL, "media usn exhausted");
			meta.total_bytes -= row.size;
			if (meta.total_bytes < 0)
				meta.total_bytes = 0;
			if (meta.total_nonempty_files > 0)
				meta.total_nonempty_files--;
			row.size = 0; /* csum kept, as the official server does */
			row.usn = ++meta.last_usn;
			row.mtime = now;
			if ((st = media_db_put(m->db, &row, e)))
				return st;
			x->act = ACT_DELETE;
			res->removed++;
			changed = 1;
		} else {
			/* already deleted; a stray file of that name goes too */
			x->act = file_state(m, x->name, -1) == 1 ? ACT_CLEAN : ACT_NONE;
			res->unchanged++;
		}
	}
	if (changed && (st = media_db_set_meta(m->db, &meta, e)))
		return st;
	res->current_usn = meta.last_usn;
	return ST_OK;
}

static int moves_tmp(const struct up_entry *x)
{
	return !x->direct && (x->act == ACT_ADD || x->act == ACT_REPLACE || x->act == ACT_REPAIR);
}

/* Temporaries left over, and before the commit the files written in
 * place (their names have no live row, so by I they must not exist). */
static void remove_temps(struct upload *u)
{
	for (size_t i = 0; i < u->n; i++) {
		struct up_entry *x = &u->ent[i];
		if (x->has_tmp) {
			unlinkat(u->m->mediafd, x->tmp, 0);
			x->has_tmp = 0;
		}
		if (x->has_direct) {
			unlinkat(u->m->mediafd, x->name, 0);
			x->has_direct = 0;
		}
	}
}

/* After the commit: make the folder match, in change order. */
static enum status apply_files(struct upload *u, struct errinfo *e)
{
	struct media_srv *m = u->m;
	int done = 0;
	enum status st = ST_OK;
	for (size_t i = 0; st == ST_OK && i < u->n; i++) {
		struct up_entry *x = &u->ent[i];
		if (moves_tmp(x)) {
			if (renameat(m->mediafd, x->tmp, m->mediafd, x->name) != 0)
				st = errinfo_errno(e, ST_IO, "cannot rename into %s/media/%s",
				                   m->userdir, x->name);
			else
				x->has_tmp = 0;
		} else if (x->act == ACT_DELETE || x->act == ACT_CLEAN) {
			if (unlinkat(m->mediafd, x->name, 0) != 0 && errno != ENOENT)
				st = errinfo_errno(e, ST_IO, "cannot remove %s/media/%s",
				                   m->userdir, x->name);
		} else {
			continue;
		}
		if (st == ST_OK && !done++)
			media_hook(m, MH_UP_RENAMED_ONE);
	}
	return st;
}

/* An added name without a live row has no file (I), so its file can be
 * written under its own name at once, saving a create and a rename in a
 * large directory per file (most of a first sync).  Its journal record
 * ("unlink it unless the row is live") is on disk before the file is
 * created, so a crash before the commit leaves nothing behind.  Names
 * given twice in the batch keep the temporary: the entries apply in order. */
static enum status choose_direct(struct upload *u, size_t *count, struct errinfo *e)
{
	*count = 0;
	for (size_t i = 0; i < u->n; i++) {
		struct up_entry *x = &u->ent[i];
		if (x->del || !x->name)
			continue;
		int twice = 0;
		for (size_t j = 0; j < u->n && !twice; j++)
			twice = j != i && u->ent[j].name && u->ent[j].len == x->len &&
			        memcmp(u->ent[j].name, x->name, x->len) == 0;
		if (twice)
			continue;
		struct media_row row;
		enum status st = media_db_get(u->m->db, x->name, x->len, &row, e);
		if (st == ST_OK ? row.size > 0 : st != ST_NOTFOUND)
			continue; /* a live row (a replacement), or no answer: temporary */
		if ((st = media_srv_journal_unlink(u->m, x->name, x->len, e)))
			return st;
		x->direct = 1;
		++*count;
	}
	if (*count == 0)
		return ST_OK;
	enum status st = media_srv_journal_flush(u->m, e);
	return st ? st : media_srv_journal_sync(u->m, e);
}

static enum status media_srv_upload_impl(struct media_srv *m, const char *zip_path,
                                         const void *zip_data, size_t zip_len,
                                         struct media_upload_result *res, struct buf *out,
                                         struct errinfo *e)
{
	struct media_upload_result dummy;
	if (!res)
		res = &dummy;
	memset(res, 0, sizeof *res);
	struct upload u = {.m = m, .zip_path = zip_path, .zip_data = zip_data, .zip_len = zip_len};
	enum status st = ST_OK;
	u.buf = malloc(COPY_BUF);
	if (!u.buf)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	if ((st = zip_path ? open_zip(&u, zip_path, e) : open_zip_mem(&u, zip_data, zip_len, e)) ||
	    (st = read_meta(&u, e)) || (st = validate(&u, e)))
		goto out;
	size_t adds = 0, direct = 0;
	for (size_t i = 0; i < u.n; i++)
		adds += !u.ent[i].del;
	/* One transaction from the first lookup to the commit: the rows seen
	 * when choosing where files go are the rows planned with, and each
	 * lookup is not a transaction of its own (with locking_mode=normal,
	 * each of those took and dropped the WAL locks: ~60 fcntl calls per
	 * batch of 25).  Readers are not blocked (WAL); other writers of
	 * this user's media wait for the per-user lock anyway. */
	if ((st = media_db_begin(m->db, e)))
		goto fail;
	if (adds > 0) {
		if ((st = media_srv_journal_begin(m, e)) || (st = choose_direct(&u, &direct, e)) ||
		    (st = extract_all(&u, e)))
			goto fail;
		media_hook(m, MH_UP_TEMPS);
	}
	if ((st = plan(&u, res, e)))
		goto fail;
	size_t ops = 0;
	for (size_t i = 0; st == ST_OK && i < u.n; i++) {
		struct up_entry *x = &u.ent[i];
		if (moves_tmp(x)) {
			st = media_srv_journal_rename(m, x->tmp, x->sha1, x->name, x->len, e);
			ops++;
		} else if (x->act == ACT_DELETE || x->act == ACT_CLEAN) {
			st = media_srv_journal_unlink(m, x->name, x->len, e);
			ops++;
		}
	}
	if (st)
		goto fail;
	if (ops > 0 || direct > 0) {
		if ((!m->jbegun && (st = media_srv_journal_begin(m, e))) ||
		    (st = media_srv_journal_flush(m, e)) || (st = media_srv_sync_data(m, e)))
			goto fail;
		media_hook(m, MH_UP_JOURNAL);
	}
	if ((st = media_db_commit(m->db, e)))
		goto fail;
	for (size_t i = 0; i < u.n; i++)
		u.ent[i].has_direct = 0; /* theirs now: live rows */
	media_hook(m, MH_UP_COMMITTED);
	res->processed = (uint32_t)u.n;
	if (ops > 0) {
		if ((st = apply_files(&u, e))) {
			/* Committed: the journal stays, and the next open finishes
			 * the job.  The caller answers 500; the client retries. */
			log_warnx("media %s: %s (left to recovery)", m->userdir, e ? e->msg : "");
			goto out;
		}
		remove_temps(&u);
		if ((st = media_srv_sync_dir(m, m->mediafd, e)))
			goto out;
		media_hook(m, MH_UP_RENAMED);
	}
	remove_temps(&u);
	if (m->jbegun && (st = media_srv_journal_clear(m, e)))
		goto out;
	if (out) {
		char body[96];
		snprintf(body, sizeof body, "{\"data\":[%u,%d],\"err\":\"\"}", res->processed,
		         (int)res->current_usn);
		st = buf_append_str(out, body, e);
	}
	goto out;
fail:
	media_db_rollback(m->db);
	remove_temps(&u);
	if (m->jbegun)
		media_srv_journal_clear(m, NULL);
out:
	if (u.za)
		zip_discard(u.za);
	json_decref(u.meta);
	free(u.buf);
	return st;
}

/* Public entry points: statuses as the protocol answers them. */
enum status media_srv_upload(struct media_srv *m, const char *zip_path,
                             struct media_upload_result *res, struct buf *out, struct errinfo *e)
{
	if (!zip_path)
		return errinfo_set(e, ST_INVALID, "missing zip");
	return media_outcome(media_srv_upload_impl(m, zip_path, NULL, 0, res, out, e), e);
}

enum status media_srv_upload_mem(struct media_srv *m, const void *zip, size_t len,
                                 struct media_upload_result *res, struct buf *out,
                                 struct errinfo *e)
{
	if (!zip && len)
		return errinfo_set(e, ST_INVALID, "missing zip");
	static const unsigned char none[1];
	return media_outcome(media_srv_upload_impl(m, NULL, zip ? zip : none, len, res, out, e), e);
}
