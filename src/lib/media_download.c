/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_download.c - downloadFiles (sync-protocol.md §5.5, §8.5 item 40).
 *
 * Selection: at most 25 names; each, in request order, must have a live
 * row (else 409 for the whole request); sizes are summed and the walk stops
 * after the file that takes the sum past 2.5 MiB, so the reply is a prefix
 * of the request and, for a non-empty request, holds at least one file.
 *
 * A selected file that is missing on disk, is not a regular file, or whose
 * size differs from its row is "forgotten": the row is deleted without a
 * USN change (so the deletion does not spread to other clients) and the
 * request gets 409; the client's next sync no longer hears of the name, so
 * it cannot loop.  The official server forgets only missing files; a file
 * of the wrong size would otherwise be served with a checksum that
 * mediaChanges contradicts.  Such a file is removed too (journal record
 * first), keeping "no file without a live row".
 *
 * The zip (Stored members "0".."k-1", then _meta {"0":name,...}) is built
 * by libzip.  A selection of up to MEDIA_DL_MEM_MAX bytes
 * (media_srv_set_dl_mem_max; every reply of a normal sync: 2.5 MiB plus
 * the file that passed it) is built in memory from the files read whole
 * and handed over as a malloc'd block, so no file is created and deleted
 * on disk per request; a larger one is written by libzip straight from the
 * open files to a file in the user directory, unlinked once opened, so
 * memory stays bounded whatever the file sizes, and the caller streams
 * the descriptor.
 *
 * A reply holding every live row between two usns tells the caller so
 * (media_download.consecutive): a client fetching all media asks next for
 * the rows after it, which media_srv_download_after builds ahead.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "log.h"
#include "media_internal.h"
#include "media_srv.h"
#include "path.h"

struct dl_item {
	const char *name;
	struct media_row row;
	int fd;
};

/* Forget the row of a file that is not what the DB says (see above). */
static enum status forget(struct media_srv *m, const struct media_row *row, int remove_file,
                          struct errinfo *e)
{
	struct media_meta meta;
	enum status st = ST_OK;
	if (remove_file) {
		if ((st = media_srv_journal_begin(m, e)) ||
		    (st = media_srv_journal_unlink(m, row->fname, row->fname_len, e)) ||
		    (st = media_srv_journal_flush(m, e)) || (st = media_srv_sync_data(m, e)))
			return st;
	}
	if ((st = media_db_begin(m->db, e)))
		return st;
	if ((st = media_db_get_meta(m->db, &meta, e)) == ST_OK) {
		meta.total_bytes -= row->size;
		if (meta.total_bytes < 0)
			meta.total_bytes = 0;
		if (meta.total_nonempty_files > 0)
			meta.total_nonempty_files--;
		st = media_db_delete(m->db, row->fname, row->fname_len, e);
	}
	if (st == ST_OK)
		st = media_db_set_meta(m->db, &meta, e);
	if (st == ST_OK)
		st = media_db_commit(m->db, e);
	if (st) {
		media_db_rollback(m->db);
		if (m->jbegun)
			media_srv_journal_clear(m, NULL);
		return st;
	}
	if (remove_file) {
		media_hook(m, MH_DL_FORGET);
		if (unlinkat(m->mediafd, row->fname, 0) != 0 && errno != ENOENT)
			return errinfo_errno(e, ST_IO, "cannot remove %s/media/%s", m->userdir,
			                     row->fname);
		if ((st = media_srv_sync_dir(m, m->mediafd, e)) ||
		    (st = media_srv_journal_clear(m, e)))
			return st;
	}
	return ST_OK;
}

/* Open the file of a selected row and check it is what the row says;
 * ST_CONFLICT (after forgetting the row) otherwise. */
static enum status open_checked(struct media_srv *m, struct dl_item *it, struct errinfo *e)
{
	const struct media_row *r = &it->row;
	int remove_file = 0;
	const char *why = NULL;
	if (r->fname_len > MEDIA_NAME_MAX || !path_name_ok(r->fname, r->fname_len) ||
	    media_name_is_tmp(r->fname)) {
		why = "has a name that is not a file name";
	} else {
		it->fd =
		    openat(m->mediafd, r->fname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		struct stat sb;
		if (it->fd < 0) {
			if (errno != ENOENT && errno != ELOOP)
				return errinfo_errno(e, ST_IO, "cannot open %s/media/%s",
				                     m->userdir, r->fname);
			why = errno == ENOENT ? "is missing on disk" : "is a symbolic link";
		} else if (fstat(it->fd, &sb) != 0) {
			return errinfo_errno(e, ST_IO, "cannot stat %s/media/%s", m->userdir,
			                     r->fname);
		} else if (!S_ISREG(sb.st_mode)) {
			why = "is not a regular file";
		} else if (sb.st_size != r->size) {
			why = "has the wrong size";
			remove_file = 1;
		}
	}
	if (!why)
		return ST_OK;
	if (it->fd >= 0) {
		close(it->fd);
		it->fd = -1;
	}
	log_warnx("media %s: %s %s; forgetting it", m->userdir, r->fname, why);
	enum status st = forget(m, r, remove_file, e);
	if (st)
		return st;
	return errinfo_set(e, ST_CONFLICT, "requested a file that doesn't exist: %s", r->fname);
}

/* The whole file of a selected item (its size checked by open_checked)
 * in one malloc'd block: one read instead of stdio's 4-8 KiB ones. */
static enum status slurp(const struct media_srv *m, const struct dl_item *it, unsigned char **out,
                         struct errinfo *e)
{
	size_t size = (size_t)it->row.size, got = 0;
	unsigned char *p = malloc(size ? size : 1);
	if (!p)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	while (got < size) {
		ssize_t r = pread(it->fd, p + got, size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			enum status st =
			    r < 0 ? errinfo_errno(e, ST_IO, "cannot read %s/media/%s", m->userdir,
			                          it->row.fname)
			          : errinfo_set(e, ST_IO, "%s/media/%s shrank while being read",
			                        m->userdir, it->row.fname);
			free(p);
			return st;
		}
		got += (size_t)r;
	}
	*out = p;
	return ST_OK;
}

/* A libzip source for a selected file: its bytes in memory (mem), or
 * read through the open descriptor while the zip is written. */
static enum status member_source(const struct media_srv *m, zip_t *za, struct dl_item *it, int mem,
                                 zip_source_t **out, struct errinfo *e)
{
	if (mem) {
		unsigned char *p = NULL;
		enum status st = slurp(m, it, &p, e);
		if (st)
			return st;
		if (!(*out = zip_source_buffer(za, p, (zip_uint64_t)it->row.size, 1))) {
			free(p);
			return errinfo_set(e, ST_NOMEM, "libzip: %s", zip_strerror(za));
		}
		return ST_OK; /* NOLINT(clang-analyzer-unix.Malloc): the source frees p */
	}
	FILE *f = fdopen(it->fd, "rb");
	if (!f)
		return errinfo_errno(e, ST_IO, "fdopen failed");
	it->fd = -1; /* owned by f now */
	if (!(*out = zip_source_filep(za, f, 0, it->row.size))) {
		fclose(f);
		return errinfo_set(e, ST_IO, "libzip: %s", zip_strerror(za));
	}
	return ST_OK;
}

/* Add members "0".."k-1" (Stored) and _meta to za. */
static enum status add_members(const struct media_srv *m, zip_t *za, struct dl_item *items,
                               size_t k, int mem, struct errinfo *e)
{
	enum status st = ST_OK;
	json_t *meta = json_object();
	if (!meta)
		st = errinfo_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; st == ST_OK && i < k; i++) {
		char member[24];
		snprintf(member, sizeof member, "%zu", i);
		zip_source_t *src = NULL;
		if ((st = member_source(m, za, &items[i], mem, &src, e)))
			break;
		zip_int64_t idx = zip_file_add(za, member, src, ZIP_FL_ENC_UTF_8);
		if (idx < 0) {
			zip_source_free(src);
			st = errinfo_set(e, ST_IO, "libzip: %s", zip_strerror(za));
			break;
		}
		if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) != 0)
			st = errinfo_set(e, ST_IO, "libzip: %s", zip_strerror(za));
		else if (json_object_set_new(
		             meta, member,
		             json_stringn(items[i].row.fname, items[i].row.fname_len)))
			st = errinfo_set(e, ST_INVALID, "file name is not UTF-8");
	}
	char *mj = NULL;
	if (st == ST_OK && !(mj = json_dumps(meta, JSON_COMPACT)))
		st = errinfo_set(e, ST_NOMEM, "out of memory");
	json_decref(meta);
	if (st == ST_OK) {
		zip_source_t *src = zip_source_buffer(za, mj, strlen(mj), 1); /* libzip frees mj */
		if (!src) {
			free(mj);
			st = errinfo_set(e, ST_IO, "libzip: %s", zip_strerror(za));
		} else {
			zip_int64_t idx = zip_file_add(za, "_meta", src, ZIP_FL_ENC_UTF_8);
			if (idx < 0) {
				zip_source_free(src);
				st = errinfo_set(e, ST_IO, "libzip: %s", zip_strerror(za));
			} else if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE,
			                                    0) != 0) {
				st = errinfo_set(e, ST_IO, "libzip: %s", zip_strerror(za));
			}
		}
	}
	return st;
}

static enum status build_zip_file(struct media_srv *m, struct dl_item *items, size_t k,
                                  struct media_download *dl, struct errinfo *e)
{
	char name[MAX_PATH_BYTES], rnd[17];
	/* a random name; libzip writes "<name>.XXXXXX" and renames it here */
	enum status st = media_srv_random_hex(rnd, 16, e);
	if (st)
		return st;
	if (snprintf(name, sizeof name, "%s/%s%s", m->userdir, MEDIA_DL_PREFIX, rnd) >=
	    (int)sizeof name)
		return errinfo_set(e, ST_INVALID, "path too long");
	int zerr = 0;
	zip_t *za = zip_open(name, ZIP_CREATE | ZIP_EXCL, &zerr);
	if (!za)
		return errinfo_set(e, ST_IO, "cannot create the download zip (libzip error %d)",
		                   zerr);
	if ((st = add_members(m, za, items, k, 0, e))) {
		zip_discard(za);
		return st;
	}
	if (zip_close(za) != 0) {
		st = errinfo_set(e, ST_IO, "writing the download zip: %s", zip_strerror(za));
		zip_discard(za);
		unlink(name);
		return st;
	}
	dl->fd = open(name, O_RDONLY | O_CLOEXEC);
	int saved = errno;
	unlink(name);
	if (dl->fd < 0) {
		errno = saved;
		return errinfo_errno(e, ST_IO, "cannot reopen the download zip");
	}
	struct stat sb;
	if (fstat(dl->fd, &sb) != 0) {
		st = errinfo_errno(e, ST_IO, "cannot stat the download zip");
		close(dl->fd);
		dl->fd = -1;
		return st;
	}
	dl->size = (uint64_t)sb.st_size;
	return ST_OK;
}

/* Copy the finished archive in zs into one malloc'd block. */
static enum status source_to_mem(zip_source_t *zs, struct media_download *dl, struct errinfo *e)
{
	zip_stat_t zst;
	zip_stat_init(&zst);
	if (zip_source_stat(zs, &zst) != 0 || !(zst.valid & ZIP_STAT_SIZE))
		return errinfo_set(e, ST_IO, "libzip: no size for the download zip");
	unsigned char *p = malloc(zst.size ? zst.size : 1);
	if (!p)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	if (zip_source_open(zs) != 0) {
		free(p);
		return errinfo_set(e, ST_IO, "libzip: cannot read the download zip");
	}
	uint64_t done = 0;
	enum status st = ST_OK;
	while (done < zst.size) {
		zip_int64_t r = zip_source_read(zs, p + done, zst.size - done);
		if (r <= 0) {
			st = errinfo_set(e, ST_IO, "download zip: %llu bytes of %llu",
			                 (unsigned long long)done, (unsigned long long)zst.size);
			break;
		}
		done += (uint64_t)r;
	}
	zip_source_close(zs);
	if (st) {
		free(p);
		return st;
	}
	dl->data = p;
	dl->size = done;
	return ST_OK;
}

/* The zip built in memory from the files read whole: no file is created
 * and deleted on the disk per request (on ext4 every new inode then pays
 * for the recently freed ones), no stdio.  Only for selections up to
 * MEDIA_DL_MEM_MAX bytes; the peak is about twice that (the files, then
 * the archive, then its copy). */
static enum status build_zip_mem(struct media_srv *m, struct dl_item *items, size_t k,
                                 struct media_download *dl, struct errinfo *e)
{
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *zs = zip_source_buffer_create(NULL, 0, 0, &ze);
	if (!zs) {
		zip_error_fini(&ze);
		return errinfo_set(e, ST_NOMEM, "libzip: cannot create a buffer");
	}
	zip_source_keep(zs); /* still ours after zip_close */
	zip_t *za = zip_open_from_source(zs, ZIP_CREATE | ZIP_TRUNCATE, &ze);
	enum status st = ST_OK;
	if (!za) {
		st = errinfo_set(e, ST_IO, "libzip: %s", zip_error_strerror(&ze));
	} else if ((st = add_members(m, za, items, k, 1, e))) {
		zip_discard(za);
	} else if (zip_close(za) != 0) {
		st = errinfo_set(e, ST_IO, "writing the download zip: %s", zip_strerror(za));
		zip_discard(za);
	} else {
		st = source_to_mem(zs, dl, e);
	}
	zip_source_free(zs);
	zip_error_fini(&ze);
	return st;
}

static enum status build_zip(struct media_srv *m, struct dl_item *items, size_t k, uint64_t total,
                             struct media_download *dl, struct errinfo *e)
{
	int mem = total <= m->dl_mem_max;
	enum status st =
	    mem ? build_zip_mem(m, items, k, dl, e) : build_zip_file(m, items, k, dl, e);
	if (st == ST_OK) {
		dl->files = (uint32_t)k;
		dl->in_memory = mem;
	}
	return st;
}

static void dl_init(struct media_download *dl)
{
	memset(dl, 0, sizeof *dl);
	dl->fd = -1;
}

/* Open, check and zip the selected items[0..k) of total bytes. */
static enum status finish(struct media_srv *m, struct dl_item *items, size_t k, uint64_t total,
                          struct media_download *dl, struct errinfo *e)
{
	enum status st = ST_OK;
	for (size_t i = 0; st == ST_OK && i < k; i++)
		st = open_checked(m, &items[i], e);
	if (st == ST_OK)
		st = build_zip(m, items, k, total, dl, e);
	for (size_t i = 0; i < k; i++)
		if (items[i].fd >= 0)
			close(items[i].fd);
	if (st == ST_OK && k > 0) {
		dl->last_usn = items[k - 1].row.usn;
		dl->cut = total > MEDIA_ZIP_TARGET_BYTES;
	}
	return st;
}

/* Whether items[0..k) are every live row from the first's usn to the
 * last's (inside the caller's read transaction). */
static enum status check_consecutive(struct media_srv *m, const struct dl_item *items, size_t k,
                                     int *out, struct errinfo *e)
{
	*out = 0;
	for (size_t i = 1; i < k; i++)
		if (items[i].row.usn <= items[i - 1].row.usn)
			return ST_OK;
	int64_t live = 0;
	enum status st =
	    k ? media_db_live_count(m->db, items[0].row.usn, items[k - 1].row.usn, &live, e)
	      : ST_OK;
	*out = st == ST_OK && k > 0 && live == (int64_t)k;
	return st;
}

static enum status media_srv_download_impl(struct media_srv *m, const char *const *names, size_t n,
                                           struct media_download *dl, struct errinfo *e)
{
	dl_init(dl);
	if (n > MEDIA_ZIP_FILES_MAX)
		return errinfo_set(e, ST_INVALID, "too many files requested (%zu)", n);
	struct dl_item items[MEDIA_ZIP_FILES_MAX];
	size_t k = 0;
	uint64_t total = 0;
	/* one read transaction for the lookups (one WAL read lock, one state) */
	enum status st = n ? media_db_begin_read(m->db, e) : ST_OK;
	for (size_t i = 0; st == ST_OK && i < n; i++) {
		struct dl_item *it = &items[k];
		it->name = names[i];
		it->fd = -1;
		it->row.size = 0;
		if (!names[i]) {
			st = ST_INVALID;
			errinfo_set(e, st, "no file name");
			break;
		}
		size_t len = strlen(names[i]);
		st = len > MEDIA_NAME_MAX ? ST_NOTFOUND
		                          : media_db_get(m->db, names[i], len, &it->row, e);
		if (st == ST_OK && it->row.size <= 0)
			st = ST_NOTFOUND;
		if (st == ST_NOTFOUND) {
			st = ST_CONFLICT;
			errinfo_set(e, st, "missing/empty file entry: %.255s", names[i]);
		}
		if (st)
			break;
		k++;
		total += (uint64_t)it->row.size;
		if (total > MEDIA_ZIP_TARGET_BYTES)
			break;
	}
	if (st == ST_OK)
		st = check_consecutive(m, items, k, &dl->consecutive, e);
	if (n) {
		if (st)
			media_db_rollback(m->db);
		else
			st = media_db_commit(m->db, e);
	}
	return st ? st : finish(m, items, k, total, dl, e);
}

static enum status media_srv_download_after_impl(struct media_srv *m, int32_t after,
                                                 struct media_download *dl,
                                                 struct media_dl_sel *sel, struct errinfo *e)
{
	dl_init(dl);
	sel->n = 0;
	struct dl_item items[MEDIA_ZIP_FILES_MAX];
	struct media_row rows[MEDIA_ZIP_FILES_MAX];
	size_t nrows = 0;
	enum status st = media_db_begin_read(m->db, e);
	if (st == ST_OK)
		st = media_db_live_after(m->db, after, rows, MEDIA_ZIP_FILES_MAX, &nrows, e);
	if (st) {
		media_db_rollback(m->db);
		return st;
	}
	if ((st = media_db_commit(m->db, e)))
		return st;
	if (nrows == 0)
		return errinfo_set(e, ST_NOTFOUND, "no live row after usn %d", (int)after);
	size_t k = 0;
	uint64_t total = 0;
	while (k < nrows && total <= MEDIA_ZIP_TARGET_BYTES) {
		items[k] = (struct dl_item){.name = rows[k].fname, .row = rows[k], .fd = -1};
		total += (uint64_t)rows[k].size;
		size_t nl = rows[k].fname_len < MEDIA_NAME_MAX ? rows[k].fname_len : MEDIA_NAME_MAX;
		memcpy(sel->names[k], rows[k].fname, nl);
		sel->names[k][nl] = '\0';
		k++;
	}
	if (total > m->dl_mem_max)
		return errinfo_set(e, ST_TOOBIG, "next selection of %llu bytes is not built ahead",
		                   (unsigned long long)total);
	sel->n = k;
	if ((st = finish(m, items, k, total, dl, e)))
		return st;
	dl->consecutive = 1;
	return ST_OK;
}

int media_dl_sel_matches(const struct media_dl_sel *sel, const struct media_download *dl,
                         const char *const *names, size_t n)
{
	if (sel->n == 0 || n < sel->n || (n > sel->n && !dl->cut))
		return 0;
	for (size_t i = 0; i < sel->n; i++)
		if (!names[i] || strcmp(names[i], sel->names[i]) != 0)
			return 0;
	return 1;
}

enum status media_dl_names_json(const char *json, size_t len, const char **names, size_t *n,
                                void **hold, struct errinfo *e)
{
	*n = 0;
	*hold = NULL;
	json_error_t jerr;
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return errinfo_set(e, ST_INVALID, "invalid json: %s", jerr.text);
	json_t *files = json_is_object(o) ? json_object_get(o, "files") : NULL;
	enum status st = ST_OK;
	if (!json_is_array(files))
		st = errinfo_set(e, ST_INVALID, "invalid json: files missing or not an array");
	size_t count = st == ST_OK ? json_array_size(files) : 0;
	if (st == ST_OK && count > MEDIA_ZIP_FILES_MAX)
		st = errinfo_set(e, ST_INVALID, "too many files requested (%zu)", count);
	for (size_t i = 0; st == ST_OK && i < count; i++) {
		json_t *s = json_array_get(files, i);
		if (!json_is_string(s))
			st =
			    errinfo_set(e, ST_INVALID, "invalid json: a file name is not a string");
		else
			names[i] = json_string_value(s);
	}
	if (st) {
		json_decref(o);
		return st;
	}
	*n = count;
	*hold = o;
	return ST_OK;
}

void media_dl_names_free(void *hold)
{
	json_decref(hold);
}

static enum status media_srv_download_json_impl(struct media_srv *m, const char *json, size_t len,
                                                struct media_download *dl, struct errinfo *e)
{
	dl_init(dl);
	const char *names[MEDIA_ZIP_FILES_MAX] = {0};
	size_t n = 0;
	void *hold = NULL;
	enum status st = media_dl_names_json(json, len, names, &n, &hold, e);
	if (st == ST_OK)
		st = media_srv_download(m, names, n, dl, e);
	media_dl_names_free(hold);
	return st;
}

/* Public entry points: statuses as the protocol answers them. */
enum status media_srv_download(struct media_srv *m, const char *const *names, size_t n,
                               struct media_download *dl, struct errinfo *e)
{
	return media_outcome(media_srv_download_impl(m, names, n, dl, e), e);
}

enum status media_srv_download_after(struct media_srv *m, int32_t after, struct media_download *dl,
                                     struct media_dl_sel *sel, struct errinfo *e)
{
	enum status st = media_srv_download_after_impl(m, after, dl, sel, e);
	return st == ST_NOTFOUND || st == ST_TOOBIG ? st : media_outcome(st, e);
}

enum status media_srv_download_json(struct media_srv *m, const char *json, size_t len,
                                    struct media_download *dl, struct errinfo *e)
{
	return media_outcome(media_srv_download_json_impl(m, json, len, dl, e), e);
}
