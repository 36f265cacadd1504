/*
 * status.h - one status enum for the whole library, its names, HTTP codes,
 * and the error record callers fill with one sentence of context.
 *
 * Convention: a function that can fail returns enum status (ST_OK == 0) and,
 * when given a non-NULL struct errinfo, writes why.  The caller that answers
 * a request (or exits) logs once, there.
 */
#ifndef ANKIHOST_STATUS_H
#define ANKIHOST_STATUS_H

#include <stddef.h>

enum status {
	ST_OK = 0,
	ST_INVALID,   /* bad input from a caller or a client */
	ST_NOMEM,     /* allocation failed */
	ST_IO,        /* read/write/fsync/rename failed */
	ST_NOTFOUND,  /* file, user or object does not exist */
	ST_EXISTS,    /* would overwrite something that exists */
	ST_BUSY,      /* locked by another process or session */
	ST_TOOBIG,    /* over a configured or protocol limit */
	ST_CORRUPT,   /* stored data is damaged or not what it claims */
	ST_VERSION,   /* unsupported format version (too old / too new) */
	ST_PERM,      /* permission refused (filesystem or auth) */
	ST_CONFLICT,  /* state conflict (e.g. sync out of order) */
	ST_DB,        /* SQLite error not covered above */
	ST_UNSUPPORTED, /* valid request we do not implement */
	ST_INTERNAL,  /* a bug: an invariant did not hold */
	ST_COUNT
};

#define ERRINFO_MSG_MAX 512

struct errinfo {
	enum status code;
	char msg[ERRINFO_MSG_MAX];
};

/* Record a failure in e (may be NULL) and return code, so callers can write
 * `return errinfo_set(e, ST_INVALID, "bad id %lld", id);`. */
enum status errinfo_set(struct errinfo *e, enum status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like errinfo_set, appending ": strerror(errno)" (errno as on entry). */
enum status errinfo_errno(struct errinfo *e, enum status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend context ("opening X: ") to an existing message; returns e->code. */
enum status errinfo_prefix(struct errinfo *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void errinfo_clear(struct errinfo *e);

/* Stable lower-case name ("invalid", "busy", ...). */
const char *status_name(enum status code);

/* The HTTP status a server answers for this code. */
int status_http(enum status code);

#endif
