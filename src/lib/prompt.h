/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * prompt.h - reading a new password from standard input for the admin
 * commands (anki-sync-admin user add/passwd, anki-sync-server
 * --hash-password): on a terminal without echo and twice, from a pipe
 * once, so scripts can feed it.
 */
#ifndef ANKIHOST_PROMPT_H
#define ANKIHOST_PROMPT_H

#include <stddef.h>

enum prompt_result {
	PROMPT_OK,
	PROMPT_NONE,   /* end of input or an empty line */
	PROMPT_DIFFER, /* the terminal's two entries differ */
};

/* One line (its "\n" or "\r\n" removed) into out[cap]; a longer line is
 * cut at cap - 1 bytes.  Whatever fails, nothing of a password is left in
 * out or in our own buffers. */
enum prompt_result prompt_new_password(char *out, size_t cap);

#endif
