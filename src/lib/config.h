/*
 * config.h - settings as a bounded table, read from a file and from the
 * environment (the environment wins), with every value checked at start-up.
 *
 * A program declares its settings once:
 *   static const struct config_def defs[] = {
 *       {"SYNC_PORT", CONFIG_INT, "8080", 1, 65535, "TCP port"},
 *       ...
 *   };
 * then config_init + config_load_file + config_load_env.  An unknown key in a
 * file, an unknown variable with the program's prefix, or a malformed value
 * is an error that names the setting (and file:line), so a typo stops the
 * program instead of being silently ignored.
 */
#ifndef ANKIHOST_CONFIG_H
#define ANKIHOST_CONFIG_H

#include <stddef.h>

#include "status.h"

enum config_kind { CONFIG_STRING, CONFIG_INT, CONFIG_BOOL };

struct config_def {
	const char *name;
	enum config_kind kind;
	const char *defval; /* NULL = unset */
	long long min, max; /* CONFIG_INT bounds (inclusive) */
	const char *help;
};

enum config_origin { CONFIG_FROM_DEFAULT, CONFIG_FROM_FILE, CONFIG_FROM_ENV, CONFIG_FROM_CALL };

struct config_value {
	char *str; /* owned; NULL when unset */
	long long num;
	enum config_origin origin;
};

struct config {
	const struct config_def *defs;
	size_t ndefs;
	struct config_value *vals;
};

enum status config_init(struct config *c, const struct config_def *defs, size_t ndefs,
                        struct errinfo *e);
void config_free(struct config *c);

/* Set one setting by name (validated). ST_NOTFOUND for an unknown name. */
enum status config_set(struct config *c, const char *name, const char *value,
                       enum config_origin origin, struct errinfo *e);

/* KEY=VALUE lines; blank lines and lines starting with '#' are skipped;
 * surrounding whitespace is trimmed and a value may be wrapped in double
 * quotes.  Errors name path:line. */
enum status config_load_file(struct config *c, const char *path, struct errinfo *e);

/* For each NAME=VALUE in envp: set it when NAME is a declared setting.  A
 * variable that starts with prefix but is not declared is an error unless
 * accept(name) returns non-zero (for families such as SYNC_USER1..N).
 * prefix may be NULL (no unknown-variable check). */
enum status config_load_env(struct config *c, char *const *envp, const char *prefix,
                            int (*accept)(const char *name), struct errinfo *e);

const char *config_str(const struct config *c, const char *name);
long long config_int(const struct config *c, const char *name);
int config_bool(const struct config *c, const char *name);
int config_is_set(const struct config *c, const char *name);

/* Shared value parsers, usable on their own. */
enum status config_parse_int(const char *name, const char *s, long long min, long long max,
                             long long *out, struct errinfo *e);
enum status config_parse_bool(const char *name, const char *s, int *out, struct errinfo *e);

#endif
