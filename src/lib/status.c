/*
 * status.c - names and HTTP codes for enum status, and the errinfo helpers.
 * One table so that every program maps a failure the same way.
 */
#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int http;
} status_table[ST_COUNT] = {
	[ST_OK] = {"ok", 200},
	[ST_INVALID] = {"invalid", 400},
	[ST_NOMEM] = {"out of memory", 500},
	[ST_IO] = {"i/o error", 500},
	[ST_NOTFOUND] = {"not found", 404},
	[ST_EXISTS] = {"exists", 409},
	[ST_BUSY] = {"busy", 409},
	[ST_TOOBIG] = {"too big", 413},
	[ST_CORRUPT] = {"corrupt", 400},
	[ST_VERSION] = {"unsupported version", 400},
	[ST_PERM] = {"permission denied", 403},
	[ST_CONFLICT] = {"conflict", 409},
	[ST_DB] = {"database error", 500},
	[ST_UNSUPPORTED] = {"not implemented", 501},
	[ST_INTERNAL] = {"internal error", 500},
};

const char *status_name(enum status code)
{
	if ((unsigned)code >= ST_COUNT)
		return "unknown";
	return status_table[code].name;
}

int status_http(enum status code)
{
	if ((unsigned)code >= ST_COUNT)
		return 500;
	return status_table[code].http;
}

void errinfo_clear(struct errinfo *e)
{
	if (e) {
		e->code = ST_OK;
		e->msg[0] = '\0';
	}
}

enum status errinfo_set(struct errinfo *e, enum status code, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		e->code = code;
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}

enum status errinfo_errno(struct errinfo *e, enum status code, const char *fmt, ...)
{
	int saved = errno;
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		e->code = code;
		int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof e->msg)
			snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", strerror(saved));
	}
	errno = saved;
	return code;
}

enum status errinfo_prefix(struct errinfo *e, const char *fmt, ...)
{
	if (!e)
		return ST_INTERNAL;
	char head[ERRINFO_MSG_MAX];
	char old[ERRINFO_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	old[sizeof old - 1] = '\0';
	size_t hl = strlen(head), ol = strlen(old), cap = sizeof e->msg - 1;
	size_t n = hl < cap ? hl : cap;
	memcpy(e->msg, head, n);
	if (n + 2 <= cap) {
		memcpy(e->msg + n, ": ", 2);
		n += 2;
	}
	size_t m = ol < cap - n ? ol : cap - n;
	memcpy(e->msg + n, old, m);
	e->msg[n + m] = '\0';
	return e->code;
}
