/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_data.h - the cards.data JSON object as Anki reads and writes it
 * (collection-format.md §6.3 "data"; rslib/src/storage/card/data.rs):
 * pos, s, d, dr, decay, lrt, cd.
 *
 * Reading: each field that has the wrong type is absent on its own; text
 * that is not a JSON object/array, duplicate keys, or a "cd" that is not
 * a string make every field absent.  Writing: compact, keys in the order
 * above, absent ones omitted, s/d/dr/decay rounded to 4/3/2/3 decimals and
 * printed as the shortest f32 text (serde_json/ryu), cd omitted when "" or
 * "{}"; nothing set gives "{}".
 */
#ifndef ANKIHOST_SCHED_DATA_H
#define ANKIHOST_SCHED_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

struct sched_data {
	bool has_pos, has_s, has_d, has_dr, has_decay, has_lrt;
	uint32_t pos;    /* position in the new queue before first study */
	float s, d;      /* FSRS stability (days), difficulty (1-10) */
	float dr, decay; /* desired retention, FSRS decay */
	int64_t lrt;     /* last review time, Unix secs */
	char *cd;        /* custom scheduling data (JSON object text) or NULL */
};

/* Parse text (may be NULL or "").  *out is overwritten; free with
 * sched_data_free.  ST_NOMEM only. */
enum status sched_data_parse(const char *text, struct sched_data *out, struct errinfo *e);

void sched_data_free(struct sched_data *d);

/* Append the JSON text of d to out (not NUL-terminated by itself; use
 * buf_append of "\0" or the helpers of buf.h).  ST_NOMEM. */
enum status sched_data_format(const struct sched_data *d, struct buf *out, struct errinfo *e);

/* v rounded to places decimals in f32: (v * 10^p).round() / 10^p. */
float sched_round_places(float v, int places);

/* Shortest text that reads back as v (as ryu / serde_json print f32):
 * "12.116", "0.9", "5.0", "1e-7".  buf needs 32 bytes. */
void sched_fmt_f32(float v, char buf[32]);

#endif
