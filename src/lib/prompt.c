/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * prompt.c - see prompt.h.  Buffers that held a password are wiped with
 * OPENSSL_cleanse, which the compiler may not drop as a dead store (a
 * plain memset before return can be).
 */
#include "prompt.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* One line from stdin; 0, or -1 when none.  On a terminal echo goes off
 * (and type-ahead is dropped) before the prompt shows, so nothing typed
 * after the prompt is ever echoed. */
static int read_line(char *out, size_t cap, const char *prompt)
{
	int tty = isatty(STDIN_FILENO);
	struct termios old, noecho;
	if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
		fprintf(stderr, "%s", prompt);
		fflush(stderr);
	} else {
		tty = 0; /* a pipe: no prompt, the line as it comes */
	}
	char *r = fgets(out, (int)cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!r)
		return -1;
	size_t n = strlen(out);
	if (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '\r')
		out[--n] = '\0';
	return n > 0 ? 0 : -1;
}

enum prompt_result prompt_new_password(char *out, size_t cap)
{
	enum prompt_result r = PROMPT_OK;
	char again[1024];
	if (read_line(out, cap, "Password: "))
		r = PROMPT_NONE;
	else if (isatty(STDIN_FILENO) &&
	         (read_line(again, sizeof again, "Again: ") || strcmp(out, again) != 0))
		r = PROMPT_DIFFER;
	OPENSSL_cleanse(again, sizeof again);
	if (r != PROMPT_OK)
		OPENSSL_cleanse(out, cap);
	return r;
}
