/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_sqlite.c - online copy, checks and media listing for anki-backup
 * (contract in backup_sqlite.h; media DB layout: sync-protocol.md §5.7).
 *
 * Invariants: the source connection is SQLITE_OPEN_READONLY, so closing it
 * never checkpoints or deletes the server's -wal; when run as root SQLite
 * gives any -shm it creates the database owner's uid, so the server can
 * still open it afterwards.
 */
#include "backup_sqlite.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unicase.h"

/* How much of a database SQLite may map for reading. */
#define MMAP_BYTES "1073741824"

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum status backup_sqlite_copy(const char *src, const char *dst, int busy_ms, struct errinfo *e)
{
	if (access(dst, F_OK) == 0)
		return errinfo_set(e, ST_EXISTS, "%s already exists", dst);
	sqlite3 *s = NULL, *d = NULL;
	enum status st = ST_OK;
	int rc = sqlite3_open_v2(src, &s, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		st = errinfo_set(e, rc == SQLITE_CANTOPEN ? ST_NOTFOUND : ST_DB, "cannot open %s: %s",
		                 src, s ? sqlite3_errmsg(s) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(s, busy_ms < 1000 ? busy_ms : 1000);
	/* Read pages through a read-only memory map rather than one pread per
	 * page (a 100 MB collection is 25 000 pages). */
	sqlite3_exec(s, "PRAGMA mmap_size=" MMAP_BYTES, NULL, NULL, NULL);
	rc = sqlite3_open_v2(dst, &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		st = errinfo_set(e, ST_IO, "cannot create %s: %s", dst,
		                 d ? sqlite3_errmsg(d) : sqlite3_errstr(rc));
		goto out;
	}
	/* The copy is a temporary file we compress right after: its own
	 * durability is irrelevant, the snapshot is flushed as a whole. */
	sqlite3_exec(d, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
	int64_t deadline = mono_ms() + busy_ms;
	for (;;) {
		sqlite3_backup *b = sqlite3_backup_init(d, "main", s, "main");
		if (!b) {
			st = errinfo_set(e, ST_DB, "cannot start copy of %s: %s", src, sqlite3_errmsg(d));
			goto out;
		}
		rc = sqlite3_backup_step(b, -1);
		int frc = sqlite3_backup_finish(b);
		if (rc == SQLITE_DONE && frc == SQLITE_OK)
			break;
		if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && mono_ms() < deadline) {
			sleep_ms(50);
			continue;
		}
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			st = errinfo_set(e, ST_BUSY,
			                 "%s stayed locked for %d ms (a program holds it with "
			                 "locking_mode=exclusive, or a write never ends)",
			                 src, busy_ms);
		else if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
			st = errinfo_set(e, ST_CORRUPT, "%s is not a readable SQLite database: %s", src,
			                 sqlite3_errstr(rc));
		else if (rc == SQLITE_CANTOPEN || rc == SQLITE_READONLY)
			st = errinfo_set(e, ST_PERM,
			                 "cannot read %s: %s (reading a WAL database needs write access "
			                 "to its directory, for the -shm index, unless the server has it "
			                 "open)",
			                 src, sqlite3_errstr(rc));
		else if (rc == SQLITE_FULL || rc == SQLITE_IOERR)
			st = errinfo_set(e, ST_IO, "copying %s to %s failed: %s", src, dst,
			                 sqlite3_errmsg(d));
		else
			st = errinfo_set(e, ST_DB, "copying %s failed: %s", src, sqlite3_errstr(rc));
		goto out;
	}
out:
	sqlite3_close_v2(s);
	if (d && sqlite3_close(d) != SQLITE_OK && !st)
		st = errinfo_set(e, ST_IO, "closing %s failed", dst);
	if (st) {
		unlink(dst);
		char side[4200];
		snprintf(side, sizeof side, "%s-journal", dst);
		unlink(side);
	}
	return st;
}

enum status backup_sqlite_check(const char *path, int full, int *ok, char *msg, size_t msgcap,
                                struct errinfo *e)
{
	*ok = 0;
	if (msgcap)
		msg[0] = '\0';
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		enum status st = errinfo_set(e, ST_IO, "cannot open %s: %s", path,
		                             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return st;
	}
	if (unicase_register(db) != SQLITE_OK) {
		sqlite3_close(db);
		return errinfo_set(e, ST_DB, "cannot register the unicase collation");
	}
	sqlite3_exec(db, "PRAGMA mmap_size=" MMAP_BYTES, NULL, NULL, NULL);
	sqlite3_stmt *stmt = NULL;
	rc = sqlite3_prepare_v2(db, full ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)",
	                        -1, &stmt, NULL);
	size_t used = 0;
	int rows = 0, good = 0;
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(stmt, 0);
			if (!t)
				t = "";
			rows++;
			if (rows == 1 && strcmp(t, "ok") == 0)
				good = 1;
			if (used + 3 < msgcap) {
				int n = snprintf(msg + used, msgcap - used, "%s%s", used ? "; " : "", t);
				if (n > 0)
					used = used + (size_t)n < msgcap ? used + (size_t)n : msgcap - 1;
			}
		}
	}
	if (rc != SQLITE_DONE) {
		/* "file is not a database", "malformed": findings about the file. */
		snprintf(msg, msgcap, "%s", sqlite3_errmsg(db));
		good = 0;
		rows = 0;
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	*ok = good && rows == 1;
	for (size_t i = 0; i < used && i < msgcap; i++)
		if ((unsigned char)msg[i] < 0x20)
			msg[i] = ' ';
	return ST_OK;
}

int backup_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int listed_cmp(const void *x, const void *y)
{
	const struct backup_listed *a = x, *b = y;
	return backup_name_cmp(a->name, a->name_len, b->name, b->name_len);
}

void backup_listed_free(struct backup_listed *l, size_t n)
{
	if (!l)
		return;
	for (size_t i = 0; i < n; i++)
		free(l[i].name);
	free(l);
}

/* A media DB larger than this many rows is not a media DB we wrote: the
 * protocol reports changes 1000 at a time and collections hold far fewer
 * files; the bound keeps a hostile file from exhausting memory. */
#define MAX_MEDIA_ROWS 10000000

enum status backup_sqlite_media_list(const char *path, struct backup_listed **out, size_t *n,
                                     struct errinfo *e)
{
	*out = NULL;
	*n = 0;
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		enum status st = errinfo_set(e, ST_IO, "cannot open %s: %s", path,
		                             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return st;
	}
	static const char *const queries[] = {
	    "SELECT fname, csum FROM media WHERE size > 0",
	    "SELECT fname, csum FROM media WHERE sz > 0 AND deleted = 0 AND csum IS NOT NULL",
	};
	sqlite3_stmt *stmt = NULL;
	for (size_t i = 0; i < sizeof queries / sizeof queries[0] && !stmt; i++)
		if (sqlite3_prepare_v2(db, queries[i], -1, &stmt, NULL) != SQLITE_OK)
			stmt = NULL;
	if (!stmt) {
		sqlite3_close(db);
		return errinfo_set(e, ST_NOTFOUND, "%s has no media table", path);
	}
	struct backup_listed *l = NULL;
	size_t cnt = 0, cap = 0;
	enum status st = ST_OK;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (cnt >= MAX_MEDIA_ROWS) {
			st = errinfo_set(e, ST_TOOBIG, "%s lists more than %d files", path, MAX_MEDIA_ROWS);
			break;
		}
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct backup_listed *nl = realloc(l, nc * sizeof *l);
			if (!nl) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			l = nl;
			cap = nc;
		}
		const char *name = (const char *)sqlite3_column_text(stmt, 0);
		int nlen = sqlite3_column_bytes(stmt, 0);
		const void *csum = sqlite3_column_blob(stmt, 1);
		int clen = sqlite3_column_bytes(stmt, 1);
		struct backup_listed *it = &l[cnt];
		memset(it, 0, sizeof *it);
		it->name = malloc((size_t)nlen + 1);
		if (!it->name) {
			st = errinfo_set(e, ST_NOMEM, "out of memory");
			break;
		}
		if (nlen > 0)
			memcpy(it->name, name, (size_t)nlen);
		it->name[nlen] = '\0';
		it->name_len = (size_t)nlen;
		if (csum && clen == 20 && sqlite3_column_type(stmt, 1) == SQLITE_BLOB) {
			memcpy(it->sha1, csum, 20);
			it->csum_ok = 1;
		}
		cnt++;
	}
	if (!st && rc != SQLITE_DONE)
		st = errinfo_set(e, ST_DB, "reading %s failed: %s", path, sqlite3_errmsg(db));
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	if (st) {
		backup_listed_free(l, cnt);
		return st;
	}
	if (cnt > 1)
		qsort(l, cnt, sizeof *l, listed_cmp);
	*out = l;
	*n = cnt;
	return ST_OK;
}

const struct backup_listed *backup_listed_find(const struct backup_listed *l, size_t n,
                                               const char *name, size_t len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = backup_name_cmp(l[mid].name, l[mid].name_len, name, len);
		if (c == 0)
			return &l[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
