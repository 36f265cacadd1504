/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_schema.c - the table definitions of schema 11 and 18 and the steps
 * between them: upgrade 11 -> 14 -> 15 -> 16 -> 17 -> 18 (§4.2) and the
 * downgrade 18 -> 11 (§4.3).  Every step runs inside the caller's
 * transaction, so a failure leaves the file as it was.
 *
 * Anki never reads the CREATE text, but column names, affinities,
 * constraints, WITHOUT ROWID, collations and indexes must match (§2).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_internal.h"
#include "col_json.h"
#include "col_model.h"
#include "col_proto.h"
#include "col_store.h"
#include "log.h"

static const char schema11_sql[] =
    "create table col (id integer primary key, crt integer not null, mod integer not null,"
    " scm integer not null, ver integer not null, dty integer not null, usn integer not null,"
    " ls integer not null, conf text not null, models text not null, decks text not null,"
    " dconf text not null, tags text not null);"
    "create table notes (id integer primary key, guid text not null, mid integer not null,"
    " mod integer not null, usn integer not null, tags text not null, flds text not null,"
    /* integer affinity on purpose: numeric sort fields sort numerically */
    " sfld integer not null, csum integer not null, flags integer not null, data text not null);"
    "create table cards (id integer primary key, nid integer not null, did integer not null,"
    " ord integer not null, mod integer not null, usn integer not null, type integer not null,"
    " queue integer not null, due integer not null, ivl integer not null, factor integer not null,"
    " reps integer not null, lapses integer not null, left integer not null, odue integer not null,"
    " odid integer not null, flags integer not null, data text not null);"
    "create table revlog (id integer primary key, cid integer not null, usn integer not null,"
    " ease integer not null, ivl integer not null, lastIvl integer not null, factor integer not null,"
    " time integer not null, type integer not null);"
    "create table graves (usn integer not null, oid integer not null, type integer not null);"
    "create index ix_notes_usn on notes (usn);"
    "create index ix_cards_usn on cards (usn);"
    "create index ix_revlog_usn on revlog (usn);"
    "create index ix_cards_nid on cards (nid);"
    "create index ix_cards_sched on cards (did, queue, due);"
    "create index ix_revlog_cid on revlog (cid);"
    "create index ix_notes_csum on notes (csum);"
    "insert into col values (1, 0, 0, 0, 0, 0, 0, 0, '{}', '{}', '{}', '{}', '{}');";

static const char upgrade14_sql[] =
    "create table deck_config (id integer primary key not null, name text not null collate unicase,"
    " mtime_secs integer not null, usn integer not null, config blob not null);"
    "create table config (KEY text not null primary key, usn integer not null,"
    " mtime_secs integer not null, val blob not null) without rowid;"
    "create table tags (tag text not null primary key collate unicase, usn integer not null)"
    " without rowid;"
    "update col set ver = 14;";

static const char upgrade15_sql[] =
    "create table fields (ntid integer not null, ord integer not null,"
    " name text not null collate unicase, config blob not null, primary key (ntid, ord))"
    " without rowid;"
    "create unique index idx_fields_name_ntid on fields (name, ntid);"
    "create table templates (ntid integer not null, ord integer not null,"
    " name text not null collate unicase, mtime_secs integer not null, usn integer not null,"
    " config blob not null, primary key (ntid, ord)) without rowid;"
    "create unique index idx_templates_name_ntid on templates (name, ntid);"
    "create index idx_templates_usn on templates (usn);"
    "create table notetypes (id integer not null primary key, name text not null collate unicase,"
    " mtime_secs integer not null, usn integer not null, config blob not null);"
    "create unique index idx_notetypes_name on notetypes (name);"
    "create index idx_notetypes_usn on notetypes (usn);"
    "create table decks (id integer primary key not null, name text not null collate unicase,"
    " mtime_secs integer not null, usn integer not null, common blob not null,"
    " kind blob not null);"
    "create unique index idx_decks_name on decks (name);"
    "create index idx_notes_mid on notes (mid);"
    "create index idx_cards_odid on cards (odid) where odid != 0;"
    "update col set ver = 15;"
    "analyze;";

static const char upgrade17_sql[] =
    "create temporary table tags_old as select tag, usn from tags;"
    "drop table tags;"
    "create table tags (tag text not null primary key collate unicase, usn integer not null,"
    " collapsed boolean not null, config blob null) without rowid;"
    "insert or ignore into tags select tag, usn, 1, null from tags_old;"
    "drop table temp.tags_old;"
    "update col set ver = 17;";

static const char upgrade18_sql[] =
    "create table graves_new (oid integer not null, type integer not null, usn integer not null,"
    " primary key (oid, type)) without rowid;"
    "insert or ignore into graves_new (oid, type, usn) select oid, type, usn from graves;"
    "drop table graves;"
    "alter table graves_new rename to graves;"
    "create index idx_graves_pending on graves (usn);"
    "update col set ver = 18;";

static const char downgrade_graves_sql[] =
    "create table graves_old (usn integer not null, oid integer not null, type integer not null);"
    "insert into graves_old (usn, oid, type) select usn, oid, type from graves;"
    "drop table graves;"
    "alter table graves_old rename to graves;"
    "update col set ver = 17;";

static const char downgrade_drop_sql[] =
    "drop table config; drop table deck_config; drop table tags; drop table fields;"
    "drop table templates; drop table notetypes; drop table decks;"
    "drop index if exists idx_cards_odid; drop index if exists idx_notes_mid;"
    "update col set ver = 11;";

enum status col_schema_create11(struct col *c, int64_t crt, int64_t now_ms, const int *minutes_west,
                                struct errinfo *e)
{
	enum status st = col_exec(c, schema11_sql, e);
	if (st)
		return st;
	/* The schema 11 conf of a new collection (§5.1 step 4), key order as Anki. */
	json_t *conf = json_pack("{s:[i],s:i,s:i,s:i,s:i,s:b,s:b,s:n,s:i,s:s,s:b,s:b,s:b,s:i}",
	                         "activeDecks", 1, "curDeck", 1, "newSpread", 0, "collapseTime", 1200,
	                         "timeLim", 0, "estTimes", 1, "dueCounts", 1, "curModel", "nextPos",
	                         1, "sortType", "noteFld", "sortBackwards", 0, "addToCur", 1,
	                         "dayLearnFirst", 0, "schedVer", 2);
	if (!conf)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	json_object_set_new(conf, "creationOffset",
	                    minutes_west ? json_integer(*minutes_west) : json_null());
	json_object_set_new(conf, "sched2021", json_true());
	char *text = json_dumps(conf, JSON_COMPACT);
	json_decref(conf);
	if (!text)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(col_db(c),
	                            "update col set crt = ?1, scm = ?2, ver = 11, conf = ?3", -1,
	                            &stmt, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(stmt, 1, crt);
		sqlite3_bind_int64(stmt, 2, now_ms);
		sqlite3_bind_text(stmt, 3, text, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(stmt);
	}
	sqlite3_finalize(stmt);
	free(text);
	return rc == SQLITE_DONE ? ST_OK : col_sqlite_err(col_db(c), rc, e, "initialising col");
}

/* Read one of the col JSON columns as an object ('' or '{}' = empty). */
static enum status col_json_column(struct col *c, const char *column, json_t **out,
                                   struct errinfo *e)
{
	char sql[64];
	snprintf(sql, sizeof sql, "select %s from col", column);
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(col_db(c), sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return col_sqlite_err(col_db(c), rc, e, "reading col");
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return col_sqlite_err(col_db(c), rc, e, "reading col");
	}
	const char *text = (const char *)sqlite3_column_text(stmt, 0);
	int n = sqlite3_column_bytes(stmt, 0);
	json_error_t jerr;
	json_t *j = (!text || n == 0) ? json_object()
	                              : json_loadb(text, (size_t)n, JSON_DISABLE_EOF_CHECK, &jerr);
	sqlite3_finalize(stmt);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return errinfo_set(e, ST_CORRUPT, "col.%s is not a JSON object", column);
	}
	*out = j;
	return ST_OK;
}

static enum status col_clear_column(struct col *c, const char *column, struct errinfo *e)
{
	char sql[64];
	snprintf(sql, sizeof sql, "update col set %s = ''", column);
	return col_exec(c, sql, e);
}

/* -> 14: presets stored as their schema 11 JSON for now (converted at 15),
 * tags and config rows. */
static enum status upgrade_to_14(struct col *c, struct errinfo *e)
{
	enum status st = col_exec(c, upgrade14_sql, e);
	json_t *dconf = NULL, *tags = NULL, *conf = NULL;
	if (!st)
		st = col_json_column(c, "dconf", &dconf, e);
	if (!st)
		st = col_json_column(c, "tags", &tags, e);
	if (!st)
		st = col_json_column(c, "conf", &conf, e);
	const char *key;
	json_t *val;
	if (!st) {
		json_object_foreach(dconf, key, val)
		{
			char *end;
			long long id = strtoll(key, &end, 10);
			if (*end || !json_is_object(val)) {
				st = errinfo_set(e, ST_CORRUPT, "deck config key %s is not an id", key);
				break;
			}
			json_object_set_new(val, "id", json_integer(id)); /* the map key wins */
			st = col_store_deckconf_json_raw(c, id, val, e);
			if (st)
				break;
		}
	}
	if (!st) {
		json_object_foreach(tags, key, val)
		{
			st = col_store_tag_raw(c, key, json_is_integer(val) ? (int32_t)json_integer_value(val) : 0,
			                       e);
			if (st)
				break;
		}
	}
	if (!st) {
		json_object_foreach(conf, key, val)
		{
			st = col_config_set_raw(c, key, val, 0, 0, e);
			if (st)
				break;
		}
	}
	json_decref(dconf);
	json_decref(tags);
	json_decref(conf);
	if (!st)
		st = col_clear_column(c, "dconf", e);
	if (!st)
		st = col_clear_column(c, "tags", e);
	if (!st)
		st = col_clear_column(c, "conf", e);
	return st;
}

/* -> 15: notetypes and decks from JSON into their tables, presets from
 * their JSON blobs to protobuf with initial_ease x100 (undone at 16). */
static enum status upgrade_to_15(struct col *c, struct errinfo *e)
{
	enum status st = col_exec(c, upgrade15_sql, e);
	json_t *models = NULL, *decks = NULL;
	if (!st)
		st = col_json_column(c, "models", &models, e);
	if (!st)
		st = col_json_column(c, "decks", &decks, e);
	const char *key;
	json_t *val;
	if (!st) {
		json_object_foreach(models, key, val)
		{
			struct notetype nt;
			memset(&nt, 0, sizeof nt);
			st = notetype_from_json(val, &nt, e);
			if (!st && nt.id == 0)
				st = errinfo_set(e, ST_CORRUPT, "notetype with id 0");
			if (!st && strcmp(key, "0") != 0 && strtoll(key, NULL, 10) != nt.id)
				log_warnx("notetype %lld stored under key %s; using its own id",
				          (long long)nt.id, key);
			if (!st)
				st = col_store_notetype(c, &nt, COL_STORE_UPGRADE, e);
			notetype_free(&nt);
			if (st) {
				errinfo_prefix(e, "notetype %s", key);
				break;
			}
		}
	}
	if (!st) {
		json_object_foreach(decks, key, val)
		{
			struct deck d;
			memset(&d, 0, sizeof d);
			st = deck_from_json(val, &d, e);
			if (!st && d.id == 0)
				st = errinfo_set(e, ST_CORRUPT, "deck with id 0");
			if (!st)
				st = col_store_deck(c, &d, COL_STORE_UPGRADE, e);
			deck_free(&d);
			if (st) {
				errinfo_prefix(e, "deck %s", key);
				break;
			}
		}
	}
	json_decref(models);
	json_decref(decks);
	if (!st)
		st = col_store_deckconfs_json_to_proto(c, e);
	if (!st)
		st = col_clear_column(c, "models", e);
	if (!st)
		st = col_clear_column(c, "decks", e);
	return st;
}

enum status col_schema_upgrade(struct col *c, int from, struct errinfo *e)
{
	enum status st = ST_OK;
	if (from < 14)
		st = upgrade_to_14(c, e);
	if (!st && from < 15)
		st = upgrade_to_15(c, e);
	if (!st && from < 16)
		st = col_store_deckconfs_fix_ease(c, e);
	if (!st && from < 17)
		st = col_exec(c, upgrade17_sql, e);
	if (!st && from < 18)
		st = col_exec(c, upgrade18_sql, e);
	if (st)
		errinfo_prefix(e, "upgrading schema %d to 18", from);
	return st;
}

static enum status col_set_json_column(struct col *c, const char *column, json_t *j,
                                       struct errinfo *e)
{
	char *text = col_json_dumps(j);
	if (!text)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	char sql[64];
	snprintf(sql, sizeof sql, "update col set %s = ?1", column);
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(col_db(c), sql, -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(stmt, 1, text, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(stmt);
	}
	sqlite3_finalize(stmt);
	free(text);
	return rc == SQLITE_DONE ? ST_OK : col_sqlite_err(col_db(c), rc, e, "writing col");
}

enum status col_schema_downgrade(struct col *c, struct errinfo *e)
{
	enum status st = col_exec(c, downgrade_graves_sql, e);
	json_t *j = NULL;
	if (!st && !(st = col_store_deckconfs_to_json(c, &j, e))) {
		st = col_set_json_column(c, "dconf", j, e);
		json_decref(j);
	}
	if (!st && !(st = col_store_decks_to_json(c, &j, e))) {
		st = col_set_json_column(c, "decks", j, e);
		json_decref(j);
	}
	if (!st && !(st = col_store_notetypes_to_json(c, &j, e))) {
		st = col_set_json_column(c, "models", j, e);
		json_decref(j);
	}
	if (!st && !(st = col_config_all(c, &j, e))) {
		st = col_set_json_column(c, "conf", j, e);
		json_decref(j);
	}
	if (!st && !(st = col_store_tags_to_json(c, &j, e))) {
		st = col_set_json_column(c, "tags", j, e);
		json_decref(j);
	}
	if (!st)
		st = col_exec(c, downgrade_drop_sql, e);
	if (st)
		errinfo_prefix(e, "downgrading to schema 11");
	return st;
}
