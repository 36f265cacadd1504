/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * unicase_ext.c - Anki's "unicase" collation as a SQLite loadable
 * extension, so the stock sqlite3 shell can query and check collections:
 *
 *   sqlite3 -cmd '.load build/unicase' collection.anki2 'pragma integrity_check'
 *
 * Without it the shell fails on any index of a name column (collection-
 * format.md §1.2).  The comparison is the library's unicase_compare.
 */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include <stddef.h>

#include "unicase.h"

static int ext_compare(void *arg, int alen, const void *a, int blen, const void *b)
{
	(void)arg;
	return unicase_compare(a, alen, b, blen);
}

int sqlite3_unicase_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api);

int sqlite3_unicase_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api)
{
	(void)errmsg;
	SQLITE_EXTENSION_INIT2(api);
	return sqlite3_create_collation_v2(db, "unicase", SQLITE_UTF8, NULL, ext_compare, NULL);
}
