/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_notes.h - notes, cards, review log and graves of a collection.
 * collection-format.md §6.1 (notes: guid, tags, flds, sfld, csum), §6.3
 * (cards), §6.4 (review log), §7 (ids, times, usn).
 *
 * Ids: a new object gets the current time in ms, or max(id)+1 when that is
 * taken (§7.1).  mod is set to now (secs) and usn to col_usn() on every
 * write: -1 for a client, col.usn for a server.  Deleting notes and cards
 * adds graves (type 1 note, 0 card).
 */
#ifndef ANKIHOST_COL_NOTES_H
#define ANKIHOST_COL_NOTES_H

#include <stdint.h>

#include "col.h"

enum grave_type { GRAVE_CARD = 0, GRAVE_NOTE = 1, GRAVE_DECK = 2 };

struct note {
	int64_t id;   /* 0 = allocate on add */
	char *guid;   /* NULL = generate on add */
	int64_t mid;  /* notetype id */
	int64_t mod;  /* secs */
	int32_t usn;
	char *tags;   /* canonical " a b " or "" */
	char *flds;   /* fields joined by \x1f */
	char *sfld;   /* computed on write */
	uint32_t csum;/* computed on write */
};

struct card {
	int64_t id, nid, did;
	int32_t ord;
	int64_t mod;
	int32_t usn;
	int32_t type, queue;
	int64_t due;
	int64_t ivl;
	int64_t factor, reps, lapses, left;
	int64_t odue, odid;
	int64_t flags;
	char *data; /* JSON object text, "{}" when empty */
};

struct revlog_entry {
	int64_t id, cid;
	int32_t usn;
	int32_t ease;
	int64_t ivl, last_ivl, factor, time;
	int32_t type;
};

void note_free(struct note *n);
void card_free(struct card *cd);

/* Add a note: allocates id (when 0) and guid (when NULL), checks the field
 * count against the notetype, cleans the fields (control characters, NFC),
 * computes sfld and csum, puts the tags in canonical form (registered
 * spellings, sorted, " a b ") and registers new tags, stamps mod/usn.
 * Cards are added separately. */
enum status col_note_add(struct col *c, struct note *n, struct errinfo *e);
/* Rewrite an existing note (same rules, id kept). ST_NOTFOUND if missing. */
enum status col_note_update(struct col *c, struct note *n, struct errinfo *e);
enum status col_note_get(struct col *c, int64_t id, struct note *out, struct errinfo *e);
/* Delete notes with their cards, leaving graves. */
enum status col_note_delete(struct col *c, int64_t id, struct errinfo *e);

/* A new card row for note nid, template ord, deck did (type/queue new,
 * due = position). */
void card_init_new(struct card *cd, int64_t nid, int64_t did, int32_t ord, int64_t position);
enum status col_card_add(struct col *c, struct card *cd, struct errinfo *e);
enum status col_card_update(struct col *c, struct card *cd, struct errinfo *e);
enum status col_card_get(struct col *c, int64_t id, struct card *out, struct errinfo *e);
enum status col_card_delete(struct col *c, int64_t id, struct errinfo *e);

/* Insert a review log row; a taken id is bumped to max(id)+1. */
enum status col_revlog_add(struct col *c, struct revlog_entry *r, struct errinfo *e);

enum status col_grave_add(struct col *c, int64_t oid, enum grave_type type, struct errinfo *e);

/* Next new-card position (config nextPos), incremented (§6.2). */
enum status col_next_position(struct col *c, int64_t *pos, struct errinfo *e);

#endif
