/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_store.h - reading and writing the schema 18 object tables: notetypes
 * (+ fields, templates), decks, deck presets, config and tags, as the
 * objects of col_model.h.  Blob columns are bound as BLOB, text as TEXT,
 * integers as INTEGER (collection-format.md §1.4).
 */
#ifndef ANKIHOST_COL_STORE_H
#define ANKIHOST_COL_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "col.h"
#include "col_model.h"

enum col_store_mode {
	COL_STORE_NORMAL,  /* write as given */
	COL_STORE_UPGRADE, /* schema upgrade: clashing names get "_" (as Anki does) */
	COL_STORE_SYNC     /* incoming sync object: clashing names get "+", and the object
	                      is marked modified (mtime now, usn of the collection) */
};

/* Notetypes.  store = insert or replace the notetype row and all its field
 * and template rows (ord = array index).  Names that clash (unicase) with
 * another notetype: ST_EXISTS in normal mode, "_" appended on upgrade;
 * clashing field/template names inside one notetype get "+" on upgrade. */
enum status col_store_notetype(struct col *c, struct notetype *nt, enum col_store_mode mode,
                               struct errinfo *e);
enum status col_load_notetype(struct col *c, int64_t id, struct notetype *out, struct errinfo *e);
/* Column 0 of every row of sql, with int64 bindings ?1..?nargs, as an
 * int64 array (NULL when no row); caller frees *ids.  Any failure leaves
 * *ids NULL and *n 0. */
enum status col_query_ids(struct col *c, const char *sql, const int64_t *args, size_t nargs,
                          int64_t **ids, size_t *n, struct errinfo *e);
/* Every id of table, ascending; caller frees *ids. */
enum status col_list_ids(struct col *c, const char *table, int64_t **ids, size_t *n,
                         struct errinfo *e);
/* Removes the notetype, fields and templates rows (not notes: caller). */
enum status col_delete_notetype(struct col *c, int64_t id, struct errinfo *e);

enum status col_store_deck(struct col *c, struct deck *d, enum col_store_mode mode,
                           struct errinfo *e);
enum status col_load_deck(struct col *c, int64_t id, struct deck *out, struct errinfo *e);
/* Delete a deck row and record its grave (type 2, the collection's usn).
 * Deck 1 cannot be deleted (ST_INVALID).  Cards are the caller's. */
enum status col_delete_deck(struct col *c, int64_t id, struct errinfo *e);

enum status col_store_deckconf(struct col *c, const struct deckconf *dc, struct errinfo *e);
/* Delete a preset (not 1): decks using it fall back to preset 1, and the
 * schema time is bumped (Anki keeps no grave for presets: a full sync
 * follows). */
enum status col_delete_deckconf(struct col *c, int64_t id, struct errinfo *e);
enum status col_load_deckconf(struct col *c, int64_t id, struct deckconf *out, struct errinfo *e);

/* Config: values are JSON.  get: ST_NOTFOUND when absent.  set: rewrites
 * the row (usn per collection mode, mtime now) only when the value changes.
 * set_raw writes exactly the given usn/mtime. */
enum status col_config_get(struct col *c, const char *key, json_t **out, struct errinfo *e);
enum status col_config_set(struct col *c, const char *key, const json_t *val, struct errinfo *e);
enum status col_config_set_raw(struct col *c, const char *key, const json_t *val, int32_t usn,
                               int64_t mtime, struct errinfo *e);
enum status col_config_all(struct col *c, json_t **out, struct errinfo *e);

/* Tags table.  register: insert when missing (collapsed 1). */
enum status col_tag_register(struct col *c, const char *tag, int32_t usn, struct errinfo *e);

/* One notetype, deck or preset (table "notetypes", "decks" or
 * "deck_config") in its schema 11 JSON form; *out is the caller's. */
enum status col_store_object_json(struct col *c, const char *table, int64_t id, json_t **out,
                                  struct errinfo *e);

/* Schema 11 maps of every object, keyed by id string (downgrade, sync). */
enum status col_store_notetypes_to_json(struct col *c, json_t **out, struct errinfo *e);
enum status col_store_decks_to_json(struct col *c, json_t **out, struct errinfo *e);
enum status col_store_deckconfs_to_json(struct col *c, json_t **out, struct errinfo *e);
enum status col_store_tags_to_json(struct col *c, json_t **out, struct errinfo *e);

/* Upgrade steps (col_schema.c). */
enum status col_store_deckconf_json_raw(struct col *c, int64_t id, const json_t *obj,
                                        struct errinfo *e);
enum status col_store_deckconfs_json_to_proto(struct col *c, struct errinfo *e);
enum status col_store_deckconfs_fix_ease(struct col *c, struct errinfo *e);
enum status col_store_tag_raw(struct col *c, const char *tag, int32_t usn, struct errinfo *e);

#endif
