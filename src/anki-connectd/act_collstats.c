/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * act_collstats.c - getCollectionStatsHTML (ankiconnect.md §3.8): the
 * legacy statistics report of col_stats.h as an HTML string.
 * wholeCollection is absent -> true; otherwise its Python truthiness
 * decides (AnkiConnect assigns it to CollectionStats.wholeCollection,
 * which is tested with "if"), so an explicit null means the current deck.
 */
#include <stdlib.h>

#include "actions.h"
#include "col_stats.h"

/* The report is a few tens of KiB; the cap only stops a runaway. */
#define STATS_HTML_MAX (4u << 20)

enum status act_collection_stats_html(struct ac_call *k)
{
	json_t *p = json_object_get(k->params, "wholeCollection");
	bool whole = p ? ac_truthy(p) : true;
	struct col_stats s;
	struct errinfo e;
	enum status st = col_stats_compute(k->c, whole, &s, &e);
	if (st) {
		col_stats_free(&s);
		return ac_fail_err(k, &e);
	}
	struct buf b;
	buf_init(&b, STATS_HTML_MAX);
	st = col_stats_html(&s, &b, &e);
	col_stats_free(&s);
	if (st) {
		buf_free(&b);
		return ac_fail_err(k, &e);
	}
	json_t *r = ac_jstrn((const char *)b.data, b.len);
	buf_free(&b);
	return ac_ok(k, r);
}
