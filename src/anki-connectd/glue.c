/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * glue.c - the daemon's only calls into the search language
 * (search.h) and the template renderer (render.h), kept in one place so
 * the actions do not depend on those modules' details.
 *
 * Searches keep their prepared statements on the connection
 * (search_run_kept): the pool's connections live as long as the daemon,
 * and Yomitan asks the same shapes of query many times a second.  The
 * pool releases them before it closes a connection (pool.c).
 */
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "render.h"
#include "search.h"

enum status ac_find(struct col *c, const char *query, bool cards, int64_t **ids, size_t *n,
                    struct errinfo *e)
{
	return search_run_kept(c, query, cards ? SEARCH_CARDS : SEARCH_NOTES, NULL, ids, n, e);
}

enum status ac_render(const struct notetype *nt, const struct note *n, const struct card *cd,
                      const char *deck_name, char **question, char **answer, struct errinfo *e)
{
	*question = *answer = NULL;
	struct render_out o;
	memset(&o, 0, sizeof o);
	enum status st = render_note_card(nt, n, cd, deck_name, &o, e);
	if (!st) {
		*question = o.question;
		*answer = o.answer;
		o.question = o.answer = NULL;
	}
	render_out_free(&o);
	return st;
}
