/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col.c - opening, creating and closing collection files; transactions,
 * usn and time rules.  collection-format.md §1.1, §4, §5, §7.
 *
 * Open sequence (the order matters):
 *   1. sqlite3_open_v2, extended result codes, unicase collation and the
 *      SQL functions (sqlfn) registered before any statement;
 *   2. busy timeout 0 and locking_mode=exclusive (Anki's), page size and
 *      cache size, journal_mode=wal;
 *   3. BEGIN IMMEDIATE takes the write lock now, so "held by another
 *      process" is reported at open as ST_BUSY;
 *   4. read col.ver, refuse what Anki refuses, upgrade 11..17 -> 18 inside
 *      that one transaction (col_schema_upgrade), COMMIT.
 */
#include "col.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "afile.h"
#include "col_store.h"
#include "col_internal.h"
#include "bounds.h"
#include "log.h"
#include "sqlfn.h"

int64_t col_now_ms(void)
{
	const char *fake = getenv("ANKIHOST_FAKE_NOW_MS");
	if (fake && *fake)
		return strtoll(fake, NULL, 10);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t col_now_secs(void)
{
	return col_now_ms() / 1000;
}

enum status col_sqlite_err(sqlite3 *db, int rc, struct errinfo *e, const char *what)
{
	enum status st;
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		st = ST_BUSY;
		break;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_FORMAT:
		st = ST_CORRUPT;
		break;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
		st = ST_IO;
		break;
	case SQLITE_NOMEM:
		st = ST_NOMEM;
		break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		st = ST_PERM;
		break;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		st = ST_INVALID;
		break;
	default:
		st = ST_DB;
	}
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	if (st == ST_BUSY)
		return errinfo_set(e, st, "%s: the collection is in use by another process (%s)", what, msg);
	return errinfo_set(e, st, "%s: %s", what, msg);
}

enum status col_exec(struct col *c, const char *sql, struct errinfo *e)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(c->db, rc, e, "sql");
	return ST_OK;
}

sqlite3 *col_db(const struct col *c) { return c->db; }
const char *col_path(const struct col *c) { return c->path; }
int col_opened_version(const struct col *c) { return c->opened_ver; }
int col_is_server(const struct col *c) { return (c->flags & COL_SERVER) != 0; }

enum status col_begin(struct col *c, struct errinfo *e)
{
	if (c->in_tx)
		return errinfo_set(e, ST_INTERNAL, "transaction already open");
	enum status st = col_exec(c, "BEGIN IMMEDIATE", e);
	if (!st) {
		c->in_tx = 1;
		c->next_pos = 0; /* re-read inside the transaction */
	}
	return st;
}

enum status col_commit(struct col *c, struct errinfo *e)
{
	if (!c->in_tx)
		return errinfo_set(e, ST_INTERNAL, "commit without a transaction");
	enum status st = ST_OK;
	if (c->next_pos_dirty) {
		json_t *v = json_integer(c->next_pos);
		st = v ? col_config_set(c, "nextPos", v, e) : errinfo_set(e, ST_NOMEM, "out of memory");
		json_decref(v);
		c->next_pos_dirty = 0;
	}
	if (!st)
		st = col_exec(c, "COMMIT", e);
	if (st) {
		col_rollback(c);
		return st;
	}
	c->in_tx = 0;
	return ST_OK;
}

void col_rollback(struct col *c)
{
	c->next_pos = 0;
	c->next_pos_dirty = 0;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	c->in_tx = 0;
}

int32_t col_usn(struct col *c)
{
	if (!(c->flags & COL_SERVER))
		return -1;
	sqlite3_stmt *st = NULL;
	int32_t usn = 0;
	if (sqlite3_prepare_v2(c->db, "select usn from col", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		usn = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return usn;
}

enum status col_meta_get(struct col *c, struct col_meta *m, struct errinfo *e)
{
	sqlite3_stmt *st = NULL;
	enum status s = col_stmt(c, "select crt, mod, scm, ls, ver, usn from col", &st, e);
	if (s)
		return s;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? errinfo_set(e, ST_CORRUPT, "the col table has no row")
		                         : col_sqlite_err(c->db, rc, e, "reading col");
	}
	m->crt = sqlite3_column_int64(st, 0);
	m->mod = sqlite3_column_int64(st, 1);
	m->scm = sqlite3_column_int64(st, 2);
	m->ls = sqlite3_column_int64(st, 3);
	m->ver = sqlite3_column_int(st, 4);
	m->usn = sqlite3_column_int(st, 5);
	sqlite3_reset(st);
	return ST_OK;
}

static enum status col_update_times(struct col *c, int schema, struct errinfo *e)
{
	sqlite3_stmt *st = NULL;
	const char *sql = schema ? "update col set mod = ?1, scm = ?1" : "update col set mod = ?1";
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, col_now_ms());
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ST_OK : col_sqlite_err(c->db, rc, e, "updating col");
}

enum status col_touch(struct col *c, struct errinfo *e) { return col_update_times(c, 0, e); }
enum status col_touch_schema(struct col *c, struct errinfo *e) { return col_update_times(c, 1, e); }

/* One static statement per table so col_stmt can cache it (the id
 * allocation runs once per inserted row). */
#define ALLOC_SQL(t)                                                                               \
	"select case when exists(select 1 from " t " where id = ?1) "                              \
	"then (select max(id) + 1 from " t ") else ?1 end"
static const struct {
	const char *table, *sql;
} alloc_sql[] = {
    {"notes", ALLOC_SQL("notes")},         {"cards", ALLOC_SQL("cards")},
    {"revlog", ALLOC_SQL("revlog")},       {"notetypes", ALLOC_SQL("notetypes")},
    {"decks", ALLOC_SQL("decks")},         {"deck_config", ALLOC_SQL("deck_config")},
};

enum status col_alloc_id(struct col *c, const char *table, int64_t want, int64_t *out,
                         struct errinfo *e)
{
	/* Anki: use the wanted id unless taken, else max(id)+1 (§7.1). */
	const char *sql = NULL;
	for (size_t i = 0; i < sizeof alloc_sql / sizeof alloc_sql[0]; i++)
		if (strcmp(alloc_sql[i].table, table) == 0)
			sql = alloc_sql[i].sql;
	if (!sql)
		return errinfo_set(e, ST_INTERNAL, "no id allocation for table %s", table);
	sqlite3_stmt *st;
	enum status s = col_stmt(c, sql, &st, e);
	if (s)
		return s;
	sqlite3_bind_int64(st, 1, want);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? ST_OK : col_sqlite_err(c->db, rc, e, "allocating an id");
}

/* Connection set-up shared by open and create. */
static enum status col_connect(const char *path, unsigned flags, struct col **out, struct errinfo *e)
{
	struct col *c = calloc(1, sizeof *c);
	if (!c)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	c->flags = flags;
	c->path = strdup(path);
	if (!c->path) {
		free(c);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	int rc;
	if (flags & COL_READONLY) {
		/* One connection per thread (struct col is not shared), so no SQLite
		 * mutexes: NOMUTEX below.  Inspection of a file nobody writes (fixtures, backups): immutable
		 * so a WAL-mode file opens without creating -shm in a read-only dir. */
		char *uri = sqlite3_mprintf("file:%s?immutable=1", path);
		rc = uri ? sqlite3_open_v2(uri, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL)
		         : SQLITE_NOMEM;
		sqlite3_free(uri);
	} else {
		rc = sqlite3_open_v2(path, &c->db,
		                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	}
	enum status st = ST_OK;
	if (rc != SQLITE_OK) {
		st = col_sqlite_err(c->db, rc, e, path);
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	rc = sqlfn_register(c->db);
	if (rc != SQLITE_OK) {
		st = col_sqlite_err(c->db, rc, e, "registering SQL functions");
		goto fail;
	}
	sqlite3_busy_timeout(c->db, 0);
	if (!(flags & COL_READONLY)) {
		const char *pragmas = (flags & COL_SHARED)
		                          ? "pragma page_size = 4096; pragma cache_size = -40960;"
		                          : "pragma locking_mode = exclusive; pragma page_size = 4096; "
		                            "pragma cache_size = -40960;";
		rc = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			st = col_sqlite_err(c->db, rc, e, path);
			goto fail;
		}
	}
	*out = c;
	return ST_OK;
fail:
	sqlite3_close(c->db);
	free(c->path);
	free(c);
	return st;
}

enum status col_stmt(struct col *c, const char *sql, sqlite3_stmt **out, struct errinfo *e)
{
	for (int i = 0; i < c->ncache; i++)
		if (c->cache[i].sql == sql) {
			sqlite3_reset(c->cache[i].st);
			sqlite3_clear_bindings(c->cache[i].st);
			*out = c->cache[i].st;
			return ST_OK;
		}
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(c->db, rc, e, "preparing a statement");
	if (c->ncache < COL_STMT_CACHE) {
		c->cache[c->ncache].sql = sql;
		c->cache[c->ncache].st = st;
		c->ncache++;
	} else {
		/* full: replace the oldest (rare; the cache is sized for our statements) */
		sqlite3_finalize(c->cache[0].st);
		memmove(&c->cache[0], &c->cache[1], (COL_STMT_CACHE - 1) * sizeof c->cache[0]);
		c->cache[COL_STMT_CACHE - 1].sql = sql;
		c->cache[COL_STMT_CACHE - 1].st = st;
	}
	*out = st;
	return ST_OK;
}

enum status col_stmt_run(struct col *c, sqlite3_stmt *st, struct errinfo *e, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? ST_OK : col_sqlite_err(c->db, rc, e, what);
}

void col_close(struct col *c)
{
	if (!c)
		return;
	col_rollback(c);
	for (int i = 0; i < c->ncache; i++)
		sqlite3_finalize(c->cache[i].st);
	c->ncache = 0;
	int rc = sqlite3_close(c->db);
	if (rc != SQLITE_OK)
		log_warnx("closing %s: %s (statements left open)", c->path, sqlite3_errstr(rc));
	if (c->unlink_on_close) {
		char side[MAX_PATH_BYTES + 8];
		unlink(c->path);
		snprintf(side, sizeof side, "%s-wal", c->path);
		unlink(side);
		snprintf(side, sizeof side, "%s-shm", c->path);
		unlink(side);
	}
	free(c->path);
	free(c);
}

static enum status col_read_version(struct col *c, int *ver, struct errinfo *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, "select ver from col", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_ERROR)
			return errinfo_set(e, ST_CORRUPT, "%s is not an Anki collection (%s)", c->path,
			                   sqlite3_errmsg(c->db));
		return col_sqlite_err(c->db, rc, e, c->path);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
		*ver = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		return ST_OK;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return errinfo_set(e, ST_CORRUPT, "%s is not an Anki collection (no valid col row)", c->path);
	return col_sqlite_err(c->db, rc, e, c->path);
}

enum status col_check_version(int ver, const char *path, struct errinfo *e)
{
	if (ver < COL_SCHEMA_MIN)
		return errinfo_set(e, ST_VERSION,
		                   "%s: collection file too old (schema %d; the oldest supported is %d)", path,
		                   ver, COL_SCHEMA_MIN);
	if (ver > COL_SCHEMA_CUR || ver == 12 || ver == 13)
		return errinfo_set(e, ST_VERSION,
		                   "%s: collection file too new (schema %d; this version supports %d to %d)",
		                   path, ver, COL_SCHEMA_MIN, COL_SCHEMA_CUR);
	return ST_OK;
}

enum status col_open(const char *path, unsigned flags, struct col **out, struct errinfo *e)
{
	*out = NULL;
	struct stat sb;
	if (stat(path, &sb) != 0) {
		if (errno != ENOENT)
			return errinfo_errno(e, ST_IO, "cannot access %s", path);
		if (!(flags & COL_CREATE))
			return errinfo_set(e, ST_NOTFOUND, "%s does not exist", path);
		enum status st = col_create(path, flags, e);
		if (st && st != ST_EXISTS) /* ST_EXISTS: created by someone else meanwhile */
			return st;
	} else if (!S_ISREG(sb.st_mode)) {
		return errinfo_set(e, ST_INVALID, "%s is not a regular file", path);
	} else if (sb.st_size == 0) {
		return errinfo_set(e, ST_CORRUPT, "%s is empty, not a collection", path);
	}
	struct col *c = NULL;
	enum status st = col_connect(path, flags, &c, e);
	if (st || !c)
		return st ? st : ST_INTERNAL;
	int ver = 0;
	if (flags & COL_READONLY) {
		st = col_read_version(c, &ver, e);
		if (!st)
			st = col_check_version(ver, path, e);
		if (st) {
			col_close(c);
			return st;
		}
		c->opened_ver = ver;
		*out = c;
		return ST_OK;
	}
	/* Check what the file is before changing anything in it (even the
	 * journal mode in its header): a refused file stays byte-identical. */
	st = col_begin(c, e);
	if (!st)
		st = col_read_version(c, &ver, e);
	if (!st)
		st = col_check_version(ver, path, e);
	col_rollback(c);
	if (!st)
		st = col_exec(c, "pragma journal_mode = wal", e);
	if (!st)
		st = col_begin(c, e);
	if (!st && ver < COL_SCHEMA_CUR) {
		if (flags & COL_NO_UPGRADE)
			st = errinfo_set(e, ST_VERSION, "%s is at schema %d; upgrade refused", path, ver);
		else
			st = col_schema_upgrade(c, ver, e);
	}
	if (!st)
		st = col_commit(c, e);
	if (st) {
		col_close(c);
		return st;
	}
	c->opened_ver = ver;
	*out = c;
	return ST_OK;
}

/* Scheduler day 0 (§5.1): 04:00 local time today, or yesterday's when that is
 * still in the future; also its offset in minutes west of UTC. */
static void col_creation_time(int64_t now_secs, int64_t *crt, int *minutes_west)
{
	time_t now = (time_t)now_secs;
	struct tm tm;
	localtime_r(&now, &tm);
	tm.tm_hour = 4;
	tm.tm_min = 0;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t > now) {
		tm.tm_mday -= 1;
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	struct tm at;
	localtime_r(&t, &at);
	*crt = (int64_t)t;
	*minutes_west = (int)(-at.tm_gmtoff / 60);
}

enum status col_create(const char *path, unsigned flags, struct errinfo *e)
{
	struct stat sb;
	if (stat(path, &sb) == 0)
		return errinfo_set(e, ST_EXISTS, "%s already exists", path);
	/* Build under a temporary name and rename: a crash never leaves a
	 * half-created collection under the real name. */
	char tmp[MAX_PATH_BYTES];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
		return errinfo_set(e, ST_INVALID, "path too long");
	int fd = mkstemp(tmp);
	if (fd < 0)
		return errinfo_errno(e, ST_IO, "cannot create %s", path);
	close(fd);
	unlink(tmp); /* SQLite creates it; the name was reserved for us */

	struct col *c = NULL;
	enum status st = col_connect(tmp, (flags & COL_SERVER) | COL_CREATE, &c, e);
	if (st || !c)
		return st ? st : ST_INTERNAL;
	int64_t now_ms = col_now_ms();
	int64_t crt;
	int west;
	col_creation_time(now_ms / 1000, &crt, &west);
	st = col_exec(c, "pragma journal_mode = wal", e);
	if (!st)
		st = col_begin(c, e);
	if (!st)
		st = col_schema_create11(c, crt, now_ms, (flags & COL_SERVER) ? NULL : &west, e);
	if (!st)
		st = col_schema_upgrade(c, 11, e);
	if (!st)
		st = col_stock_add_defaults(c, e);
	if (!st)
		st = col_commit(c, e);
	col_close(c);
	if (!st)
		st = afile_rename(tmp, path, e);
	if (st) {
		unlink(tmp);
		char side[MAX_PATH_BYTES + 8];
		snprintf(side, sizeof side, "%s-wal", tmp);
		unlink(side);
		snprintf(side, sizeof side, "%s-shm", tmp);
		unlink(side);
		return errinfo_prefix(e, "creating %s", path);
	}
	return ST_OK;
}

enum status col_close_downgraded(struct col *c, struct errinfo *e)
{
	enum status st = col_begin(c, e);
	if (!st)
		st = col_schema_downgrade(c, e);
	if (!st)
		st = col_commit(c, e);
	if (!st)
		st = col_exec(c, "pragma journal_mode = delete", e);
	col_close(c);
	return st;
}

enum status col_open_copy(const char *path, struct col **out, struct errinfo *e)
{
	*out = NULL;
	struct col *src = NULL;
	enum status st = col_open(path, COL_READONLY, &src, e);
	if (st || !src)
		return st ? st : ST_INTERNAL;
	const char *tmpdir = getenv("TMPDIR");
	char tmp[MAX_PATH_BYTES];
	snprintf(tmp, sizeof tmp, "%s/ankihost-col-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	int fd = mkstemp(tmp);
	if (fd < 0) {
		col_close(src);
		return errinfo_errno(e, ST_IO, "cannot create a temporary copy of %s", path);
	}
	close(fd);
	sqlite3 *dst = NULL;
	int rc = sqlite3_open(tmp, &dst);
	if (rc == SQLITE_OK) {
		sqlite3_backup *b = sqlite3_backup_init(dst, "main", src->db, "main");
		rc = b ? sqlite3_backup_step(b, -1) : sqlite3_errcode(dst);
		if (b)
			sqlite3_backup_finish(b);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	sqlite3_close(dst);
	col_close(src);
	if (rc != SQLITE_OK) {
		unlink(tmp);
		return col_sqlite_err(NULL, rc, e, "copying the collection");
	}
	st = col_open(tmp, 0, out, e);
	if (st || !*out) {
		unlink(tmp);
		return st ? st : ST_INTERNAL;
	}
	(*out)->unlink_on_close = 1;
	return ST_OK;
}
