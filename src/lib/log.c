/*
 * log.c - line-oriented logging to stderr.  The level, program name and
 * stream are configuration, set once at start-up (the only globals here).
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static enum log_level log_level = LOG_LVL_INFO;
static const char *log_prog = "ankihost";
static FILE *log_stream;
static int log_journal;

int log_init(const char *progname)
{
	const char *slash = progname ? strrchr(progname, '/') : NULL;
	log_prog = slash ? slash + 1 : (progname ? progname : "ankihost");
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	const char *lvl = getenv("LOG_LEVEL");
	if (!lvl || !*lvl)
		return 0;
	static const char *names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++)
		if (strcasecmp(lvl, names[i]) == 0) {
			log_level = (enum log_level)i;
			return 0;
		}
	return -1;
}

void log_set_level(enum log_level level) { log_level = level; }
enum log_level log_get_level(void) { return log_level; }
void log_set_stream(FILE *stream) { log_stream = stream; }

static void log_emit(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	static const char *tags[] = {"error", "warn", "info", "debug"};
	static const int prio[] = {3, 4, 6, 7};
	int saved = errno;
	if (lvl > log_level)
		return;
	char msg[LOG_LINE_MAX];
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (n < 0)
		n = 0;
	size_t len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
	if (with_errno && len < sizeof msg - 1) {
		int m = snprintf(msg + len, sizeof msg - len, ": %s", strerror(saved));
		if (m > 0)
			len = len + (size_t)m < sizeof msg ? len + (size_t)m : sizeof msg - 1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	FILE *out = log_stream ? log_stream : stderr;
	if (log_journal) {
		fprintf(out, "<%d>%s: %s\n", prio[lvl], tags[lvl], msg);
	} else {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(out, "%s %s[%ld] %s: %s\n", ts, log_prog, (long)getpid(), tags[lvl], msg);
	}
	fflush(out);
	errno = saved;
}

#define LOG_VERB(name, lvl, with_errno)                                        \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_emit(lvl, with_errno, fmt, ap);                            \
		va_end(ap);                                                    \
	}

LOG_VERB(log_warn, LOG_LVL_WARN, 1)
LOG_VERB(log_warnx, LOG_LVL_WARN, 0)
LOG_VERB(log_error, LOG_LVL_ERROR, 0)
LOG_VERB(log_info, LOG_LVL_INFO, 0)
LOG_VERB(log_debug, LOG_LVL_DEBUG, 0)

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LVL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
