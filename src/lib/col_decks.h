/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_decks.h - the deck tree of a collection: listing, lookup by human
 * name, creation with missing parents, descendants, and removal with the
 * cards they hold (collection-format.md §2.9, §3.3; Anki's
 * rslib/src/decks/{add,name,remove}.rs behaviour, described in
 * ankiconnect.md §3.2).
 *
 * Names: "human" names use "::" between components ("A::B"); the decks
 * table stores "native" names with \x1f.  Lookups compare native names
 * with the unicase collation (the column's own), so "default" finds
 * "Default".  Writers stamp mtime/usn with the collection's rules.
 */
#ifndef ANKIHOST_COL_DECKS_H
#define ANKIHOST_COL_DECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col.h"

struct col_deck_entry {
	int64_t id;
	char *name;      /* human name ("A::B"), malloc'd */
	bool filtered;   /* a filtered deck */
	int64_t conf_id; /* normal decks: preset id */
};

struct col_deck_list {
	struct col_deck_entry *v;
	size_t n;
};

void col_deck_list_free(struct col_deck_list *l);

/* Every deck, ordered by native name under unicase (so "A::B" sorts before
 * "A B"), as Anki lists them.  ST_DB, ST_CORRUPT (undecodable kind). */
enum status col_decks_list(struct col *c, struct col_deck_list *out, struct errinfo *e);

/* The id of the deck with this human name (normalised as Anki does; case
 * insensitive).  ST_NOTFOUND when there is none. */
enum status col_decks_find(struct col *c, const char *human, int64_t *id, struct errinfo *e);

/* Find or create a normal deck by human name, creating missing parents
 * (a created deck adopts the spelling of existing parents; new decks use
 * preset 1).  *created (may be NULL) tells whether anything was created.
 * The caller holds a transaction.  ST_INVALID for a name that is not
 * valid UTF-8, ST_DB. */
enum status col_decks_get_or_create(struct col *c, const char *human, int64_t *id, bool *created,
                                    struct errinfo *e);

/* id and every deck below it (native name prefix "<name>\x1f").  *ids
 * (caller frees) starts with id.  ST_NOTFOUND for an unknown id. */
enum status col_decks_with_children(struct col *c, int64_t id, int64_t **ids, size_t *n,
                                    struct errinfo *e);

/* The human name of deck id (malloc'd).  ST_NOTFOUND. */
enum status col_decks_name(struct col *c, int64_t id, char **name, struct errinfo *e);

/* Remove decks and their children (Anki's remove_decks_and_child_decks):
 * cards of normal decks are deleted, with the notes left without cards;
 * cards in filtered decks go back to their home deck; deck 1 is emptied
 * and renamed "Default" instead of being removed.  Graves are recorded.
 * *ncards (may be NULL) gets the number of cards deleted.  Unknown ids are
 * skipped.  The caller holds a transaction. */
enum status col_decks_remove(struct col *c, const int64_t *ids, size_t n, size_t *ncards,
                             struct errinfo *e);

/* Send the cards of a filtered deck back home (did = odid, due = odue
 * when set, queue from type).  The caller holds a transaction. */
enum status col_decks_empty_filtered(struct col *c, int64_t did, struct errinfo *e);

/* Delete cards by id (graves), then the notes of those cards that are
 * left without any card.  Unknown ids are skipped. */
enum status col_cards_remove(struct col *c, const int64_t *cids, size_t n, struct errinfo *e);

#endif
