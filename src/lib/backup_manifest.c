/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_manifest.c - manifest.jsonl and SHA256SUMS of anki-backup
 * snapshots (format: docs/backup.md "Manifest"; contract in
 * backup_manifest.h).
 *
 * Invariants: the writer emits exactly one JSON object per line, keys in a
 * fixed order, names that are not valid UTF-8 as "<key>_hex"; the reader
 * accepts only what the writer can produce (plus unknown keys, ignored, so
 * a later version 1 writer may add fields) and never trusts a path from
 * the file: stored paths are derived from validated names and hashes.
 */
#include "backup_manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "path.h"

#define DB_COLLECTION "collection.anki2"
#define DB_MEDIA "media.db"

static int db_name_ok(const char *name, size_t len)
{
	return (len == strlen(DB_COLLECTION) && memcmp(name, DB_COLLECTION, len) == 0) ||
	       (len == strlen(DB_MEDIA) && memcmp(name, DB_MEDIA, len) == 0);
}

enum status backup_object_path(const struct backup_entry *en, int encrypted, char *out,
                               size_t cap, struct errinfo *e)
{
	if (!path_name_ok(en->user, en->user_len) || memchr(en->user, '\0', en->user_len))
		return errinfo_set(e, ST_INVALID, "unsafe user name in manifest");
	const char *suffix = encrypted ? ".zst.age" : ".zst";
	int n;
	if (en->kind == BACKUP_KIND_DB) {
		if (!db_name_ok(en->name, en->name_len))
			return errinfo_set(e, ST_INVALID, "unknown database name in manifest");
		n = snprintf(out, cap, "users/%s/%s%s", en->user, en->name, suffix);
	} else if (en->kind == BACKUP_KIND_MEDIA) {
		char hex[41];
		backup_hex(hex, en->sha1, 20);
		n = snprintf(out, cap, "users/%s/media/%s%s", en->user, hex, suffix);
	} else {
		return errinfo_set(e, ST_INVALID, "unknown entry kind");
	}
	if (n < 0 || (size_t)n >= cap)
		return errinfo_set(e, ST_TOOBIG, "object path too long");
	return ST_OK;
}

static char *dup_bytes(const char *s, size_t len)
{
	char *p = malloc(len + 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

enum status backup_entry_copy(struct backup_entry *dst, const struct backup_entry *src,
                              struct errinfo *e)
{
	*dst = *src;
	dst->user = dup_bytes(src->user, src->user_len);
	dst->name = dup_bytes(src->name, src->name_len);
	dst->check = src->check ? strdup(src->check) : NULL;
	if (!dst->user || !dst->name || (src->check && !dst->check)) {
		backup_entry_free(dst);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	return ST_OK;
}

void backup_entry_free(struct backup_entry *en)
{
	if (!en)
		return;
	free(en->user);
	free(en->name);
	free(en->check);
	en->user = en->name = en->check = NULL;
}

void backup_header_free(struct backup_header *h)
{
	for (size_t i = 0; i < h->nrecipients; i++)
		free(h->recipients[i]);
	free(h->recipients);
	h->recipients = NULL;
	h->nrecipients = 0;
}

void backup_manifest_free(struct backup_manifest *m)
{
	if (!m)
		return;
	backup_header_free(&m->h);
	for (size_t i = 0; i < m->n; i++)
		backup_entry_free(&m->entries[i]);
	free(m->entries);
	for (size_t i = 0; i < m->nusers; i++)
		free(m->users[i].user);
	free(m->users);
	memset(m, 0, sizeof *m);
}

/* ---- writing ---- */

static int set_name(json_t *o, const char *key, const char *s, size_t len)
{
	if (backup_utf8_ok(s, len))
		return json_object_set_new(o, key, json_stringn(s, len));
	char hkey[32];
	snprintf(hkey, sizeof hkey, "%s_hex", key);
	char *hex = malloc(2 * len + 1);
	if (!hex)
		return -1;
	backup_hex(hex, (const unsigned char *)s, len);
	int r = json_object_set_new(o, hkey, json_string(hex));
	free(hex);
	return r;
}

static int set_hex(json_t *o, const char *key, const unsigned char *p, size_t n)
{
	char hex[65];
	backup_hex(hex, p, n);
	return json_object_set_new(o, key, json_string(hex));
}

static json_t *stat_json(const struct backup_stat *k)
{
	if (!k->present)
		return json_null();
	return json_pack("{s:I,s:I,s:I,s:I}", "size", (json_int_t)k->size, "mtime_ns",
	                 (json_int_t)k->mtime_ns, "ctime_ns", (json_int_t)k->ctime_ns, "ino",
	                 (json_int_t)k->ino);
}

static enum status write_line(struct backup_mwriter *w, json_t *o, struct errinfo *e)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return errinfo_set(e, ST_NOMEM, "cannot encode manifest line");
	size_t len = strlen(s);
	enum status st = ST_OK;
	if (len + 1 > BACKUP_MANIFEST_LINE_MAX)
		st = errinfo_set(e, ST_TOOBIG, "manifest line too long");
	else if (fwrite(s, 1, len, w->f) != len || fputc('\n', w->f) == EOF)
		st = errinfo_errno(e, ST_IO, "writing %s failed", w->path);
	else {
		EVP_DigestUpdate(w->hash, s, len);
		EVP_DigestUpdate(w->hash, "\n", 1);
	}
	free(s);
	return st;
}

static void iso_time(char *out, size_t cap, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

enum status backup_mwriter_open(struct backup_mwriter *w, const char *path,
                                const struct backup_header *h, struct errinfo *e)
{
	memset(w, 0, sizeof *w);
	snprintf(w->path, sizeof w->path, "%s", path);
	w->encrypted = h->encrypted;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errinfo_errno(e, ST_IO, "cannot create %s", path);
	w->f = fdopen(fd, "w");
	w->hash = EVP_MD_CTX_new();
	if (!w->f || !w->hash || EVP_DigestInit_ex(w->hash, EVP_sha256(), NULL) != 1) {
		if (!w->f)
			close(fd);
		backup_mwriter_abort(w);
		return errinfo_set(e, ST_NOMEM, "cannot start manifest");
	}
	char when[32];
	iso_time(when, sizeof when, h->created);
	json_t *rec = json_array();
	for (size_t i = 0; i < h->nrecipients; i++)
		json_array_append_new(rec, json_string(h->recipients[i]));
	json_t *o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:I,s:s,s:i,s:s,s:o}", "type", "header", "format",
	                      "anki-backup", "version", BACKUP_FORMAT_VERSION, "snapshot", h->snapshot,
	                      "created", when, "created_unix", (json_int_t)h->created, "compression",
	                      "zstd", "zstd_level", h->zstd_level, "encryption",
	                      h->encrypted ? "age" : "none", "recipients", rec);
	if (!o) {
		backup_mwriter_abort(w);
		return errinfo_set(e, ST_INVALID, "cannot encode manifest header");
	}
	enum status st = write_line(w, o, e);
	if (st)
		backup_mwriter_abort(w);
	return st;
}

/* A bounded line being built by hand: media lines are most of a manifest,
 * and building them through jansson objects costs more than everything
 * else a no-change run does.  The output is what jansson's compact
 * encoder would write for the same keys (checked by the unit tests, which
 * read it back with jansson). */
struct line {
	char *p;
	size_t len, cap;
	int overflow;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->overflow || n > l->cap - l->len) {
		l->overflow = 1;
		return;
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* "key":"escaped value" (valid UTF-8 assumed), or "key_hex":"..." */
static void put_str(struct line *l, const char *key, const char *s, size_t n, int comma)
{
	char tmp[16];
	if (comma)
		puts_(l, ",");
	puts_(l, "\"");
	puts_(l, key);
	if (!backup_utf8_ok(s, n)) {
		puts_(l, "_hex\":\"");
		for (size_t i = 0; i < n; i++) {
			backup_hex(tmp, (const unsigned char *)s + i, 1);
			put(l, tmp, 2);
		}
		puts_(l, "\"");
		return;
	}
	puts_(l, "\":\"");
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(l, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"': puts_(l, "\\\""); break;
		case '\\': puts_(l, "\\\\"); break;
		case '\b': puts_(l, "\\b"); break;
		case '\f': puts_(l, "\\f"); break;
		case '\n': puts_(l, "\\n"); break;
		case '\r': puts_(l, "\\r"); break;
		case '\t': puts_(l, "\\t"); break;
		default:
			snprintf(tmp, sizeof tmp, "\\u%04X", c);
			puts_(l, tmp);
		}
	}
	put(l, s + start, n - start);
	puts_(l, "\"");
}

static void put_int(struct line *l, const char *key, long long v)
{
	char tmp[64];
	int n = snprintf(tmp, sizeof tmp, ",\"%s\":%lld", key, v);
	if (n > 0 && (size_t)n < sizeof tmp)
		put(l, tmp, (size_t)n);
	else
		l->overflow = 1;
}

static void put_hexkey(struct line *l, const char *key, const unsigned char *p, size_t n)
{
	char hex[65];
	backup_hex(hex, p, n);
	puts_(l, ",\"");
	puts_(l, key);
	puts_(l, "\":\"");
	put(l, hex, 2 * n);
	puts_(l, "\"");
}

static enum status media_line(struct backup_mwriter *w, const struct backup_entry *en,
                              const char *obj, struct errinfo *e)
{
	if (!w->linebuf && !(w->linebuf = malloc(BACKUP_MANIFEST_LINE_MAX)))
		return errinfo_set(e, ST_NOMEM, "out of memory");
	char *buf = w->linebuf;
	struct line l = {buf, 0, BACKUP_MANIFEST_LINE_MAX - 1, 0};
	puts_(&l, "{\"type\":\"media\"");
	put_str(&l, "user", en->user, en->user_len, 1);
	put_str(&l, "name", en->name, en->name_len, 1);
	put_str(&l, "object", obj, strlen(obj), 1);
	put_int(&l, "size", (long long)en->size);
	put_hexkey(&l, "sha256", en->sha256, 32);
	put_hexkey(&l, "sha1", en->sha1, 20);
	put_int(&l, "stored_size", (long long)en->stored_size);
	put_hexkey(&l, "stored_sha256", en->stored_sha256, 32);
	put_int(&l, "stored_mtime_ns", (long long)en->stored_mtime_ns);
	puts_(&l, en->listed ? ",\"listed\":true" : ",\"listed\":false");
	if (en->src.present) {
		puts_(&l, ",\"src\":{");
		char tmp[160];
		int n = snprintf(tmp, sizeof tmp, "\"size\":%lld,\"mtime_ns\":%lld,\"ctime_ns\":%lld,\"ino\":%lld}",
		                 (long long)en->src.size, (long long)en->src.mtime_ns,
		                 (long long)en->src.ctime_ns, (long long)en->src.ino);
		if (n > 0 && (size_t)n < sizeof tmp)
			put(&l, tmp, (size_t)n);
		else
			l.overflow = 1;
	} else {
		puts_(&l, ",\"src\":null");
	}
	puts_(&l, "}\n");
	enum status st = ST_OK;
	if (l.overflow)
		st = errinfo_set(e, ST_TOOBIG, "manifest line too long");
	else if (fwrite(buf, 1, l.len, w->f) != l.len)
		st = errinfo_errno(e, ST_IO, "writing %s failed", w->path);
	else
		EVP_DigestUpdate(w->hash, buf, l.len);
	return st;
}

enum status backup_mwriter_entry(struct backup_mwriter *w, const struct backup_entry *en,
                                 struct errinfo *e)
{
	char obj[MAX_PATH_BYTES];
	enum status st = backup_object_path(en, w->encrypted, obj, sizeof obj, e);
	if (st)
		return st;
	if (en->kind == BACKUP_KIND_MEDIA) {
		st = media_line(w, en, obj, e);
		if (!st)
			w->entries++;
		return st;
	}
	json_t *o = json_object();
	int r = json_object_set_new(o, "type", json_string(en->kind == BACKUP_KIND_DB ? "db" : "media"));
	r |= set_name(o, "user", en->user, en->user_len);
	r |= set_name(o, "name", en->name, en->name_len);
	r |= set_name(o, "object", obj, strlen(obj));
	r |= json_object_set_new(o, "size", json_integer((json_int_t)en->size));
	r |= set_hex(o, "sha256", en->sha256, 32);
	r |= set_hex(o, "sha1", en->sha1, 20);
	r |= json_object_set_new(o, "stored_size", json_integer((json_int_t)en->stored_size));
	r |= set_hex(o, "stored_sha256", en->stored_sha256, 32);
	r |= json_object_set_new(o, "stored_mtime_ns", json_integer((json_int_t)en->stored_mtime_ns));
	if (en->kind == BACKUP_KIND_MEDIA) {
		r |= json_object_set_new(o, "listed", json_boolean(en->listed));
		r |= json_object_set_new(o, "src", stat_json(&en->src));
	} else {
		r |= json_object_set_new(o, "check", json_string(en->check ? en->check : ""));
		r |= json_object_set_new(o, "src", stat_json(&en->src));
		r |= json_object_set_new(o, "src_wal", stat_json(&en->src_wal));
		r |= json_object_set_new(o, "src_stat_ns", json_integer((json_int_t)en->src_stat_ns));
	}
	if (r) {
		json_decref(o);
		return errinfo_set(e, ST_INVALID, "cannot encode manifest entry");
	}
	st = write_line(w, o, e);
	if (!st)
		w->entries++;
	return st;
}

enum status backup_mwriter_user(struct backup_mwriter *w, const struct backup_user_summary *u,
                                struct errinfo *e)
{
	json_t *o = json_object();
	int r = json_object_set_new(o, "type", json_string("user"));
	r |= set_name(o, "user", u->user, u->user_len);
	r |= json_object_set_new(o, "collection", json_boolean(u->collection));
	r |= json_object_set_new(o, "media_db", json_boolean(u->media_db));
	r |= json_object_set_new(o, "media_files", json_integer((json_int_t)u->media_files));
	r |= json_object_set_new(o, "media_bytes", json_integer((json_int_t)u->media_bytes));
	r |= json_object_set_new(o, "unlisted", json_integer((json_int_t)u->unlisted));
	r |= json_object_set_new(o, "missing", json_integer((json_int_t)u->missing));
	if (r) {
		json_decref(o);
		return errinfo_set(e, ST_INVALID, "cannot encode manifest user line");
	}
	return write_line(w, o, e);
}

enum status backup_mwriter_finish(struct backup_mwriter *w, int damaged,
                                  unsigned char sha256[32], struct errinfo *e)
{
	json_t *o = json_pack("{s:s,s:I,s:b}", "type", "end", "entries", (json_int_t)w->entries,
	                      "damaged", damaged);
	enum status st = o ? write_line(w, o, e) : errinfo_set(e, ST_NOMEM, "out of memory");
	if (!st && fflush(w->f) != 0)
		st = errinfo_errno(e, ST_IO, "writing %s failed", w->path);
	if (!st && fsync(fileno(w->f)) != 0)
		st = errinfo_errno(e, ST_IO, "fsync of %s failed", w->path);
	int cr = fclose(w->f);
	w->f = NULL;
	if (!st && cr != 0)
		st = errinfo_errno(e, ST_IO, "closing %s failed", w->path);
	EVP_DigestFinal_ex(w->hash, sha256, NULL);
	EVP_MD_CTX_free(w->hash);
	w->hash = NULL;
	free(w->linebuf);
	w->linebuf = NULL;
	return st;
}

void backup_mwriter_abort(struct backup_mwriter *w)
{
	if (w->f)
		fclose(w->f);
	w->f = NULL;
	EVP_MD_CTX_free(w->hash);
	w->hash = NULL;
	free(w->linebuf);
	w->linebuf = NULL;
}

/* ---- reading ---- */

static enum status get_name(json_t *o, const char *key, char **out, size_t *len, int required,
                            struct errinfo *e)
{
	*out = NULL;
	*len = 0;
	json_t *v = json_object_get(o, key);
	if (v) {
		if (!json_is_string(v))
			return errinfo_set(e, ST_CORRUPT, "field %s is not a string", key);
		*len = json_string_length(v);
		*out = dup_bytes(json_string_value(v), *len);
	} else {
		char hkey[32];
		snprintf(hkey, sizeof hkey, "%s_hex", key);
		v = json_object_get(o, hkey);
		if (!v) {
			if (required)
				return errinfo_set(e, ST_CORRUPT, "field %s is missing", key);
			return ST_OK;
		}
		const char *hex = json_string_value(v);
		size_t hl = hex ? strlen(hex) : 1;
		if (hl % 2 || hl / 2 > MAX_PATH_BYTES)
			return errinfo_set(e, ST_CORRUPT, "field %s is not hex", hkey);
		*len = hl / 2;
		*out = malloc(*len + 1);
		if (*out && backup_unhex((unsigned char *)*out, *len, hex) != 0) {
			free(*out);
			*out = NULL;
			return errinfo_set(e, ST_CORRUPT, "field %s is not hex", hkey);
		}
		if (*out)
			(*out)[*len] = '\0';
	}
	if (!*out)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	return ST_OK;
}

static enum status get_u64(json_t *o, const char *key, uint64_t *out, struct errinfo *e)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return errinfo_set(e, ST_CORRUPT, "field %s is not a count", key);
	*out = (uint64_t)json_integer_value(v);
	return ST_OK;
}

static enum status get_i64(json_t *o, const char *key, int64_t *out, struct errinfo *e)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return errinfo_set(e, ST_CORRUPT, "field %s is not an integer", key);
	*out = (int64_t)json_integer_value(v);
	return ST_OK;
}

static enum status get_hex(json_t *o, const char *key, unsigned char *out, size_t n,
                           struct errinfo *e)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v) || backup_unhex(out, n, json_string_value(v)) != 0)
		return errinfo_set(e, ST_CORRUPT, "field %s is not a %zu-byte hex hash", key, n);
	return ST_OK;
}

static enum status get_stat(json_t *o, const char *key, struct backup_stat *k, struct errinfo *e)
{
	memset(k, 0, sizeof *k);
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return ST_OK;
	if (!json_is_object(v))
		return errinfo_set(e, ST_CORRUPT, "field %s is not an object", key);
	uint64_t ino;
	enum status st = get_u64(v, "size", &k->size, e);
	if (!st)
		st = get_i64(v, "mtime_ns", &k->mtime_ns, e);
	if (!st)
		st = get_i64(v, "ctime_ns", &k->ctime_ns, e);
	if (!st)
		st = get_u64(v, "ino", &ino, e);
	if (st)
		return st;
	k->ino = ino;
	k->present = 1;
	return ST_OK;
}

static enum status parse_entry(json_t *o, enum backup_kind kind, struct backup_entry *en,
                               int encrypted, struct errinfo *e)
{
	memset(en, 0, sizeof *en);
	en->kind = kind;
	enum status st = get_name(o, "user", &en->user, &en->user_len, 1, e);
	if (!st)
		st = get_name(o, "name", &en->name, &en->name_len, 1, e);
	if (!st && (!path_name_ok(en->user, en->user_len) || en->user[0] == '.'))
		st = errinfo_set(e, ST_CORRUPT, "unsafe user name");
	if (!st && !path_name_ok(en->name, en->name_len))
		st = errinfo_set(e, ST_CORRUPT, "unsafe file name");
	if (!st && kind == BACKUP_KIND_DB && !db_name_ok(en->name, en->name_len))
		st = errinfo_set(e, ST_CORRUPT, "unknown database name");
	if (!st)
		st = get_u64(o, "size", &en->size, e);
	if (!st)
		st = get_hex(o, "sha256", en->sha256, 32, e);
	if (!st)
		st = get_hex(o, "sha1", en->sha1, 20, e);
	if (!st)
		st = get_u64(o, "stored_size", &en->stored_size, e);
	if (!st)
		st = get_hex(o, "stored_sha256", en->stored_sha256, 32, e);
	if (!st)
		st = get_i64(o, "stored_mtime_ns", &en->stored_mtime_ns, e);
	if (!st)
		st = get_stat(o, "src", &en->src, e);
	if (!st && kind == BACKUP_KIND_MEDIA) {
		json_t *v = json_object_get(o, "listed");
		if (!json_is_boolean(v))
			st = errinfo_set(e, ST_CORRUPT, "field listed is not a boolean");
		else
			en->listed = json_is_true(v);
	}
	if (!st && kind == BACKUP_KIND_DB) {
		st = get_stat(o, "src_wal", &en->src_wal, e);
		if (!st)
			st = get_i64(o, "src_stat_ns", &en->src_stat_ns, e);
		json_t *v = json_object_get(o, "check");
		if (!st && !json_is_string(v))
			st = errinfo_set(e, ST_CORRUPT, "field check is not a string");
		if (!st && !(en->check = strdup(json_string_value(v))))
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	if (!st) {
		/* The human-readable object path must be the derived one. */
		char want[MAX_PATH_BYTES];
		char *got = NULL;
		size_t got_len = 0;
		st = backup_object_path(en, encrypted, want, sizeof want, e);
		if (!st)
			st = get_name(o, "object", &got, &got_len, 1, e);
		if (!st && (got_len != strlen(want) || memcmp(got, want, got_len) != 0))
			st = errinfo_set(e, ST_CORRUPT, "object path does not match the entry");
		free(got);
	}
	if (st)
		backup_entry_free(en);
	return st;
}

static enum status parse_header(json_t *o, struct backup_header *h, struct errinfo *e)
{
	memset(h, 0, sizeof *h);
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *fmt = json_string_value(json_object_get(o, "format"));
	if (!type || strcmp(type, "header") != 0 || !fmt || strcmp(fmt, "anki-backup") != 0)
		return errinfo_set(e, ST_CORRUPT, "first line is not an anki-backup header");
	json_t *v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return errinfo_set(e, ST_CORRUPT, "bad format version");
	if (json_integer_value(v) > BACKUP_FORMAT_VERSION)
		return errinfo_set(e, ST_VERSION, "format version %lld is newer than this program (%d)",
		                   (long long)json_integer_value(v), BACKUP_FORMAT_VERSION);
	h->version = (int)json_integer_value(v);
	const char *snap = json_string_value(json_object_get(o, "snapshot"));
	if (!snap || strlen(snap) >= sizeof h->snapshot)
		return errinfo_set(e, ST_CORRUPT, "bad snapshot name");
	snprintf(h->snapshot, sizeof h->snapshot, "%s", snap);
	enum status st = get_i64(o, "created_unix", &h->created, e);
	if (st)
		return st;
	const char *enc = json_string_value(json_object_get(o, "encryption"));
	if (!enc || (strcmp(enc, "age") != 0 && strcmp(enc, "none") != 0))
		return errinfo_set(e, ST_CORRUPT, "bad encryption field");
	h->encrypted = strcmp(enc, "age") == 0;
	const char *comp = json_string_value(json_object_get(o, "compression"));
	if (!comp || strcmp(comp, "zstd") != 0)
		return errinfo_set(e, ST_UNSUPPORTED, "unknown compression");
	v = json_object_get(o, "zstd_level");
	h->zstd_level = json_is_integer(v) ? (int)json_integer_value(v) : 0;
	json_t *rec = json_object_get(o, "recipients");
	if (rec && !json_is_array(rec))
		return errinfo_set(e, ST_CORRUPT, "bad recipients field");
	size_t nr = rec ? json_array_size(rec) : 0;
	if (nr > BACKUP_MAX_RECIPIENTS)
		return errinfo_set(e, ST_CORRUPT, "too many recipients");
	if (nr) {
		h->recipients = calloc(nr, sizeof *h->recipients);
		if (!h->recipients)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		for (size_t i = 0; i < nr; i++) {
			const char *r = json_string_value(json_array_get(rec, i));
			if (!r || !(h->recipients[i] = strdup(r))) {
				h->nrecipients = i;
				backup_header_free(h);
				return errinfo_set(e, ST_CORRUPT, "bad recipient");
			}
		}
		h->nrecipients = nr;
	}
	return ST_OK;
}

static enum status parse_user(json_t *o, struct backup_user_summary *u, struct errinfo *e)
{
	memset(u, 0, sizeof *u);
	enum status st = get_name(o, "user", &u->user, &u->user_len, 1, e);
	if (!st && !path_name_ok(u->user, u->user_len))
		st = errinfo_set(e, ST_CORRUPT, "unsafe user name");
	if (!st) {
		u->collection = json_is_true(json_object_get(o, "collection"));
		u->media_db = json_is_true(json_object_get(o, "media_db"));
		st = get_u64(o, "media_files", &u->media_files, e);
	}
	if (!st)
		st = get_u64(o, "media_bytes", &u->media_bytes, e);
	if (!st)
		st = get_u64(o, "unlisted", &u->unlisted, e);
	if (!st)
		st = get_u64(o, "missing", &u->missing, e);
	if (st) {
		free(u->user);
		u->user = NULL;
	}
	return st;
}

/* fgets with a hard line limit: ST_CORRUPT for a longer line or NUL. */
static enum status read_line(FILE *f, char *buf, size_t cap, size_t *len, int *eof,
                             struct errinfo *e)
{
	*eof = 0;
	if (!fgets(buf, (int)cap, f)) {
		if (ferror(f))
			return errinfo_errno(e, ST_IO, "reading manifest failed");
		*eof = 1;
		return ST_OK;
	}
	size_t n = strlen(buf);
	if (n == 0 || buf[n - 1] != '\n')
		return errinfo_set(e, ST_CORRUPT, "line too long, holds NUL or lacks its newline");
	*len = n;
	return ST_OK;
}

enum status backup_manifest_load(const char *path, int header_only, struct backup_manifest *m,
                                 struct errinfo *e)
{
	memset(m, 0, sizeof *m);
	FILE *f = fopen(path, "re");
	if (!f)
		return errinfo_errno(e, errno == ENOENT ? ST_NOTFOUND : ST_IO, "cannot open %s", path);
	char *line = malloc(BACKUP_MANIFEST_LINE_MAX);
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	enum status st = ST_OK;
	size_t lineno = 0, cap = 0, ucap = 0;
	int ended = 0;
	if (!line || !h || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		st = errinfo_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		size_t len = 0;
		int eof = 0;
		st = read_line(f, line, BACKUP_MANIFEST_LINE_MAX, &len, &eof, e);
		if (st || eof)
			break;
		lineno++;
		EVP_DigestUpdate(h, line, len);
		if (ended) {
			st = errinfo_set(e, ST_CORRUPT, "data after the end line");
			break;
		}
		json_error_t jerr;
		json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(o)) {
			json_decref(o);
			st = errinfo_set(e, ST_CORRUPT, "not a JSON object");
			break;
		}
		if (lineno == 1) {
			st = parse_header(o, &m->h, e);
			json_decref(o);
			if (st || header_only)
				break;
			continue;
		}
		const char *type = json_string_value(json_object_get(o, "type"));
		if (type && (strcmp(type, "db") == 0 || strcmp(type, "media") == 0)) {
			if (m->n >= BACKUP_MANIFEST_MAX_ENTRIES) {
				st = errinfo_set(e, ST_TOOBIG, "too many entries");
			} else if (m->n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct backup_entry *ne = realloc(m->entries, nc * sizeof *ne);
				if (!ne)
					st = errinfo_set(e, ST_NOMEM, "out of memory");
				else {
					m->entries = ne;
					cap = nc;
				}
			}
			if (!st) {
				st = parse_entry(o, type[0] == 'd' ? BACKUP_KIND_DB : BACKUP_KIND_MEDIA,
				                 &m->entries[m->n], m->h.encrypted, e);
				if (!st)
					m->n++;
			}
		} else if (type && strcmp(type, "user") == 0) {
			if (m->nusers == ucap) {
				size_t nc = ucap ? ucap * 2 : 8;
				struct backup_user_summary *nu = realloc(m->users, nc * sizeof *nu);
				if (!nu)
					st = errinfo_set(e, ST_NOMEM, "out of memory");
				else {
					m->users = nu;
					ucap = nc;
				}
			}
			if (!st) {
				st = parse_user(o, &m->users[m->nusers], e);
				if (!st)
					m->nusers++;
			}
		} else if (type && strcmp(type, "end") == 0) {
			uint64_t cnt = 0;
			st = get_u64(o, "entries", &cnt, e);
			if (!st && cnt != m->n)
				st = errinfo_set(e, ST_CORRUPT, "end line counts %llu entries, found %zu",
				                 (unsigned long long)cnt, m->n);
			m->damaged = json_is_true(json_object_get(o, "damaged"));
			ended = 1;
		} else {
			st = errinfo_set(e, ST_CORRUPT, "unknown line type");
		}
		json_decref(o);
		if (st)
			break;
	}
	if (!st && lineno == 0)
		st = errinfo_set(e, ST_CORRUPT, "empty manifest");
	if (!st && !header_only && !ended)
		st = errinfo_set(e, ST_CORRUPT, "manifest is truncated (no end line)");
	if (st && lineno > 0)
		errinfo_prefix(e, "%s line %zu", path, lineno);
	else if (st)
		errinfo_prefix(e, "%s", path);
out:
	if (h) {
		EVP_DigestFinal_ex(h, m->sha256, NULL);
		EVP_MD_CTX_free(h);
	}
	free(line);
	fclose(f);
	if (st)
		backup_manifest_free(m);
	return st;
}

/* ---- SHA256SUMS ---- */

static int sum_cmp(const void *x, const void *y)
{
	const struct backup_sum *a = x, *b = y;
	return strcmp(a->path, b->path);
}

void backup_sums_free(struct backup_sum *s, size_t n)
{
	if (!s)
		return;
	for (size_t i = 0; i < n; i++)
		free(s[i].path);
	free(s);
}

static int needs_escape(const char *p)
{
	return strpbrk(p, "\\\n\r") != NULL;
}

static void put_escaped(FILE *f, const char *p)
{
	for (; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\r')
			fputs("\\r", f);
		else
			fputc(*p, f);
	}
}

enum status backup_sums_write(const char *path, const struct backup_entry *entries, size_t n,
                              int encrypted, const unsigned char manifest_sha256[32],
                              struct errinfo *e)
{
	struct backup_sum *s = calloc(n + 1, sizeof *s);
	if (!s)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	size_t cnt = 0;
	enum status st = ST_OK;
	for (size_t i = 0; i < n && !st; i++) {
		char obj[MAX_PATH_BYTES];
		st = backup_object_path(&entries[i], encrypted, obj, sizeof obj, e);
		if (st)
			break;
		if (!(s[cnt].path = strdup(obj))) {
			st = errinfo_set(e, ST_NOMEM, "out of memory");
			break;
		}
		memcpy(s[cnt].sha256, entries[i].stored_sha256, 32);
		cnt++;
	}
	if (!st && !(s[cnt].path = strdup(BACKUP_MANIFEST_NAME)))
		st = errinfo_set(e, ST_NOMEM, "out of memory");
	if (!st) {
		memcpy(s[cnt].sha256, manifest_sha256, 32);
		cnt++;
	}
	if (st) {
		backup_sums_free(s, cnt);
		return st;
	}
	qsort(s, cnt, sizeof *s, sum_cmp);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		st = errinfo_errno(e, ST_IO, "cannot create %s", path);
		if (fd >= 0)
			close(fd);
		backup_sums_free(s, cnt);
		return st;
	}
	for (size_t i = 0; i < cnt; i++) {
		if (i > 0 && strcmp(s[i].path, s[i - 1].path) == 0)
			continue; /* several names share one media object */
		char hex[65];
		backup_hex(hex, s[i].sha256, 32);
		if (needs_escape(s[i].path)) {
			fprintf(f, "\\%s  ", hex);
			put_escaped(f, s[i].path);
			fputc('\n', f);
		} else {
			fprintf(f, "%s  %s\n", hex, s[i].path);
		}
	}
	if (fflush(f) != 0 || ferror(f))
		st = errinfo_errno(e, ST_IO, "writing %s failed", path);
	if (fclose(f) != 0 && !st)
		st = errinfo_errno(e, ST_IO, "closing %s failed", path);
	backup_sums_free(s, cnt);
	return st;
}

static enum status unescape(char *p, struct errinfo *e)
{
	char *w = p;
	for (char *r = p; *r; r++) {
		if (*r != '\\') {
			*w++ = *r;
			continue;
		}
		r++;
		if (*r == '\\')
			*w++ = '\\';
		else if (*r == 'n')
			*w++ = '\n';
		else if (*r == 'r')
			*w++ = '\r';
		else
			return errinfo_set(e, ST_CORRUPT, "bad escape in SHA256SUMS");
	}
	*w = '\0';
	return ST_OK;
}

enum status backup_sums_load(const char *path, struct backup_sum **out, size_t *n,
                             struct errinfo *e)
{
	*out = NULL;
	*n = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return errinfo_errno(e, errno == ENOENT ? ST_NOTFOUND : ST_IO, "cannot open %s", path);
	char *line = malloc(BACKUP_MANIFEST_LINE_MAX);
	if (!line) {
		fclose(f);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	struct backup_sum *s = NULL;
	size_t cnt = 0, cap = 0, lineno = 0;
	enum status st = ST_OK;
	while (!st) {
		size_t len = 0;
		int eof = 0;
		st = read_line(f, line, BACKUP_MANIFEST_LINE_MAX, &len, &eof, e);
		if (st || eof || len == 0)
			break;
		lineno++;
		line[len - 1] = '\0';
		char *p = line;
		int esc = 0;
		if (*p == '\\') {
			esc = 1;
			p++;
		}
		if (strlen(p) < 67 || p[64] != ' ' || p[65] != ' ') {
			st = errinfo_set(e, ST_CORRUPT, "%s line %zu is malformed", path, lineno);
			break;
		}
		p[64] = '\0';
		char *name = p + 66;
		if (esc && (st = unescape(name, e)))
			break;
		if (cnt >= BACKUP_MANIFEST_MAX_ENTRIES) {
			st = errinfo_set(e, ST_TOOBIG, "%s has too many lines", path);
			break;
		}
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct backup_sum *ns = realloc(s, nc * sizeof *ns);
			if (!ns) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			s = ns;
			cap = nc;
		}
		if (backup_unhex(s[cnt].sha256, 32, p) != 0) {
			st = errinfo_set(e, ST_CORRUPT, "%s line %zu has a bad hash", path, lineno);
			break;
		}
		if (!(s[cnt].path = strdup(name))) {
			st = errinfo_set(e, ST_NOMEM, "out of memory");
			break;
		}
		cnt++;
	}
	free(line);
	fclose(f);
	if (st) {
		backup_sums_free(s, cnt);
		return st;
	}
	if (cnt > 1)
		qsort(s, cnt, sizeof *s, sum_cmp);
	*out = s;
	*n = cnt;
	return ST_OK;
}

const struct backup_sum *backup_sums_find(const struct backup_sum *s, size_t n, const char *path)
{
	struct backup_sum key = {.path = (char *)path};
	return bsearch(&key, s, n, sizeof *s, sum_cmp);
}
