/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* act_sched.c - placeholder (issue 11), being implemented. */
#include "actions.h"

enum status act_answer_cards(struct ac_call *k)
{
	return act_not_yet(k);
}

enum status act_set_due_date(struct ac_call *k)
{
	return act_not_yet(k);
}
