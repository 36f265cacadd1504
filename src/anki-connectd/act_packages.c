/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* act_packages.c - placeholder (issue 11), being implemented. */
#include "actions.h"

enum status act_export_package(struct ac_call *k)
{
	return act_not_yet(k);
}

enum status act_import_package(struct ac_call *k)
{
	return act_not_yet(k);
}
