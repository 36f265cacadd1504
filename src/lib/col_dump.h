/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_dump.h - a whole collection as one JSON document (for people and for
 * tests): col row, config, notetypes/decks/presets in their schema 11 JSON
 * form, tags, then notes, cards, review log and graves streamed row by row.
 */
#ifndef ANKIHOST_COL_DUMP_H
#define ANKIHOST_COL_DUMP_H

#include <stdio.h>

#include "col.h"

/* Dump an open schema-18 collection. */
enum status col_dump(struct col *c, FILE *out, struct errinfo *e);

/* Dump a file without changing it: schema 18 is read in place (read-only);
 * (col_open_copy: a private upgraded copy; the file is never changed). */
enum status col_dump_file(const char *path, FILE *out, struct errinfo *e);

#endif
