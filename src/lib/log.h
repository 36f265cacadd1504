/*
 * log.h - one line per event on stderr, so journald (or a terminal) gets it.
 *
 * Verbs with fixed meanings (after OpenBSD's log.c):
 *   log_warn   adds ": strerror(errno)" and keeps errno;
 *   log_warnx  does not;
 *   log_info, log_debug  informational;
 *   fatal/fatalx  log and exit(1): for start-up only, never on input.
 * Under systemd (JOURNAL_STREAM set) lines carry a <N> priority prefix and no
 * timestamp; elsewhere an ISO-8601 UTC timestamp.  Control characters in a
 * message are replaced so one event is always one line.
 */
#ifndef ANKIHOST_LOG_H
#define ANKIHOST_LOG_H

#include <stdio.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Set once at start-up from the program name and LOG_LEVEL
 * (error|warn|info|debug, default info).  Returns -1 on an unknown level. */
int log_init(const char *progname);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Redirect output (tests); NULL restores stderr. */
void log_set_stream(FILE *stream);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
