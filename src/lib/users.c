/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * users.c - the user table: environment users, the users file, host keys,
 * password checks and atomic users-file edits (sync-protocol.md §2.2).
 *
 * Invariants: every entry's name passed users_name_ok; names are unique
 * within a table; secrets are wiped (OPENSSL_cleanse) before being freed.
 */
#include "users.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"
#include "buf.h"
#include "bounds.h"
#include "path.h"

/* Length of one valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len;
	unsigned min;
	unsigned cp;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, min = 0x80, cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, min = 0x800, cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, min = 0x10000, cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int users_name_ok(const char *name, size_t len)
{
	if (!name || len == 0 || len > USERS_NAME_MAX || name[0] == '.')
		return 0;
	if (!path_name_ok(name, len))
		return 0;
	const unsigned char *s = (const unsigned char *)name;
	for (size_t i = 0; i < len;) {
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '/' || s[i] == '\\' || s[i] == ':')
			return 0;
		size_t k = utf8_seq(s + i, len - i);
		if (k == 0)
			return 0;
		/* C1 controls (U+0080..U+009F) are control characters too. */
		if (k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)
			return 0;
		i += k;
	}
	return 1;
}

void users_init(struct users *u)
{
	memset(u, 0, sizeof *u);
}

static void entry_free(struct user_entry *ent)
{
	free(ent->name);
	if (ent->secret) {
		OPENSSL_cleanse(ent->secret, strlen(ent->secret));
		free(ent->secret);
	}
	memset(ent, 0, sizeof *ent);
}

void users_free(struct users *u)
{
	for (size_t i = 0; i < u->n; i++)
		entry_free(&u->v[i]);
	free(u->v);
	users_init(u);
}

const struct user_entry *users_find_name(const struct users *u, const char *name)
{
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->v[i].name, name) == 0)
			return &u->v[i];
	return NULL;
}

const struct user_entry *users_find_hkey(const struct users *u, const char *hkey)
{
	if (!hkey || strlen(hkey) != AUTH_HKEY_LEN)
		return NULL;
	const struct user_entry *found = NULL;
	for (size_t i = 0; i < u->n; i++) {
		int eq = auth_equal(u->v[i].hkey, hkey, AUTH_HKEY_LEN);
		if (eq && !found)
			found = &u->v[i];
	}
	return found;
}

/* Takes ownership of name and secret (frees them on failure). */
static enum status users_add(struct users *u, char *name, char *secret, int hashed,
                             enum users_origin origin, struct errinfo *e)
{
	if (users_find_name(u, name)) {
		errinfo_set(e, ST_EXISTS, "user \"%s\" is defined twice", name);
		goto fail;
	}
	if (u->n == u->alloc) {
		size_t na = u->alloc ? u->alloc * 2 : 8;
		struct user_entry *nv = realloc(u->v, na * sizeof *nv);
		if (!nv) {
			errinfo_set(e, ST_NOMEM, "out of memory");
			goto fail;
		}
		u->v = nv;
		u->alloc = na;
	}
	struct user_entry *ent = &u->v[u->n++];
	memset(ent, 0, sizeof *ent);
	ent->name = name;
	ent->secret = secret;
	ent->hashed = hashed;
	ent->origin = origin;
	auth_hkey_user(name, secret, ent->hkey);
	return ST_OK;
fail:
	free(name);
	if (secret) {
		OPENSSL_cleanse(secret, strlen(secret));
		free(secret);
	}
	return e ? e->code : ST_INVALID;
}

static enum status read_credential(const char *dir, const char *name, char **out, struct errinfo *e)
{
	char path[MAX_PATH_BYTES];
	enum status st = path_join(path, sizeof path, dir, name, strlen(name), e);
	if (st)
		return st;
	struct buf b;
	st = buf_read_file(&b, path, MAX_CREDENTIAL_BYTES, e);
	if (st)
		return st;
	size_t n = b.len;
	if (n > 0 && b.data[n - 1] == '\n')
		n--;
	if (n > 0 && b.data[n - 1] == '\r')
		n--;
	if (n == 0 || memchr(b.data, '\0', n) || memchr(b.data, '\n', n)) {
		buf_wipe_free(&b);
		return errinfo_set(e, ST_INVALID, "credential file %s must hold one non-empty line",
		                   path);
	}
	char *s = malloc(n + 1);
	if (!s) {
		buf_wipe_free(&b);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	memcpy(s, b.data, n);
	s[n] = '\0';
	buf_wipe_free(&b);
	*out = s;
	return ST_OK;
}

enum status users_load_env(struct users *u, const char *(*getenv_fn)(const char *name), int hashed,
                           const char *cred_dir, struct errinfo *e)
{
	for (int idx = 1; idx <= USERS_ENV_MAX; idx++) {
		char var[32];
		snprintf(var, sizeof var, "SYNC_USER%d", idx);
		const char *val = getenv_fn(var);
		if (!val)
			break;
		const char *colon = strchr(val, ':');
		size_t nl = colon ? (size_t)(colon - val) : strlen(val);
		if (!users_name_ok(val, nl))
			return errinfo_set(
			    e, ST_INVALID,
			    "%s: the user name must be 1..%d bytes of UTF-8 without control "
			    "characters, '/', '\\\\' or ':' and must not start with '.'",
			    var, USERS_NAME_MAX);
		char *name = strndup(val, nl);
		if (!name)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		char *secret = NULL;
		if (colon) {
			secret = strdup(colon + 1);
			if (!secret) {
				free(name);
				return errinfo_set(e, ST_NOMEM, "out of memory");
			}
		} else if (cred_dir) {
			enum status st = read_credential(cred_dir, name, &secret, e);
			if (st) {
				free(name);
				return errinfo_prefix(e, "%s", var);
			}
		} else {
			free(name);
			return errinfo_set(
			    e, ST_INVALID,
			    "%s should be in 'username:password' format (or set "
			    "CREDENTIALS_DIRECTORY with a file named after the user)",
			    var);
		}
		if (!secret) {
			free(name);
			return errinfo_set(e, ST_INTERNAL, "%s: no secret", var);
		}
		if (hashed) {
			struct auth_phc phc;
			if (auth_phc_parse(secret, &phc, e)) {
				errinfo_prefix(e, "%s (PASSWORDS_HASHED is set)", var);
				OPENSSL_cleanse(secret, strlen(secret));
				free(secret);
				free(name);
				return ST_INVALID;
			}
		}
		enum status st = users_add(u, name, secret, hashed, USERS_FROM_ENV, e);
		if (st)
			return errinfo_prefix(e, "%s", var);
	}
	return ST_OK;
}

/* One line of a users file (modified in place); blank and # lines are skipped. */
static enum status parse_line(struct users *u, const char *path, int lineno, char *line,
                              struct errinfo *e)
{
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	if (n == 0 || line[0] == '#')
		return ST_OK;
	char *colon = strchr(line, ':');
	if (!colon)
		return errinfo_set(e, ST_INVALID, "%s:%d: expected name:PHC-hash", path, lineno);
	*colon = '\0';
	if (!users_name_ok(line, strlen(line)))
		return errinfo_set(e, ST_INVALID, "%s:%d: unacceptable user name", path, lineno);
	struct auth_phc phc;
	if (auth_phc_parse(colon + 1, &phc, e))
		return errinfo_prefix(e, "%s:%d", path, lineno);
	char *name = strdup(line), *secret = strdup(colon + 1);
	if (!name || !secret) {
		free(name);
		free(secret);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	if (users_add(u, name, secret, 1, USERS_FROM_FILE, e))
		return errinfo_prefix(e, "%s:%d", path, lineno);
	return ST_OK;
}

enum status users_load_file(struct users *u, const char *path, struct errinfo *e)
{
	struct buf b;
	enum status st = buf_read_file(&b, path, USERS_FILE_MAX, e);
	if (st)
		return st;
	if (memchr(b.data, '\0', b.len)) {
		buf_wipe_free(&b);
		return errinfo_set(e, ST_INVALID, "%s: contains a NUL byte", path);
	}
	char *p = (char *)b.data;
	int lineno = 0;
	while (p && *p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		st = parse_line(u, path, lineno, p, e);
		if (st)
			break;
		p = nl ? nl + 1 : NULL;
	}
	buf_wipe_free(&b);
	return st;
}

enum status users_verify(const struct user_entry *ent, const char *password, size_t pwlen, int *ok,
                         struct errinfo *e)
{
	*ok = 0;
	if (ent->hashed)
		return auth_phc_verify(ent->secret, password, pwlen, ok, e);
	/* Plain secrets: compare digests so the time does not depend on where
	 * the first differing byte is, nor on the stored length. */
	unsigned char a[32], b[32];
	unsigned int al = 0, bl = 0;
	if (!EVP_Digest(password, pwlen, a, &al, EVP_sha256(), NULL) ||
	    !EVP_Digest(ent->secret, strlen(ent->secret), b, &bl, EVP_sha256(), NULL))
		return errinfo_set(e, ST_INTERNAL, "SHA-256 failed in OpenSSL");
	*ok = auth_equal(a, b, sizeof a);
	OPENSSL_cleanse(a, sizeof a);
	OPENSSL_cleanse(b, sizeof b);
	return ST_OK;
}

/* ---- editing the users file ---- */

static int lock_file(const char *path, struct errinfo *e)
{
	char lp[MAX_PATH_BYTES];
	if (snprintf(lp, sizeof lp, "%s.lock", path) >= (int)sizeof lp) {
		errinfo_set(e, ST_TOOBIG, "path too long");
		return -1;
	}
	int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		errinfo_errno(e, ST_IO, "cannot open lock file %s", lp);
		return -1;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			errinfo_errno(e, ST_IO, "cannot lock %s", lp);
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Rewrite path with the line for name replaced (phc != NULL), removed
 * (phc == NULL) or appended. */
/* Replace path atomically with data.  The new file gets the owner and
 * group of the file it replaces, or of its directory when it is new: root
 * editing the users file of a service that runs as another (dynamic) user
 * must not make it unreadable for that service. */
static enum status write_keeping_owner(const char *path, const void *data, size_t len,
                                       struct errinfo *e)
{
	struct stat sb;
	int have = stat(path, &sb) == 0;
	if (!have) {
		char dir[MAX_PATH_BYTES];
		snprintf(dir, sizeof dir, "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
		else
			snprintf(dir, sizeof dir, ".");
		have = stat(dir, &sb) == 0;
	}
	struct afile af;
	enum status st = afile_open(&af, path, 0600, e);
	if (st)
		return st;
	st = afile_write(&af, data, len, e);
	if (st == ST_OK && have && geteuid() == 0 && fchown(af.fd, sb.st_uid, sb.st_gid) != 0)
		st = errinfo_errno(e, ST_IO, "cannot give %s the owner of the file it replaces", path);
	if (st) {
		afile_abort(&af);
		return st;
	}
	return afile_commit(&af, e);
}

static enum status rewrite(const char *path, const char *name, const char *phc, int want_present,
                           int want_absent, struct errinfo *e)
{
	struct buf in;
	enum status st = buf_read_file(&in, path, USERS_FILE_MAX, e);
	if (st == ST_NOTFOUND && !want_present) {
		buf_init(&in, USERS_FILE_MAX);
		st = buf_append(&in, "", 0, e);
	}
	if (st)
		return st;
	/* Validate the whole file first: never rewrite a file we cannot read. */
	{
		struct users chk;
		users_init(&chk);
		struct buf copy;
		buf_init(&copy, 0);
		st = buf_append(&copy, in.data, in.len, e);
		if (st == ST_OK) {
			char *p = (char *)copy.data;
			int lineno = 0;
			while (st == ST_OK && p && *p) {
				char *nl = strchr(p, '\n');
				if (nl)
					*nl = '\0';
				st = parse_line(&chk, path, ++lineno, p, e);
				p = nl ? nl + 1 : NULL;
			}
		}
		buf_wipe_free(&copy);
		users_free(&chk);
		if (st) {
			buf_wipe_free(&in);
			return st;
		}
	}
	struct buf out;
	buf_init(&out, USERS_FILE_MAX + 1024);
	size_t nlen = strlen(name);
	int found = 0;
	char *p = (char *)in.data;
	while (st == ST_OK && p && *p) {
		char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		int match = ll > nlen && p[nlen] == ':' && memcmp(p, name, nlen) == 0;
		if (match) {
			found = 1;
			if (phc)
				st = buf_printf(&out, e, "%s:%s\n", name, phc);
		} else {
			st = buf_append(&out, p, ll, e);
			if (st == ST_OK)
				st = buf_append(&out, "\n", 1, e);
		}
		p = nl ? nl + 1 : NULL;
	}
	if (st == ST_OK && want_present && !found)
		st = errinfo_set(e, ST_NOTFOUND, "no user \"%s\" in %s", name, path);
	if (st == ST_OK && want_absent && found)
		st = errinfo_set(e, ST_EXISTS, "user \"%s\" already exists in %s", name, path);
	if (st == ST_OK && !found && phc)
		st = buf_printf(&out, e, "%s:%s\n", name, phc);
	if (st == ST_OK)
		st = write_keeping_owner(path, out.data ? (void *)out.data : (void *)"", out.len, e);
	buf_wipe_free(&out);
	buf_wipe_free(&in);
	return st;
}

enum status users_file_set(const char *path, const char *name, const char *phc,
                           enum users_set_mode mode, struct errinfo *e)
{
	if (!users_name_ok(name, strlen(name)))
		return errinfo_set(e, ST_INVALID, "unacceptable user name");
	struct auth_phc h;
	if (auth_phc_parse(phc, &h, e))
		return ST_INVALID;
	int fd = lock_file(path, e);
	if (fd < 0)
		return e ? e->code : ST_IO;
	enum status st = rewrite(path, name, phc, mode == USERS_REPLACE, mode == USERS_ADD, e);
	close(fd);
	return st;
}

enum status users_file_del(const char *path, const char *name, struct errinfo *e)
{
	if (!users_name_ok(name, strlen(name)))
		return errinfo_set(e, ST_INVALID, "unacceptable user name");
	int fd = lock_file(path, e);
	if (fd < 0)
		return e ? e->code : ST_IO;
	enum status st = rewrite(path, name, NULL, 1, 0, e);
	close(fd);
	return st;
}
