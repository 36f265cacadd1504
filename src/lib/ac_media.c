/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ac_media.c - media folder operations for AnkiConnect (ankiconnect.md
 * §3.4, collection-format.md §8.1, §8.3).  Every client name goes through
 * ac_media_normalize or ac_media_lookup_name and then path_join, which
 * refuses anything that is not one safe component.
 */
#include "ac_media.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utf8proc.h>

#include "afile.h"
#include "bounds.h"
#include "path.h"
#include "text.h"

enum status ac_media_dir_for(const char *col_path, char *out, size_t cap, struct errinfo *e)
{
	size_t n = strlen(col_path);
	int w;
	if (n > 6 && strcasecmp(col_path + n - 6, ".anki2") == 0)
		w = snprintf(out, cap, "%.*s.media", (int)(n - 6), col_path);
	else
		w = snprintf(out, cap, "%s.media", col_path);
	if (w < 0 || (size_t)w >= cap)
		return errinfo_set(e, ST_TOOBIG, "media folder path too long");
	return ST_OK;
}

static int forbidden_ascii(int32_t cp)
{
	return cp < 0x80 && cp > 0 && strchr("[]<>:\"/?*^\\|", (int)cp) != NULL;
}

static void digest_hex(const char *md, const void *data, size_t len, char *out, size_t nbytes)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	if (!EVP_Digest(data, len, d, &dl, EVP_get_digestbyname(md), NULL))
		dl = 0;
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", i < dl ? d[i] : 0);
	out[2 * nbytes] = '\0';
}

void ac_media_md5_hex(const void *data, size_t len, char out[33])
{
	digest_hex("MD5", data, len, out, 16);
}

void ac_media_sha1_hex(const void *data, size_t len, char out[41])
{
	digest_hex("SHA1", data, len, out, 20);
}

/* Largest prefix of s[0..n) that is at most max bytes and ends on a
 * character boundary. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t k = max;
	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	return k;
}

static int ends_bad(const struct buf *b)
{
	return b->len > 0 && (b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '.');
}

/* Windows device names: the length of the device prefix, or 0. */
static size_t device_prefix(const char *s, size_t n)
{
	static const char *const dev3[] = {"con", "prn", "aux", "nul"};
	size_t k = 0;
	if (n >= 3) {
		for (size_t i = 0; i < 4; i++)
			if (strncasecmp(s, dev3[i], 3) == 0)
				k = 3;
		if (!k && n >= 4 &&
		    (strncasecmp(s, "com", 3) == 0 || strncasecmp(s, "lpt", 3) == 0) &&
		    s[3] >= '1' && s[3] <= '9')
			k = 4;
	}
	if (k && (k == n || s[k] == '.'))
		return k;
	return 0;
}

enum status ac_media_normalize(const char *name, size_t len, struct buf *out, struct errinfo *e)
{
	struct buf lossy, nfc;
	buf_init(&lossy, 0);
	buf_init(&nfc, 0);
	buf_reset(out);
	enum status st = text_utf8_lossy(name, len, &lossy, e);
	if (!st)
		st = text_nfc(lossy.data ? (const char *)lossy.data : "", lossy.len, &nfc, e);
	struct buf clean;
	buf_init(&clean, 0);
	for (size_t i = 0; !st && i < nfc.len;) {
		size_t adv;
		int32_t cp = text_utf8_decode(nfc.data + i, nfc.len - i, &adv);
		utf8proc_category_t cat = utf8proc_category(cp);
		if (cp == 0xa0)
			st = buf_append(&clean, " ", 1, e);
		else if (!forbidden_ascii(cp) && cat != UTF8PROC_CATEGORY_CC &&
		         cat != UTF8PROC_CATEGORY_CN)
			st = buf_append(&clean, nfc.data + i, adv, e);
		i += adv;
	}
	buf_free(&lossy);
	/* Anki normalises before removing characters, so a removal can bring
	 * combining marks together out of canonical order; composing once more
	 * keeps the result NFC and the rule idempotent (a name stored once is
	 * found again under the same name) */
	if (!st && !text_utf8_valid((const char *)clean.data, clean.len))
		st = errinfo_set(e, ST_INTERNAL, "media name cleaning broke UTF-8");
	if (!st && clean.len) {
		buf_reset(&nfc); /* text_nfc appends */
		st = text_nfc((const char *)clean.data, clean.len, &nfc, e);
		if (!st) {
			buf_reset(&clean);
			st = buf_append(&clean, nfc.data, nfc.len, e);
		}
	}
	buf_free(&nfc);
	if (!st) {
		size_t only_dots = 1;
		for (size_t i = 0; i < clean.len; i++)
			if (clean.data[i] != '.')
				only_dots = 0;
		if (clean.len == 0 || only_dots)
			st = errinfo_set(e, ST_INVALID, "invalid media file name");
	}
	if (!st) {
		const char *s = (const char *)clean.data;
		size_t k = device_prefix(s, clean.len);
		if (k) {
			st = buf_append(out, s, k, e);
			if (!st)
				st = buf_append(out, "_", 1, e);
			if (!st)
				st = buf_append(out, s + k, clean.len - k, e);
		} else {
			st = buf_append(out, s, clean.len, e);
		}
	}
	buf_free(&clean);
	if (!st && ends_bad(out))
		st = buf_append(out, "_", 1, e);
	if (!st && out->len > AC_MEDIA_NAME_MAX) {
		const char *s = (const char *)out->data;
		/* Anki: split at the last '.', extension cut to 10 bytes, stem to
		 * leave room for the '.' and a trailing '_', rejoined with '.' (so
		 * a name without extension ends in "." and then gets "_") */
		const char *dot = memrchr(s, '.', out->len);
		size_t stem_len = dot ? (size_t)(dot - s) : out->len;
		const char *ext = dot ? dot + 1 : "";
		size_t ext_len = dot ? out->len - stem_len - 1 : 0;
		size_t ext_keep = utf8_cut(ext, ext_len, 10);
		size_t stem_keep = utf8_cut(s, stem_len, AC_MEDIA_NAME_MAX - ext_keep - 2);
		struct buf t;
		buf_init(&t, 0);
		st = buf_append(&t, s, stem_keep, e);
		if (!st)
			st = buf_append(&t, ".", 1, e);
		if (!st)
			st = buf_append(&t, ext, ext_keep, e);
		if (!st && ends_bad(&t))
			st = buf_append(&t, "_", 1, e);
		buf_reset(out);
		if (!st)
			st = buf_append(out, t.data, t.len, e);
		buf_free(&t);
	}
	if (!st && !path_name_ok((const char *)out->data, out->len))
		st = errinfo_set(e, ST_INVALID, "invalid media file name");
	return st;
}

enum status ac_media_lookup_name(const char *name, size_t len, struct buf *out, struct errinfo *e)
{
	buf_reset(out);
	const char *slash = memrchr(name, '/', len);
	if (slash) {
		len -= (size_t)(slash + 1 - name);
		name = slash + 1;
	}
	struct buf lossy, nfc;
	buf_init(&lossy, 0);
	buf_init(&nfc, 0);
	enum status st = text_utf8_lossy(name, len, &lossy, e);
	if (!st)
		st = text_nfc(lossy.data ? (const char *)lossy.data : "", lossy.len, &nfc, e);
	for (size_t i = 0; !st && i < nfc.len; i++) {
		unsigned char c = nfc.data[i];
		if (c == 0 || c == '\r' || c == '\n' || strchr("[]<>:\"/?*^\\|", c))
			continue;
		st = buf_append(out, &c, 1, e);
	}
	buf_free(&lossy);
	buf_free(&nfc);
	if (!st && !path_name_ok(out->data ? (const char *)out->data : "", out->len))
		st = errinfo_set(e, ST_INVALID, "invalid media file name");
	return st;
}

/* SHA-1 (hex) of an existing file; ST_NOTFOUND when it does not exist. */
static enum status file_sha1(const char *path, char out[41], struct errinfo *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ST_NOTFOUND
		                       : errinfo_errno(e, ST_IO, "cannot open %s", path);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	enum status st = ST_OK;
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL))
		st = errinfo_set(e, ST_NOMEM, "out of memory");
	unsigned char chunk[65536];
	for (;;) {
		if (st)
			break;
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			st = errinfo_errno(e, ST_IO, "cannot read %s", path);
			break;
		}
		if (r == 0)
			break;
		EVP_DigestUpdate(ctx, chunk, (size_t)r);
	}
	close(fd);
	if (!st) {
		unsigned char d[EVP_MAX_MD_SIZE];
		unsigned int dl = 0;
		EVP_DigestFinal_ex(ctx, d, &dl);
		for (unsigned i = 0; i < 20; i++)
			snprintf(out + 2 * i, 3, "%02x", i < dl ? d[i] : 0);
	}
	EVP_MD_CTX_free(ctx);
	return st;
}

static int has_upper(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t adv;
		int32_t cp = text_utf8_decode((const unsigned char *)s + i, n - i, &adv);
		if (utf8proc_tolower(cp) != cp)
			return 1;
		i += adv;
	}
	return 0;
}

static enum status to_lower(const char *s, size_t n, struct buf *out, struct errinfo *e)
{
	buf_reset(out);
	enum status st = ST_OK;
	for (size_t i = 0; i < n && !st;) {
		size_t adv;
		int32_t cp = text_utf8_decode((const unsigned char *)s + i, n - i, &adv);
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t k = utf8proc_encode_char(utf8proc_tolower(cp), enc);
		st = buf_append(out, enc, (size_t)k, e);
		i += adv;
	}
	return st;
}

/* "<stem>-<sha1>.<ext>" within AC_MEDIA_NAME_MAX bytes. */
static enum status hashed_name(const char *name, size_t n, const char *sha1, struct buf *out,
                               struct errinfo *e)
{
	buf_reset(out);
	const char *dot = memrchr(name, '.', n);
	size_t stem_len = dot && dot > name ? (size_t)(dot - name) : n;
	size_t ext_len = n - stem_len; /* includes the dot */
	size_t room = AC_MEDIA_NAME_MAX > 41 + ext_len ? AC_MEDIA_NAME_MAX - 41 - ext_len : 0;
	enum status st = buf_append(out, name, utf8_cut(name, stem_len, room), e);
	if (!st)
		st = buf_printf(out, e, "-%s", sha1);
	if (!st)
		st = buf_append(out, name + stem_len, ext_len, e);
	return st;
}

static enum status add_named(const char *dir, const char *name, size_t n, const void *data,
                             size_t len, const char *sha1, bool lower_case, char **stored,
                             struct errinfo *e)
{
	char path[MAX_PATH_BYTES];
	enum status st = path_join(path, sizeof path, dir, name, n, e);
	if (st)
		return st;
	char have[41];
	enum status fs = file_sha1(path, have, e);
	if (fs && fs != ST_NOTFOUND)
		return fs;
	if (!fs && strcmp(have, sha1) == 0) {
		*stored = strndup(name, n);
		return *stored ? ST_OK : errinfo_set(e, ST_NOMEM, "out of memory");
	}
	if (lower_case && has_upper(name, n)) {
		struct buf low;
		buf_init(&low, 0);
		st = to_lower(name, n, &low, e);
		if (!st)
			st = add_named(dir, (const char *)low.data, low.len, data, len, sha1, false,
			               stored, e);
		buf_free(&low);
		return st;
	}
	struct buf alt;
	buf_init(&alt, 0);
	if (!fs) { /* a different file has the name */
		st = hashed_name(name, n, sha1, &alt, e);
		if (!st)
			st = path_join(path, sizeof path, dir, (const char *)alt.data, alt.len, e);
		name = (const char *)alt.data;
		n = alt.len;
	}
	if (!st)
		st = afile_write_all(path, data, len, 0644, e);
	if (!st) {
		*stored = strndup(name, n);
		if (!*stored)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	buf_free(&alt);
	return st;
}

enum status ac_media_add(const char *dir, const char *name, size_t nlen, const void *data,
                         size_t len, bool lower_case, char **stored, struct errinfo *e)
{
	*stored = NULL;
	struct buf norm;
	buf_init(&norm, 0);
	enum status st = ac_media_normalize(name, nlen, &norm, e);
	if (!st)
		st = path_mkdirs(dir, 0755, e);
	if (!st) {
		char sha1[41];
		ac_media_sha1_hex(data, len, sha1);
		st = add_named(dir, (const char *)norm.data, norm.len, data, len, sha1, lower_case,
		               stored, e);
	}
	buf_free(&norm);
	return st;
}

enum status ac_media_trash(const char *dir, const char *name, size_t len, struct errinfo *e)
{
	struct buf nm;
	buf_init(&nm, 0);
	enum status st = ac_media_lookup_name(name, len, &nm, e);
	char src[MAX_PATH_BYTES] = "", tdir[MAX_PATH_BYTES] = "", dst[MAX_PATH_BYTES] = "";
	if (!st)
		st = path_join(src, sizeof src, dir, (const char *)nm.data, nm.len, e);
	if (!st) {
		struct stat sb;
		if (lstat(src, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			buf_free(&nm);
			return ST_OK; /* nothing to delete */
		}
		st = path_dirname(tdir, sizeof tdir, dir, e);
	}
	if (!st) {
		size_t l = strlen(tdir);
		if (snprintf(tdir + l, sizeof tdir - l, "/media.trash") >= (int)(sizeof tdir - l))
			st = errinfo_set(e, ST_TOOBIG, "path too long");
	}
	if (!st)
		st = path_mkdirs(tdir, 0755, e);
	if (!st)
		st = path_join(dst, sizeof dst, tdir, (const char *)nm.data, nm.len, e);
	if (!st && rename(src, dst) != 0)
		st = errinfo_errno(e, ST_IO, "cannot move %s to the media trash", src);
	buf_free(&nm);
	return st;
}

enum status ac_media_read(const char *dir, const char *name, size_t len, struct buf *out,
                          struct errinfo *e)
{
	buf_init(out, 0);
	struct buf nm;
	buf_init(&nm, 0);
	char path[MAX_PATH_BYTES];
	enum status st = ac_media_lookup_name(name, len, &nm, e);
	if (!st)
		st = path_join(path, sizeof path, dir, (const char *)nm.data, nm.len, e);
	buf_free(&nm);
	if (st)
		return st;
	struct stat sb;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return errinfo_set(e, ST_NOTFOUND, "no such media file");
	return buf_read_file(out, path, AC_MEDIA_FILE_MAX, e);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum status ac_media_list(const char *dir, const char *pattern, char ***names, size_t *n,
                          struct errinfo *e)
{
	*names = NULL;
	*n = 0;
	if (strchr(pattern, '/'))
		return ST_OK;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? ST_OK : errinfo_errno(e, ST_IO, "cannot list %s", dir);
	size_t cap = 0;
	enum status st = ST_OK;
	struct dirent *de;
	while (!st && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fnmatch(pattern, de->d_name, FNM_PERIOD | FNM_NOESCAPE) != 0)
			continue;
		if (de->d_type != DT_REG) {
			struct stat sb;
			if (de->d_type != DT_UNKNOWN ||
			    fstatat(dirfd(d), de->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode))
				continue;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			char **p = realloc(*names, cap * sizeof *p);
			if (!p) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			*names = p;
		}
		(*names)[*n] = strdup(de->d_name);
		if (!(*names)[*n])
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		else
			(*n)++;
	}
	closedir(d);
	if (st) {
		for (size_t i = 0; i < *n; i++)
			free((*names)[i]);
		free(*names);
		*names = NULL;
		*n = 0;
		return st;
	}
	if (*n > 1)
		qsort(*names, *n, sizeof **names, cmp_str);
	return ST_OK;
}
