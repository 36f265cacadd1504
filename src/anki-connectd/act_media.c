/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * act_media.c - media actions (ankiconnect.md §3.4) and the media part
 * of note actions: bytes from base64 data (decoded with Python's lenient
 * rules and error texts), from a local path, or from a URL fetched with
 * libcurl within webTimeout; every size bounded by AC_MEDIA_FILE_MAX.
 * Names are handled by ac_media.h, which refuses path tricks.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac_media.h"
#include "ac_request.h"
#include "actions.h"
#include "auth.h"

/* ---- base64 as binascii.a2b_base64 (non-strict) ---- */

static enum status b64_decode(const char *s, size_t n, struct buf *out, struct buf *msg)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80) {
			buf_append_str(msg, "string argument should contain only ASCII characters",
			               NULL);
			return ST_INVALID;
		}
	buf_init(out, AC_MEDIA_FILE_MAX);
	int quad = 0, pads = 0;
	unsigned left = 0;
	size_t produced = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '=') {
			if (quad >= 2 && quad + ++pads >= 4)
				goto done;
			continue;
		}
		int v = auth_b64_value(c);
		if (v < 0)
			continue;
		pads = 0;
		unsigned char byte;
		switch (quad) {
		case 0:
			quad = 1;
			left = (unsigned)v;
			continue;
		case 1:
			quad = 2;
			byte = (unsigned char)((left << 2) | ((unsigned)v >> 4));
			left = (unsigned)v & 0x0f;
			break;
		case 2:
			quad = 3;
			byte = (unsigned char)((left << 4) | ((unsigned)v >> 2));
			left = (unsigned)v & 0x03;
			break;
		default:
			quad = 0;
			byte = (unsigned char)((left << 6) | (unsigned)v);
			left = 0;
			break;
		}
		if (buf_append(out, &byte, 1, NULL) != ST_OK) {
			buf_free(out);
			buf_printf(msg, NULL, "media too large: the limit is %u bytes",
			           AC_MEDIA_FILE_MAX);
			return ST_TOOBIG;
		}
		produced++;
	}
	if (quad != 0) {
		if (quad == 1)
			buf_printf(msg, NULL,
			           "Invalid base64-encoded string: number of data characters (%zu) "
			           "cannot be "
			           "1 more than a multiple of 4",
			           produced / 3 * 4 + 1);
		else
			buf_append_str(msg, "Incorrect padding", NULL);
		buf_free(out);
		return ST_INVALID;
	}
done:
	if (!out->data)
		buf_append(out, "", 0, NULL);
	return ST_OK;
}

/* ---- sources ---- */

static enum status read_path(const char *path, struct buf *out, struct buf *msg)
{
	struct buf rep;
	buf_init(&rep, 0);
	ac_py_repr_str(path, strlen(path), &rep, NULL);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	enum status st = ST_OK;
	if (fd < 0) {
		buf_printf(msg, NULL, "[Errno %d] %s: %s", errno, strerror(errno),
		           rep.data ? (const char *)rep.data : "''");
		st = ST_INVALID;
	} else if (fstat(fd, &sb) != 0 || S_ISDIR(sb.st_mode)) {
		buf_printf(msg, NULL, "[Errno %d] %s: %s", EISDIR, strerror(EISDIR),
		           rep.data ? (const char *)rep.data : "''");
		st = ST_INVALID;
	} else if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > AC_MEDIA_FILE_MAX) {
		buf_printf(msg, NULL,
		           "%s is too large for a media file (%lld bytes; the limit is %u)", path,
		           (long long)sb.st_size, AC_MEDIA_FILE_MAX);
		st = ST_TOOBIG;
	} else {
		buf_init(out, AC_MEDIA_FILE_MAX);
		struct errinfo e;
		st = buf_read_fd(out, fd, &e);
		if (st) {
			buf_free(out);
			buf_printf(msg, NULL, "%s: %s", path,
			           st == ST_TOOBIG ? "too large for a media file" : e.msg);
		} else if (!out->data) {
			buf_append(out, "", 0, NULL);
		}
	}
	if (fd >= 0)
		close(fd);
	buf_free(&rep);
	return st;
}

struct dl {
	struct buf *out;
	bool too_big;
};

static size_t dl_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct dl *d = arg;
	size_t n = size * nmemb;
	if (buf_append(d->out, p, n, NULL) != ST_OK) {
		d->too_big = true;
		return 0; /* aborts the transfer */
	}
	return n;
}

static enum status download(const char *url, long long timeout_ms, struct buf *out, struct buf *msg)
{
	CURL *h = curl_easy_init();
	if (!h) {
		buf_append_str(msg, "out of memory", NULL);
		return ST_NOMEM;
	}
	buf_init(out, AC_MEDIA_FILE_MAX);
	struct dl d = {out, false};
	char err[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)AC_MEDIA_FILE_MAX);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dl_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &d);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "anki-connectd");
	CURLcode rc = curl_easy_perform(h);
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	enum status st = ST_OK;
	if (d.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		buf_printf(msg, NULL, "%s download failed: larger than the media limit of %u bytes",
		           url, AC_MEDIA_FILE_MAX);
		st = ST_TOOBIG;
	} else if (rc != CURLE_OK) {
		buf_printf(msg, NULL, "%s download failed: %s", url,
		           err[0] ? err : curl_easy_strerror(rc));
		st = ST_INVALID;
	} else if (code != 200) {
		buf_printf(msg, NULL, "%s download failed with return code %ld", url, code);
		st = ST_INVALID;
	}
	if (st)
		buf_free(out);
	else if (!out->data)
		buf_append(out, "", 0, NULL);
	return st;
}

/* A string parameter's value, or NULL (also for non-strings). */
static const char *sval(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : NULL;
}

enum status ac_media_store(struct ac_server *srv, const char *filename, size_t flen,
                           const json_t *data, const json_t *path, const json_t *url,
                           const json_t *skip_hash, bool delete_existing, char **stored,
                           struct buf *msg)
{
	*stored = NULL;
	buf_reset(msg);
	if (!ac_truthy(data) && !ac_truthy(path) && !ac_truthy(url)) {
		buf_append_str(msg, "You must provide a \"data\", \"path\", or \"url\" field.",
		               NULL);
		return ST_INVALID;
	}
	struct buf bytes;
	enum status st;
	if (ac_truthy(data)) {
		if (!sval(data)) {
			buf_printf(
			    msg, NULL,
			    "argument should be a bytes-like object or ASCII string, not '%s'",
			    ac_pytype(data));
			return ST_INVALID;
		}
		st = b64_decode(sval(data), json_string_length(data), &bytes, msg);
	} else if (ac_truthy(path)) {
		if (!sval(path) || strlen(sval(path)) != json_string_length(path)) {
			buf_append_str(msg, "path must be a string without NUL bytes", NULL);
			return ST_INVALID;
		}
		st = read_path(sval(path), &bytes, msg);
	} else {
		if (!sval(url) || strlen(sval(url)) != json_string_length(url)) {
			buf_append_str(msg, "url must be a string", NULL);
			return ST_INVALID;
		}
		st = download(sval(url), srv->set.timeout_ms, &bytes, msg);
	}
	if (st)
		return st;
	if (skip_hash && !json_is_null(skip_hash)) {
		char md5[33];
		ac_media_md5_hex(bytes.data, bytes.len, md5);
		if (sval(skip_hash) && strcmp(sval(skip_hash), md5) == 0) {
			buf_free(&bytes);
			return ST_OK; /* skipped: *stored stays NULL */
		}
	}
	struct errinfo e;
	errinfo_clear(&e);
	if (delete_existing)
		ac_media_trash(srv->media_dir, filename, flen, NULL);
	st = ac_media_add(srv->media_dir, filename, flen, bytes.data, bytes.len, true, stored, &e);
	buf_free(&bytes);
	if (st)
		buf_printf(msg, NULL, "%s", e.msg[0] ? e.msg : "cannot store the media file");
	return st;
}

/* filename as a NUL-free string, or fail the call. */
static const char *filename_param(struct ac_call *k)
{
	json_t *f = json_object_get(k->params, "filename");
	if (!json_is_string(f)) {
		ac_fail(k, "filename must be a string, not %s", ac_pytype(f));
		return NULL;
	}
	return json_string_value(f);
}

enum status act_store_media_file(struct ac_call *k)
{
	const char *name = filename_param(k);
	if (!name)
		return ST_INVALID;
	json_t *del = json_object_get(k->params, "deleteExisting");
	bool delete_existing = del ? ac_truthy(del) : true;
	char *stored = NULL;
	struct buf msg;
	buf_init(&msg, 0);
	enum status st =
	    ac_media_store(k->srv, name, json_string_length(json_object_get(k->params, "filename")),
	                   json_object_get(k->params, "data"), json_object_get(k->params, "path"),
	                   json_object_get(k->params, "url"),
	                   json_object_get(k->params, "skipHash"), delete_existing, &stored, &msg);
	if (st)
		ac_fail(k, "%s", msg.data ? (const char *)msg.data : "error");
	else
		ac_ok(k, stored ? json_string(stored) : json_null());
	buf_free(&msg);
	free(stored);
	return k->failed ? ST_INVALID : ST_OK;
}

enum status act_retrieve_media_file(struct ac_call *k)
{
	const char *name = filename_param(k);
	if (!name)
		return ST_INVALID;
	struct buf data;
	struct errinfo e;
	json_t *f = json_object_get(k->params, "filename");
	enum status st = ac_media_read(k->srv->media_dir, name, json_string_length(f), &data, &e);
	if (st == ST_NOTFOUND || st == ST_INVALID)
		return ac_ok(k, json_false());
	if (st)
		return ac_fail_err(k, &e);
	size_t n = 4 * ((data.len + 2) / 3);
	char *b64 = malloc(n + 1);
	if (!b64) {
		buf_free(&data);
		return ac_fail(k, "out of memory");
	}
	int w = EVP_EncodeBlock((unsigned char *)b64,
	                        data.data ? data.data : (const unsigned char *)"", (int)data.len);
	buf_free(&data);
	json_t *j = json_stringn_nocheck(b64, w > 0 ? (size_t)w : 0);
	free(b64);
	return ac_ok(k, j);
}

enum status act_get_media_files_names(struct ac_call *k)
{
	json_t *p = json_object_get(k->params, "pattern");
	const char *pattern = p ? sval(p) : "*";
	if (!pattern)
		return ac_fail(k, "expected str, bytes or os.PathLike object, not %s",
		               ac_pytype(p));
	char **names = NULL;
	size_t n = 0;
	struct errinfo e;
	if (ac_media_list(k->srv->media_dir, pattern, &names, &n, &e))
		return ac_fail_err(k, &e);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		if (arr)
			json_array_append_new(arr, ac_jstr(names[i]));
		free(names[i]);
	}
	free(names);
	return ac_ok(k, arr);
}

enum status act_get_media_dir_path(struct ac_call *k)
{
	char real[MAX_PATH_BYTES];
	const char *p = realpath(k->srv->media_dir, real) ? real : k->srv->media_dir;
	return ac_ok(k, ac_jstr(p));
}

enum status act_delete_media_file(struct ac_call *k)
{
	const char *name = filename_param(k);
	if (!name)
		return ST_INVALID;
	struct errinfo e;
	json_t *f = json_object_get(k->params, "filename");
	enum status st = ac_media_trash(k->srv->media_dir, name, json_string_length(f), &e);
	if (st && st != ST_INVALID)
		return ac_fail_err(k, &e);
	return ac_ok(k, json_null());
}
