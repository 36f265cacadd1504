/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_stream.c - zstd/age/hash pipelines of anki-backup (contract in
 * backup_stream.h; stored-file format in docs/backup.md "Stored files").
 *
 * Invariants: memory use is the codec's fixed buffers whatever the file
 * size; content hashes are computed on the bytes before compression (what a
 * restore produces), stored hashes on the bytes that reach the disk.
 *
 * Content hashing (SHA-256 and SHA-1, the larger part of the CPU time) runs
 * in a helper thread while the calling thread compresses and writes the
 * same chunk: hashes_post() hands it a chunk, hashes_wait() returns once it
 * is done, and every caller waits before the chunk's buffer is reused or
 * the digests are read.  Both threads only read the chunk.  Without the
 * thread (creation failed) hashing happens inline.
 */
#include "backup_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "backup_fs.h"

/* The helper thread's mailbox. */
struct hasher {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const void *data;
	size_t len;
	int pending; /* a chunk posted and not yet hashed */
	int quit;
	int running;
	EVP_MD_CTX *h256, *h1;
};

struct backup_codec {
	struct hasher hz;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	int level, workers;
	unsigned char *inbuf;  /* BACKUP_CHUNK */
	unsigned char *outbuf; /* zstd output, ZSTD_CStreamOutSize() or more */
	size_t outcap;
	EVP_MD_CTX *h256, *h1, *hstored;
};

static void *hasher_main(void *arg)
{
	struct hasher *h = arg;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->pending && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->quit)
			break;
		const void *data = h->data;
		size_t len = h->len;
		pthread_mutex_unlock(&h->mu);
		EVP_DigestUpdate(h->h256, data, len);
		EVP_DigestUpdate(h->h1, data, len);
		pthread_mutex_lock(&h->mu);
		h->pending = 0;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Below this a thread hand-off costs more than hashing inline: on a busy
 * machine every hand-off may wait a scheduling slice, which for thousands
 * of small media files cost more than the parallelism gained (measured:
 * 30% slower wall time at load 10 on two CPUs with a 32 KiB threshold). */
#define HASH_THREAD_MIN (512u * 1024u)

static void hashes_post(struct backup_codec *c, const void *p, size_t n)
{
	struct hasher *h = &c->hz;
	if (!h->running || n < HASH_THREAD_MIN) {
		EVP_DigestUpdate(c->h256, p, n);
		EVP_DigestUpdate(c->h1, p, n);
		return;
	}
	pthread_mutex_lock(&h->mu);
	h->data = p;
	h->len = n;
	h->pending = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void hashes_wait(struct backup_codec *c)
{
	struct hasher *h = &c->hz;
	if (!h->running)
		return;
	pthread_mutex_lock(&h->mu);
	while (h->pending)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

enum status backup_codec_new(struct backup_codec **out, int level, int workers,
                             struct errinfo *e)
{
	*out = NULL;
	struct backup_codec *c = calloc(1, sizeof *c);
	if (!c)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	c->level = level;
	c->workers = workers;
	c->outcap = ZSTD_CStreamOutSize();
	if (ZSTD_DStreamOutSize() > c->outcap)
		c->outcap = ZSTD_DStreamOutSize();
	if (c->outcap < BACKUP_CHUNK)
		c->outcap = BACKUP_CHUNK;
	c->cctx = ZSTD_createCCtx();
	c->dctx = ZSTD_createDCtx();
	c->inbuf = malloc(BACKUP_CHUNK);
	c->outbuf = malloc(c->outcap);
	c->h256 = EVP_MD_CTX_new();
	c->h1 = EVP_MD_CTX_new();
	c->hstored = EVP_MD_CTX_new();
	if (!c->cctx || !c->dctx || !c->inbuf || !c->outbuf || !c->h256 || !c->h1 || !c->hstored) {
		backup_codec_free(c);
		return errinfo_set(e, ST_NOMEM, "out of memory for the compressor");
	}
	c->hz.h256 = c->h256;
	c->hz.h1 = c->h1;
	if (pthread_mutex_init(&c->hz.mu, NULL) == 0) {
		if (pthread_cond_init(&c->hz.cv, NULL) == 0) {
			c->hz.running = pthread_create(&c->hz.th, NULL, hasher_main, &c->hz) == 0;
			if (!c->hz.running)
				pthread_cond_destroy(&c->hz.cv);
		}
		if (!c->hz.running)
			pthread_mutex_destroy(&c->hz.mu);
	}
	*out = c;
	return ST_OK;
}

void backup_codec_free(struct backup_codec *c)
{
	if (!c)
		return;
	if (c->hz.running) {
		pthread_mutex_lock(&c->hz.mu);
		c->hz.quit = 1;
		pthread_cond_broadcast(&c->hz.cv);
		pthread_mutex_unlock(&c->hz.mu);
		pthread_join(c->hz.th, NULL);
		pthread_cond_destroy(&c->hz.cv);
		pthread_mutex_destroy(&c->hz.mu);
	}
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	free(c->inbuf);
	free(c->outbuf);
	EVP_MD_CTX_free(c->h256);
	EVP_MD_CTX_free(c->h1);
	EVP_MD_CTX_free(c->hstored);
	free(c);
}

static enum status hashes_init(struct backup_codec *c, int stored, struct errinfo *e)
{
	hashes_wait(c);
	if (EVP_DigestInit_ex(c->h256, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(c->h1, EVP_sha1(), NULL) != 1 ||
	    (stored && EVP_DigestInit_ex(c->hstored, EVP_sha256(), NULL) != 1))
		return errinfo_set(e, ST_INTERNAL, "cannot initialise hashes");
	return ST_OK;
}

static void content_update(struct backup_codec *c, const void *p, size_t n)
{
	EVP_DigestUpdate(c->h256, p, n);
	EVP_DigestUpdate(c->h1, p, n);
}

static void content_final(struct backup_codec *c, struct backup_digest *d)
{
	hashes_wait(c);
	EVP_DigestFinal_ex(c->h256, d->sha256, NULL);
	EVP_DigestFinal_ex(c->h1, d->sha1, NULL);
}

static enum status read_some(int fd, void *buf, size_t cap, size_t *got, const char *what,
                             struct errinfo *e)
{
	for (;;) {
		ssize_t r = read(fd, buf, cap);
		if (r >= 0) {
			*got = (size_t)r;
			return ST_OK;
		}
		if (errno != EINTR)
			return errinfo_errno(e, ST_IO, "reading %s failed", what);
	}
}

/* ---- store ---- */

/* The stored bytes: hashed, counted and written to the file. */
static enum status file_sink(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	struct backup_out *o = ctx;
	EVP_DigestUpdate(o->c->hstored, data, len);
	o->stored_size += len;
	const unsigned char *p = data;
	while (len > 0) {
		ssize_t w = write(o->fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errinfo_errno(e, ST_IO, "writing %s failed", o->path);
		}
		p += w;
		len -= (size_t)w;
	}
	return ST_OK;
}

static enum status emit(struct backup_out *o, const void *data, size_t len, struct errinfo *e)
{
	if (len == 0)
		return ST_OK;
	if (o->use_proc)
		return backup_proc_feed(&o->proc, data, len, file_sink, o, e);
	return file_sink(o, data, len, e);
}

enum status backup_out_open(struct backup_out *o, struct backup_codec *c, const char *path,
                            char *const *age_argv, uint64_t size_hint, struct errinfo *e)
{
	memset(o, 0, sizeof *o);
	o->c = c;
	o->fd = -1;
	size_t pl = strlen(path);
	if (pl >= sizeof o->path)
		return errinfo_set(e, ST_TOOBIG, "path too long");
	memcpy(o->path, path, pl + 1);
	enum status st = hashes_init(c, 1, e);
	if (st)
		return st;
	ZSTD_CCtx_reset(c->cctx, ZSTD_reset_session_only);
	size_t zr = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, c->level);
	if (!ZSTD_isError(zr))
		zr = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(zr)) {
		int w = size_hint >= BACKUP_MT_MIN ? c->workers : 0;
		/* A libzstd built without threads refuses; single-threaded is fine. */
		if (ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_nbWorkers, w)))
			ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_nbWorkers, 0);
	}
	if (ZSTD_isError(zr))
		return errinfo_set(e, ST_INVALID, "zstd level %d refused: %s", c->level,
		                   ZSTD_getErrorName(zr));
	o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (o->fd < 0)
		return errinfo_errno(e, errno == EACCES || errno == EROFS ? ST_PERM : ST_IO,
		                     "cannot create %s", path);
	if (age_argv) {
		st = backup_proc_start(&o->proc, age_argv, e);
		if (st) {
			close(o->fd);
			o->fd = -1;
			unlink(path);
			return st;
		}
		o->use_proc = 1;
	}
	return ST_OK;
}

static enum status compress_step(struct backup_out *o, const void *data, size_t len,
                                 ZSTD_EndDirective mode, struct errinfo *e)
{
	struct backup_codec *c = o->c;
	ZSTD_inBuffer in = {data, len, 0};
	for (;;) {
		ZSTD_outBuffer out = {c->outbuf, c->outcap, 0};
		size_t r = ZSTD_compressStream2(c->cctx, &out, &in, mode);
		if (ZSTD_isError(r))
			return errinfo_set(e, ST_INTERNAL, "zstd compression failed: %s",
			                   ZSTD_getErrorName(r));
		enum status st = emit(o, c->outbuf, out.pos, e);
		if (st)
			return st;
		if (mode == ZSTD_e_end ? r == 0 : in.pos == in.size)
			return ST_OK;
	}
}

enum status backup_out_write(struct backup_out *o, const void *data, size_t len,
                             struct errinfo *e)
{
	hashes_post(o->c, data, len);
	o->size += len;
	enum status st = compress_step(o, data, len, ZSTD_e_continue, e);
	hashes_wait(o->c); /* the caller may reuse data now */
	return st;
}

enum status backup_out_copy_fd(struct backup_out *o, int fd, struct errinfo *e)
{
	for (;;) {
		size_t got = 0;
		enum status st = read_some(fd, o->c->inbuf, BACKUP_CHUNK, &got, "source file", e);
		if (st)
			return st;
		if (got == 0)
			return ST_OK;
		st = backup_out_write(o, o->c->inbuf, got, e);
		if (st)
			return st;
	}
}

enum status backup_out_finish(struct backup_out *o, struct backup_digest *d, struct errinfo *e)
{
	enum status st = compress_step(o, NULL, 0, ZSTD_e_end, e);
	if (!st && o->use_proc) {
		st = backup_proc_finish(&o->proc, file_sink, o, e);
		if (!st)
			o->use_proc = 0;
	}
	if (st) {
		backup_out_abort(o);
		return st;
	}
	memset(d, 0, sizeof *d);
	content_final(o->c, d);
	EVP_DigestFinal_ex(o->c->hstored, d->stored_sha256, NULL);
	d->size = o->size;
	d->stored_size = o->stored_size;
	struct stat sb;
	if (fstat(o->fd, &sb) != 0) {
		st = errinfo_errno(e, ST_IO, "cannot stat %s", o->path);
		backup_out_abort(o);
		return st;
	}
	d->stored_mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
	if ((uint64_t)sb.st_size != o->stored_size) {
		st = errinfo_set(e, ST_IO, "%s has %lld bytes, expected %llu", o->path,
		                 (long long)sb.st_size, (unsigned long long)o->stored_size);
		backup_out_abort(o);
		return st;
	}
	int fd = o->fd;
	o->fd = -1;
	if (close(fd) != 0) {
		st = errinfo_errno(e, ST_IO, "closing %s failed", o->path);
		unlink(o->path);
		return st;
	}
	return ST_OK;
}

void backup_out_abort(struct backup_out *o)
{
	if (o->use_proc) {
		backup_proc_kill(&o->proc);
		o->use_proc = 0;
	}
	if (o->fd >= 0) {
		close(o->fd);
		o->fd = -1;
		unlink(o->path);
	}
	/* Leave the shared compressor ready for the next file. */
	ZSTD_CCtx_reset(o->c->cctx, ZSTD_reset_session_only);
}

enum status backup_hash_fd(struct backup_codec *c, int fd, struct backup_digest *d,
                           struct errinfo *e)
{
	memset(d, 0, sizeof *d);
	enum status st = hashes_init(c, 0, e);
	if (st)
		return st;
	for (;;) {
		size_t got = 0;
		st = read_some(fd, c->inbuf, BACKUP_CHUNK, &got, "source file", e);
		if (st)
			return st;
		if (got == 0)
			break;
		content_update(c, c->inbuf, got);
		d->size += got;
	}
	content_final(c, d);
	return ST_OK;
}

enum status backup_sink_fd(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	int fd = *(int *)ctx;
	const unsigned char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errinfo_errno(e, ST_IO, "write failed");
		}
		p += w;
		len -= (size_t)w;
	}
	return ST_OK;
}

/* ---- load ---- */

struct load_ctx {
	struct backup_codec *c;
	uint64_t max_size;
	uint64_t size;
	size_t last; /* last ZSTD_decompressStream result: 0 = frame complete */
	int any;     /* any compressed input seen */
	backup_sink_fn sink;
	void *sink_ctx;
	const char *path;
};

/* Compressed bytes in, content out. */
static enum status zsink(void *ctx, const void *data, size_t len, struct errinfo *e)
{
	struct load_ctx *l = ctx;
	struct backup_codec *c = l->c;
	ZSTD_inBuffer in = {data, len, 0};
	if (len > 0)
		l->any = 1;
	while (in.pos < in.size) {
		ZSTD_outBuffer out = {c->outbuf, c->outcap, 0};
		size_t r = ZSTD_decompressStream(c->dctx, &out, &in);
		if (ZSTD_isError(r))
			return errinfo_set(e, ST_CORRUPT, "%s: damaged zstd data: %s", l->path,
			                   ZSTD_getErrorName(r));
		l->last = r;
		if (out.pos > 0) {
			if (out.pos > l->max_size - l->size)
				return errinfo_set(e, ST_CORRUPT,
				                   "%s: decompresses to more than the %llu bytes expected",
				                   l->path, (unsigned long long)l->max_size);
			l->size += out.pos;
			hashes_post(c, c->outbuf, out.pos);
			enum status st = l->sink ? l->sink(l->sink_ctx, c->outbuf, out.pos, e) : ST_OK;
			hashes_wait(c); /* outbuf is refilled next */
			if (st)
				return st;
		}
	}
	return ST_OK;
}

enum status backup_load(struct backup_codec *c, const char *path, char *const *age_argv,
                        uint64_t max_size, backup_sink_fn sink, void *ctx,
                        struct backup_digest *d, struct errinfo *e)
{
	memset(d, 0, sizeof *d);
	enum status st = hashes_init(c, 1, e);
	if (st)
		return st;
	ZSTD_DCtx_reset(c->dctx, ZSTD_reset_session_only);
	/* Bound the window a hostile frame may ask for (zstd's default cap). */
	ZSTD_DCtx_setParameter(c->dctx, ZSTD_d_windowLogMax, 27);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errinfo_errno(e, errno == ENOENT ? ST_NOTFOUND : ST_IO, "cannot open %s", path);
	struct load_ctx l = {.c = c, .max_size = max_size, .sink = sink, .sink_ctx = ctx,
	                     .path = path, .last = 1};
	struct backup_proc proc;
	int use_proc = 0;
	if (age_argv) {
		st = backup_proc_start(&proc, age_argv, e);
		if (st) {
			close(fd);
			return st;
		}
		use_proc = 1;
	}
	/* The codec's inbuf is ours here: zsink only uses outbuf. */
	for (;;) {
		size_t got = 0;
		st = read_some(fd, c->inbuf, BACKUP_CHUNK, &got, path, e);
		if (st || got == 0)
			break;
		EVP_DigestUpdate(c->hstored, c->inbuf, got);
		d->stored_size += got;
		st = use_proc ? backup_proc_feed(&proc, c->inbuf, got, zsink, &l, e)
		              : zsink(&l, c->inbuf, got, e);
		if (st)
			break;
	}
	close(fd);
	if (use_proc) {
		if (!st)
			st = backup_proc_finish(&proc, zsink, &l, e);
		backup_proc_kill(&proc);
	}
	if (!st && (!l.any || l.last != 0))
		st = errinfo_set(e, ST_CORRUPT, "%s: zstd data is truncated", path);
	EVP_DigestFinal_ex(c->hstored, d->stored_sha256, NULL);
	content_final(c, d);
	d->size = l.size;
	return st;
}
