/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* act_collstats.c - placeholder (issue 11), being implemented. */
#include "actions.h"

enum status act_collection_stats_html(struct ac_call *k)
{
	return act_not_yet(k);
}
