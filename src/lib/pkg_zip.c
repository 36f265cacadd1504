/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pkg_zip.c - the zip side of Anki packages (collection-format.md §9.1):
 * a bounded reader (member names, counts and decompressed sizes checked
 * before anything is written; zstd members decoded as one frame with a
 * cap) and a streaming writer (files are opened only when libzip reaches
 * them, compressed to zstd on the fly, and hashed as they are read, so a
 * package with thousands of media files needs neither thousands of open
 * descriptors nor the files in memory).
 *
 * libzip writes members strictly in the order they were added, asking for
 * each one's content only after the previous member is complete (checked
 * in pkg_zw_add_late's callback): that is what lets the media map, the
 * last member, carry the sizes and SHA-1s computed while the media files
 * were being written, in a single pass as Anki does.
 */
#include "pkg_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>
#include <zstd.h>

#include "afile.h"
#include "path.h"
#include "pb.h"
#include "zstdio.h"

#define CHUNK (64 * 1024)

void pkg_limits_resolve(const struct pkg_limits *l, struct pkg_limits *out)
{
	static const struct pkg_limits zero;
	if (!l)
		l = &zero;
	out->max_members = l->max_members ? l->max_members : PKG_MAX_MEMBERS;
	out->max_collection_bytes =
	    l->max_collection_bytes ? l->max_collection_bytes : PKG_MAX_COLLECTION_BYTES;
	out->max_media_file_bytes =
	    l->max_media_file_bytes ? l->max_media_file_bytes : PKG_MAX_MEDIA_FILE_BYTES;
	out->max_total_bytes = l->max_total_bytes ? l->max_total_bytes : PKG_MAX_TOTAL_BYTES;
	out->max_map_bytes = l->max_map_bytes ? l->max_map_bytes : PKG_MAX_MAP_BYTES;
}

/* ---- reading ------------------------------------------------------------ */

/* zstd frames may ask for a window of up to 2 GiB; Anki's level-3 frames
 * use at most 2 MiB.  32 MiB leaves room for other writers and refuses a
 * frame built to make the decoder allocate gigabytes. */
#define ZSTD_WINDOW_LOG_MAX 25

struct pkg_zip {
	zip_t *za;
	size_t n;
	struct pkg_limits lim;
	uint64_t total;  /* bytes delivered so far, against lim.max_total_bytes */
	ZSTD_DCtx *dctx; /* reused for every zstd member */
	unsigned char *zout;
};

static enum status zip_open_err(int code, const char *path, struct errinfo *e)
{
	zip_error_t ze;
	zip_error_init_with_code(&ze, code);
	enum status st = ST_CORRUPT;
	if (code == ZIP_ER_NOENT)
		st = ST_NOTFOUND;
	else if (code == ZIP_ER_OPEN || code == ZIP_ER_READ || code == ZIP_ER_SEEK ||
	         code == ZIP_ER_MEMORY)
		st = code == ZIP_ER_MEMORY ? ST_NOMEM : ST_IO;
	errinfo_set(e, st, "%s: %s%s", path, st == ST_CORRUPT ? "not a valid package: " : "",
	            zip_error_strerror(&ze));
	zip_error_fini(&ze);
	return st;
}

enum status pkg_zip_open(const char *path, const struct pkg_limits *lim, struct pkg_zip **out,
                         struct errinfo *e)
{
	*out = NULL;
	struct stat sb;
	if (stat(path, &sb) != 0)
		return errno == ENOENT ? errinfo_set(e, ST_NOTFOUND, "%s does not exist", path)
		                       : errinfo_errno(e, ST_IO, "cannot access %s", path);
	if (!S_ISREG(sb.st_mode))
		return errinfo_set(e, ST_INVALID, "%s is not a regular file", path);
	struct pkg_zip *z = calloc(1, sizeof *z);
	if (!z)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	pkg_limits_resolve(lim, &z->lim);
	int err = 0;
	z->za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
	if (!z->za) {
		free(z);
		return zip_open_err(err, path, e);
	}
	zip_int64_t n = zip_get_num_entries(z->za, 0);
	enum status st = ST_OK;
	if (n < 0)
		st = errinfo_set(e, ST_CORRUPT, "%s: cannot list the package", path);
	else if ((uint64_t)n > z->lim.max_members)
		st = errinfo_set(e, ST_TOOBIG, "%s has %lld members; at most %llu are accepted",
		                 path, (long long)n, (unsigned long long)z->lim.max_members);
	z->n = n > 0 ? (size_t)n : 0;
	struct pkg_smap seen = {0};
	for (size_t i = 0; i < z->n && !st; i++) {
		/* Raw names: whatever the archive says, checked byte for byte. */
		const char *name = zip_get_name(z->za, i, ZIP_FL_ENC_RAW);
		if (!name) {
			st = errinfo_set(e, ST_CORRUPT, "%s: member %zu has no readable name", path,
			                 i);
			break;
		}
		size_t len = strlen(name);
		if (!path_name_ok(name, len) || memchr(name, '\\', len)) {
			st = errinfo_set(e, ST_CORRUPT,
			                 "%s: member name \"%.80s\" is not a plain file name; "
			                 "refusing the package",
			                 path, name);
			break;
		}
		if (pkg_smap_get(&seen, name, NULL)) {
			st = errinfo_set(e, ST_CORRUPT, "%s: member \"%.80s\" appears twice", path,
			                 name);
			break;
		}
		st = pkg_smap_put(&seen, name, (int64_t)i, e);
		zip_stat_t zs;
		if (!st && zip_stat_index(z->za, i, 0, &zs) != 0)
			st = errinfo_set(e, ST_CORRUPT, "%s: member \"%.80s\": %s", path, name,
			                 zip_strerror(z->za));
		if (!st && (zs.valid & ZIP_STAT_ENCRYPTION_METHOD) &&
		    zs.encryption_method != ZIP_EM_NONE)
			st = errinfo_set(e, ST_CORRUPT, "%s: member \"%.80s\" is encrypted", path,
			                 name);
	}
	pkg_smap_free(&seen);
	if (st) {
		zip_discard(z->za);
		free(z);
		return st;
	}
	*out = z;
	return ST_OK;
}

void pkg_zip_close(struct pkg_zip *z)
{
	if (!z)
		return;
	zip_discard(z->za);
	ZSTD_freeDCtx(z->dctx);
	free(z->zout);
	free(z);
}

size_t pkg_zip_count(const struct pkg_zip *z)
{
	return z->n;
}

const struct pkg_limits *pkg_zip_limits(const struct pkg_zip *z)
{
	return &z->lim;
}

int64_t pkg_zip_find(struct pkg_zip *z, const char *name)
{
	zip_int64_t i = zip_name_locate(z->za, name, ZIP_FL_ENC_RAW);
	return i < 0 ? -1 : (int64_t)i;
}

enum status pkg_sink_fd(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	int fd = *(int *)ctx;
	const unsigned char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errinfo_errno(e, ST_IO, "writing a temporary file");
		}
		p += w;
		len -= (size_t)w;
	}
	return ST_OK;
}

/* Counts what reaches the caller's sink against the member cap and the
 * package total. */
struct counted {
	struct pkg_zip *z;
	uint64_t cap, got;
	pkg_sink_fn sink;
	void *ctx;
	const char *name;
};

static enum status counted_sink(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	struct counted *c = ctx;
	c->got += len;
	c->z->total += len;
	if (c->got > c->cap)
		return errinfo_set(e, ST_TOOBIG, "package member \"%s\" is larger than %llu bytes",
		                   c->name, (unsigned long long)c->cap);
	if (c->z->total > c->z->lim.max_total_bytes)
		return errinfo_set(e, ST_TOOBIG, "package content exceeds %llu bytes",
		                   (unsigned long long)c->z->lim.max_total_bytes);
	return c->sink ? c->sink(c->ctx, data, len, e) : ST_OK;
}

enum status pkg_zip_read(struct pkg_zip *z, int64_t idx, bool zstd, uint64_t cap, pkg_sink_fn sink,
                         void *ctx, struct errinfo *e)
{
	if (idx < 0 || (size_t)idx >= z->n)
		return errinfo_set(e, ST_CORRUPT, "package member %lld is missing", (long long)idx);
	const char *name = zip_get_name(z->za, (zip_uint64_t)idx, ZIP_FL_ENC_RAW);
	zip_stat_t zs;
	if (!name || zip_stat_index(z->za, (zip_uint64_t)idx, 0, &zs) != 0)
		return errinfo_set(e, ST_CORRUPT, "package member %lld: %s", (long long)idx,
		                   zip_strerror(z->za));
	/* A zstd frame of incompressible data is a little larger than its
	 * content; anything beyond that margin is refused unread. */
	uint64_t raw_cap = zstd ? cap + cap / 64 + 4096 : cap;
	if ((zs.valid & ZIP_STAT_SIZE) && zs.size > raw_cap)
		return errinfo_set(e, ST_TOOBIG,
		                   "package member \"%s\" claims %llu bytes; the limit is %llu",
		                   name, (unsigned long long)zs.size, (unsigned long long)cap);
	zip_file_t *zf = zip_fopen_index(z->za, (zip_uint64_t)idx, 0);
	if (!zf)
		return errinfo_set(e, ST_CORRUPT, "package member \"%s\": %s", name,
		                   zip_strerror(z->za));
	struct counted cnt = {z, cap, 0, sink, ctx, name};
	enum status st = ST_OK;
	if (zstd) {
		if (!z->dctx)
			z->dctx = ZSTD_createDCtx();
		if (!z->zout)
			z->zout = malloc(ZSTD_DStreamOutSize());
		if (!z->dctx || !z->zout)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		else {
			ZSTD_DCtx_reset(z->dctx, ZSTD_reset_session_only);
			ZSTD_DCtx_setParameter(z->dctx, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX);
		}
	}
	unsigned char *chunk = malloc(CHUNK);
	if (!chunk && !st)
		st = errinfo_set(e, ST_NOMEM, "out of memory");
	uint64_t raw = 0;
	bool frame_end = false;
	while (!st) {
		zip_int64_t r = zip_fread(zf, chunk, CHUNK);
		if (r < 0) {
			st = errinfo_set(e, ST_CORRUPT, "package member \"%s\" is damaged: %s",
			                 name, zip_file_strerror(zf));
			break;
		}
		if (r == 0)
			break;
		raw += (uint64_t)r;
		if (raw > raw_cap) {
			st = errinfo_set(e, ST_TOOBIG,
			                 "package member \"%s\" is larger than %llu bytes", name,
			                 (unsigned long long)cap);
			break;
		}
		if (!zstd) {
			st = counted_sink(&cnt, chunk, (size_t)r, e);
			continue;
		}
		/* one frame; bytes after its end are ignored, as Anki's reader
		 * stops there too */
		ZSTD_inBuffer in = {chunk, (size_t)r, 0};
		while (!st && !frame_end) {
			ZSTD_outBuffer out = {z->zout, ZSTD_DStreamOutSize(), 0};
			size_t rr = ZSTD_decompressStream(z->dctx, &out, &in);
			if (ZSTD_isError(rr)) {
				st = errinfo_set(e, ST_CORRUPT,
				                 "package member \"%s\": bad zstd data (%s)", name,
				                 ZSTD_getErrorName(rr));
				break;
			}
			if (out.pos)
				st = counted_sink(&cnt, z->zout, out.pos, e);
			if (rr == 0)
				frame_end = true;
			/* more input, or output may still be pending */
			if (in.pos == in.size && out.pos < out.size)
				break;
		}
	}
	if (!st && zstd && !frame_end)
		st = errinfo_set(e, ST_CORRUPT,
		                 raw ? "package member \"%s\": zstd input ends inside the frame"
		                     : "package member \"%s\" is empty, not a zstd frame",
		                 name);
	free(chunk);
	zip_fclose(zf);
	return st;
}

static enum status buf_sink(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	return buf_append(ctx, data, len, e);
}

enum status pkg_zip_read_buf(struct pkg_zip *z, int64_t idx, bool zstd, uint64_t cap,
                             struct buf *out, struct errinfo *e)
{
	buf_init(out, 0);
	enum status st = pkg_zip_read(z, idx, zstd, cap, buf_sink, out, e);
	if (!st && !out->data)
		st = buf_append(out, "", 0, e);
	if (st)
		buf_free(out);
	return st;
}

const char *pkg_collection_member(enum pkg_version v)
{
	switch (v) {
	case PKG_VERSION_LEGACY1:
		return "collection.anki2";
	case PKG_VERSION_LEGACY2:
		return "collection.anki21";
	case PKG_VERSION_LATEST:
		return "collection.anki21b";
	default:
		return NULL;
	}
}

enum status pkg_zip_version(struct pkg_zip *z, enum pkg_version *v, struct errinfo *e)
{
	int64_t mi = pkg_zip_find(z, "meta");
	if (mi < 0) {
		*v = pkg_zip_find(z, "collection.anki21") >= 0 ? PKG_VERSION_LEGACY2
		                                               : PKG_VERSION_LEGACY1;
		return ST_OK;
	}
	struct buf b;
	enum status st = pkg_zip_read_buf(z, mi, false, 4096, &b, e);
	if (st)
		return st;
	struct pb_reader r;
	pb_reader_init(&r, b.data, b.len);
	uint64_t ver = 0;
	for (;;) {
		struct pb_field f;
		bool more = false;
		st = pb_reader_next(&r, &f, &more, e);
		if (st || !more)
			break;
		if (f.num == 1 && (st = pb_get_uint64(&f, &ver, e)))
			break;
	}
	buf_free(&b);
	if (st)
		return errinfo_prefix(e, "package meta");
	if (ver < PKG_VERSION_LEGACY1 || ver > PKG_VERSION_LATEST)
		return errinfo_set(e, ST_VERSION,
		                   "the package is from a newer Anki (package version %llu)",
		                   (unsigned long long)ver);
	*v = (enum pkg_version)ver;
	return ST_OK;
}

/* A real SQLite file and no triggers (Anki never writes any; a trigger in
 * a hostile package would run on our writes during the upgrade). */
static enum status check_sqlite(const char *path, struct errinfo *e)
{
	sqlite3 *db = NULL;
	char *uri = sqlite3_mprintf("file:%s?immutable=1", path);
	int rc = uri ? sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL)
	             : SQLITE_NOMEM;
	sqlite3_free(uri);
	sqlite3_stmt *st = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
		    db, "select count(*) from sqlite_master where type = 'trigger'", -1, &st, NULL);
	long long triggers = 0;
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			triggers = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	/* SQLite answers some damaged files with SQLITE_NOMEM (an allocation
	 * sized by the damage): the package's fault like any other refusal. */
	enum status s = ST_OK;
	if (rc != SQLITE_OK)
		s = errinfo_set(e, ST_CORRUPT,
		                "the package's collection is not a SQLite database (%s)",
		                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	else if (triggers)
		s = errinfo_set(e, ST_CORRUPT, "the package's collection contains triggers");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return s;
}

enum status pkg_zip_extract_collection(struct pkg_zip *z, enum pkg_version v, const char *tmp_dir,
                                       char *out, size_t cap, uint64_t *size, struct errinfo *e)
{
	const char *member = pkg_collection_member(v);
	int64_t idx = member ? pkg_zip_find(z, member) : -1;
	if (idx < 0)
		return errinfo_set(e, ST_CORRUPT, "the package has no %s member",
		                   member ? member : "collection");
	if (snprintf(out, cap, "%s/collection", tmp_dir) >= (int)cap)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errinfo_errno(e, ST_IO, "cannot create %s", out);
	struct stat sb;
	enum status st = pkg_zip_read(z, idx, v == PKG_VERSION_LATEST, z->lim.max_collection_bytes,
	                              pkg_sink_fd, &fd, e);
	if (!st && fstat(fd, &sb) != 0)
		st = errinfo_errno(e, ST_IO, "cannot stat %s", out);
	if (close(fd) != 0 && !st)
		st = errinfo_errno(e, ST_IO, "cannot write %s", out);
	if (!st && size)
		*size = (uint64_t)sb.st_size;
	if (!st)
		st = check_sqlite(out, e);
	if (st)
		unlink(out);
	return st;
}

/* ---- writing ------------------------------------------------------------ */

struct pkg_zw {
	zip_t *za;
	char *path;
	ZSTD_CCtx *cc;      /* shared by every zstd member, reset per member */
	size_t pending;     /* file members not yet read to their end */
	struct errinfo err; /* why a source failed (libzip only keeps a code) */
	int failed;
};

enum src_kind { SRC_FILE, SRC_LATE };

struct zw_src {
	struct pkg_zw *w;
	zip_error_t zerr;
	/* files */
	char *path;
	uint8_t *sha1_out;
	uint64_t *size_out;
	EVP_MD_CTX *md;
	unsigned char *in, *outb;
	uint64_t size, done;
	size_t in_pos, in_len, out_pos, out_len;
	/* late members */
	pkg_zw_late_fn late;
	void *late_ctx;
	struct buf lbuf;
	size_t lpos;
	enum src_kind kind;
	int fd;
	bool zstd, eof, counted, frame_done, made;
};

static zip_int64_t src_fail(struct zw_src *s, int zcode, enum status st, const char *msg)
{
	if (!s->w->failed) {
		s->w->failed = 1;
		if (msg)
			errinfo_set(&s->w->err, st, "%s", msg);
	}
	zip_error_set(&s->zerr, zcode, errno);
	return -1;
}

static zip_int64_t src_fail_e(struct zw_src *s, const struct errinfo *e)
{
	if (!s->w->failed) {
		s->w->failed = 1;
		s->w->err = *e;
	}
	zip_error_set(&s->zerr, ZIP_ER_READ, 0);
	return -1;
}

/* Everything a file member holds while it is written is released when
 * it is closed: libzip frees the sources only at the very end, so
 * buffers kept until then would add up over thousands of members. */
static void src_close_file(struct zw_src *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	EVP_MD_CTX_free(s->md);
	s->md = NULL;
	free(s->in);
	free(s->outb);
	s->in = s->outb = NULL;
}

static zip_int64_t src_open(struct zw_src *s)
{
	struct errinfo e;
	if (s->kind == SRC_LATE) {
		if (!s->made) {
			if (s->w->pending)
				return src_fail(s, ZIP_ER_INTERNAL, ST_INTERNAL,
				                "package writer: a late member was reached before "
				                "the files before it");
			buf_init(&s->lbuf, 0);
			if (s->late(s->late_ctx, &s->lbuf, &e) != ST_OK)
				return src_fail_e(s, &e);
			s->made = true;
		}
		s->lpos = 0;
		return 0;
	}
	s->fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	if (s->fd < 0 || fstat(s->fd, &sb) != 0) {
		errinfo_errno(&e, ST_IO, "cannot read %s", s->path);
		return src_fail_e(s, &e);
	}
	s->size = (uint64_t)sb.st_size;
	s->done = 0;
	s->eof = false;
	s->frame_done = false;
	s->out_pos = s->out_len = 0;
	s->in_pos = s->in_len = 0;
	if (s->sha1_out) {
		s->md = EVP_MD_CTX_new();
		if (!s->md || !EVP_DigestInit_ex(s->md, EVP_sha1(), NULL))
			return src_fail(s, ZIP_ER_MEMORY, ST_NOMEM, "out of memory");
	}
	if (s->zstd) {
		if (!s->in)
			s->in = malloc(CHUNK);
		if (!s->outb)
			s->outb = malloc(ZSTD_CStreamOutSize());
		if (!s->in || !s->outb)
			return src_fail(s, ZIP_ER_MEMORY, ST_NOMEM, "out of memory");
		ZSTD_CCtx_reset(s->w->cc, ZSTD_reset_session_and_parameters);
		ZSTD_CCtx_setParameter(s->w->cc, ZSTD_c_compressionLevel, ZSTDIO_LEVEL);
		ZSTD_CCtx_setPledgedSrcSize(s->w->cc, s->size);
	}
	return 0;
}

/* Read up to len raw bytes of the file, hashing them. */
static ssize_t file_read(struct zw_src *s, void *data, size_t len)
{
	ssize_t r;
	do
		r = read(s->fd, data, len);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		s->done += (uint64_t)r;
		if (s->md)
			EVP_DigestUpdate(s->md, data, (size_t)r);
	}
	return r;
}

static zip_int64_t src_read(struct zw_src *s, void *data, zip_uint64_t len)
{
	struct errinfo e;
	if (s->kind == SRC_LATE) {
		size_t n = s->lbuf.len - s->lpos;
		if (n > len)
			n = (size_t)len;
		if (n)
			memcpy(data, s->lbuf.data + s->lpos, n);
		s->lpos += n;
		return (zip_int64_t)n;
	}
	if (!s->zstd) {
		ssize_t r = file_read(s, data, len > CHUNK ? CHUNK : (size_t)len);
		if (r < 0) {
			errinfo_errno(&e, ST_IO, "cannot read %s", s->path);
			return src_fail_e(s, &e);
		}
		if (r == 0)
			s->eof = true;
		return r;
	}
	/* zstd: hand out compressed bytes, compressing more of the file as
	 * needed; the frame ends (ZSTD_e_end) once the file is used up. */
	size_t given = 0;
	unsigned char *dst = data;
	while (given < len) {
		if (s->out_pos < s->out_len) {
			size_t n = s->out_len - s->out_pos;
			if (n > len - given)
				n = (size_t)(len - given);
			memcpy(dst + given, s->outb + s->out_pos, n);
			s->out_pos += n;
			given += n;
			continue;
		}
		if (s->frame_done)
			break;
		if (s->in_pos == s->in_len && !s->eof) {
			ssize_t r = file_read(s, s->in, CHUNK);
			if (r < 0) {
				errinfo_errno(&e, ST_IO, "cannot read %s", s->path);
				return src_fail_e(s, &e);
			}
			s->in_pos = 0;
			s->in_len = (size_t)r;
			if (r == 0)
				s->eof = true;
		}
		ZSTD_inBuffer in = {s->in, s->in_len, s->in_pos};
		ZSTD_outBuffer out = {s->outb, ZSTD_CStreamOutSize(), 0};
		ZSTD_EndDirective mode =
		    s->eof && s->in_pos == s->in_len ? ZSTD_e_end : ZSTD_e_continue;
		size_t rem = ZSTD_compressStream2(s->w->cc, &out, &in, mode);
		if (ZSTD_isError(rem)) {
			/* e.g. the file changed size since it was opened */
			errinfo_set(&e, ST_IO, "compressing %s: %s", s->path,
			            ZSTD_getErrorName(rem));
			return src_fail_e(s, &e);
		}
		s->in_pos = in.pos;
		s->out_pos = 0;
		s->out_len = out.pos;
		if (mode == ZSTD_e_end && rem == 0)
			s->frame_done = true;
	}
	return (zip_int64_t)given;
}

static zip_int64_t src_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	struct zw_src *s = ud;
	switch (cmd) {
	case ZIP_SOURCE_SUPPORTS:
		return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ,
		                                      ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
		                                      ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
	case ZIP_SOURCE_STAT: {
		zip_stat_t *zs = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &s->zerr);
		if (!zs)
			return -1;
		zip_stat_init(zs);
		zs->mtime = time(NULL);
		zs->valid |= ZIP_STAT_MTIME;
		struct stat sb;
		/* Raw files have a known size (no zip64 extra needed); zstd output
		 * is only known once written. */
		if (s->kind == SRC_FILE && !s->zstd && stat(s->path, &sb) == 0) {
			zs->size = (zip_uint64_t)sb.st_size;
			zs->valid |= ZIP_STAT_SIZE;
		}
		return sizeof *zs;
	}
	case ZIP_SOURCE_OPEN:
		return src_open(s);
	case ZIP_SOURCE_READ:
		return src_read(s, data, len);
	case ZIP_SOURCE_CLOSE:
		if (s->kind == SRC_FILE) {
			/* libzip may stop at the stated size without asking for EOF */
			bool complete =
			    s->fd >= 0 && (s->zstd ? s->frame_done : s->eof || s->done == s->size);
			if (complete && s->done != s->size) {
				struct errinfo e;
				errinfo_set(&e, ST_IO, "%s changed while it was being written",
				            s->path);
				src_close_file(s);
				return src_fail_e(s, &e);
			}
			if (complete && s->md && s->sha1_out) {
				unsigned int dl = 0;
				unsigned char d[EVP_MAX_MD_SIZE];
				EVP_DigestFinal_ex(s->md, d, &dl);
				memcpy(s->sha1_out, d, 20);
			}
			if (complete && s->size_out)
				*s->size_out = s->done;
			if (complete && !s->counted) {
				s->counted = true;
				s->w->pending--;
			}
			src_close_file(s);
		}
		return 0;
	case ZIP_SOURCE_ERROR:
		return zip_error_to_data(&s->zerr, data, len);
	case ZIP_SOURCE_FREE:
		src_close_file(s);
		free(s->path);
		buf_free(&s->lbuf);
		zip_error_fini(&s->zerr);
		free(s);
		return 0;
	default:
		zip_error_set(&s->zerr, ZIP_ER_OPNOTSUPP, 0);
		return -1;
	}
}

enum status pkg_zw_open(const char *path, struct pkg_zw **out, struct errinfo *e)
{
	*out = NULL;
	struct pkg_zw *w = calloc(1, sizeof *w);
	if (!w)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	w->path = strdup(path);
	w->cc = ZSTD_createCCtx();
	int err = 0;
	if (w->path && w->cc)
		w->za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
	if (!w->za) {
		enum status st = w->path && w->cc ? zip_open_err(err, path, e)
		                                  : errinfo_set(e, ST_NOMEM, "out of memory");
		if (st == ST_CORRUPT)
			st = errinfo_set(e, ST_IO, "cannot create %s", path);
		ZSTD_freeCCtx(w->cc);
		free(w->path);
		free(w);
		return st;
	}
	*out = w;
	return ST_OK;
}

static enum status zw_finish_add(struct pkg_zw *w, const char *name, zip_source_t *src,
                                 bool deflate, struct errinfo *e)
{
	zip_int64_t idx = zip_file_add(w->za, name, src, ZIP_FL_ENC_UTF_8);
	if (idx < 0) {
		zip_source_free(src);
		return errinfo_set(e, ST_INTERNAL, "adding %s to the package: %s", name,
		                   zip_strerror(w->za));
	}
	/* level 6, the zip crate's default that Anki's writer uses (libzip's
	 * own default is 9: slower for a few bytes less) */
	if (zip_set_file_compression(w->za, (zip_uint64_t)idx,
	                             deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
	                             deflate ? 6 : 0) != 0 ||
	    zip_file_set_external_attributes(w->za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
	                                     (zip_uint32_t)(0100644u << 16)) != 0)
		return errinfo_set(e, ST_INTERNAL, "setting up %s: %s", name, zip_strerror(w->za));
	return ST_OK;
}

enum status pkg_zw_add_buf(struct pkg_zw *w, const char *name, const void *data, size_t len,
                           bool deflate, struct errinfo *e)
{
	/* libzip does not take ownership of an empty buffer: pass none */
	void *copy = len ? malloc(len) : NULL;
	if (len && !copy)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	if (len)
		memcpy(copy, data, len);
	zip_source_t *src = zip_source_buffer(w->za, copy, len, len ? 1 : 0);
	if (!src) {
		free(copy);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	/* libzip owns copy from here on (freed with the source) */
	return zw_finish_add(w, name, src, deflate, e); /* NOLINT(clang-analyzer-unix.Malloc) */
}

static enum status zw_add_src(struct pkg_zw *w, const char *name, struct zw_src *s, bool deflate,
                              struct errinfo *e)
{
	zip_error_init(&s->zerr);
	zip_source_t *src = zip_source_function(w->za, src_cb, s);
	if (!src) {
		zip_error_fini(&s->zerr);
		free(s->path);
		free(s);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	return zw_finish_add(w, name, src, deflate, e);
}

enum status pkg_zw_add_file(struct pkg_zw *w, const char *name, const char *path, bool deflate,
                            bool zstd, uint8_t *sha1, uint64_t *size, struct errinfo *e)
{
	struct zw_src *s = calloc(1, sizeof *s);
	if (!s)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	s->w = w;
	s->kind = SRC_FILE;
	s->fd = -1;
	s->path = strdup(path);
	s->zstd = zstd;
	s->sha1_out = sha1;
	s->size_out = size;
	if (!s->path) {
		free(s);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	w->pending++;
	return zw_add_src(w, name, s, deflate && !zstd, e);
}

enum status pkg_zw_add_late(struct pkg_zw *w, const char *name, pkg_zw_late_fn fn, void *ctx,
                            struct errinfo *e)
{
	struct zw_src *s = calloc(1, sizeof *s);
	if (!s)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	s->w = w;
	s->kind = SRC_LATE;
	s->fd = -1;
	s->late = fn;
	s->late_ctx = ctx;
	return zw_add_src(w, name, s, false, e);
}

static void zw_free(struct pkg_zw *w)
{
	ZSTD_freeCCtx(w->cc);
	free(w->path);
	free(w);
}

enum status pkg_zw_close(struct pkg_zw *w, struct errinfo *e)
{
	enum status st = ST_OK;
	if (zip_close(w->za) != 0) {
		if (w->failed) {
			*e = w->err;
			st = e->code;
		} else {
			st = errinfo_set(e, ST_IO, "writing %s: %s", w->path, zip_strerror(w->za));
		}
		zip_discard(w->za);
	} else {
		/* libzip wrote a temporary file and renamed it; make both durable */
		int fd = open(w->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) != 0)
			st = errinfo_errno(e, ST_IO, "syncing %s", w->path);
		if (fd >= 0)
			close(fd);
		char dir[MAX_PATH_BYTES];
		if (!st)
			st = path_dirname(dir, sizeof dir, w->path, e);
		if (!st)
			st = afile_fsync_dir(dir, e);
	}
	zw_free(w);
	return st;
}

void pkg_zw_abort(struct pkg_zw *w)
{
	if (!w)
		return;
	zip_discard(w->za);
	zw_free(w);
}
